//! Domain events and the envelope they travel in.
//!
//! On the bus an event's `source` is `shop.<service>` and its `detail-type` is
//! `<Resource><PastVerb>` (`OrderConfirmed`); the `detail` is an [`EventEnvelope`]:
//!
//! ```json
//! {"id": "01J…", "type": "OrderConfirmed", "version": 1, "aggregateVersion": 7,
//!  "occurredAt": "2026-11-02T10:00:00Z", "correlationId": "01J…", "data": {…}}
//! ```
//!
//! Delivery is at-least-once and unordered, so consumers dedupe on `id` and order by
//! `aggregateVersion`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ports::{Clock, OutgoingEvent};
use crate::{CorrelationId, DomainError, EventId};

/// The payload of one kind of event, naming its type, source and schema version.
pub trait DomainEvent: Serialize + DeserializeOwned {
    /// The detail-type, `<Resource><PastVerb>`: `OrderConfirmed`.
    const TYPE: &'static str;
    /// The emitting service as the bus source: `shop.orders`.
    const SOURCE: &'static str;
    /// The schema version of the payload; bump it on breaking changes.
    const VERSION: u32;
}

/// The envelope around every event's data; see the module docs for the JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope<T> {
    /// Unique per event; consumers dedupe on it.
    pub id: EventId,
    /// The event type, equal to the bus detail-type.
    pub r#type: String,
    /// Schema version of `data`.
    pub version: u32,
    /// Version of the aggregate after the change; consumers order by it.
    pub aggregate_version: u64,
    /// When the change happened, RFC 3339 UTC.
    #[serde(with = "crate::timestamp")]
    pub occurred_at: DateTime<Utc>,
    /// The correlation id of the request that caused the event.
    pub correlation_id: CorrelationId,
    /// The event's payload.
    pub data: T,
}

impl<T: DomainEvent> EventEnvelope<T> {
    /// Wraps `data` with a fresh id, its type and version, and the clock's current time.
    pub fn new(
        clock: &dyn Clock,
        correlation_id: CorrelationId,
        aggregate_version: u64,
        data: T,
    ) -> Self {
        Self {
            id: EventId::new(),
            r#type: T::TYPE.to_owned(),
            version: T::VERSION,
            aggregate_version,
            occurred_at: clock.now(),
            correlation_id,
            data,
        }
    }

    /// The envelope as an [`OutgoingEvent`] for an [`EventPublisher`](crate::EventPublisher)
    /// or an outbox item.
    pub fn to_outgoing(&self) -> Result<OutgoingEvent, DomainError> {
        let detail = serde_json::to_value(self).map_err(|e| {
            DomainError::Internal(format!("cannot serialize {} event: {e}", T::TYPE))
        })?;
        Ok(OutgoingEvent {
            source: T::SOURCE.to_owned(),
            detail_type: T::TYPE.to_owned(),
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OrderConfirmed {
        order_id: String,
    }

    impl DomainEvent for OrderConfirmed {
        const TYPE: &'static str = "OrderConfirmed";
        const SOURCE: &'static str = "shop.orders";
        const VERSION: u32 = 1;
    }

    struct At(DateTime<Utc>);
    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    fn envelope() -> EventEnvelope<OrderConfirmed> {
        let clock = At(Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap());
        let correlation = "01JBQ0000000000000000000CC".parse().unwrap();
        let mut env = EventEnvelope::new(
            &clock,
            correlation,
            7,
            OrderConfirmed {
                order_id: "o-1".into(),
            },
        );
        env.id = "01JBQ0000000000000000000EE".parse().unwrap();
        env
    }

    #[test]
    fn envelope_serializes_to_the_documented_shape() {
        let value = serde_json::to_value(envelope()).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "01JBQ0000000000000000000EE",
                "type": "OrderConfirmed",
                "version": 1,
                "aggregateVersion": 7,
                "occurredAt": "2026-11-02T10:00:00.000Z",
                "correlationId": "01JBQ0000000000000000000CC",
                "data": {"orderId": "o-1"}
            })
        );
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 7);
    }

    #[test]
    fn envelope_roundtrips_and_accepts_other_rfc3339_offsets() {
        let env = envelope();
        let back: EventEnvelope<OrderConfirmed> =
            serde_json::from_value(serde_json::to_value(&env).unwrap()).unwrap();
        assert_eq!(back, env);

        let mut value = serde_json::to_value(&env).unwrap();
        value["occurredAt"] = json!("2026-11-02T11:00:00+01:00");
        let shifted: EventEnvelope<OrderConfirmed> = serde_json::from_value(value).unwrap();
        assert_eq!(shifted.occurred_at, env.occurred_at);
    }

    #[test]
    fn outgoing_event_carries_source_and_detail_type() {
        let out = envelope().to_outgoing().unwrap();
        assert_eq!(out.source, "shop.orders");
        assert_eq!(out.detail_type, "OrderConfirmed");
        assert_eq!(out.detail["aggregateVersion"], 7);
    }
}
