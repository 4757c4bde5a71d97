//! `cart_on_catalog_events`: the catalog's `ProductCreated`, `ProductModified` and
//! `ProductDeleted`, delivered by a bus rule through an SQS queue, keep the cart's product
//! projection (names, prices, images, status, variants). Idempotent and ordered: the store
//! keeps a product's facts only when the event's aggregate version is newer, so redeliveries
//! and out-of-order arrivals change nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shop_adapters::sqs::{envelope_from_message, process_batch};
use shop_domain::{DomainError, ProductId};

use crate::Deps;
use crate::domain::{CatalogProduct, ProductFacts};

/// What the three events carry (each has one of these).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductData {
    /// `ProductCreated`.
    #[serde(default)]
    product: Option<CatalogProduct>,
    /// `ProductModified`.
    #[serde(default)]
    new: Option<CatalogProduct>,
    /// `ProductDeleted`.
    #[serde(default)]
    product_id: Option<ProductId>,
}

/// The SQS consumer; failed messages are reported for redelivery.
pub async fn cart_on_catalog_events(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_batch(event.payload, |message| async move {
        let envelope = envelope_from_message::<ProductData>(&message)?;
        let version = envelope.aggregate_version;
        let data = envelope.data;
        let missing = |field: &str| {
            DomainError::validation(
                field,
                format!("is missing from a `{}` event", envelope.r#type),
            )
        };
        let facts = match envelope.r#type.as_str() {
            "ProductCreated" => data
                .product
                .ok_or_else(|| missing("product"))?
                .facts(version),
            "ProductModified" => data.new.ok_or_else(|| missing("new"))?.facts(version),
            "ProductDeleted" => {
                let product_id = data.product_id.ok_or_else(|| missing("productId"))?;
                ProductFacts {
                    product_id,
                    version,
                    deleted: true,
                    name: String::new(),
                    price: 0,
                    currency: None,
                    status: None,
                    image: None,
                    variants: Vec::new(),
                    seller_id: None,
                }
            }
            other => {
                return Err(DomainError::validation(
                    "type",
                    format!("`{other}` is not an event this consumer handles"),
                ));
            }
        };
        let applied = deps.products.apply(&facts).await?;
        tracing::info!(
            product_id = %facts.product_id,
            version,
            applied,
            event = %envelope.r#type,
            event_id = %envelope.id,
            "product projection in step"
        );
        Ok(())
    })
    .await)
}
