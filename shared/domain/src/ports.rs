//! Ports: the narrow traits through which the domain reaches the outside world.
//!
//! Each trait covers one capability, so a handler asks only for what it uses (and its IAM
//! policy grants only that). `shop-adapters` implements each one twice: against AWS, and in
//! memory for tests.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The current time, injectable so tests can pin it.
///
/// Synchronous on purpose: reading a clock never waits, and an `async fn now()` would force
/// an `.await` on every timestamp for no gain.
pub trait Clock: Send + Sync {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock, to the millisecond.
///
/// Every timestamp is stored and sent as RFC 3339 with milliseconds; a clock finer than that
/// would make an entity differ from itself read back (and a sort key written from memory
/// differ from one rebuilt from the stored value).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        Utc::now().trunc_subsecs(3)
    }
}

/// One event ready for the bus: where it comes from, what it is, and its JSON body.
///
/// `detail` is normally a serialized [`EventEnvelope`](crate::EventEnvelope); see
/// [`EventEnvelope::to_outgoing`](crate::EventEnvelope::to_outgoing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingEvent {
    /// `shop.<service>`, e.g. `shop.orders`.
    pub source: String,
    /// `<Resource><PastVerb>`, e.g. `OrderConfirmed`.
    pub detail_type: String,
    /// The event body, the envelope.
    pub detail: serde_json::Value,
}

/// Puts events on the event bus.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes all `events`, or fails: a partial success is retried inside the adapter and
    /// reported as [`DomainError::Unavailable`] if some events still could not be delivered.
    async fn publish(&self, events: Vec<OutgoingEvent>) -> Result<(), DomainError>;
}

/// Reads secrets (signing keys, API keys) by id or name.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret's string value. Never log it.
    async fn get_secret(&self, id: &str) -> Result<String, DomainError>;
}

/// One dependency the health check looks at: a table, a bus, a queue.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// A short, stable name shown in the health response (`table`, `bus`).
    fn name(&self) -> &str;

    /// `Ok(())` when the dependency answers; the error otherwise.
    async fn check(&self) -> Result<(), DomainError>;
}

// Handlers hold their dependencies as `Arc<dyn Port>` or `Arc<Adapter>`; these impls let such
// a handle be passed wherever the port itself is expected.

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

#[async_trait]
impl<T: EventPublisher + ?Sized> EventPublisher for Arc<T> {
    async fn publish(&self, events: Vec<OutgoingEvent>) -> Result<(), DomainError> {
        (**self).publish(events).await
    }
}

#[async_trait]
impl<T: SecretSource + ?Sized> SecretSource for Arc<T> {
    async fn get_secret(&self, id: &str) -> Result<String, DomainError> {
        (**self).get_secret(id).await
    }
}

#[async_trait]
impl<T: HealthProbe + ?Sized> HealthProbe for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn check(&self) -> Result<(), DomainError> {
        (**self).check().await
    }
}
