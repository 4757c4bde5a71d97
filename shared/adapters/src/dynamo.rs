//! DynamoDB helpers: item mapping, idempotent "put if absent", and a table health probe.
//!
//! Entity ↔ item mapping goes through serde_dynamo here, so service stores never hand-build
//! `AttributeValue`s and mapping failures become [`DomainError::Internal`] in one place.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TableStatus, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::{DomainError, HealthProbe};

use crate::aws::sdk_error;

/// A DynamoDB item as the SDK takes and returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Attribute values for hand-built expressions (conditions, updates, keys), where an item
/// mapped by serde does not fit.
pub mod attr {
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::{DateTime, SecondsFormat, Utc};
    use shop_domain::DomainError;

    /// A string.
    pub fn s(value: impl Into<String>) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    /// A number.
    pub fn n(value: impl ToString) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    /// A boolean.
    pub fn b(value: bool) -> AttributeValue {
        AttributeValue::Bool(value)
    }

    /// An instant as stored everywhere: RFC 3339 UTC with milliseconds, so that the strings
    /// sort as the instants do.
    pub fn timestamp(at: DateTime<Utc>) -> AttributeValue {
        s(at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// A request builder's result: a missing required field is a bug, hence `Internal`.
    pub fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, DomainError> {
        result.map_err(|e| DomainError::Internal(format!("cannot build a DynamoDB request: {e}")))
    }
}

/// Serializes `value` into an item.
///
/// A failure here is a bug in the entity's serde attributes, hence `Internal`.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, DomainError> {
    serde_dynamo::to_item(value)
        .map_err(|e| DomainError::Internal(format!("cannot map entity to a DynamoDB item: {e}")))
}

/// Deserializes an item into `T`.
///
/// A failure means the stored data does not match the code (a migration is missing), hence
/// `Internal` rather than a client error.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, DomainError> {
    serde_dynamo::from_item(item)
        .map_err(|e| DomainError::Internal(format!("cannot map DynamoDB item to entity: {e}")))
}

/// The item at (`pk`, `sk`) of `table` (keys named `pk` and `sk`) as a `T`, read strongly
/// consistent when `consistent` (what a write decides on), eventually consistent otherwise
/// (half the read units).
pub async fn get_item<T: DeserializeOwned>(
    client: &Client,
    table: &str,
    pk: String,
    sk: &str,
    consistent: bool,
) -> Result<Option<T>, DomainError> {
    let output = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .consistent_read(consistent)
        .send()
        .await
        .map_err(|e| sdk_error("DynamoDB GetItem", e))?;
    output.item.map(from_item).transpose()
}

/// The items of `table` at `keys` (`(pk, sk)` pairs) as `T`s, each once (a key named twice is
/// read once: `BatchGetItem` refuses duplicates), in no particular order, missing ones left
/// out: `BatchGetItem` in chunks of 100 (its limit), asking again for the keys it
/// leaves unprocessed (throttling) up to 5 times, backing off; `Unavailable` after that.
/// Strongly consistent when `consistent` (what a write decides on).
pub async fn batch_get<T: DeserializeOwned>(
    client: &Client,
    table: &str,
    keys: &[(String, String)],
    consistent: bool,
) -> Result<Vec<T>, DomainError> {
    const UNPROCESSED_RETRIES: u32 = 5;
    let unique: Vec<&(String, String)> = keys
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut found = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(100) {
        let keys = chunk
            .iter()
            .map(|(pk, sk)| {
                HashMap::from([
                    ("pk".to_owned(), attr::s(pk.as_str())),
                    ("sk".to_owned(), attr::s(sk.as_str())),
                ])
            })
            .collect();
        let mut pending = Some(attr::built(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(consistent)
                .build(),
        )?);
        let mut retries = 0;
        while let Some(request) = pending.take() {
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB BatchGetItem", e))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(table))
                .unwrap_or_default()
            {
                found.push(from_item(item)?);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                retries += 1;
                if retries > UNPROCESSED_RETRIES {
                    return Err(DomainError::Unavailable(format!(
                        "DynamoDB BatchGetItem left keys of {table} unprocessed after \
                         {UNPROCESSED_RETRIES} retries"
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(25 << retries)).await;
            }
        }
    }
    Ok(found)
}

/// Whether `err` is DynamoDB refusing a write's condition (`ConditionalCheckFailedException`),
/// whichever single-item operation (`PutItem`, `UpdateItem`, `DeleteItem`) failed.
pub fn is_condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

/// Puts `item` into `table` unless an item with the same key already exists.
///
/// `key_attribute` is the table's partition key attribute name (`pk`). Returns `Ok(true)` if
/// the item was written and `Ok(false)` if it already existed: idempotent consumers put a
/// `pk = "EVENT#<event id>"` marker first and skip the work when it returns `false`.
pub async fn put_if_absent(
    client: &Client,
    table: &str,
    key_attribute: &str,
    item: Item,
) -> Result<bool, DomainError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        // An attribute-name placeholder, because `pk`-like names can collide with DynamoDB's
        // reserved words.
        .condition_expression("attribute_not_exists(#key)")
        .expression_attribute_names("#key", key_attribute)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failed(&err) => Ok(false),
        Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
    }
}

/// Puts `item` unless the table holds a copy of it at `version` or newer (its `version`
/// attribute); whether it was written. How a projection applies another service's events in
/// order: a redelivered or late event changes nothing.
pub async fn put_if_newer(
    client: &Client,
    table: &str,
    item: Item,
    version: u64,
) -> Result<bool, DomainError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk) OR version < :v")
        .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failed(&err) => Ok(false),
        Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
    }
}

