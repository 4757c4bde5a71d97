//! What the inventory reads of the catalog's events (`schemas/events/shop.catalog/`): a
//! product's seller, status and variants' skus, from the full snapshot in `data.product`
//! (`ProductCreated`) or `data.new` (`ProductModified`), and `ProductDeleted`. Everything
//! else in the snapshot is ignored.

use serde::Deserialize;
use shop_domain::{DomainError, ProductId};

use super::ProductFacts;

/// The part of a catalog product the inventory keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogProduct {
    /// The product id.
    pub id: ProductId,
    /// Its seller.
    pub seller_id: String,
    /// `draft`, `active` or `archived`.
    pub status: String,
    /// Its variants; empty when the product itself is the unit.
    #[serde(default)]
    pub variants: Vec<CatalogVariant>,
}

/// A variant: only its sku matters here.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogVariant {
    /// The variant's sku, unique within the product.
    pub sku: String,
}

#[derive(Deserialize)]
struct Created {
    product: CatalogProduct,
}

#[derive(Deserialize)]
struct Modified {
    new: CatalogProduct,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deleted {
    product_id: ProductId,
    seller_id: String,
}

impl CatalogProduct {
    /// The facts of this snapshot at catalog version `version`.
    pub fn facts(self, version: u64) -> ProductFacts {
        let skus = if self.variants.is_empty() {
            vec![self.id.to_string()]
        } else {
            self.variants.into_iter().map(|v| v.sku).collect()
        };
        ProductFacts {
            product_id: self.id,
            seller_id: self.seller_id,
            status: self.status,
            skus,
            version,
        }
    }
}

/// The facts of catalog event `type` with `data`, at aggregate version `version`; `None`
/// for events about categories or brands; a validation error for a product event that does
/// not parse.
pub fn product_facts(
    r#type: &str,
    data: serde_json::Value,
    version: u64,
) -> Result<Option<ProductFacts>, DomainError> {
    let bad = |e: serde_json::Error| DomainError::validation("data", format!("{type}: {e}"));
    Ok(match r#type {
        "ProductCreated" => Some(
            serde_json::from_value::<Created>(data)
                .map_err(bad)?
                .product
                .facts(version),
        ),
        "ProductModified" => Some(
            serde_json::from_value::<Modified>(data)
                .map_err(bad)?
                .new
                .facts(version),
        ),
        "ProductDeleted" => {
            let deleted = serde_json::from_value::<Deleted>(data).map_err(bad)?;
            Some(ProductFacts {
                product_id: deleted.product_id,
                seller_id: deleted.seller_id,
                status: "deleted".to_owned(),
                skus: Vec::new(),
                version,
            })
        }
        _ => None,
    })
}
