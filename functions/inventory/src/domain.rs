//! The inventory's rules, with no storage and no HTTP in sight.
//!
//! A tour:
//! - [`Unit`]: the stock of one unit (a product's variant, or a product without variants, whose
//!   sku is the product id): `onHand`, `reserved`, `available` (always `onHand − reserved`,
//!   stored as its own attribute so a reservation is one `available >= :q` condition), the
//!   low-stock threshold, the crossing flags and the version every change to on-hand or
//!   reserved bumps.
//! - [`Reservation`]: an order's lines summed per unit, `ACTIVE` until committed, released
//!   or expired ([`ReservationStatus`]).
//! - [`Movement`]: one change to a unit's on-hand or reserved, with why, who and when.
//! - [`ProductFacts`]: what the inventory keeps of a catalog product (its seller, status and
//!   units), from the catalog's events ([`catalog`]).
//! - [`events`]: the seven `shop.inventory` events.
//! - [`InventoryStore`]: the one port; every rule it keeps is a condition of the write
//!   (docs/decisions.md, "Inventory").

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{DomainError, FieldError, OutgoingEvent, ProductId, ReservationId};

pub mod catalog;
pub mod events;

/// The most on hand a unit may hold, and the largest adjustment.
pub const MAX_QUANTITY: u64 = 1_000_000_000;
/// The most units (after summing lines of the same unit) one reservation may hold: one
/// `TransactWriteItems` takes the reservation, a unit update and a movement per unit, and the
/// event, within DynamoDB's 100 items.
pub const MAX_RESERVATION_UNITS: usize = 48;
/// The most lines a reservation request may send (lines of one unit are summed).
pub const MAX_RESERVATION_LINES: usize = 100;
/// The most one line may ask for.
pub const MAX_LINE_QUANTITY: u64 = 10_000;
/// The longest hold a reservation may ask for: a day (the checkout waits minutes).
pub const MAX_HOLD_SECONDS: u64 = 86_400;
/// The most units one `get-stock-levels` call may ask about.
pub const MAX_STOCK_LEVEL_UNITS: usize = 100;

/// A unit: a product id and a sku (the product id itself for a product without variants).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitKey {
    /// The product.
    pub product_id: ProductId,
    /// The variant's sku, or the product id.
    pub sku: String,
}

impl UnitKey {
    /// The unit `sku` of `product_id`.
    pub fn new(product_id: ProductId, sku: impl Into<String>) -> Self {
        Self {
            product_id,
            sku: sku.into(),
        }
    }
}

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.product_id, self.sku)
    }
}

