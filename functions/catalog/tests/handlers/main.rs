//! Handler tests for the catalog routes, as one test binary (one link instead of one per
//! resource): the fixture events of `events/<function>/`, the in-memory stores, and the
//! responses and outbox events they produce.
//!
//! - [`world`]: the seeded catalog every test starts from, and the request/response helpers.
//! - [`products`], [`categories`], [`brands`]: one module per resource's routes.
//! - [`store`]: the store contract run against the in-memory catalog.

mod brands;
mod categories;
mod products;
mod store;
mod world;
