//! The catalog's domain events, source `shop.catalog`, schema version 1.
//!
//! For each of products, categories and brands: `…Created { <resource> }`,
//! `…Modified { old, new, changedFields }` and `…Deleted { <resource>Id }` (a deleted
//! product also names its seller, so seller-facing consumers need no lookup). Resources
//! travel in their API JSON form, so a consumer reads the same shape the API documents.
//!
//! # Size
//!
//! EventBridge refuses an entry over 256 KB ([`EVENTBRIDGE_MAX_ENTRY_BYTES`]), counting
//! source, detail-type, detail and time. The largest event is `ProductModified`, carrying
//! two products. Validation caps a product's JSON at
//! [`MAX_PRODUCT_JSON_BYTES`](super::product::MAX_PRODUCT_JSON_BYTES) = 100 KiB, so its
//! worst case is 2 × 102,400 bytes + `changedFields` (10 names, ≈ 110 bytes) + the envelope
//! (≈ 250 bytes) + source and detail-type (≈ 30 bytes) + time (14) ≈ 205,200 bytes, under
//! 262,144 with room for envelope growth. A test builds exactly that worst case. Categories
//! and brands are bounded by their field limits to a few KB. [`fits_in_eventbridge`]
//! measures an actual entry, for a belt-and-braces check before publishing.

use serde::{Deserialize, Serialize};

use super::brand::Brand;
use super::category::Category;
use super::product::Product;
use shop_domain::ports::OutgoingEvent;
use shop_domain::{BrandId, CategoryId, DomainEvent, ProductId};

/// The bus source of every catalog event.
pub const SOURCE: &str = "shop.catalog";

/// EventBridge's limit on one `PutEvents` entry, in bytes.
pub const EVENTBRIDGE_MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The size EventBridge counts for an entry: source, detail-type and detail as UTF-8, plus
/// 14 bytes for the `Time` field (the relay always sets it).
pub fn eventbridge_entry_size(event: &OutgoingEvent) -> usize {
    let detail = serde_json::to_vec(&event.detail).map_or(usize::MAX, |d| d.len());
    event.source.len() + event.detail_type.len() + detail.saturating_add(14)
}

/// Whether `event` is small enough for one EventBridge entry.
pub fn fits_in_eventbridge(event: &OutgoingEvent) -> bool {
    eventbridge_entry_size(event) <= EVENTBRIDGE_MAX_ENTRY_BYTES
}

macro_rules! catalog_event {
    ($name:ident) => {
        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    };
}

/// A product was created. Aggregate version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductCreated {
    /// The new product.
    pub product: Product,
}

/// A product changed (PUT, PATCH, status change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductModified {
    /// The product before the change.
    pub old: Product,
    /// The product after the change; its version is the aggregate version.
    pub new: Product,
    /// Which fields differ (`price`, `status` …), so consumers can skip what they ignore.
    pub changed_fields: Vec<String>,
}

impl ProductModified {
    /// The event for a change from `old` to `new` that touched `changed`.
    pub fn new(old: Product, new: Product, changed: &[&str]) -> Self {
        Self {
            old,
            new,
            changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        }
    }
}

/// A product was deleted. Publish it with aggregate version = last version + 1, so a
/// consumer ordering by version sees the deletion after every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDeleted {
    /// The deleted product's id.
    pub product_id: ProductId,
    /// Its seller.
    pub seller_id: String,
}

/// A category was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryCreated {
    /// The new category.
    pub category: Category,
}

/// A category changed (name, slug, parent, description).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryModified {
    /// Before.
    pub old: Category,
    /// After.
    pub new: Category,
    /// Which fields differ.
    pub changed_fields: Vec<String>,
}

impl CategoryModified {
    /// The event for a change from `old` to `new` that touched `changed`.
    pub fn new(old: Category, new: Category, changed: &[&str]) -> Self {
        Self {
            old,
            new,
            changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        }
    }
}

/// A category was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryDeleted {
    /// The deleted category's id.
    pub category_id: CategoryId,
}

/// A brand was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandCreated {
    /// The new brand.
    pub brand: Brand,
}

/// A brand changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandModified {
    /// Before.
    pub old: Brand,
    /// After.
    pub new: Brand,
    /// Which fields differ.
    pub changed_fields: Vec<String>,
}

impl BrandModified {
    /// The event for a change from `old` to `new` that touched `changed`.
    pub fn new(old: Brand, new: Brand, changed: &[&str]) -> Self {
        Self {
            old,
            new,
            changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        }
    }
}

/// A brand was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandDeleted {
    /// The deleted brand's id.
    pub brand_id: BrandId,
}

catalog_event!(ProductCreated);
catalog_event!(ProductModified);
catalog_event!(ProductDeleted);
catalog_event!(CategoryCreated);
catalog_event!(CategoryModified);
catalog_event!(CategoryDeleted);
catalog_event!(BrandCreated);
catalog_event!(BrandModified);
catalog_event!(BrandDeleted);
