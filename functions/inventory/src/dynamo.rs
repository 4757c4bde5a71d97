//! [`DynamoInventory`]: the [`InventoryStore`] on the inventory table.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | product (projection) | `PRODUCT#<productId>` | `PRODUCT` |
//! | unit | `PRODUCT#<productId>` | `UNIT#<sku>` |
//! | reservation | `RESERVATION#<id>` | `RESERVATION` |
//! | movement | `MOVEMENTS#<productId>#<sku>` | `MOVEMENT#<movementId>` |
//! | outbox | `OUTBOX#<eventId>` | `OUTBOX` |
//!
//! A product's units share its partition, so `GET /api/inventory/{productId}` is one Query.
//! An ACTIVE reservation carries `activePk = "ACTIVE"` and `activeUntil` (its expiry), the
//! keys of the sparse index `ActiveByExpiry` the sweeper queries; leaving ACTIVE removes
//! them. (A reservation's `expiresAt` is a string, so the table's TTL, which reads only
//! numbers, never deletes one.)
//!
//! The invariants are conditions, never a read followed by a blind write:
//! - reserve: one transaction of the reservation's put (`attribute_not_exists`), per unit
//!   `available = available − q, reserved = reserved + q` under `sellable AND available >= q`,
//!   the movements and the event;
//! - release / expire / commit: the reservation's update under `status = ACTIVE AND version =
//!   v`, with the units' updates, so exactly one transition happens whoever races;
//! - a seller's write: computed from a read, under `version = <read>`.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{b, built, n, s, timestamp};
use shop_adapters::dynamo::{
    batch_get, from_item, is_condition_failed, put_if_newer, to_item, transact,
};
use shop_adapters::outbox::{failed_condition, outbox_put_event, transact_error};
use shop_domain::{DomainError, EventId, OutgoingEvent, ProductId, ReservationId};

use crate::domain::{
    Crossings, Finish, InventoryStore, Movement, ProductFacts, Reservation, ReservationStatus,
    Unit, UnitKey,
};

/// The sparse index of ACTIVE reservations by expiry.
pub const ACTIVE_INDEX: &str = "ActiveByExpiry";

/// The inventory table.
#[derive(Debug, Clone)]
pub struct DynamoInventory {
    client: Client,
    table: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    facts: ProductFacts,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnitItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    unit: Unit,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReservationItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_until: Option<String>,
    #[serde(flatten)]
    reservation: Reservation,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MovementItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    movement: Movement,
}

const PRODUCT_SK: &str = "PRODUCT";
const RESERVATION_SK: &str = "RESERVATION";
const ACTIVE: &str = "ACTIVE";

fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

fn unit_sk(sku: &str) -> String {
    format!("UNIT#{sku}")
}

fn reservation_pk(id: ReservationId) -> String {
    format!("RESERVATION#{id}")
}

fn movements_pk(key: &UnitKey) -> String {
    format!("MOVEMENTS#{}#{}", key.product_id, key.sku)
}

fn movement_sk(id: EventId) -> String {
    format!("MOVEMENT#{id}")
}

/// The moved-on state of the thing a write was computed from.
fn conflict(what: &str) -> DomainError {
    DomainError::Conflict(format!("the {what} changed meanwhile; read it again"))
}

impl DynamoInventory {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn unit_update(&self, key: &UnitKey) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(product_pk(key.product_id)))
            .key("sk", s(unit_sk(&key.sku)))
    }

    fn movement_put(&self, movement: &Movement) -> Result<TransactWriteItem, DomainError> {
        let key = UnitKey::new(movement.product_id, movement.sku.clone());
        let item = to_item(&MovementItem {
            pk: movements_pk(&key),
            sk: movement_sk(movement.movement_id),
            r#type: "movement".to_owned(),
            movement: movement.clone(),
        })?;
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn reservation_update(
        &self,
        read: &Reservation,
        next: &Reservation,
        from: ReservationStatus,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(reservation_pk(read.reservation_id)))
            .key("sk", s(RESERVATION_SK))
            .update_expression(
                "SET #status = :next, expired = :expired, version = :nv, updatedAt = :at \
                 REMOVE activePk, activeUntil",
            )
            .condition_expression("#status = :from AND version = :v")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":next", status_value(next.status)?)
            .expression_attribute_values(":from", status_value(from)?)
            .expression_attribute_values(":expired", b(next.expired))
            .expression_attribute_values(":nv", n(next.version))
            .expression_attribute_values(":v", n(read.version))
            .expression_attribute_values(":at", timestamp(next.updated_at));
        if from == ReservationStatus::Released {
            update = update
                .condition_expression("#status = :from AND version = :v AND expired = :true")
                .expression_attribute_values(":true", b(true));
        }
        Ok(TransactWriteItem::builder()
            .update(built(update.build())?)
            .build())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, sk, true).await
    }
}

