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
