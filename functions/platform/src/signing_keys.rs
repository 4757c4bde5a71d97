//! `manage-signing-keys`: creates, rotates and publishes the RS256 keys access tokens are
//! signed with.
//!
//! One function answers two kinds of event ([`handle`]):
//!
//! - **the `Custom::SigningKeys` resource** on deploy. `Create`/`Update` make sure the
//!   signing-keys secret holds a [`KeySet`] (generating one when it still holds the
//!   template's `{}` placeholder) and publish the discovery document and JWKS; the answer's
//!   `Data` carries `Issuer`, `JwksUri` and `CurrentKid` for `!GetAtt`. `Delete` deletes
//!   nothing (see [`handle`]). Whatever happens, CloudFormation gets an answer on its
//!   `ResponseURL`, `FAILED` with a reason on error, so a broken deploy fails in seconds
//!   instead of waiting an hour for a timeout.
//! - **the daily schedule** (`source: aws.events`, `detail-type: Scheduled Event`):
//!   [`KeySet::rotate`] along the [`RotationPolicy`], then publish again, which also repairs
//!   an earlier publish that failed.
//!
//! Publishing always comes before saving: a key is in the JWKS before any signer can read it
//! from the secret.
//!
//! The ports are [`KeyStore`] (the secret), [`PublicObjects`] (the public bucket) and
//! [`ResponseSender`] (the `ResponseURL` PUT); [`aws`] implements them against Secrets
//! Manager, S3 and HTTPS, [`memory`] in memory for the tests.

pub mod aws;
#[cfg(any(test, feature = "testing"))]
pub mod memory;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop_adapters::config::ConfigError;
use shop_adapters::lambda::HandlerError;
use shop_adapters::tokens::{
    DISCOVERY_PATH, JWKS_PATH, KeySet, RotationPolicy, discovery_document, jwks_uri,
};
use shop_domain::{Clock, DomainError, SystemClock};

/// The longest `Reason` sent to CloudFormation; its whole response body must stay under 4 KB.
const MAX_REASON_CHARS: usize = 1_000;

/// Holds the [`KeySet`]: the signing-keys secret.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The stored key set, or `None` while the secret still holds the placeholder.
    async fn load(&self) -> Result<Option<KeySet>, DomainError>;

    /// Replaces the stored key set.
    async fn save(&self, keys: &KeySet) -> Result<(), DomainError>;

    /// Replaces the public copy (the JWKS alone, no private key): the one secret the public
    /// JWKS route may read.
    async fn save_public(&self, jwks: &Value) -> Result<(), DomainError>;
}

/// Writes publicly readable JSON documents under the issuer URL.
#[async_trait]
pub trait PublicObjects: Send + Sync {
    /// Writes `body` at `key` (e.g. `.well-known/jwks.json`), replacing what was there.
    async fn put_json(&self, key: &str, body: &Value) -> Result<(), DomainError>;
}

/// Delivers the answer to a custom-resource request.
#[async_trait]
pub trait ResponseSender: Send + Sync {
    /// PUTs `response` to the request's pre-signed `ResponseURL`.
    async fn send(&self, url: &str, response: &CustomResourceResponse) -> Result<(), DomainError>;
}

/// What the handler needs.
pub struct Deps {
    /// The signing-keys secret.
    pub keys: Arc<dyn KeyStore>,
    /// The public bucket the gateway reads discovery and JWKS from.
    pub objects: Arc<dyn PublicObjects>,
    /// Answers CloudFormation.
    pub responder: Arc<dyn ResponseSender>,
    /// The time keys are born and rotated at.
    pub clock: Arc<dyn Clock>,
    /// The token issuer URL, no trailing slash; see [`issuer_from_value`].
    pub issuer: String,
    /// The custom resource's `PhysicalResourceId` on `Create` (the secret's ARN: unique per
    /// stack, and stable, so CloudFormation never sees a "replacement" it would delete).
    pub resource_id: String,
    /// When to rotate.
    pub policy: RotationPolicy,
}