fn status_value(status: ReservationStatus) -> Result<AttributeValue, DomainError> {
    serde_dynamo::to_attribute_value(status)
        .map_err(|e| DomainError::Internal(format!("cannot map a status: {e}")))
}

#[async_trait]
impl InventoryStore for DynamoInventory {
    async fn product(&self, product_id: ProductId) -> Result<Option<ProductFacts>, DomainError> {
        Ok(self
            .get::<ProductItem>(product_pk(product_id), PRODUCT_SK)
            .await?
            .map(|i| i.facts))
    }

    async fn apply_product(
        &self,
        facts: &ProductFacts,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        if let Some(stored) = self.product(facts.product_id).await?
            && stored.version >= facts.version
        {
            return Ok(false);
        }
        // Units first, each under its own version guard, then the product: a crash in
        // between leaves the product behind, so the redelivered event does the rest.
        let mut skus: BTreeSet<String> = self
            .units(facts.product_id)
            .await?
            .into_iter()
            .map(|u| u.sku)
            .collect();
        if !facts.is_deleted() {
            skus.extend(facts.skus.iter().cloned());
        }
        for sku in skus {
            let sellable = !facts.is_deleted() && facts.skus.contains(&sku);
            let key = UnitKey::new(facts.product_id, sku.clone());
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(product_pk(key.product_id)))
                .key("sk", s(unit_sk(&sku)))
                .update_expression(
                    "SET #type = :unit, productId = :pid, sku = :sku, sellerId = :seller, \
                     sellable = :sellable, productVersion = :pv, \
                     onHand = if_not_exists(onHand, :zero), \
                     reserved = if_not_exists(reserved, :zero), \
                     available = if_not_exists(available, :zero), \
                     lowStockThreshold = if_not_exists(lowStockThreshold, :zero), \
                     lowFlag = if_not_exists(lowFlag, :false), \
                     outFlag = if_not_exists(outFlag, :true), \
                     version = if_not_exists(version, :zero), \
                     updatedAt = if_not_exists(updatedAt, :at)",
                )
                .condition_expression("attribute_not_exists(pk) OR productVersion < :pv")
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":unit", s("unit"))
                .expression_attribute_values(":pid", s(facts.product_id.to_string()))
                .expression_attribute_values(":sku", s(sku.clone()))
                .expression_attribute_values(":seller", s(facts.seller_id.clone()))
                .expression_attribute_values(":sellable", b(sellable))
                .expression_attribute_values(":pv", n(facts.version))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":false", b(false))
                .expression_attribute_values(":true", b(true))
                .expression_attribute_values(":at", timestamp(at))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(err) if is_condition_failed(&err) => {}
                Err(err) => return Err(sdk_error("DynamoDB UpdateItem", err)),
            }
        }
        let item = to_item(&ProductItem {
            pk: product_pk(facts.product_id),
            sk: PRODUCT_SK.to_owned(),
            r#type: "product".to_owned(),
            facts: facts.clone(),
        })?;
        put_if_newer(&self.client, &self.table, item, facts.version).await
    }

    async fn units(&self, product_id: ProductId) -> Result<Vec<Unit>, DomainError> {
        let mut units = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(product_pk(product_id)))
                .expression_attribute_values(":prefix", s("UNIT#"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            for item in output.items.unwrap_or_default() {
                units.push(from_item::<UnitItem>(item)?.unit);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(units),
            }
        }
    }

    async fn unit(&self, key: &UnitKey) -> Result<Option<Unit>, DomainError> {
        Ok(self
            .get::<UnitItem>(product_pk(key.product_id), &unit_sk(&key.sku))
            .await?
            .map(|i| i.unit))
    }

    async fn stock_levels(&self, keys: &[UnitKey]) -> Result<Vec<Option<Unit>>, DomainError> {
        let request: Vec<(String, String)> = keys
            .iter()
            .map(|k| (product_pk(k.product_id), unit_sk(&k.sku)))
            .collect();
        // Strongly consistent: a reservation is refused early on this read.
        let items: Vec<UnitItem> = batch_get(&self.client, &self.table, &request, true).await?;
        let found: HashMap<UnitKey, Unit> =
            items.into_iter().map(|i| (i.unit.key(), i.unit)).collect();
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn write_unit(
        &self,
        unit: &Unit,
        movement: &Movement,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let update = built(
            self.unit_update(&unit.key())
                .update_expression(
                    "SET onHand = :oh, available = :av, lowStockThreshold = :t, version = :v, \
                     updatedAt = :at",
                )
                .condition_expression("version = :read AND reserved = :reserved")
                .expression_attribute_values(":oh", n(unit.on_hand))
                .expression_attribute_values(":av", n(unit.available))
                .expression_attribute_values(":t", n(unit.low_stock_threshold))
                .expression_attribute_values(":v", n(unit.version))
                .expression_attribute_values(":read", n(unit.version - 1))
                .expression_attribute_values(":reserved", n(unit.reserved))
                .expression_attribute_values(":at", timestamp(unit.updated_at))
                .build(),
        )?;
        let mut writes = vec![
            TransactWriteItem::builder().update(update).build(),
            self.movement_put(movement)?,
        ];
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        transact(&self.client, writes)
            .await
            .map_err(|e| transact_error(e, conflict("unit")))
    }

    async fn settle_flags(
        &self,
        unit: &Unit,
        crossings: Crossings,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let update = built(
            self.unit_update(&unit.key())
                .update_expression("SET lowFlag = :low, outFlag = :out")
                .condition_expression("version = :v AND lowFlag = :was_low AND outFlag = :was_out")
                .expression_attribute_values(":low", b(crossings.low_flag))
                .expression_attribute_values(":out", b(crossings.out_flag))
                .expression_attribute_values(":v", n(unit.version))
                .expression_attribute_values(":was_low", b(unit.low_flag))
                .expression_attribute_values(":was_out", b(unit.out_flag))
                .build(),
        )?;
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        transact(&self.client, writes)
            .await
            .map_err(|e| transact_error(e, conflict("unit")))
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let item = to_item(&ReservationItem {
            pk: reservation_pk(reservation.reservation_id),
            sk: RESERVATION_SK.to_owned(),
            r#type: "reservation".to_owned(),
            active_pk: Some(ACTIVE.to_owned()),
            active_until: Some(
                reservation
                    .expires_at
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            reservation: reservation.clone(),
        })?;
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        for line in &reservation.items {
            let update = built(
                self.unit_update(&line.key())
                    .update_expression(
                        "SET available = available - :q, reserved = reserved + :q, \
                         version = version + :one, updatedAt = :at",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND sellable = :true AND available >= :q",
                    )
                    .expression_attribute_values(":q", n(line.quantity))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":true", b(true))
                    .expression_attribute_values(":at", timestamp(reservation.created_at))
                    .build(),
            )?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        for movement in &movements {
            writes.push(self.movement_put(movement)?);
        }
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        let units = reservation.items.len();
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(err) => match failed_condition(&err) {
                Some(0) => Err(DomainError::Conflict(format!(
                    "reservation {} exists",
                    reservation.reservation_id
                ))),
                Some(i) if i <= units => Err(DomainError::Unprocessable(format!(
                    "unit {} cannot be reserved",
                    reservation.items[i - 1].key()
                ))),
                _ => Err(transact_error(err, conflict("reservation"))),
            },
        }
    }

    async fn finish(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        how: Finish,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut writes =
            vec![self.reservation_update(reservation, next, ReservationStatus::Active)?];
        for line in &reservation.items {
            let (expression, condition) = match how {
                Finish::Commit => (
                    "SET onHand = onHand - :q, reserved = reserved - :q, \
                     version = version + :one, updatedAt = :at",
                    "reserved >= :q AND onHand >= :q",
                ),
                Finish::Release | Finish::Expire => (
                    "SET available = available + :q, reserved = reserved - :q, \
                     version = version + :one, updatedAt = :at",
                    "reserved >= :q",
                ),
            };
            let update = built(
                self.unit_update(&line.key())
                    .update_expression(expression)
                    .condition_expression(condition)
                    .expression_attribute_values(":q", n(line.quantity))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":at", timestamp(next.updated_at))
                    .build(),
            )?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        for movement in &movements {
            writes.push(self.movement_put(movement)?);
        }
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(err) => match failed_condition(&err) {
                Some(0) => Err(conflict("reservation")),
                Some(i) if i <= reservation.items.len() => Err(DomainError::Internal(format!(
                    "unit {} holds less reserved than reservation {} (the sum of active \
                     reservations is broken)",
                    reservation.items[i - 1].key(),
                    reservation.reservation_id
                ))),
                _ => Err(transact_error(err, conflict("reservation"))),
            },
        }
    }

    async fn commit_expired(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut writes =
            vec![self.reservation_update(reservation, next, ReservationStatus::Released)?];
        for line in &reservation.items {
            let update = built(
                self.unit_update(&line.key())
                    .update_expression(
                        "SET onHand = onHand - :q, available = available - :q, \
                         version = version + :one, updatedAt = :at",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND sellable = :true AND available >= :q",
                    )
                    .expression_attribute_values(":q", n(line.quantity))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":true", b(true))
                    .expression_attribute_values(":at", timestamp(next.updated_at))
                    .build(),
            )?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        for movement in &movements {
            writes.push(self.movement_put(movement)?);
        }
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(err) => match failed_condition(&err) {
                Some(0) => Err(conflict("reservation")),
                Some(i) if i <= reservation.items.len() => {
                    Err(DomainError::Unprocessable(format!(
                        "unit {} no longer has the stock",
                        reservation.items[i - 1].key()
                    )))
                }
                _ => Err(transact_error(err, conflict("reservation"))),
            },
        }
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, DomainError> {
        Ok(self
            .get::<ReservationItem>(reservation_pk(id), RESERVATION_SK)
            .await?
            .map(|i| i.reservation))
    }

    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ReservationId>, DomainError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(ACTIVE_INDEX)
                .key_condition_expression("activePk = :active AND activeUntil <= :now")
                .expression_attribute_values(":active", s(ACTIVE))
                .expression_attribute_values(":now", timestamp(now))
                .limit(i32::try_from(limit - ids.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            for item in output.items.unwrap_or_default() {
                let pk = match item.get("pk") {
                    Some(AttributeValue::S(pk)) => pk.clone(),
                    _ => continue,
                };
                if let Some(id) = pk.strip_prefix("RESERVATION#").and_then(|i| i.parse().ok()) {
                    ids.push(id);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && ids.len() < limit => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }

    async fn movements(
        &self,
        key: &UnitKey,
        page_size: u32,
        after: Option<EventId>,
    ) -> Result<(Vec<Movement>, Option<EventId>), DomainError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(movements_pk(key)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(page_size + 1).unwrap_or(i32::MAX));
        query = match after {
            Some(after) => query
                .key_condition_expression("pk = :pk AND sk < :after")
                .expression_attribute_values(":after", s(movement_sk(after))),
            None => query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s("MOVEMENT#")),
        };
        let output = query
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        let mut page = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<MovementItem>(item).map(|i| i.movement))
            .collect::<Result<Vec<_>, _>>()?;
        let more = page.len() > page_size as usize;
        page.truncate(page_size as usize);
        let next = page.last().map(|m| m.movement_id).filter(|_| more);
        Ok((page, next))
    }
}
