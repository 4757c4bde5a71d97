//! [`DynamoOrders`]: the [`OrderStore`] on the orders table.
//!
//! | item | pk | sk | also |
//! |---|---|---|---|
//! | order | `ORDER#<orderId>` | `ORDER` | the order's fields; `gsiUser`, `gsiStatus`, `gsiAll` (= `ORDER`) and `gsiSk` (= the order id) for the indexes |
//! | order number guard | `ORDERNUMBER#<ORD-…>` | `ORDERNUMBER` | `orderId` |
//! | checkout lock | `CHECKOUT#<userId>` | `LOCK` | `orderId`, `expiresAt` (epoch seconds, also the TTL) |
//! | seller index | `SELLER#<sellerId>` | `ORDER#<orderId>` | `orderId` |
//! | idempotency record | `IDEMPOTENCY#…` | `IDEMPOTENCY` | (shop-adapters `idempotency`) |
//! | outbox | `OUTBOX#<eventId>` | `OUTBOX` | (shop-adapters `outbox`) |
//!
//! Indexes (projection ALL, newest first by the ULID sort key): `ByUser` (`gsiUser`,
//! `gsiSk`), `ByStatus` (`gsiStatus`, `gsiSk`), `All` (`gsiAll`, `gsiSk`). Only order items
//! carry their keys, so they hold nothing else.
//!
//! The conditions:
//! - placing is one transaction: the order `attribute_not_exists(pk)`, its number's guard
//!   `attribute_not_exists(pk)` (a taken number is drawn again), the lock
//!   `attribute_not_exists(pk) OR expiresAt < :now`, and the seller index entries;
//! - every change of an order is a put conditional on `#status = :from AND #version = :v`
//!   (the status and version read) in one transaction with its outbox item;
//! - the lock is released by a delete conditional on `orderId = :order`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{built, n, s};
use shop_adapters::dynamo::{
    Item, batch_get, from_item, get_item, is_condition_failed, to_item, transact,
};
use shop_adapters::outbox::{failed_condition, outbox_put_event, transact_error};
use shop_domain::{DomainError, OrderId, OutgoingEvent};

use crate::domain::{Order, OrderStatus, OrderStore, PlaceRefusal};

const ORDER_SK: &str = "ORDER";
const NUMBER_SK: &str = "ORDERNUMBER";
const LOCK_SK: &str = "LOCK";
const ALL: &str = "ORDER";
/// The orders table.
#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    table: String,
}

impl DynamoOrders {
    /// Orders in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn order_pk(id: OrderId) -> String {
    format!("ORDER#{id}")
}

fn lock_pk(user: &str) -> String {
    format!("CHECKOUT#{user}")
}

fn seller_pk(seller: &str) -> String {
    format!("SELLER#{seller}")
}

/// An order as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderItem {
    pk: String,
    sk: String,
    r#type: String,
    gsi_user: String,
    gsi_status: OrderStatus,
    gsi_all: String,
    gsi_sk: String,
    #[serde(flatten)]
    order: Order,
}

