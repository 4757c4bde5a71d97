//! `users_on_auth_events`: the auth service's `UserVerified` and `UserRolesChanged`, delivered by
//! a bus rule through an SQS queue, become profiles. Idempotent: the store applies an event
//! only when its aggregate version is newer than the profile's, so redeliveries and
//! out-of-order arrivals change nothing.

use crate::domain::AuthFacts;
use crate::domain::Role;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shop_adapters::sqs::{envelope_from_message, process_batch};
use shop_domain::{DomainError, UserId};

use crate::Deps;

/// What both events carry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Announced {
    user_id: UserId,
    email: String,
    full_name: String,
    roles: Vec<Role>,
}

/// The SQS consumer; failed messages are reported for redelivery.
pub async fn users_on_auth_events(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_batch(event.payload, |message| async move {
        let envelope = envelope_from_message::<Announced>(&message)?;
        if !matches!(envelope.r#type.as_str(), "UserVerified" | "UserRolesChanged") {
            return Err(DomainError::validation(
                "type",
                format!("`{}` is not an event this consumer handles", envelope.r#type),
            ));
        }
        let data = envelope.data;
        let facts = AuthFacts {
            user_id: data.user_id,
            email: data.email,
            full_name: data.full_name,
            roles: data.roles,
            version: envelope.aggregate_version,
            at: envelope.occurred_at,
        };
        deps.profiles.apply_auth_facts(&facts).await?;
        tracing::info!(user_id = %facts.user_id, event = %envelope.r#type, event_id = %envelope.id, "profile in step");
        Ok(())
    })
    .await)
}
