//! Discounts with no storage and no HTTP in sight.
//!
//! - [`discount`]: [`Discount`] and [`DiscountInput`] (parsing and validation, every bad
//!   field named).
//! - [`evaluate`]: what a discount takes off a cart or why not ([`Reason`]), and which of the
//!   candidates win ([`evaluate::evaluate`]).
//! - [`catalog`]: what this service reads of the catalog's events ([`CatalogEvent`]) and keeps
//!   ([`ProductFacts`], [`CategoryTree`]).
//! - [`redemption`]: an order's uses ([`Redemption`]) and their statuses.
//! - [`events`]: `DiscountCreated`, `DiscountModified`, `DiscountDeleted` (`shop.discounts`).
//! - [`ports`]: [`DiscountStore`] and [`CatalogProjection`].

pub mod catalog;
pub mod discount;
pub mod evaluate;
pub mod events;
pub mod ports;
pub mod redemption;

pub use catalog::{CatalogEvent, CategoryFacts, CategoryTree, ProductFacts};
pub use discount::{AppliesTo, Discount, DiscountInput, DiscountType, normalise_code};
pub use evaluate::{Applied, Candidate, Cart, Evaluation, Line, Reason, Usage};
pub use events::{DiscountCreated, DiscountDeleted, DiscountModified};
pub use ports::{CatalogProjection, DiscountStore, ReserveRefusal};
pub use redemption::{Redemption, RedemptionEntry, RedemptionStatus};
