//! The catalog service: products (and, later, categories and brands) behind API Gateway.
//!
//! A tour:
//! - [`products`]: one named handler per product route (`get_product`, `list_products`,
//!   `create_product`, `replace_product`, `patch_product`, `delete_product`), each taking
//!   [`Deps`] and the gateway request. Client mistakes are `Ok(4xx)` in the API's error
//!   shape; only infrastructure failures (5xx) are `Err`, so Lambda logs and counts them.
//! - [`auth`]: [`Caller`](auth::Caller), read from the gateway's JWT claims, and the
//!   ownership rule (a Seller changes only their own products, an Admin anything).
//! - [`memory`]: in-memory [`ProductStore`], [`CategoryStore`] and [`BrandStore`] that record
//!   the outbox event of every write, for the handler tests.
//!
//! The domain rules (validation, merge patch, ETags, list semantics, events) live in
//! `shop_domain::catalog`; this crate wires them to HTTP and the stores.
//!
//! There are no `src/bin/` mains yet: they need the DynamoDB catalog adapter, which does not
//! exist yet.

use std::sync::Arc;

use shop_domain::Clock;
use shop_domain::catalog::{BrandStore, CategoryStore, ProductStore};

pub mod auth;
pub mod memory;
pub mod products;

/// What the catalog handlers need; each handler uses only its part.
#[derive(Clone)]
pub struct Deps {
    /// Products and their outbox.
    pub products: Arc<dyn ProductStore>,
    /// Categories: existence checks and the `category` filter's descendants.
    pub categories: Arc<dyn CategoryStore>,
    /// Brands: existence checks.
    pub brands: Arc<dyn BrandStore>,
    /// Timestamps of products and events.
    pub clock: Arc<dyn Clock>,
}
