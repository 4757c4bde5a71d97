//! `inventory_on_catalog_events`: the catalog's `ProductCreated`, `ProductModified` and
//! `ProductDeleted`, delivered by a bus rule through an SQS queue, keep the inventory's
//! products and units (a new unit has 0 on hand; a deleted product's units, and units of
//! variants removed, can no longer be reserved). Idempotent: facts apply only when newer than
//! the stored ones (by the event's `aggregateVersion`), so redeliveries and out-of-order
//! arrivals change nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use shop_adapters::sqs::{envelope_from_message, process_batch};

use crate::Deps;
use crate::domain::catalog::product_facts;

/// The SQS consumer; failed messages are reported for redelivery.
pub async fn inventory_on_catalog_events(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_batch(event.payload, |message| async move {
        let envelope = envelope_from_message::<serde_json::Value>(&message)?;
        let Some(facts) =
            product_facts(&envelope.r#type, envelope.data, envelope.aggregate_version)?
        else {
            tracing::info!(event = %envelope.r#type, "not a product event; ignored");
            return Ok(());
        };
        let applied = deps.store.apply_product(&facts, deps.clock.now()).await?;
        tracing::info!(
            product_id = %facts.product_id,
            event = %envelope.r#type,
            event_id = %envelope.id,
            version = facts.version,
            applied,
            "product in step"
        );
        Ok(())
    })
    .await)
}