/// Whether `sku` has the catalog's sku shape (letters, digits, `.`, `_`, `-`; 1–64).
pub fn is_sku(sku: &str) -> bool {
    (1..=64).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The stock of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// The product.
    pub product_id: ProductId,
    /// The sku (the product id for a product without variants).
    pub sku: String,
    /// The product's seller (who may change this stock).
    pub seller_id: String,
    /// Physically in stock.
    pub on_hand: u64,
    /// Held by active reservations: always their sum.
    pub reserved: u64,
    /// `on_hand − reserved`: what can still be reserved.
    pub available: u64,
    /// `LowStockDetected` fires when `available` drops below this (0: never).
    pub low_stock_threshold: u64,
    /// Whether the unit can be reserved: its product exists and still has this unit.
    pub sellable: bool,
    /// `available < low_stock_threshold` as last announced (one `LowStockDetected` per
    /// crossing).
    pub low_flag: bool,
    /// `available == 0` as last announced (`OutOfStock` / `BackInStock`).
    pub out_flag: bool,
    /// +1 on every change to on-hand, reserved or the threshold; writes from a read are
    /// conditional on it.
    pub version: u64,
    /// The catalog version of the product this unit was last set from.
    pub product_version: u64,
    /// The last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Unit {
    /// A unit the catalog just told about: nothing on hand, announced as out of stock (no
    /// event: it never was in stock).
    pub fn new(key: &UnitKey, seller_id: &str, product_version: u64, at: DateTime<Utc>) -> Self {
        Self {
            product_id: key.product_id,
            sku: key.sku.clone(),
            seller_id: seller_id.to_owned(),
            on_hand: 0,
            reserved: 0,
            available: 0,
            low_stock_threshold: 0,
            sellable: true,
            low_flag: false,
            out_flag: true,
            version: 0,
            product_version,
            updated_at: at,
        }
    }

    /// The unit's key.
    pub fn key(&self) -> UnitKey {
        UnitKey::new(self.product_id, self.sku.clone())
    }

    /// Whether any of it can be reserved now.
    pub fn in_stock(&self) -> bool {
        self.sellable && self.available > 0
    }

    /// This unit with `on_hand` and `threshold` set, at the next version; 422 when fewer than
    /// what is reserved. Computed from a read: the store writes it only if the unit is still
    /// at the version read.
    pub fn with_stock(
        &self,
        on_hand: u64,
        threshold: u64,
        at: DateTime<Utc>,
    ) -> Result<Unit, DomainError> {
        if on_hand < self.reserved {
            return Err(DomainError::Unprocessable(format!(
                "{} of unit {} are reserved; on hand cannot be {on_hand}",
                self.reserved,
                self.key()
            )));
        }
        Ok(Unit {
            on_hand,
            available: on_hand - self.reserved,
            low_stock_threshold: threshold,
            version: self.version + 1,
            updated_at: at,
            ..self.clone()
        })
    }

    /// This unit with `delta` added to on hand; 422 below zero or below what is reserved.
    pub fn adjusted(&self, delta: i64, at: DateTime<Utc>) -> Result<Unit, DomainError> {
        let on_hand = self.on_hand as i128 + delta as i128;
        if on_hand < 0 {
            return Err(DomainError::Unprocessable(format!(
                "unit {} has {} on hand; an adjustment of {delta} would take it below zero",
                self.key(),
                self.on_hand
            )));
        }
        if on_hand > MAX_QUANTITY as i128 {
            return Err(DomainError::Unprocessable(format!(
                "on hand may not exceed {MAX_QUANTITY}"
            )));
        }
        self.with_stock(on_hand as u64, self.low_stock_threshold, at)
    }

    /// The flags this unit's stock calls for, and the events announcing each flip.
    pub fn crossings(&self) -> Crossings {
        let low = self.low_stock_threshold > 0 && self.available < self.low_stock_threshold;
        let out = self.available == 0;
        Crossings {
            low_flag: low,
            out_flag: out,
            low_detected: low && !self.low_flag,
            out_of_stock: out && !self.out_flag,
            back_in_stock: !out && self.out_flag,
        }
    }
}

/// What a unit's flags should be, and which flips to announce (see [`Unit::crossings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossings {
    /// The new `low_flag`.
    pub low_flag: bool,
    /// The new `out_flag`.
    pub out_flag: bool,
    /// `available` dropped below the threshold: `LowStockDetected`.
    pub low_detected: bool,
    /// `available` reached 0: `OutOfStock`.
    pub out_of_stock: bool,
    /// `available` left 0: `BackInStock`.
    pub back_in_stock: bool,
}

impl Crossings {
    /// Whether the flags differ from `unit`'s.
    pub fn changes(&self, unit: &Unit) -> bool {
        self.low_flag != unit.low_flag || self.out_flag != unit.out_flag
    }
}

/// A reservation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// Counts in its units' `reserved`.
    Active,
    /// Sold: its quantities left on-hand and reserved together.
    Committed,
    /// Given back (by a release, or by the sweeper after `expiresAt`).
    Released,
}

/// One unit of a reservation, with the quantities of its lines summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedItem {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// How many.
    pub quantity: u64,
}

impl ReservedItem {
    /// The unit's key.
    pub fn key(&self) -> UnitKey {
        UnitKey::new(self.product_id, self.sku.clone())
    }
}