impl OrderItem {
    fn of(order: &Order) -> Self {
        Self {
            pk: order_pk(order.order_id),
            sk: ORDER_SK.to_owned(),
            r#type: "order".to_owned(),
            gsi_user: order.user_id.clone(),
            gsi_status: order.status,
            gsi_all: ALL.to_owned(),
            gsi_sk: order.order_id.to_string(),
            order: order.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LockItem {
    pk: String,
    sk: String,
    r#type: String,
    order_id: OrderId,
    expires_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefItem {
    pk: String,
    sk: String,
    r#type: String,
    order_id: OrderId,
}

impl DynamoOrders {
    fn put(&self, item: Item, condition: Option<&str>) -> Result<Put, DomainError> {
        built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .build(),
        )
    }

    /// The orders `ids`, in that order (strongly consistent; missing ones left out).
    async fn orders(&self, ids: &[OrderId]) -> Result<Vec<Order>, DomainError> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (order_pk(*id), ORDER_SK.to_owned()))
            .collect();
        let items: Vec<OrderItem> = batch_get(&self.client, &self.table, &keys, true).await?;
        let found: HashMap<OrderId, Order> = items
            .into_iter()
            .map(|i| (i.order.order_id, i.order))
            .collect();
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// One page of an index (`hash` = `value`), newest first.
    async fn query_index(
        &self,
        index: &str,
        hash: &str,
        value: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        let start = after.map(|id| {
            HashMap::from([
                ("pk".to_owned(), s(order_pk(id))),
                ("sk".to_owned(), s(ORDER_SK)),
                (hash.to_owned(), s(value)),
                ("gsiSk".to_owned(), s(id.to_string())),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#h = :h")
            .expression_attribute_names("#h", hash)
            .expression_attribute_values(":h", s(value))
            .scan_index_forward(false)
            .limit(page_size as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        let orders = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<OrderItem>(item).map(|i| i.order))
            .collect::<Result<Vec<_>, _>>()?;
        let last = match output.last_evaluated_key {
            Some(key) => match key.get("gsiSk") {
                Some(AttributeValue::S(id)) => Some(id.parse()?),
                _ => None,
            },
            None => None,
        };
        Ok((orders, last))
    }
}

#[async_trait]
impl OrderStore for DynamoOrders {
    async fn place(
        &self,
        order: &Order,
        lock_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PlaceRefusal> {
        let mut items = vec![
            self.put(
                to_item(&OrderItem::of(order))?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.put(
                to_item(&RefItem {
                    pk: format!("ORDERNUMBER#{}", order.order_number),
                    sk: NUMBER_SK.to_owned(),
                    r#type: "orderNumber".to_owned(),
                    order_id: order.order_id,
                })?,
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        let lock = to_item(&LockItem {
            pk: lock_pk(&order.user_id),
            sk: LOCK_SK.to_owned(),
            r#type: "checkoutLock".to_owned(),
            order_id: order.order_id,
            expires_at: lock_expires_at.timestamp(),
        })?;
        items.push(built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(lock))
                .condition_expression("attribute_not_exists(pk) OR expiresAt < :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .build(),
        )?);
        for seller in order.sellers() {
            items.push(self.put(
                to_item(&RefItem {
                    pk: seller_pk(&seller),
                    sk: order_pk(order.order_id),
                    r#type: "sellerOrder".to_owned(),
                    order_id: order.order_id,
                })?,
                None,
            )?);
        }
        let items = items
            .into_iter()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .collect();
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(err) => match failed_condition(&err) {
                Some(1) => Err(PlaceRefusal::NumberTaken),
                Some(2) => Err(PlaceRefusal::LockTaken(None)),
                _ => Err(PlaceRefusal::Store(transact_error(
                    err,
                    DomainError::Conflict(format!("order {} exists", order.order_id)),
                ))),
            },
        }
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let item: Option<OrderItem> =
            get_item(&self.client, &self.table, order_pk(id), ORDER_SK, true).await?;
        Ok(item.map(|i| i.order))
    }

    async fn update(
        &self,
        before: &Order,
        after: &Order,
        event: Option<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&OrderItem::of(after))?))
                .condition_expression("#status = :from AND #version = :v")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":from", s(before.status.as_str()))
                .expression_attribute_values(":v", n(before.version))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(event) = event {
            items.push(outbox_put_event(&self.table, &event)?);
        }
        transact(&self.client, items).await.map_err(|err| {
            transact_error(
                err,
                DomainError::Conflict(format!(
                    "order {} is no longer {} at version {}",
                    before.order_id, before.status, before.version
                )),
            )
        })
    }

    async fn release_lock(&self, user: &str, order: OrderId) -> Result<(), DomainError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(lock_pk(user)))
            .key("sk", s(LOCK_SK))
            .condition_expression("orderId = :order")
            .expression_attribute_values(":order", s(order.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(sdk_error("DynamoDB DeleteItem", err)),
        }
    }

    async fn lock_of(&self, user: &str) -> Result<Option<(OrderId, DateTime<Utc>)>, DomainError> {
        let item: Option<LockItem> =
            get_item(&self.client, &self.table, lock_pk(user), LOCK_SK, true).await?;
        Ok(item.map(|l| {
            (
                l.order_id,
                DateTime::from_timestamp(l.expires_at, 0).unwrap_or_default(),
            )
        }))
    }

    async fn list_by_user(
        &self,
        user: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        self.query_index("ByUser", "gsiUser", user, page_size, after)
            .await
    }

    async fn list_by_seller(
        &self,
        seller: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        let start = after.map(|id| {
            HashMap::from([
                ("pk".to_owned(), s(seller_pk(seller))),
                ("sk".to_owned(), s(order_pk(id))),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :order)")
            .expression_attribute_values(":pk", s(seller_pk(seller)))
            .expression_attribute_values(":order", s("ORDER#"))
            .scan_index_forward(false)
            .limit(page_size as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        let ids = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| match item.get("orderId") {
                Some(AttributeValue::S(id)) => id.parse::<OrderId>(),
                _ => Err(DomainError::Internal(
                    "a seller index item without an orderId".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let last = match output.last_evaluated_key {
            Some(key) => match key.get("sk") {
                Some(AttributeValue::S(sk)) => {
                    Some(sk.trim_start_matches("ORDER#").parse::<OrderId>()?)
                }
                _ => None,
            },
            None => None,
        };
        Ok((self.orders(&ids).await?, last))
    }

    async fn list_all(
        &self,
        status: Option<OrderStatus>,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        match status {
            Some(status) => {
                self.query_index("ByStatus", "gsiStatus", status.as_str(), page_size, after)
                    .await
            }
            None => {
                self.query_index("All", "gsiAll", ALL, page_size, after)
                    .await
            }
        }
    }
}
