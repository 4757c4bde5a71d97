//! [`DynamoPayments`]: the [`PaymentStore`] on the payments table.
//!
//! | item | pk | sk | also |
//! |---|---|---|---|
//! | payment | `PAYMENT#<paymentId>` | `PAYMENT` | the payment's fields (`taskToken`, `waitingSince` once waiting; `answered` once the task was sent its answer) |
//! | gateway event | `CALLBACK#<eventId>` | `CALLBACK` | `paymentId`, `outcome`, `receivedAt`, `expiresAt` |
//! | outbox | `OUTBOX#<eventId>` | `OUTBOX` | see `shop_adapters::outbox` |
//!
//! The conditions (docs/decisions.md, "Payments"):
//! - create: `attribute_not_exists(pk)`; a repeat reads the stored payment back.
//! - the task token: an `UpdateItem` that sets only `taskToken`, conditional on
//!   `#status = PENDING`.
//! - a settlement: one `TransactWriteItems` of an `Update` of status, reason, event id,
//!   version (never the token: a token stored since the caller's read must survive)
//!   conditional on `#status = PENDING`, the gateway event's record `attribute_not_exists(pk)`,
//!   and the outbox item.
//! - a void or refund: the same `Update` conditional on the status read, with its outbox item.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{built, n, s, timestamp};
use shop_adapters::dynamo::{get_item, is_condition_failed, to_item, transact};
use shop_adapters::outbox::{failed_condition, outbox_put_event, transact_error};
use shop_domain::{DomainError, OutgoingEvent, PaymentId};

use crate::domain::{Payment, PaymentStore, SettleRefusal, TaskToken, TokenStored};

const PAYMENT_SK: &str = "PAYMENT";
const CALLBACK_SK: &str = "CALLBACK";
/// How long a gateway event's record is kept (the table's TTL removes it after): far longer
/// than the five minutes a signed callback is accepted for.
const CALLBACK_RETENTION_DAYS: i64 = 30;
/// The payments table.
#[derive(Debug, Clone)]
pub struct DynamoPayments {
    client: Client,
    table: String,
}

impl DynamoPayments {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn payment_pk(id: PaymentId) -> String {
    format!("PAYMENT#{id}")
}

fn callback_pk(event_id: &str) -> String {
    format!("CALLBACK#{event_id}")
}

/// A payment as stored.
#[derive(Serialize, Deserialize)]
struct PaymentItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    payment: Payment,
}

/// A processed gateway event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallbackItem {
    pk: String,
    sk: String,
    payment_id: PaymentId,
    status: String,
    received_at: String,
    expires_at: i64,
}

impl DynamoPayments {
    /// The `Update` moving `before` to `after`'s status, reason, event id and version,
    /// conditional on the status being `before`'s. The token is not touched.
    fn transition(
        &self,
        before: &Payment,
        after: &Payment,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut sets = vec!["#status = :to", "#version = :version", "#updatedAt = :at"];
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(payment_pk(before.payment_id)))
            .key("sk", s(PAYMENT_SK))
            .condition_expression("attribute_exists(pk) AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":from", s(before.status.as_str()))
            .expression_attribute_values(":to", s(after.status.as_str()))
            .expression_attribute_values(":version", n(after.version))
            .expression_attribute_values(":at", timestamp(after.updated_at));
        if let Some(reason) = &after.reason {
            sets.push("#reason = :reason");
            update = update
                .expression_attribute_names("#reason", "reason")
                .expression_attribute_values(":reason", s(reason.clone()));
        }
        if let Some(event_id) = &after.event_id {
            sets.push("#eventId = :event");
            update = update
                .expression_attribute_names("#eventId", "eventId")
                .expression_attribute_values(":event", s(event_id.clone()));
        }
        let update = built(
            update
                .update_expression(format!("SET {}", sets.join(", ")))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl PaymentStore for DynamoPayments {
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, DomainError> {
        let item: Option<PaymentItem> =
            get_item(&self.client, &self.table, payment_pk(id), PAYMENT_SK, true).await?;
        Ok(item.map(|i| i.payment))
    }

    async fn create(&self, payment: &Payment) -> Result<Payment, DomainError> {
        let item = to_item(&PaymentItem {
            pk: payment_pk(payment.payment_id),
            sk: PAYMENT_SK.to_owned(),
            payment: payment.clone(),
        })?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(payment.clone()),
            Err(err) if is_condition_failed(&err) => {
                self.payment(payment.payment_id).await?.ok_or_else(|| {
                    DomainError::Unavailable("the payment vanished while being made".into())
                })
            }
            Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
        }
    }

    async fn store_token(
        &self,
        id: PaymentId,
        token: &TaskToken,
        at: DateTime<Utc>,
    ) -> Result<TokenStored, DomainError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(payment_pk(id)))
            .key("sk", s(PAYMENT_SK))
            // When it started waiting, for an operator; not the payment's `updatedAt`, which
            // is its last status change.
            .update_expression("SET #token = :token, #waiting = :at")
            .condition_expression("attribute_exists(pk) AND #status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "taskToken")
            .expression_attribute_names("#waiting", "waitingSince")
            .expression_attribute_values(":token", s(token.expose()))
            .expression_attribute_values(":at", timestamp(at))
            .expression_attribute_values(":pending", s("PENDING"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(TokenStored::Stored),
            Err(err) if is_condition_failed(&err) => Ok(match self.payment(id).await? {
                Some(payment) => TokenStored::NotPending(Box::new(payment)),
                None => TokenStored::Unknown,
            }),
            Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
        }
    }

    async fn mark_answered(&self, id: PaymentId) -> Result<(), DomainError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(payment_pk(id)))
            .key("sk", s(PAYMENT_SK))
            .update_expression("SET #answered = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#answered", "answered")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(DomainError::not_found("payment", id)),
            Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
        }
    }

    async fn event_seen(&self, event_id: &str) -> Result<bool, DomainError> {
        let item: Option<serde_json::Value> = get_item(
            &self.client,
            &self.table,
            callback_pk(event_id),
            CALLBACK_SK,
            true,
        )
        .await?;
        Ok(item.is_some())
    }

    async fn settle(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), SettleRefusal> {
        let event_id = after
            .event_id
            .as_deref()
            .ok_or_else(|| DomainError::Internal("a settlement names the gateway event".into()))?;
        let record = to_item(&CallbackItem {
            pk: callback_pk(event_id),
            sk: CALLBACK_SK.to_owned(),
            payment_id: after.payment_id,
            status: after.status.as_str().to_owned(),
            received_at: after
                .updated_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            expires_at: (after.updated_at + chrono::Duration::days(CALLBACK_RETENTION_DAYS))
                .timestamp(),
        })?;
        let record = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let items = vec![
            self.transition(before, after)?,
            TransactWriteItem::builder().put(record).build(),
            outbox_put_event(&self.table, &event)?,
        ];
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(err) => match failed_condition(&err) {
                Some(0) => Err(SettleRefusal::NotPending),
                Some(1) => Err(SettleRefusal::EventSeen),
                _ => Err(SettleRefusal::Store(transact_error(
                    err,
                    DomainError::Conflict("the payment moved".into()),
                ))),
            },
        }
    }

    async fn finish(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let items = vec![
            self.transition(before, after)?,
            outbox_put_event(&self.table, &event)?,
        ];
        transact(&self.client, items).await.map_err(|err| {
            transact_error(
                err,
                DomainError::Conflict(format!(
                    "payment {} is no longer {}",
                    before.payment_id, before.status
                )),
            )
        })
    }
}
