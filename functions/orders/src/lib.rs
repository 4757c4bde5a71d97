//! The orders service: the checkout that writes an order and starts the saga, the status
//! machine the saga's steps move, and the orders' reads for buyers, sellers and admins.
//!
//! A tour:
//! - [`checkout`]: `create_checkout`, `POST /api/orders/checkout` (User, `Idempotency-Key`
//!   required): the address, the cart priced by the cart service, shipping, the order written
//!   PENDING with its number, the buyer's checkout lock and the sellers' index in one
//!   transaction, then the saga (functions/orders/checkout.asl.json) started by order id.
//! - [`orders`]: `get_order`, `list_orders`, `list_seller_orders`, `list_admin_orders`.
//! - [`internal`]: the saga's steps of this service (no route): `mark_order_pending_payment`,
//!   `confirm_order`, `close_order`, `flag_order`. Named failures are the invocation's
//!   `errorType` (`IllegalTransition`); every one is safe to repeat.
//! - [`domain`]: the order, its statuses and transitions, its events, the ports; [`dynamo`]
//!   and [`memory`] implement the store, [`contract`] is what both must do (`memory` and
//!   `contract` only with feature `testing`); [`invoke`] holds the adapters of the other
//!   ports (Lambda `Invoke`, Step Functions, SNS).
//! - [`setup`]: [`Deps::from_env`] and its siblings, read once by each `src/bin/<function>.rs`.
//!
//! No status is ever changed by read-then-write alone: each change is conditional on the
//! status and version read (docs/decisions.md).

use std::sync::Arc;

use shop_adapters::idempotency::IdempotencyStore;
use shop_domain::Clock;

use crate::domain::{AddressBook, CartPricing, OpsAlerts, OrderStore, Saga};

pub mod checkout;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod internal;
pub mod invoke;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod orders;
pub mod setup;

/// The checkout's settings (root parameters `ShippingFee`, `FreeShippingThreshold`,
/// `PaymentTimeoutSeconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The flat shipping fee (minor units).
    pub shipping_fee: i64,
    /// From this much (subtotal − discount) shipping is free.
    pub free_shipping_threshold: i64,
    /// How long the saga waits for the payment.
    pub payment_timeout_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            shipping_fee: 499,
            free_shipping_threshold: 5000,
            payment_timeout_seconds: 900,
        }
    }
}

/// What the orders handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Orders, numbers, locks, the sellers' index.
    pub orders: Arc<dyn OrderStore>,
    /// The `Idempotency-Key` records of the checkout (in the orders table).
    pub requests: Arc<dyn IdempotencyStore>,
    /// The cart's `price-cart`.
    pub pricing: Arc<dyn CartPricing>,
    /// The users' `get-address`.
    pub addresses: Arc<dyn AddressBook>,
    /// The checkout state machine.
    pub saga: Arc<dyn Saga>,
    /// The ops topic.
    pub ops: Arc<dyn OpsAlerts>,
    /// Timestamps.
    pub clock: Arc<dyn Clock>,
    /// Shipping and the payment wait.
    pub settings: Settings,
}