/// An order's hold on stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// The order id.
    pub reservation_id: ReservationId,
    /// Where it stands.
    pub status: ReservationStatus,
    /// One per unit, in the order the units first appeared in the request.
    pub items: Vec<ReservedItem>,
    /// When the hold lapses; the sweeper releases it soon after.
    #[serde(with = "shop_domain::timestamp")]
    pub expires_at: DateTime<Utc>,
    /// Released by the sweeper because it expired (a later commit may take the stock again
    /// if it is still there).
    pub expired: bool,
    /// 1 at creation, +1 per transition.
    pub version: u64,
    /// Made.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last transition.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    /// The reservation `request` asks for, made at `at`.
    pub fn new(request: &ReserveRequest, at: DateTime<Utc>) -> Self {
        Self {
            reservation_id: request.reservation_id,
            status: ReservationStatus::Active,
            items: request.items.clone(),
            expires_at: at + chrono::Duration::seconds(request.hold_seconds as i64),
            expired: false,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    /// Whether its hold has lapsed at `now`.
    pub fn is_past_expiry(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// This reservation moved to `status` at `at` (the next version).
    pub fn moved(&self, status: ReservationStatus, expired: bool, at: DateTime<Utc>) -> Self {
        Self {
            status,
            expired,
            version: self.version + 1,
            updated_at: at,
            ..self.clone()
        }
    }
}

/// One line of a reservation request, as the checkout sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReserveLine {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku (the product id for a product without variants).
    pub sku: String,
    /// How many (1–10,000).
    pub quantity: u64,
}

/// The input of `reserve-stock` as sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReserveInput {
    /// The order id.
    pub reservation_id: ReservationId,
    /// The order's lines.
    pub items: Vec<ReserveLine>,
    /// How long the hold lasts (1 s – 1 day).
    pub hold_seconds: u64,
}

/// A valid reservation request: lines of the same unit summed, in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The order id.
    pub reservation_id: ReservationId,
    /// One per unit.
    pub items: Vec<ReservedItem>,
    /// How long the hold lasts.
    pub hold_seconds: u64,
}

impl ReserveRequest {
    /// Checks `input` (every problem at once) and sums the lines per unit.
    pub fn parse(input: ReserveInput) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        if input.items.is_empty() {
            errors.push(FieldError::new("items", "must name at least one unit"));
        }
        if input.items.len() > MAX_RESERVATION_LINES {
            errors.push(FieldError::new(
                "items",
                format!("must have at most {MAX_RESERVATION_LINES} lines"),
            ));
        }
        if !(1..=MAX_HOLD_SECONDS).contains(&input.hold_seconds) {
            errors.push(FieldError::new(
                "holdSeconds",
                format!("must be from 1 to {MAX_HOLD_SECONDS}"),
            ));
        }
        let mut items: Vec<ReservedItem> = Vec::new();
        let mut index: BTreeMap<UnitKey, usize> = BTreeMap::new();
        for (i, line) in input.items.iter().enumerate().take(MAX_RESERVATION_LINES) {
            if !is_sku(&line.sku) {
                errors.push(FieldError::new(
                    format!("items[{i}].sku"),
                    "must be 1-64 letters, digits, '.', '_' or '-'",
                ));
            }
            if !(1..=MAX_LINE_QUANTITY).contains(&line.quantity) {
                errors.push(FieldError::new(
                    format!("items[{i}].quantity"),
                    format!("must be from 1 to {MAX_LINE_QUANTITY}"),
                ));
            }
            let key = UnitKey::new(line.product_id, line.sku.clone());
            match index.get(&key) {
                Some(&at) => items[at].quantity += line.quantity,
                None => {
                    index.insert(key, items.len());
                    items.push(ReservedItem {
                        product_id: line.product_id,
                        sku: line.sku.clone(),
                        quantity: line.quantity,
                    });
                }
            }
        }
        if items.len() > MAX_RESERVATION_UNITS {
            errors.push(FieldError::new(
                "items",
                format!("must name at most {MAX_RESERVATION_UNITS} different units"),
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                reservation_id: input.reservation_id,
                items,
                hold_seconds: input.hold_seconds,
            })
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// One change to a unit's on-hand or reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    /// Time-ordered id.
    pub movement_id: shop_domain::EventId,
    /// The unit's product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// Change to on-hand.
    pub on_hand_delta: i64,
    /// Change to reserved.
    pub reserved_delta: i64,
    /// Why: `set` (a seller's PUT), the adjustment's reason, `reserved`, `released`,
    /// `expired`, `committed`.
    pub reason: String,
    /// Who or what: the caller's `sub`, or `reservation:<id>`.
    pub actor: String,
    /// The reservation it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<ReservationId>,
    /// When.
    #[serde(with = "shop_domain::timestamp")]
    pub at: DateTime<Utc>,
}

impl Movement {
    /// A movement of `key` at `at`.
    pub fn new(
        key: &UnitKey,
        on_hand_delta: i64,
        reserved_delta: i64,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            movement_id: shop_domain::EventId::new(),
            product_id: key.product_id,
            sku: key.sku.clone(),
            on_hand_delta,
            reserved_delta,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            reservation_id: None,
            at,
        }
    }

