//! [`DynamoDiscounts`]: the [`DiscountStore`] and the [`CatalogProjection`] on the discounts
//! table.
//!
//! | item | pk | sk | also |
//! |---|---|---|---|
//! | discount | `DISCOUNTS` | `DISCOUNT#<id>` | the discount's JSON fields |
//! | code guard | `CODE#<CODE IN UPPER CASE>` | `CODE` | `owner`: the discount id |
//! | global counter | `DISCOUNT#<id>` | `USAGE` | `uses` |
//! | per-user counter | `DISCOUNT#<id>` | `USER#<userId>` | `uses` |
//! | redemption entry | `DISCOUNT#<id>` | `REDEMPTION#<orderId>` | the order's status, for the admin list |
//! | redemption | `REDEMPTION#<orderId>` | `REDEMPTION` | user, discount ids, status |
//! | product facts | `PRODUCT#<id>` | `PRODUCT` | category, brand, prices, status, `version` |
//! | category facts | `CATEGORIES` | `CATEGORY#<id>` | parent, `deleted`, `version` |
//!
//! The invariants and the conditions that make them (docs/decisions.md repeats the list):
//! - A code is unique ignoring case: its guard is put with `attribute_not_exists(pk)` in the
//!   discount's own transaction; a rename releases the old guard conditional on `owner`.
//! - Replace and delete are conditional on the version the caller read (`version = :v`).
//! - A reservation is one transaction: per discount a `ConditionCheck` that the discount is
//!   still at the version read (so the limits checked are the limits stored), the global
//!   counter's `uses < :limit` and the user's `uses < :perUser` with their increments, and
//!   the redemption `attribute_not_exists(pk)` — all or nothing, once per order.
//! - Redeem and release move the redemption conditional on `status = RESERVED`; a release
//!   decrements each counter (`uses > 0`) in the same transaction, so it happens once.
//! - The projection writes are conditional on the catalog's aggregate version being newer.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{built, n, s, timestamp};
use shop_adapters::dynamo::{
    Item, TransactError, batch_get, from_item, is_condition_failed, to_item, transact,
};
use shop_adapters::outbox::{failed_condition, outbox_put_event, transact_error};
use shop_domain::{
    BrandId, CategoryId, Currency, DiscountId, DomainError, OrderId, OutgoingEvent, ProductId,
};

use crate::domain::{
    CatalogEvent, CatalogProjection, CategoryFacts, CategoryTree, Discount, DiscountStore,
    ProductFacts, Redemption, RedemptionEntry, RedemptionStatus, ReserveRefusal, Usage,
    normalise_code,
};

const DISCOUNTS_PK: &str = "DISCOUNTS";
const CATEGORIES_PK: &str = "CATEGORIES";
const USAGE_SK: &str = "USAGE";
const REDEMPTION_SK: &str = "REDEMPTION";
/// The discounts table.
#[derive(Debug, Clone)]
pub struct DynamoDiscounts {
    client: Client,
    table: String,
}

fn discount_sk(id: DiscountId) -> String {
    format!("DISCOUNT#{id}")
}

fn counters_pk(id: DiscountId) -> String {
    format!("DISCOUNT#{id}")
}

fn user_sk(user: &str) -> String {
    format!("USER#{user}")
}

fn entry_sk(order_id: OrderId) -> String {
    format!("REDEMPTION#{order_id}")
}

fn redemption_pk(order_id: OrderId) -> String {
    format!("REDEMPTION#{order_id}")
}

fn code_pk(code: &str) -> String {
    format!("CODE#{}", normalise_code(code))
}

fn stale(id: DiscountId) -> DomainError {
    DomainError::Conflict(format!(
        "discount `{id}` was changed or deleted by someone else; read it again"
    ))
}

fn code_taken(code: &str) -> DomainError {
    DomainError::Conflict(format!(
        "the code `{code}` is taken by another discount (codes ignore case)"
    ))
}

