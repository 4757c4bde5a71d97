//! The catalog: products, categories and brands, with no storage and no HTTP in sight.
//!
//! A tour:
//! - [`product`]: [`Product`], its JSON form [`ProductView`], the input [`ProductInput`], and
//!   create / replace (PUT) / merge-patch (PATCH) with all-at-once validation and the
//!   status transitions.
//! - [`category`]: [`Category`] and the [`CategoryTree`] (descendants for the list filter,
//!   cycle and depth checks, the nested tree).
//! - [`brand`]: [`Brand`], a name, a slug and a logo.
//! - [`etag`]: strong ETags from versions, `If-Match` and `If-None-Match`.
//! - [`merge_patch`]: RFC 7396, applied to a product's input form.
//! - [`events`]: the nine `shop.catalog` events and the EventBridge size bound.
//! - [`query`]: `GET /api/products` parameters and [`filter_and_sort`], the reference
//!   semantics the DynamoDB adapter is tested against.
//! - [`ports`]: [`ProductStore`], [`CategoryStore`], [`BrandStore`].
//!
//! Existence of a product's category and brand, slug uniqueness and "has products" checks
//! need the stores, so handlers make them; everything decidable from the data in hand is
//! decided here.

pub mod brand;
pub mod category;
pub mod etag;
pub mod events;
pub use shop_domain::merge_patch;
pub mod ports;
pub mod product;
pub mod query;
mod validate;

#[cfg(test)]
mod tests;

pub use brand::{Brand, BrandInput};
pub use category::{Category, CategoryInput, CategoryNode, CategoryTree};
pub use etag::{Versioned, if_match, not_modified};
pub use events::{
    BrandCreated, BrandDeleted, BrandModified, CategoryCreated, CategoryDeleted, CategoryModified,
    ProductCreated, ProductDeleted, ProductModified, fits_in_eventbridge,
};
pub use ports::{BrandStore, CategoryStore, Page, ProductStore};
pub use product::{
    Product, ProductInput, ProductStatus, ProductView, Variant, VariantInput, VariantView,
};
pub use query::{ProductQuery, SortBy, SortOrder, filter_and_sort};
