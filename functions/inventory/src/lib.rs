//! The inventory service: stock per unit behind API Gateway, the reservations the checkout
//! makes (internal functions), the sweeper that releases lapsed ones, and the consumer that
//! learns products from the catalog.
//!
//! A tour:
//! - [`stock`]: `GET /api/inventory/{productId}` (public), and the seller's `PUT
//!   /api/inventory/{productId}/{sku}`, `POST …/adjustments` and `GET …/movements`.
//! - [`reservations`]: the internal functions `get-stock-levels`, `reserve-stock`,
//!   `commit-stock`, `release-stock` and the scheduled `release-expired-stock`; the
//!   threshold events after each change ([`reservations::settle`]).
//! - [`events`]: `inventory_on_catalog_events`, the SQS consumer of the catalog's product
//!   events.
//! - [`domain`]: units, reservations, movements, the events and the [`InventoryStore`] port.
//! - [`dynamo`] and [`memory`]: the store on DynamoDB and in memory (handler tests);
//!   [`contract`]: the store contract both pass. `memory` and `contract` only with feature
//!   `testing`.
//! - [`setup`]: [`Deps::from_env`], read once by each `src/bin/<function>.rs`.
//!
//! Every invariant (no oversell, `reserved` = the sum of active reservations, one transition
//! per reservation, one alert per crossing) is a condition of a DynamoDB write; the list is in
//! docs/decisions.md, "Inventory".

use std::sync::Arc;

use crate::domain::InventoryStore;
use shop_domain::Clock;

#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod events;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod reservations;
pub mod setup;
pub mod stock;

/// What the inventory handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Units, reservations, movements, products and the outbox.
    pub store: Arc<dyn InventoryStore>,
    /// Timestamps and expiry.
    pub clock: Arc<dyn Clock>,
}
