//! The orders service's events, source `shop.orders`, schema version 1, each committed with
//! its status change through the outbox. All four carry the same data ([`OrderEvent`]): the
//! order's id, number, buyer, new status, total and lines, and the reason when there is one.
//! Aggregate version: the order's version after the change.

use serde::{Deserialize, Serialize};
use shop_domain::{Currency, DomainEvent, OrderId, ProductId};

use super::{Order, OrderNumber, OrderStatus, PaymentStatus};

/// The bus source of every orders event.
pub const SOURCE: &str = "shop.orders";

/// One line as the events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEventLine {
    /// The product.
    pub product_id: ProductId,
    /// The variant SKU, or `None` for a variantless product.
    pub sku: Option<String>,
    /// How many.
    pub quantity: u32,
    /// Minor units, at order time.
    pub unit_price: i64,
    /// Who sells it.
    pub seller_id: Option<String>,
}

/// The data of every orders event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEvent {
    /// The order.
    pub order_id: OrderId,
    /// Its human-readable number.
    pub order_number: OrderNumber,
    /// The buyer.
    pub user_id: String,
    /// The status it moved to.
    pub status: OrderStatus,
    /// The payment's status, when a payment exists.
    pub payment_status: Option<PaymentStatus>,
    /// What the buyer pays (minor units).
    pub total: i64,
    /// Of the total.
    pub currency: Currency,
    /// The lines.
    pub items: Vec<OrderEventLine>,
    /// Why, for a cancelled, failed or flagged order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl OrderEvent {
    /// The data of `order` as it is after its change.
    pub fn of(order: &Order) -> Self {
        Self {
            order_id: order.order_id,
            order_number: order.order_number.clone(),
            user_id: order.user_id.clone(),
            status: order.status,
            payment_status: order.payment_status,
            total: order.total,
            currency: order.currency,
            items: order
                .items
                .iter()
                .map(|l| OrderEventLine {
                    product_id: l.product_id,
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    seller_id: l.seller_id.clone(),
                })
                .collect(),
            reason: match order.status {
                OrderStatus::Confirmed => None,
                _ => order.reason().map(str::to_owned),
            },
        }
    }
}

macro_rules! orders_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub OrderEvent);

        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    };
}

orders_event!(
    /// The order is paid and its stock committed (PENDING_PAYMENT → CONFIRMED).
    OrderConfirmed
);
orders_event!(
    /// The order was cancelled after reserving: declined, timed out, or a later step failed.
    OrderCancelled
);
orders_event!(
    /// The order never reached a payment: stock, a discount, or the saga could not start.
    OrderFailed
);
orders_event!(
    /// A step or a compensation failed for good; an operator must look.
    OrderNeedsAttention
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tests::order;
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use shop_domain::testing::{assert_matches_its_schema, outgoing_at};

    fn at() -> DateTime<Utc> {
        "2026-12-03T10:00:00.123Z".parse().unwrap()
    }

    #[test]
    fn every_event_matches_its_schema() {
        let placed = order();
        let waiting = placed
            .moved(OrderStatus::PendingPayment, None, at())
            .unwrap()
            .unwrap();
        let confirmed = waiting
            .moved(OrderStatus::Confirmed, None, at())
            .unwrap()
            .unwrap();
        let cancelled = waiting
            .moved(
                OrderStatus::Cancelled,
                Some("payment declined".into()),
                at(),
            )
            .unwrap()
            .unwrap();
        let failed = placed
            .moved(
                OrderStatus::Failed,
                Some("insufficient stock: x".into()),
                at(),
            )
            .unwrap()
            .unwrap();
        let flagged = confirmed
            .moved(
                OrderStatus::NeedsAttention,
                Some("step failed".into()),
                at(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(OrderEvent::of(&confirmed).reason, None);
        assert_eq!(
            OrderEvent::of(&cancelled).reason.as_deref(),
            Some("payment declined")
        );
        for event in [
            outgoing_at(at(), 3, OrderConfirmed(OrderEvent::of(&confirmed))),
            outgoing_at(at(), 3, OrderCancelled(OrderEvent::of(&cancelled))),
            outgoing_at(at(), 2, OrderFailed(OrderEvent::of(&failed))),
            outgoing_at(at(), 4, OrderNeedsAttention(OrderEvent::of(&flagged))),
        ] {
            assert_matches_its_schema(&event);
        }
        let mut broken = outgoing_at(at(), 3, OrderConfirmed(OrderEvent::of(&confirmed)));
        broken.detail["data"]["total"] = json!("lots");
        let errors = shop_schemas::errors(&broken.source, &broken.detail_type, &broken.detail);
        assert!(!errors.is_empty());
    }

    #[test]
    fn there_is_one_schema_per_orders_event() {
        let mut files: Vec<String> = std::fs::read_dir(shop_schemas::schemas_dir().join(SOURCE))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && name != "defs.json")
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "OrderCancelled.json",
                "OrderConfirmed.json",
                "OrderFailed.json",
                "OrderNeedsAttention.json"
            ]
        );
    }
}