    /// The movements of `reservation`'s units for a transition (`reason`), one per unit.
    pub fn of_reservation(
        reservation: &Reservation,
        reason: &str,
        sign: Deltas,
        at: DateTime<Utc>,
    ) -> Vec<Movement> {
        let actor = format!("reservation:{}", reservation.reservation_id);
        reservation
            .items
            .iter()
            .map(|item| {
                let q = item.quantity as i64;
                let mut movement =
                    Movement::new(&item.key(), sign.0 * q, sign.1 * q, reason, &actor, at);
                movement.reservation_id = Some(reservation.reservation_id);
                movement
            })
            .collect()
    }
}

/// The signs of a reservation transition's (on-hand, reserved) changes per unit.
#[derive(Debug, Clone, Copy)]
pub struct Deltas(pub i64, pub i64);

impl Deltas {
    /// Reserve: reserved up.
    pub const RESERVE: Deltas = Deltas(0, 1);
    /// Release or expire: reserved down.
    pub const RELEASE: Deltas = Deltas(0, -1);
    /// Commit: on-hand and reserved down.
    pub const COMMIT: Deltas = Deltas(-1, -1);
    /// Commit after expiry: on-hand down (the stock was taken from `available` again).
    pub const RETAKE: Deltas = Deltas(-1, 0);
}

/// The body of `PUT /api/inventory/{productId}/{sku}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StockInput {
    /// The new on-hand count.
    pub on_hand: u64,
    /// The new low-stock threshold (0: no alert).
    pub low_stock_threshold: u64,
}

impl StockInput {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.on_hand > MAX_QUANTITY {
            errors.push(FieldError::new(
                "onHand",
                format!("must be at most {MAX_QUANTITY}"),
            ));
        }
        if self.low_stock_threshold > MAX_QUANTITY {
            errors.push(FieldError::new(
                "lowStockThreshold",
                format!("must be at most {MAX_QUANTITY}"),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// The body of `POST /api/inventory/{productId}/{sku}/adjustments`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Added to on hand (negative takes away); never 0.
    pub delta: i64,
    /// Why (`recount`, `damaged`, `delivery` …): 1–200 characters.
    pub reason: String,
}

impl AdjustmentInput {
    /// Checks the bounds; the reason comes back trimmed.
    pub fn validate(&self) -> Result<String, DomainError> {
        let mut errors = Vec::new();
        if self.delta == 0 || self.delta.unsigned_abs() > MAX_QUANTITY {
            errors.push(FieldError::new(
                "delta",
                format!("must be non-zero and at most {MAX_QUANTITY} either way"),
            ));
        }
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            errors.push(FieldError::new("reason", "must be 1-200 characters"));
        } else if reason.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "reason",
                "must not contain control characters",
            ));
        }
        if errors.is_empty() {
            Ok(reason.to_owned())
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// What the inventory knows of a catalog product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFacts {
    /// The product.
    pub product_id: ProductId,
    /// Its seller.
    pub seller_id: String,
    /// `draft`, `active`, `archived`, or `deleted`.
    pub status: String,
    /// Its units' skus: the variants', or the product id when it has none; empty once deleted.
    pub skus: Vec<String>,
    /// The catalog's aggregate version these facts are from.
    pub version: u64,
}

impl ProductFacts {
    /// Whether the product was deleted.
    pub fn is_deleted(&self) -> bool {
        self.status == "deleted"
    }
}

/// How a reservation left `ACTIVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Sold: on-hand and reserved go down.
    Commit,
    /// Given back by a release.
    Release,
    /// Given back by the sweeper after its expiry.
    Expire,
}