impl Deps {
    /// Deps with the system clock and the default [`RotationPolicy`].
    pub fn new(
        keys: Arc<dyn KeyStore>,
        objects: Arc<dyn PublicObjects>,
        responder: Arc<dyn ResponseSender>,
        issuer: String,
        resource_id: String,
    ) -> Self {
        Self {
            keys,
            objects,
            responder,
            clock: Arc::new(SystemClock),
            issuer,
            resource_id,
            policy: RotationPolicy::default(),
        }
    }
}

/// Checks the issuer URL read from `name`: an absolute `http(s)://` URL without a trailing
/// slash, because tokens' `iss`, the authorizer's issuer and the discovery document's
/// `issuer` must be byte-equal, and the gateway appends `/.well-known/…` to it.
pub fn issuer_from_value(name: &str, value: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let value = value.trim();
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        return Err(invalid("it must be an http(s):// URL"));
    }
    if value.ends_with('/') {
        return Err(invalid("it must not end with `/`"));
    }
    Ok(value.to_owned())
}

/// The `RequestType` of a custom-resource request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RequestType {
    /// The resource is being created (first deploy, or a rollback of a delete).
    Create,
    /// Its properties changed.
    Update,
    /// It is being removed, replaced, or its creation rolled back.
    Delete,
}

/// The fields of a CloudFormation custom-resource request this function uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    /// What CloudFormation asks for.
    pub request_type: RequestType,
    /// The pre-signed URL to PUT the answer to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// Echoed in the answer.
    pub stack_id: String,
    /// Echoed in the answer.
    pub request_id: String,
    /// Echoed in the answer.
    pub logical_resource_id: String,
    /// Set on `Update` and `Delete`: the id the `Create` answered with.
    #[serde(default)]
    pub physical_resource_id: Option<String>,
}

/// `Status` of a custom-resource answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResponseStatus {
    /// The request was carried out.
    Success,
    /// It was not; `Reason` says why.
    Failed,
}

/// The answer CloudFormation expects on the `ResponseURL`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceResponse {
    /// Whether it worked.
    pub status: ResponseStatus,
    /// Shown in the stack's events; required when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The resource's stable id.
    pub physical_resource_id: String,
    /// From the request.
    pub stack_id: String,
    /// From the request.
    pub request_id: String,
    /// From the request.
    pub logical_resource_id: String,
    /// `!GetAtt SigningKeys.<name>` values: `Issuer`, `JwksUri`, `CurrentKid`. Nothing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// Handles a custom-resource request or a scheduled event; see the [module docs](self).
///
/// `Delete` answers `SUCCESS` and leaves the secret and the published documents alone: it
/// also arrives when the resource is renamed or replaced, after the new one has published
/// into the same bucket, and withdrawing the JWKS then would turn every token into a 401.
/// The secret goes with the stack (Secrets Manager keeps it for its recovery window); the
/// bucket must be emptied before a stack can be deleted.
///
/// Errors: an unrecognised event is `NonRetryable`. A custom-resource request whose work
/// failed still returns `Ok` once `FAILED` has been delivered (an `Err` would make Lambda
/// retry and answer twice); only a failed delivery is an `Err`, so that Lambda's retry tries
/// again. A failed scheduled run is an `Err` and is retried by Lambda.
pub async fn manage_signing_keys(
    deps: &Deps,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let (payload, context) = event.into_parts();
    if payload.get("RequestType").is_some() {
        let request: CustomResourceRequest = serde_json::from_value(payload).map_err(|e| {
            DomainError::Internal(format!("malformed custom-resource request: {e}"))
        })?;
        return on_custom_resource(deps, request, &context.env_config.log_stream).await;
    }
    if payload["source"] == "aws.events" && payload["detail-type"] == "Scheduled Event" {
        return on_schedule(deps).await;
    }
    Err(DomainError::Internal(
        "unrecognised event: expected a CloudFormation custom-resource request or a scheduled \
         EventBridge event"
            .into(),
    )
    .into())
}

