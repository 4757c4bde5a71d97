//! `discounts_on_catalog_events`: the catalog's product and category events (bus rule → SQS →
//! this function) keep the projection the evaluator places cart lines with. Idempotent and
//! ordered: the store applies an event only when its aggregate version is newer than what it
//! holds, so redeliveries and late arrivals change nothing. Brand events are not needed (a
//! product names its brand) and the rule does not deliver them.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shop_adapters::sqs::{envelope_from_message, process_batch};

use crate::Deps;
use crate::domain::CatalogEvent;

/// The SQS consumer; failed messages are reported for redelivery.
pub async fn discounts_on_catalog_events(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_batch(event.payload, |message| async move {
        let envelope = envelope_from_message::<Value>(&message)?;
        let Some(parsed) =
            CatalogEvent::parse(&envelope.r#type, envelope.aggregate_version, envelope.data)?
        else {
            tracing::info!(event = %envelope.r#type, event_id = %envelope.id, "not an event discounts follows");
            return Ok(());
        };
        deps.catalog.apply(&parsed).await?;
        tracing::info!(event = %envelope.r#type, event_id = %envelope.id, version = envelope.aggregate_version, "catalog projection in step");
        Ok(())
    })
    .await)
}
