//! The cart service: signed-in users' carts and guest carts behind API Gateway, priced at
//! today's catalog prices, checked against inventory's stock and the discounts that apply.
//!
//! A tour:
//! - [`carts`]: `GET /api/cart`, `DELETE /api/cart`, `POST /api/guest-carts`,
//!   `GET /api/guest-carts/{cartId}`, `POST /api/cart/merge`, and what every route shares
//!   (which cart a request addresses, the priced answer).
//! - [`items`]: `POST …/items`, `PATCH …/items/{itemId}`, `DELETE …/items/{itemId}`, for a
//!   user's cart (`/api/cart/items`) and a guest cart (`/api/guest-carts/{cartId}/items`).
//! - [`discount`]: `PUT` and `DELETE /api/cart/discount`.
//! - [`events`]: `cart_on_catalog_events`, the SQS consumer that keeps the product
//!   projection (names, prices, images, status, variants) in step with the catalog.
//! - [`internal`]: `price_cart` and `clear_cart`, the internal functions the checkout
//!   invokes (the cart priced for an order; the order's lines cleared once it is paid).
//! - [`domain`]: carts, units, lines, the projection's facts, the ports, and
//!   [`domain::pricing`] (the cart at today's prices, marked).
//! - [`dynamo`]: the cart store and the projection on the cart's table; [`invoke`]: the ports
//!   to inventory's `get-stock-levels` and discounts' `evaluate-discounts`; [`memory`]: all
//!   four in memory and [`contract`]: the store contract (both with feature `testing`).
//! - [`setup`]: [`Deps::from_env`] and [`Deps::store_from_env`], read once by each
//!   `src/bin/<function>.rs`.
//!
//! Prices come from the projection (fed by events, seconds behind the catalog), stock and
//! discounts from synchronous invokes (exact at the time of the call); docs/decisions.md says
//! why, and what a `GET` answers when an invoke fails.

use std::sync::Arc;

use crate::domain::{CartStore, DiscountEvaluator, ProductProjection, StockLevels};
use shop_domain::Clock;

pub mod carts;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod discount;
pub mod domain;
pub mod dynamo;
pub mod events;
pub mod internal;
pub mod invoke;
pub mod items;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod setup;

/// What the cart handlers need; each uses only its part.
#[derive(Clone)]
pub struct Deps {
    /// Carts.
    pub carts: Arc<dyn CartStore>,
    /// What the cart knows of products.
    pub products: Arc<dyn ProductProjection>,
    /// Inventory's stock levels.
    pub stock: Arc<dyn StockLevels>,
    /// The discounts service.
    pub discounts: Arc<dyn DiscountEvaluator>,
    /// Timestamps and expiry.
    pub clock: Arc<dyn Clock>,
}