/// A discount as stored. (No item-type marker: the discount's own `type` is the attribute of
/// that name.)
#[derive(Serialize, Deserialize)]
struct DiscountItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    discount: Discount,
}

#[derive(Deserialize)]
struct GuardItem {
    owner: DiscountId,
}

#[derive(Deserialize)]
struct CounterItem {
    #[serde(default)]
    uses: u64,
}

#[derive(Serialize, Deserialize)]
struct RedemptionItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    redemption: Redemption,
}

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    entry: RedemptionEntry,
}

/// A product's facts; a deletion that arrived first leaves only `status` and `version`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductItem {
    pk: String,
    sk: String,
    r#type: String,
    product_id: ProductId,
    #[serde(default)]
    category_id: Option<CategoryId>,
    #[serde(default)]
    brand_id: Option<BrandId>,
    #[serde(default)]
    price: Option<i64>,
    #[serde(default)]
    currency: Option<Currency>,
    status: String,
    #[serde(default)]
    variants: HashMap<String, Option<i64>>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CategoryItem {
    pk: String,
    sk: String,
    r#type: String,
    category_id: CategoryId,
    parent_id: Option<CategoryId>,
    deleted: bool,
    version: u64,
}

impl DynamoDiscounts {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get_item<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, sk, true).await
    }

    fn discount_item(discount: &Discount) -> Result<Item, DomainError> {
        to_item(&DiscountItem {
            pk: DISCOUNTS_PK.to_owned(),
            sk: discount_sk(discount.id),
            discount: discount.clone(),
        })
    }

    fn put(&self, item: Item, condition: &str) -> Result<Put, DomainError> {
        built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .build(),
        )
    }

    /// The put of `discount` conditional on the stored one being at `expected`.
    fn versioned_put(
        &self,
        discount: &Discount,
        expected: u64,
    ) -> Result<TransactWriteItem, DomainError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::discount_item(discount)?))
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(expected))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn guard_put(&self, discount: &Discount, code: &str) -> Result<TransactWriteItem, DomainError> {
        let item = HashMap::from([
            ("pk".to_owned(), s(code_pk(code))),
            ("sk".to_owned(), s("CODE")),
            ("type".to_owned(), s("code")),
            ("owner".to_owned(), s(discount.id.to_string())),
        ]);
        let put = self.put(item, "attribute_not_exists(pk)")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The delete of `discount`'s guard of `code`, conditional on it owning the guard (or on
    /// there being none).
    fn guard_release(
        &self,
        discount: &Discount,
        code: &str,
    ) -> Result<TransactWriteItem, DomainError> {
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key("pk", s(code_pk(code)))
                .key("sk", s("CODE"))
                .condition_expression("attribute_not_exists(pk) OR #owner = :owner")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", s(discount.id.to_string()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Maps a failed write of discount `id` whose item 0 is the versioned discount write and
    /// whose guard put (if any) is at `guard`.
    async fn write_error(
        &self,
        err: TransactError,
        id: DiscountId,
        guard: Option<(usize, &str)>,
    ) -> DomainError {
        match failed_condition(&err) {
            Some(0) => match self.get(id).await {
                Ok(None) => DomainError::not_found("discount", id),
                Ok(Some(_)) => stale(id),
                Err(e) => e,
            },
            Some(i) if guard.is_some_and(|(g, _)| g == i) => {
                code_taken(guard.map(|(_, c)| c).unwrap_or_default())
            }
            Some(_) => DomainError::Internal(format!(
                "the code guard of discount `{id}` is held by another discount"
            )),
            None => transact_error(err, stale(id)),
        }
    }

    /// The update of a counter (`pk`, `sk`) by `delta` (+1 or -1): an increment conditional
    /// on the counter staying within `limit`, a decrement on it staying at or above zero.
    fn counter(
        &self,
        pk: String,
        sk: String,
        increment: bool,
        limit: Option<u64>,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .expression_attribute_names("#uses", "uses")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":counter", s("counter"));
        if increment {
            update = update
                .update_expression(
                    "SET #uses = if_not_exists(#uses, :zero) + :one, #type = :counter",
                )
                .expression_attribute_values(":zero", n(0));
            if let Some(limit) = limit {
                update = update
                    .condition_expression("attribute_not_exists(#uses) OR #uses < :limit")
                    .expression_attribute_values(":limit", n(limit));
            }
        } else {
            update = update
                .update_expression("SET #uses = #uses - :one, #type = :counter")
                .condition_expression("#uses >= :one");
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// The update of item (`pk`, `sk`)'s status to `to`, conditional on `condition`.
    fn status_update(
        &self,
        pk: String,
        sk: String,
        to: RedemptionStatus,
        at: DateTime<Utc>,
        only_from_reserved: bool,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #status = :to, updatedAt = :at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", status_value(to)?)
            .expression_attribute_values(":at", timestamp(at));
        update = if only_from_reserved {
            update
                .condition_expression("#status = :reserved")
                .expression_attribute_values(":reserved", status_value(RedemptionStatus::Reserved)?)
        } else {
            update.condition_expression("attribute_exists(pk)")
        };
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    /// Moves the redemption of `order_id` from RESERVED to `to` with its entries (and, for a
    /// release, its counters) in one transaction; the redemption after.
    async fn leave_reserved(
        &self,
        order_id: OrderId,
        to: RedemptionStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError> {
        for _ in 0..3 {
            let Some(current) = self.redemption(order_id).await? else {
                return Ok(None);
            };
            if current.status != RedemptionStatus::Reserved {
                return Ok(Some(current));
            }
            let mut items = vec![self.status_update(
                redemption_pk(order_id),
                REDEMPTION_SK.to_owned(),
                to,
                at,
                true,
            )?];
            for id in &current.discount_ids {
                items.push(self.status_update(
                    counters_pk(*id),
                    entry_sk(order_id),
                    to,
                    at,
                    false,
                )?);
                if to == RedemptionStatus::Released {
                    items.push(self.counter(counters_pk(*id), USAGE_SK.to_owned(), false, None)?);
                    items.push(self.counter(
                        counters_pk(*id),
                        user_sk(&current.user_id),
                        false,
                        None,
                    )?);
                }
            }
            match transact(&self.client, items).await {
                Ok(()) => {
                    return Ok(Some(Redemption {
                        status: to,
                        updated_at: at,
                        ..current
                    }));
                }
                // Another call moved it first: read what it is now.
                Err(err) if failed_condition(&err) == Some(0) => continue,
                Err(err) => {
                    return Err(transact_error(
                        err,
                        DomainError::Conflict("the redemption changed meanwhile".into()),
                    ));
                }
            }
        }
        self.redemption(order_id).await
    }

    /// Every item of partition `pk` (with `filter` on `:filter`), paging through `Query`.
    async fn query_all(&self, pk: &str, automatic_only: bool) -> Result<Vec<Item>, DomainError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if automatic_only {
                query = query
                    .filter_expression("automatic = :true")
                    .expression_attribute_values(":true", AttributeValue::Bool(true));
            }
            let output = query
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// One page of partition `pk`'s items whose sort key starts with `prefix`, after sort key
    /// `after`: at most `page_size`, and whether more follow.
    async fn query_page(
        &self,
        pk: String,
        prefix: &str,
        page_size: u32,
        after: Option<String>,
    ) -> Result<(Vec<Item>, bool), DomainError> {
        let mut items = Vec::new();
        let mut start =
            after.map(|sk| Item::from([("pk".to_owned(), s(&pk)), ("sk".to_owned(), s(sk))]));
        let wanted = page_size as usize + 1;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(prefix))
                .limit((wanted - items.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && items.len() < wanted => start = Some(key),
                _ => break,
            }
        }
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        Ok((items, more))
    }
}

fn status_value(status: RedemptionStatus) -> Result<AttributeValue, DomainError> {
    serde_dynamo::to_attribute_value(status)
        .map_err(|e| DomainError::Internal(format!("cannot map a status: {e}")))
}

#[async_trait]
impl DiscountStore for DynamoDiscounts {
    async fn get(&self, id: DiscountId) -> Result<Option<Discount>, DomainError> {
        Ok(self
            .get_item::<DiscountItem>(DISCOUNTS_PK.to_owned(), &discount_sk(id))
            .await?
            .map(|i| i.discount))
    }

    async fn by_code(&self, code: &str) -> Result<Option<Discount>, DomainError> {
        let Some(guard) = self.get_item::<GuardItem>(code_pk(code), "CODE").await? else {
            return Ok(None);
        };
        self.get(guard.owner).await
    }

    async fn automatic(&self) -> Result<Vec<Discount>, DomainError> {
        self.query_all(DISCOUNTS_PK, true)
            .await?
            .into_iter()
            .map(|item| from_item::<DiscountItem>(item).map(|i| i.discount))
            .collect()
    }

    async fn create(&self, discount: &Discount, event: OutgoingEvent) -> Result<(), DomainError> {
        let put = self.put(Self::discount_item(discount)?, "attribute_not_exists(pk)")?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(code) = &discount.code {
            items.push(self.guard_put(discount, code)?);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(err) => Err(match failed_condition(&err) {
                Some(0) => {
                    DomainError::Conflict(format!("discount `{}` already exists", discount.id))
                }
                Some(1) if discount.code.is_some() => {
                    code_taken(discount.code.as_deref().unwrap_or_default())
                }
                _ => transact_error(err, stale(discount.id)),
            }),
        }
    }

    async fn update(
        &self,
        before: &Discount,
        after: &Discount,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        if before.id != after.id {
            return Err(DomainError::Internal(format!(
                "an update of discount `{}` was handed discount `{}`",
                before.id, after.id
            )));
        }
        let mut items = vec![self.versioned_put(after, before.version)?];
        let mut guard = None;
        if before.normalised_code() != after.normalised_code() {
            if let Some(old) = &before.code {
                items.push(self.guard_release(before, old)?);
            }
            if let Some(new) = &after.code {
                guard = Some((items.len(), new.as_str()));
                items.push(self.guard_put(after, new)?);
            }
        }
        items.push(outbox_put_event(&self.table, &event)?);
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(err) => Err(self.write_error(err, before.id, guard).await),
        }
    }

    async fn delete(&self, before: &Discount, event: OutgoingEvent) -> Result<(), DomainError> {
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key("pk", s(DISCOUNTS_PK))
                .key("sk", s(discount_sk(before.id)))
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(before.version))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        if let Some(code) = &before.code {
            items.push(self.guard_release(before, code)?);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(err) => Err(self.write_error(err, before.id, None).await),
        }
    }

    async fn list(
        &self,
        page_size: u32,
        after: Option<DiscountId>,
    ) -> Result<(Vec<Discount>, Option<DiscountId>), DomainError> {
        let (items, more) = self
            .query_page(
                DISCOUNTS_PK.to_owned(),
                "DISCOUNT#",
                page_size,
                after.map(discount_sk),
            )
            .await?;
        let page = items
            .into_iter()
            .map(|item| from_item::<DiscountItem>(item).map(|i| i.discount))
            .collect::<Result<Vec<_>, _>>()?;
        let last = page.last().map(|d| d.id).filter(|_| more);
        Ok((page, last))
    }

    async fn usage(&self, id: DiscountId, user: Option<&str>) -> Result<Usage, DomainError> {
        let total = self
            .get_item::<CounterItem>(counters_pk(id), USAGE_SK)
            .await?
            .map_or(0, |c| c.uses);
        let by_user = match user {
            Some(user) => self
                .get_item::<CounterItem>(counters_pk(id), &user_sk(user))
                .await?
                .map_or(0, |c| c.uses),
            None => 0,
        };
        Ok(Usage { total, by_user })
    }

    async fn redemption(&self, order_id: OrderId) -> Result<Option<Redemption>, DomainError> {
        Ok(self
            .get_item::<RedemptionItem>(redemption_pk(order_id), REDEMPTION_SK)
            .await?
            .map(|i| i.redemption))
    }

    async fn reserve(
        &self,
        redemption: &Redemption,
        discounts: &[Discount],
    ) -> Result<Redemption, ReserveRefusal> {
        // Per discount: [version check, global counter, user counter, entry]; then the
        // redemption itself.
        const PER_DISCOUNT: usize = 4;
        let mut items = Vec::new();
        for discount in discounts {
            let check = built(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(DISCOUNTS_PK))
                    .key("sk", s(discount_sk(discount.id)))
                    .condition_expression("#version = :expected")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":expected", n(discount.version))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
            items.push(self.counter(
                counters_pk(discount.id),
                USAGE_SK.to_owned(),
                true,
                discount.usage_limit,
            )?);
            items.push(self.counter(
                counters_pk(discount.id),
                user_sk(&redemption.user_id),
                true,
                discount.per_user_limit,
            )?);
            let entry = to_item(&EntryItem {
                pk: counters_pk(discount.id),
                sk: entry_sk(redemption.order_id),
                r#type: "redemption-entry".to_owned(),
                entry: RedemptionEntry::of(redemption),
            })?;
            let put = self.put(entry, "attribute_not_exists(pk)")?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let item = to_item(&RedemptionItem {
            pk: redemption_pk(redemption.order_id),
            sk: REDEMPTION_SK.to_owned(),
            r#type: "redemption".to_owned(),
            redemption: redemption.clone(),
        })?;
        let put = self.put(item, "attribute_not_exists(pk)")?;
        items.push(TransactWriteItem::builder().put(put).build());
        let err = match transact(&self.client, items).await {
            Ok(()) => return Ok(redemption.clone()),
            Err(err) => err,
        };
        let Some(index) = failed_condition(&err) else {
            return Err(
                transact_error(err, DomainError::Conflict("reservation refused".into())).into(),
            );
        };
        // The order already holds a redemption (a retry, or a concurrent call won): answer it.
        if let Some(existing) = self.redemption(redemption.order_id).await? {
            return Ok(existing);
        }
        let Some(discount) = discounts.get(index / PER_DISCOUNT) else {
            return Err(DomainError::Unavailable(
                "the order's redemption was refused but is not there; retry".into(),
            )
            .into());
        };
        Err(match index % PER_DISCOUNT {
            0 => match self.get(discount.id).await? {
                None => ReserveRefusal::Gone(discount.id),
                Some(_) => ReserveRefusal::Stale(discount.id),
            },
            1 => ReserveRefusal::UsageLimitReached(discount.id),
            2 => ReserveRefusal::PerUserLimitReached(discount.id),
            _ => DomainError::Unavailable(
                "a redemption of this order is being written; retry".into(),
            )
            .into(),
        })
    }

    async fn redeem(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError> {
        self.leave_reserved(order_id, RedemptionStatus::Redeemed, at)
            .await
    }

    async fn release(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError> {
        self.leave_reserved(order_id, RedemptionStatus::Released, at)
            .await
    }

    async fn redemptions_of(
        &self,
        id: DiscountId,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<RedemptionEntry>, Option<OrderId>), DomainError> {
        let (items, more) = self
            .query_page(
                counters_pk(id),
                "REDEMPTION#",
                page_size,
                after.map(entry_sk),
            )
            .await?;
        let page = items
            .into_iter()
            .map(|item| from_item::<EntryItem>(item).map(|i| i.entry))
            .collect::<Result<Vec<_>, _>>()?;
        let last = page.last().map(|e| e.order_id).filter(|_| more);
        Ok((page, last))
    }
}

impl DynamoDiscounts {
    /// Puts `item` unless the stored one is at `version` or newer.
    async fn put_if_newer(&self, item: Item, version: u64) -> Result<(), DomainError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#version) OR #version < :v")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
        }
    }
}

#[async_trait]
impl CatalogProjection for DynamoDiscounts {
    async fn apply(&self, event: &CatalogEvent) -> Result<(), DomainError> {
        match event {
            CatalogEvent::Product(p) => {
                let item = to_item(&ProductItem {
                    pk: format!("PRODUCT#{}", p.product_id),
                    sk: "PRODUCT".to_owned(),
                    r#type: "product".to_owned(),
                    product_id: p.product_id,
                    category_id: Some(p.category_id),
                    brand_id: Some(p.brand_id),
                    price: Some(p.price),
                    currency: Some(p.currency),
                    status: p.status.clone(),
                    variants: p.variants.clone().into_iter().collect(),
                    version: p.version,
                })?;
                self.put_if_newer(item, p.version).await
            }
            CatalogEvent::ProductDeleted {
                product_id,
                version,
            } => {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(format!("PRODUCT#{product_id}")))
                    .key("sk", s("PRODUCT"))
                    .update_expression(
                        "SET #status = :deleted, #version = :v, productId = :id, #type = :product",
                    )
                    .condition_expression("attribute_not_exists(#version) OR #version < :v")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_names("#type", "type")
                    .expression_attribute_values(":deleted", s("deleted"))
                    .expression_attribute_values(":v", n(*version))
                    .expression_attribute_values(":id", s(product_id.to_string()))
                    .expression_attribute_values(":product", s("product"))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(err) if is_condition_failed(&err) => Ok(()),
                    Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
                }
            }
            CatalogEvent::Category(c) => {
                let item = to_item(&CategoryItem {
                    pk: CATEGORIES_PK.to_owned(),
                    sk: format!("CATEGORY#{}", c.category_id),
                    r#type: "category".to_owned(),
                    category_id: c.category_id,
                    parent_id: c.parent_id,
                    deleted: c.deleted,
                    version: c.version,
                })?;
                self.put_if_newer(item, c.version).await
            }
        }
    }

    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (format!("PRODUCT#{id}"), "PRODUCT".to_owned()))
            .collect();
        let items: Vec<ProductItem> = batch_get(&self.client, &self.table, &keys, true).await?;
        Ok(items
            .into_iter()
            .filter_map(|p| {
                let (Some(category_id), Some(brand_id), Some(price), Some(currency)) =
                    (p.category_id, p.brand_id, p.price, p.currency)
                else {
                    return None;
                };
                Some(ProductFacts {
                    product_id: p.product_id,
                    category_id,
                    brand_id,
                    price,
                    currency,
                    status: p.status,
                    variants: p.variants.into_iter().collect(),
                    version: p.version,
                })
            })
            .collect())
    }

    async fn categories(&self) -> Result<CategoryTree, DomainError> {
        let items = self.query_all(CATEGORIES_PK, false).await?;
        let facts = items
            .into_iter()
            .map(|item| {
                from_item::<CategoryItem>(item).map(|c| CategoryFacts {
                    category_id: c.category_id,
                    parent_id: c.parent_id,
                    version: c.version,
                    deleted: c.deleted,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CategoryTree::new(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DiscountInput;

    #[test]
    fn every_item_roundtrips() {
        let input = DiscountInput::from_json(&serde_json::json!({"code": "RTRIP", "name": "Round",
            "type": "fixed", "value": 500, "currency": "EUR", "startsAt": "2026-12-01T00:00:00Z",
            "appliesTo": {"productIds": ["01JBQ00000000000000000PR01"]}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let discount = Discount::create(input, DiscountId::new(), now);
        let item = DynamoDiscounts::discount_item(&discount).unwrap();
        let back: DiscountItem = from_item(item).unwrap();
        assert_eq!(back.discount, discount);
        let redemption = Redemption::reserve(OrderId::new(), "ann".into(), vec![discount.id], now);
        let item = to_item(&RedemptionItem {
            pk: "p".into(),
            sk: "s".into(),
            r#type: "redemption".into(),
            redemption: redemption.clone(),
        })
        .unwrap();
        assert_eq!(
            from_item::<RedemptionItem>(item).unwrap().redemption,
            redemption
        );
    }
}
