//! The payments' events, source `shop.payments`, schema version 1
//! (`schemas/events/shop.payments/<Type>.json`), each carrying the payment as it is after the
//! change: `{paymentId, orderId, amount, currency, status, reason?}`. The aggregate version is
//! the payment's version.

use serde::{Deserialize, Serialize};
use shop_domain::{Currency, DomainEvent, OrderId, PaymentId};

use super::{Payment, PaymentStatus};

/// The bus source of every payments event.
pub const SOURCE: &str = "shop.payments";

macro_rules! payment_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The payment (the order's ULID).
            pub payment_id: PaymentId,
            /// The order paid for.
            pub order_id: OrderId,
            /// Minor units of `currency`.
            pub amount: u64,
            /// The order's currency.
            pub currency: Currency,
            /// The payment's status after the change.
            pub status: PaymentStatus,
            /// Why (failures, voids and refunds).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub reason: Option<String>,
        }

        impl $name {
            /// The event of `payment` (after the change).
            pub fn of(payment: &Payment) -> Self {
                Self {
                    payment_id: payment.payment_id,
                    order_id: payment.order_id,
                    amount: payment.amount,
                    currency: payment.currency,
                    status: payment.status,
                    reason: payment.reason.clone(),
                }
            }
        }

        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    };
}

payment_event!(
    /// The gateway captured the payment (status `SUCCEEDED`).
    PaymentSucceeded
);
payment_event!(
    /// The payment will never be paid: the gateway declined it (`FAILED`, reason `declined`)
    /// or the checkout gave up on it unpaid (`VOIDED`, reason from the failed step).
    PaymentFailed
);
payment_event!(
    /// A captured payment was given back because the checkout failed (`REFUNDED`).
    PaymentRefunded
);