async fn on_custom_resource(
    deps: &Deps,
    request: CustomResourceRequest,
    log_stream: &str,
) -> Result<Value, HandlerError> {
    tracing::info!(
        request_type = ?request.request_type,
        logical_resource_id = %request.logical_resource_id,
        "custom-resource request"
    );
    let outcome = match request.request_type {
        RequestType::Create | RequestType::Update => ensure_published(deps).await.map(|keys| {
            Some(json!({
                "Issuer": deps.issuer,
                "JwksUri": jwks_uri(&deps.issuer),
                "CurrentKid": keys.current.kid,
            }))
        }),
        RequestType::Delete => Ok(None),
    };
    let (status, reason, data) = match outcome {
        Ok(data) => (ResponseStatus::Success, None, data),
        Err(err) => {
            tracing::error!(error = %err, "custom-resource request failed");
            let mut reason: String = err.to_string().chars().take(MAX_REASON_CHARS).collect();
            if !log_stream.is_empty() {
                reason.push_str(&format!(" (CloudWatch log stream {log_stream})"));
            }
            (ResponseStatus::Failed, Some(reason), None)
        }
    };
    let response = CustomResourceResponse {
        status,
        reason,
        physical_resource_id: request
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| deps.resource_id.clone()),
        stack_id: request.stack_id,
        request_id: request.request_id,
        logical_resource_id: request.logical_resource_id,
        data,
    };
    deps.responder
        .send(&request.response_url, &response)
        .await?;
    Ok(serde_json::to_value(&response).expect("a response always serializes"))
}

async fn on_schedule(deps: &Deps) -> Result<Value, HandlerError> {
    let Some(keys) = deps.keys.load().await? else {
        // The schedule fired before the custom resource ran (or someone reset the secret).
        let keys = ensure_published(deps).await?;
        return Ok(json!({ "action": "created", "currentKid": keys.current.kid }));
    };
    let now = deps.clock.now();
    let (action, keys) = match keys.rotate(now, &deps.policy).map_err(DomainError::from)? {
        Some(rotated) => {
            let action = if rotated.current.kid != keys.current.kid {
                "rotated"
            } else {
                "retired-previous"
            };
            publish(deps, &rotated).await?;
            deps.keys.save(&rotated).await?;
            (action, rotated)
        }
        None => {
            publish(deps, &keys).await?;
            ("unchanged", keys)
        }
    };
    tracing::info!(
        action,
        current_kid = %keys.current.kid,
        next_kid = %keys.next.kid,
        previous_kid = keys.previous.as_ref().map(|k| k.kid.as_str()),
        "signing keys checked"
    );
    Ok(json!({ "action": action, "currentKid": keys.current.kid }))
}

/// Loads the key set, generating and saving a first one if the secret holds the placeholder,
/// and publishes it.
async fn ensure_published(deps: &Deps) -> Result<KeySet, DomainError> {
    if let Some(keys) = deps.keys.load().await? {
        publish(deps, &keys).await?;
        return Ok(keys);
    }
    let keys = KeySet::generate(deps.clock.as_ref())?;
    publish(deps, &keys).await?;
    deps.keys.save(&keys).await?;
    tracing::info!(current_kid = %keys.current.kid, "generated the first signing keys");
    Ok(keys)
}

/// Writes the JWKS (to the bucket and to the public-keys secret), then the discovery document
/// that points at it.
async fn publish(deps: &Deps, keys: &KeySet) -> Result<(), DomainError> {
    let jwks = keys.jwks();
    deps.objects.put_json(JWKS_PATH, &jwks).await?;
    deps.keys.save_public(&jwks).await?;
    deps.objects
        .put_json(DISCOVERY_PATH, &discovery_document(&deps.issuer))
        .await
}
