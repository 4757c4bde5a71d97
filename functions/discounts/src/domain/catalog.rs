//! What the discounts service knows of the catalog, from the catalog's events: per product its
//! category, brand, prices and status ([`ProductFacts`]); per category its parent
//! ([`CategoryFacts`]), so "a category including its descendants" can be answered.
//!
//! The events' shapes are the catalog's (`schemas/events/shop.catalog/`); this crate reads
//! only the fields it needs ([`CatalogEvent`]), as docs/service-structure.md asks of a consumer.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use shop_domain::{BrandId, CategoryId, Currency, DomainError, ProductId};

/// The deepest category tree the catalog allows is five levels; a walk up stops after this
/// many steps even if the projection were to hold a cycle.
const MAX_DEPTH: usize = 16;

/// A product as far as discounts care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFacts {
    /// The product.
    pub product_id: ProductId,
    /// Its category.
    pub category_id: CategoryId,
    /// Its brand.
    pub brand_id: BrandId,
    /// Base price in minor units.
    pub price: i64,
    /// The currency of every price.
    pub currency: Currency,
    /// `draft`, `active`, `archived`, or `deleted` once the catalog deleted it.
    pub status: String,
    /// Variants by SKU with their own price, when they have one.
    pub variants: BTreeMap<String, Option<i64>>,
    /// The catalog's aggregate version; an older event never overwrites a newer one.
    pub version: u64,
}

impl ProductFacts {
    /// Whether the product can be bought.
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// The unit price of `sku` (the product's own for `None`, or for a product without
    /// variants when the sku is the product id); `None` for an unknown SKU.
    pub fn unit_price(&self, sku: Option<&str>) -> Option<i64> {
        match sku {
            None => Some(self.price),
            Some(sku) if sku == self.product_id.to_string() && self.variants.is_empty() => {
                Some(self.price)
            }
            Some(sku) => self.variants.get(sku).map(|own| own.unwrap_or(self.price)),
        }
    }
}

/// A category as far as discounts care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryFacts {
    /// The category.
    pub category_id: CategoryId,
    /// Its parent; `None` for a root.
    pub parent_id: Option<CategoryId>,
    /// The catalog's aggregate version.
    pub version: u64,
    /// Deleted by the catalog.
    pub deleted: bool,
}

/// The category tree as parent links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryTree {
    parents: HashMap<CategoryId, Option<CategoryId>>,
}

impl CategoryTree {
    /// The tree of `categories` (deleted ones left out).
    pub fn new(categories: impl IntoIterator<Item = CategoryFacts>) -> Self {
        Self {
            parents: categories
                .into_iter()
                .filter(|c| !c.deleted)
                .map(|c| (c.category_id, c.parent_id))
                .collect(),
        }
    }

    /// `id` and every ancestor of it, nearest first.
    pub fn lineage(&self, id: CategoryId) -> Vec<CategoryId> {
        let mut line = vec![id];
        let mut at = id;
        while let Some(Some(parent)) = self.parents.get(&at) {
            // A deleted (or not yet known) parent ends the line.
            if !self.parents.contains_key(parent) || line.contains(parent) || line.len() > MAX_DEPTH
            {
                break;
            }
            line.push(*parent);
            at = *parent;
        }
        line
    }
}

/// A catalog event as this service reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogEvent {
    /// `ProductCreated` or `ProductModified`: the product as it is now.
    Product(ProductFacts),
    /// `ProductDeleted`, at its aggregate version.
    ProductDeleted {
        /// The product.
        product_id: ProductId,
        /// last version + 1.
        version: u64,
    },
    /// `CategoryCreated`, `CategoryModified` or `CategoryDeleted` (then `deleted`).
    Category(CategoryFacts),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductSnapshot {
    id: ProductId,
    category_id: CategoryId,
    brand_id: BrandId,
    price: i64,
    currency: Currency,
    status: String,
    #[serde(default)]
    variants: Vec<VariantSnapshot>,
    version: u64,
}

#[derive(Deserialize)]
struct VariantSnapshot {
    sku: String,
    #[serde(default)]
    price: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CategorySnapshot {
    id: CategoryId,
    parent_id: Option<CategoryId>,
    version: u64,
}

impl From<ProductSnapshot> for ProductFacts {
    fn from(p: ProductSnapshot) -> Self {
        Self {
            product_id: p.id,
            category_id: p.category_id,
            brand_id: p.brand_id,
            price: p.price,
            currency: p.currency,
            status: p.status,
            variants: p.variants.into_iter().map(|v| (v.sku, v.price)).collect(),
            version: p.version,
        }
    }
}

impl CatalogEvent {
    /// The event of `type` with `data` at `aggregate_version`; `None` for a type this service
    /// does not follow (brands); a validation error for data of the wrong shape.
    pub fn parse(
        r#type: &str,
        aggregate_version: u64,
        data: serde_json::Value,
    ) -> Result<Option<Self>, DomainError> {
        fn field<T: serde::de::DeserializeOwned>(
            data: &serde_json::Value,
            name: &str,
        ) -> Result<T, DomainError> {
            serde_json::from_value(data.get(name).cloned().unwrap_or_default()).map_err(|e| {
                DomainError::validation(format!("data.{name}"), format!("not readable: {e}"))
            })
        }
        Ok(Some(match r#type {
            "ProductCreated" => Self::Product(field::<ProductSnapshot>(&data, "product")?.into()),
            "ProductModified" => Self::Product(field::<ProductSnapshot>(&data, "new")?.into()),
            "ProductDeleted" => Self::ProductDeleted {
                product_id: field(&data, "productId")?,
                version: aggregate_version,
            },
            "CategoryCreated" | "CategoryModified" => {
                let name = if r#type == "CategoryCreated" {
                    "category"
                } else {
                    "new"
                };
                let c: CategorySnapshot = field(&data, name)?;
                Self::Category(CategoryFacts {
                    category_id: c.id,
                    parent_id: c.parent_id,
                    version: c.version,
                    deleted: false,
                })
            }
            "CategoryDeleted" => Self::Category(CategoryFacts {
                category_id: field(&data, "categoryId")?,
                parent_id: None,
                version: aggregate_version,
                deleted: true,
            }),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_walks_up_to_the_root_and_survives_a_cycle() {
        let (a, b, c) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        let facts = |id, parent| CategoryFacts {
            category_id: id,
            parent_id: parent,
            version: 1,
            deleted: false,
        };
        let tree = CategoryTree::new([facts(a, None), facts(b, Some(a)), facts(c, Some(b))]);
        assert_eq!(tree.lineage(c), [c, b, a]);
        assert_eq!(tree.lineage(a), [a]);
        let cycle = CategoryTree::new([facts(a, Some(b)), facts(b, Some(a))]);
        assert_eq!(cycle.lineage(a), [a, b]);
    }

    #[test]
    fn variant_prices_fall_back_to_the_product_price() {
        let id = ProductId::new();
        let facts = ProductFacts {
            product_id: id,
            category_id: CategoryId::new(),
            brand_id: BrandId::new(),
            price: 1000,
            currency: Currency::EUR,
            status: "active".into(),
            variants: BTreeMap::from([("S".into(), None), ("L".into(), Some(1500))]),
            version: 1,
        };
        assert_eq!(facts.unit_price(None), Some(1000));
        assert_eq!(facts.unit_price(Some("S")), Some(1000));
        assert_eq!(facts.unit_price(Some("L")), Some(1500));
        assert_eq!(facts.unit_price(Some("XL")), None);
        assert_eq!(facts.unit_price(Some(&id.to_string())), None);
    }
}
