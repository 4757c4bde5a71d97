//! The discounts service: coupons and automatic campaigns, what they take off a cart, and the
//! redemptions the checkout reserves, redeems and releases.
//!
//! A tour:
//! - [`admin`]: `/api/admin/discounts` — `create_discount`, `list_discounts`,
//!   `get_discount`, `replace_discount`, `delete_discount`, `list_discount_redemptions`
//!   (Admin).
//! - [`validate`]: `validate_discount`, `POST /api/discounts/validate` (User): a code checked
//!   against items priced from the catalog projection, never from the client.
//! - [`internal`]: the functions other services invoke (no route): `evaluate_discounts` (the
//!   cart), `reserve_discount`, `redeem_discount`, `release_discount` (the checkout).
//! - [`events`]: `discounts_on_catalog_events`, the SQS consumer that keeps the catalog
//!   projection (products' category, brand, prices, status; categories' parents).
//! - [`domain`]: the rules (validation, the evaluator, redemptions) and the ports;
//!   [`dynamo`] and [`memory`] implement them; [`contract`] is what both must do. `memory`
//!   and `contract` only with feature `testing`.
//! - [`setup`]: [`Deps::from_env`], read once by each `src/bin/<function>.rs`.
//!
//! Usage limits hold under concurrency because a reservation is one DynamoDB transaction
//! whose conditions carry the limits (see [`dynamo`] and docs/decisions.md).

use std::sync::Arc;

use crate::domain::{CatalogProjection, DiscountStore};
use shop_domain::Clock;

pub mod admin;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod events;
pub mod internal;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod pricing;
pub mod setup;
pub mod validate;

/// What the discounts handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Discounts, codes, counters and redemptions.
    pub discounts: Arc<dyn DiscountStore>,
    /// The catalog projection.
    pub catalog: Arc<dyn CatalogProjection>,
    /// Timestamps.
    pub clock: Arc<dyn Clock>,
}
