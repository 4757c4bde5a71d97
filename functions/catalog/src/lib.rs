//! The catalog service: products, categories and brands behind API Gateway.
//!
//! A tour:
//! - [`products`], [`categories`], [`brands`]: one named handler per route (`get_product`,
//!   `list_products`, `list_seller_products`, `create_product`, `replace_product`,
//!   `patch_product`, `delete_product`; `list_categories`, `get_category_tree`,
//!   `get_category`, `create_category`, `replace_category`, `delete_category`; `list_brands`,
//!   `get_brand`, `create_brand`, `replace_brand`, `delete_brand`), each taking [`Deps`] and
//!   the gateway request. Client mistakes are `Ok(4xx)` in the API's error shape; only
//!   infrastructure failures (5xx) are `Err`, so Lambda logs and counts them.
//! - [`common`]: what those handlers share — the 4xx/5xx split, ETags and 304s, lost races
//!   (409/412), event envelopes with the correlation id, query-string paging, list bodies.
//! - [`auth`]: [`Caller`](auth::Caller), read from the gateway's JWT claims, the ownership
//!   rule (a Seller changes only their own products, an Admin anything) and the Admin-only
//!   rule for categories and brands.
//! - [`dynamo`]: the DynamoDB adapter behind all three stores; [`cursor`]: the signed
//!   `nextToken`s it and the in-memory stores issue.
//! - [`memory`]: [`MemoryCatalog`](memory::MemoryCatalog), the three stores in memory with the
//!   adapter's rules, recording the outbox event of every write, for the handler tests;
//!   [`contract`]: the store contract both adapters pass. Both only with feature `testing`.
//! - [`setup`]: [`Deps::from_env`], which each `src/bin/<function>.rs` `main` calls once
//!   before running its handler.
//!
//! The domain rules (validation, merge patch, ETags, the category tree, list semantics,
//! events) live in [`domain`]; the rest of this crate wires them to HTTP and the stores.

use std::sync::Arc;

use shop_adapters::idempotency::IdempotencyStore;

use crate::domain::{BrandStore, CategoryStore, ProductStore};
use shop_domain::Clock;

pub mod auth;
pub mod brands;
pub mod categories;
pub mod common;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod cursor;
pub mod domain;
pub mod dynamo;
pub mod listing;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod products;
pub mod setup;

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
    /// The `Idempotency-Key` records of the create routes (in the catalog's table).
    pub requests: Arc<dyn IdempotencyStore>,
}
