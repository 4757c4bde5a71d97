//! [`Redemption`]: the uses of discounts one order holds, reserved at checkout, redeemed on
//! confirmation or released on cancellation. Keyed by the order id, so every step is
//! idempotent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{DiscountId, OrderId};

/// Where an order's uses are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedemptionStatus {
    /// Counted against the limits; the order is not confirmed yet.
    Reserved,
    /// The order was confirmed: the uses are spent.
    Redeemed,
    /// The order was cancelled: the uses were given back (counted once).
    Released,
}

/// The uses of discounts held by one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Redemption {
    /// The order (the idempotency key).
    pub order_id: OrderId,
    /// Who placed it: their uses count against `perUserLimit`.
    pub user_id: String,
    /// The discounts it uses, without repeats, in the order asked.
    pub discount_ids: Vec<DiscountId>,
    /// Where it is.
    pub status: RedemptionStatus,
    /// When reserved.
    #[serde(with = "shop_domain::timestamp")]
    pub reserved_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Redemption {
    /// A new reservation.
    pub fn reserve(
        order_id: OrderId,
        user_id: String,
        discount_ids: Vec<DiscountId>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut unique = Vec::new();
        for id in discount_ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        Self {
            order_id,
            user_id,
            discount_ids: unique,
            status: RedemptionStatus::Reserved,
            reserved_at: now,
            updated_at: now,
        }
    }

    /// Whether `other` asks for the same uses (a retry of this reservation).
    pub fn same_request(&self, other: &Redemption) -> bool {
        let mut a = self.discount_ids.clone();
        let mut b = other.discount_ids.clone();
        a.sort();
        b.sort();
        self.user_id == other.user_id && a == b
    }
}

/// One order's use of one discount, as `GET /api/admin/discounts/{id}/redemptions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedemptionEntry {
    /// The order.
    pub order_id: OrderId,
    /// Who placed it.
    pub user_id: String,
    /// Where it is.
    pub status: RedemptionStatus,
    /// When reserved.
    #[serde(with = "shop_domain::timestamp")]
    pub reserved_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl RedemptionEntry {
    /// The entry of `redemption` (for any of its discounts).
    pub fn of(redemption: &Redemption) -> Self {
        Self {
            order_id: redemption.order_id,
            user_id: redemption.user_id.clone(),
            status: redemption.status,
            reserved_at: redemption.reserved_at,
            updated_at: redemption.updated_at,
        }
    }
}
