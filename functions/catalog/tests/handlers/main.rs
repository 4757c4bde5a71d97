//! Handler tests for the catalog routes, as one test binary (one link instead of one per
//! resource): the fixture events of `events/<function>/`, the in-memory stores, and the
//! responses and outbox events they produce.
//!
//! - [`world`]: the seeded catalog every test starts from, and the request/response helpers.
//! - [`products`], [`categories`], [`brands`]: one module per resource's routes.

/// The fixture event `events/<function>/<case>.json`, e.g. `fixture!("get-product/ok")`.
macro_rules! fixture {
    ($case:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/",
            $case,
            ".json"
        ))
    };
}

mod brands;
mod categories;
mod products;
mod world;