/// The inventory's table: units, reservations, movements, the product projection and the
/// outbox. Every method that changes stock is one conditional write or transaction; a failed
/// condition is [`DomainError::Conflict`] unless said otherwise.
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// The product as the inventory knows it.
    async fn product(&self, product_id: ProductId) -> Result<Option<ProductFacts>, DomainError>;

    /// Applies catalog facts newer than what is stored: creates the units it names (0 on
    /// hand), marks units it no longer names (or all, when deleted) unsellable. Returns whether
    /// they were newer; older or repeated facts change nothing.
    async fn apply_product(
        &self,
        facts: &ProductFacts,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;

    /// Every unit of a product (sellable or not), by sku.
    async fn units(&self, product_id: ProductId) -> Result<Vec<Unit>, DomainError>;

    /// One unit, read strongly consistent.
    async fn unit(&self, key: &UnitKey) -> Result<Option<Unit>, DomainError>;

    /// The units `keys` names, in their order (`None` for unknown ones), read strongly
    /// consistent.
    async fn stock_levels(&self, keys: &[UnitKey]) -> Result<Vec<Option<Unit>>, DomainError>;

    /// Writes `unit` (computed from a read, at the read's version + 1: on-hand, available,
    /// threshold) with its movement and events, only if the stored unit is still at the
    /// version read.
    async fn write_unit(
        &self,
        unit: &Unit,
        movement: &Movement,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Sets `unit`'s flags to `crossings` with the events announcing the flips, only if the
    /// unit is still at the version and flags read: of two checks from one read, one wins.
    async fn settle_flags(
        &self,
        unit: &Unit,
        crossings: Crossings,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Creates `reservation` (ACTIVE) and takes each item's quantity from its unit's
    /// available into reserved, all or nothing: `Conflict` when a reservation with its id
    /// exists, `Unprocessable` when a unit is unknown, unsellable or has too little available.
    async fn reserve(
        &self,
        reservation: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Moves `reservation` (as read: ACTIVE at its version) to `next` and its units' reserved
    /// down (with on-hand for a commit), only if it is still ACTIVE at that version.
    async fn finish(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        how: Finish,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Commits a reservation the sweeper released (as read: RELEASED, expired, at its
    /// version) by taking its quantities from on-hand and available again: `Conflict` when it
    /// changed meanwhile, `Unprocessable` when a unit no longer has them.
    async fn commit_expired(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// One reservation, read strongly consistent.
    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, DomainError>;

    /// Up to `limit` ACTIVE reservations whose hold lapsed by `now`, oldest expiry first.
    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ReservationId>, DomainError>;

    /// A page of a unit's movements, newest first, after movement `after`; the cursor of the
    /// next page when there is one.
    async fn movements(
        &self,
        key: &UnitKey,
        page_size: u32,
        after: Option<shop_domain::EventId>,
    ) -> Result<(Vec<Movement>, Option<shop_domain::EventId>), DomainError>;
}

#[cfg(test)]
mod tests;
