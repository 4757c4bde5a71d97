//! The payments service: one payment per order, settled by the gateway's signed callback, and
//! the three steps the checkout's state machine runs.
//!
//! A tour:
//! - [`internal`]: the internal functions of the saga: `create-payment` (the record and the
//!   signed payment page URL), `await-payment` (the `.waitForTaskToken` task: stores the
//!   token, or resolves it at once when the callback came first) and `void-payment` (the
//!   compensation: void the unpaid, refund the captured).
//! - [`callback`]: `POST /api/payments/callback` (public, signed): verifies the gateway's
//!   `X-Signature`, settles the payment once, and resolves the waiting task.
//! - [`domain`]: the payment and its statuses, the callback, the signatures
//!   ([`domain::signature`]), the events and the ports [`PaymentStore`] and [`TaskTokens`].
//! - [`dynamo`] and [`memory`]: the store on DynamoDB and in memory (handler tests);
//!   [`sfn`]: the task tokens on Step Functions; [`contract`]: the store contract both
//!   stores pass. `memory` and `contract` only with feature `testing`.
//! - [`setup`]: [`Deps::from_env`] and its siblings, read once by each `src/bin/<function>.rs`.
//!
//! Exactly one of the callback and `await-payment` sends the task its answer: both are
//! conditional writes on the one payment item (docs/decisions.md, "Payments").

use std::sync::Arc;

use shop_domain::{Clock, DomainError, SecretSource};

use crate::domain::{PaymentStore, TaskTokens};

pub mod callback;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod internal;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod setup;
pub mod sfn;

/// The webhook secret: its string value is the HMAC key of the callback and of the payment
/// page's URL.
#[derive(Clone)]
pub struct WebhookSecret {
    /// Where it is read (cached).
    pub source: Arc<dyn SecretSource>,
    /// Its ARN.
    pub id: String,
}

/// What the payments handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Payments, processed gateway events and the outbox.
    pub store: Arc<dyn PaymentStore>,
    /// The waiting checkouts.
    pub tasks: Arc<dyn TaskTokens>,
    /// Timestamps and the callback's tolerance.
    pub clock: Arc<dyn Clock>,
    /// The webhook secret (the callback and create-payment).
    pub webhook: Option<WebhookSecret>,
    /// The API's public URL, no trailing slash (create-payment).
    pub public_api_url: Option<String>,
}

impl Deps {
    /// The webhook secret's value; a function built without it is misconfigured.
    pub async fn webhook_key(&self) -> Result<String, DomainError> {
        let secret = self.webhook.as_ref().ok_or_else(|| {
            DomainError::Internal("this function was built without WEBHOOK_SECRET_ARN".into())
        })?;
        secret.source.get_secret(&secret.id).await
    }
}
