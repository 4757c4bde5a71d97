//! The inventory's events, source `shop.inventory`, schema version 1
//! (`schemas/events/shop.inventory/<Type>.json`).
//!
//! Reservation events carry the reservation's version as their aggregate version, stock
//! events the unit's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shop_domain::{DomainEvent, EventId, ProductId, ReservationId};

use super::{ReservedItem, Unit};

/// The bus source of every inventory event.
pub const SOURCE: &str = "shop.inventory";

/// The id of the event that announces `change` (`StockReserved/<reservation>/1`,
/// `LowStockDetected/<unit>/7`): derived from what it announces, not drawn at random, so two
/// writers that raced to make the same change (only one can win its condition) carry the same
/// event id, and an event seen twice is one event to every consumer. Time-ordered by `at`
/// (the change's time) like every ULID.
pub fn event_id(change: &str, at: DateTime<Utc>) -> EventId {
    let digest = Sha256::digest(change.as_bytes());
    let mut random = [0u8; 16];
    random.copy_from_slice(&digest[..16]);
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    EventId::from_ulid(ulid::Ulid::from_parts(ms, u128::from_be_bytes(random)))
}

macro_rules! inventory_event {
    ($name:ident) => {
        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    };
}

/// An order's stock is held until `expiresAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockReserved {
    /// The order id.
    pub reservation_id: ReservationId,
    /// One per unit, quantities summed.
    pub items: Vec<ReservedItem>,
    /// When the hold lapses.
    pub expires_at: String,
}

/// A reservation's stock was given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockReleased {
    /// The order id.
    pub reservation_id: ReservationId,
    /// What was given back.
    pub items: Vec<ReservedItem>,
    /// `released` (asked for) or `expired` (the sweeper).
    pub reason: String,
}

/// A reservation's stock was sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockCommitted {
    /// The order id.
    pub reservation_id: ReservationId,
    /// What left the stock.
    pub items: Vec<ReservedItem>,
}

/// A seller set or adjusted a unit's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockAdjusted {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// On hand after the change.
    pub on_hand: u64,
    /// Reserved (unchanged by it).
    pub reserved: u64,
    /// Available after the change.
    pub available: u64,
    /// The threshold after the change.
    pub low_stock_threshold: u64,
    /// The change to on hand.
    pub delta: i64,
    /// Why (`set` for a PUT).
    pub reason: String,
    /// Who (the caller's `sub`).
    pub actor: String,
}

impl StockAdjusted {
    /// The event of `unit` (after) changed by `delta` for `reason` by `actor`.
    pub fn of(unit: &Unit, delta: i64, reason: &str, actor: &str) -> Self {
        Self {
            product_id: unit.product_id,
            sku: unit.sku.clone(),
            on_hand: unit.on_hand,
            reserved: unit.reserved,
            available: unit.available,
            low_stock_threshold: unit.low_stock_threshold,
            delta,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
        }
    }
}

/// A unit's available stock dropped below its threshold (once per crossing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LowStockDetected {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// Its seller, to tell.
    pub seller_id: String,
    /// Available now.
    pub available: u64,
    /// The threshold it dropped below.
    pub low_stock_threshold: u64,
}

/// A unit has nothing left to reserve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutOfStock {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// Its seller.
    pub seller_id: String,
}

/// A unit that was out of stock can be reserved again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackInStock {
    /// The product.
    pub product_id: ProductId,
    /// The unit's sku.
    pub sku: String,
    /// Its seller.
    pub seller_id: String,
    /// Available now.
    pub available: u64,
}

inventory_event!(StockReserved);
inventory_event!(StockReleased);
inventory_event!(StockCommitted);
inventory_event!(StockAdjusted);
inventory_event!(LowStockDetected);
inventory_event!(OutOfStock);
inventory_event!(BackInStock);