/// How `TransactWriteItems` fails.
pub type TransactError =
    SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>;

/// How many times [`transact`] runs a transaction again after losing to a concurrent one.
const CONFLICT_RETRIES: u32 = 8;

/// Whether a cancelled transaction lost to a concurrent one on the same items (nothing was
/// written and no condition failed, so running it again decides anew).
pub fn lost_to_another(err: &TransactError) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
            let reasons = canceled.cancellation_reasons();
            !reasons
                .iter()
                .any(|r| r.code() == Some("ConditionalCheckFailed"))
                && reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"))
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

/// One `TransactWriteItems`, run again (up to 8 times, after a pause doubling from 20 ms to at
/// most 320 ms, plus a little jitter) while DynamoDB cancels it for a concurrent transaction on
/// the same items; the last error otherwise. Conditions are what decide: a retry never skips one.
pub async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
    let mut attempt = 0;
    loop {
        let result = client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        match result {
            Err(err) if attempt < CONFLICT_RETRIES && lost_to_another(&err) => {
                attempt += 1;
                // Jitter without a random-number crate: the clock's nanoseconds.
                let jitter = u64::from(chrono::Utc::now().timestamp_subsec_nanos() % 20);
                let pause = (10u64 << attempt).min(320) + jitter;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            other => return other.map(|_| ()),
        }
    }
}

/// Health probe: `DescribeTable` on the service's table, healthy while it is usable.
#[derive(Debug, Clone)]
pub struct TableProbe {
    client: Client,
    table: String,
}

impl TableProbe {
    /// A probe for `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl HealthProbe for TableProbe {
    fn name(&self) -> &str {
        "table"
    }

    async fn check(&self) -> Result<(), DomainError> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    DomainError::not_found("table", &self.table)
                } else {
                    sdk_error("DynamoDB DescribeTable", err)
                }
            })?;
        // UPDATING (e.g. adding a GSI) still serves reads and writes; CREATING/DELETING do not.
        match output.table().and_then(|t| t.table_status()) {
            Some(TableStatus::Active | TableStatus::Updating) | None => Ok(()),
            Some(status) => Err(DomainError::Unavailable(format!(
                "table is {}",
                status.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Product {
        pk: String,
        price: shop_domain::Money,
        tags: Vec<String>,
    }

    #[test]
    fn entity_roundtrips_through_an_item() {
        let product = Product {
            pk: "PRODUCT#1".into(),
            price: shop_domain::Money::new(1999, shop_domain::Currency::EUR),
            tags: vec!["new".into()],
        };
        let item = to_item(&product).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("PRODUCT#1".into()));
        assert_eq!(from_item::<Product>(item).unwrap(), product);
    }

    #[test]
    fn item_that_does_not_match_the_entity_is_an_internal_error() {
        let item = Item::from([("pk".to_owned(), AttributeValue::N("1".into()))]);
        assert!(matches!(
            from_item::<Product>(item),
            Err(DomainError::Internal(_))
        ));
    }
}
