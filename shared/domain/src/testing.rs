//! What the services' domain tests share (feature `testing`, a dev-dependency only): a fixed clock and the outbox item of an event as a handler
//! makes it, checked against its schema.

use chrono::{DateTime, Utc};

use crate::ports::{Clock, OutgoingEvent};
use crate::{CorrelationId, DomainEvent, EventEnvelope};

/// A clock stopped at a time (tests give it milliseconds, as real clocks have).
pub struct At(pub DateTime<Utc>);

impl Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// What a handler does with its change at `at`: the envelope of `data` as the outbox item.
pub fn outgoing_at<T: DomainEvent>(
    at: DateTime<Utc>,
    aggregate_version: u64,
    data: T,
) -> OutgoingEvent {
    EventEnvelope::new(&At(at), CorrelationId::new(), aggregate_version, data)
        .to_outgoing()
        .unwrap()
}

/// Panics with every error when `event` does not match `schemas/events/<source>/<type>.json`.
#[track_caller]
pub fn assert_matches_its_schema(event: &OutgoingEvent) {
    shop_schemas::assert_valid(&event.source, &event.detail_type, &event.detail);
}

/// The `n`th stand-in outbox item of a store contract check, from `source`: the stores commit
/// it with the write and never look inside.
pub fn contract_event(source: &str, n: usize) -> OutgoingEvent {
    OutgoingEvent {
        source: source.to_owned(),
        detail_type: "TestEvent".to_owned(),
        detail: serde_json::json!({
            "id": crate::EventId::new().to_string(),
            "occurredAt": "2026-12-01T10:00:00.000Z",
            "n": n,
        }),
    }
}

/// Panics unless `result` is [`DomainError::Conflict`](crate::DomainError::Conflict): what a
/// store answers to a write whose condition failed.
#[track_caller]
pub fn assert_conflict(result: Result<(), crate::DomainError>) {
    assert!(
        matches!(result, Err(crate::DomainError::Conflict(_))),
        "{result:?}"
    );
}
