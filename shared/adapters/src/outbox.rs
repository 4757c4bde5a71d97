//! The transactional outbox: events are written in the same `TransactWriteItems` as the state
//! change that caused them, and a relay function moves them from the table's stream to the bus.
//!
//! Writing to the table and to EventBridge in two calls would lose an event whenever the
//! function dies between them (or publish one for a write that then failed). With the outbox
//! the event is part of the write: either both are stored or neither is, and the event id is
//! fixed at that moment, so every later retry carries the same id and consumers can dedupe.
//!
//! # Item layout
//!
//! Outbox items live in the service's own single table, next to its entities:
//!
//! | attribute    | type | value                                                          |
//! |--------------|------|----------------------------------------------------------------|
//! | `pk`         | S    | `OUTBOX#<eventId>`                                             |
//! | `sk`         | S    | `OUTBOX`                                                       |
//! | `type`       | S    | `outbox`: what the stream filter matches on                    |
//! | `source`     | S    | the bus source, `shop.<service>`                               |
//! | `detailType` | S    | the bus detail-type, `<Resource><PastVerb>`                    |
//! | `envelope`   | S    | the [`EventEnvelope`] as JSON text: the bus event's `Detail`   |
//! | `createdAt`  | S    | the envelope's `occurredAt`, RFC 3339 UTC                      |
//! | `expiresAt`  | N    | epoch seconds, `createdAt` + [`RETENTION`]: the table's TTL    |
//!
//! `envelope` is a string, not a map, because EventBridge takes `Detail` as a string anyway and
//! a string passes through byte for byte: a DynamoDB map would turn every JSON number into an
//! `N` and every `null` into `NULL`, reject empty sets, and make the relay rebuild JSON from
//! attribute values, which is exactly where an event's `data` could silently change shape.
//! Nothing needs to query inside the envelope, so a map would buy nothing.
//!
//! The relay does not delete the items it has published; TTL does, `expiresAt` after they were
//! written. Deleting would cost a second write per event (TTL deletes are free), put a `REMOVE`
//! record per event on the stream, and need `dynamodb:DeleteItem` in the relay's policy, while
//! keeping them leaves seven days of recent events in the table to inspect or replay. TTL
//! removals reach the stream as `REMOVE` records, which the filter drops. (TTL is lazy, up to
//! 48 h on AWS and never in moto, so nothing may treat the presence of an item as "unpublished".)
//!
//! # Writing an event
//!
//! ```ignore
//! let envelope = EventEnvelope::new(&clock, correlation_id, product.version, ProductCreated { .. });
//! client.transact_write_items()
//!     .transact_items(put_product)            // item 0: the state change, with its condition
//!     .transact_items(outbox_put(&table, &envelope)?)
//!     .send().await
//!     .map_err(|err| transact_error(err, DomainError::Conflict("product exists".into())))?;
//! ```
//!
//! # Relaying
//!
//! The table's stream (`NEW_AND_OLD_IMAGES` or `NEW_IMAGE`) feeds a `relay-<service>-outbox`
//! function through an event-source mapping filtered with [`STREAM_FILTER_PATTERN`] and with
//! `FunctionResponseTypes: [ReportBatchItemFailures]`; its handler is [`relay`]. Delivery is
//! at-least-once: a batch that fails part-way is retried from the first unconfirmed record, so
//! events published before the failure may be published again. Consumers dedupe on the
//! envelope's `id` and order by its `aggregateVersion`.

use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{DomainError, DomainEvent, EventEnvelope, EventPublisher, OutgoingEvent};

use crate::aws::sdk_error;
pub use crate::eventbridge::MAX_PUT_EVENTS_BYTES;
use crate::eventbridge::{entry_size, put_events_calls};
use crate::lambda::HandlerError;

/// The value of the `type` attribute that marks an outbox item.
pub const OUTBOX_TYPE: &str = "outbox";

/// The sort key of every outbox item.
pub const OUTBOX_SK: &str = "OUTBOX";

/// How long a published outbox item stays in the table before TTL removes it.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The `FilterCriteria` pattern of the relay's stream mapping: only inserts of outbox items.
///
/// In template.yaml: `FilterCriteria: {Filters: [{Pattern: '<this>'}]}`. Filtering at the
/// mapping means the relay is not even invoked for entity writes, which are most of the stream.
pub const STREAM_FILTER_PATTERN: &str =
    r#"{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["outbox"]}}}}"#;

/// [`STREAM_FILTER_PATTERN`] as JSON, for code that builds templates or mappings.
pub fn stream_filter_pattern() -> serde_json::Value {
    serde_json::from_str(STREAM_FILTER_PATTERN).expect("the filter pattern constant is JSON")
}

/// The partition key of the outbox item for event `event_id`: `OUTBOX#<eventId>`.
pub fn outbox_pk(event_id: impl std::fmt::Display) -> String {
    format!("OUTBOX#{event_id}")
}

/// An outbox item as stored; see the module docs for each attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutboxItem {
    pk: String,
    sk: String,
    r#type: String,
    source: String,
    detail_type: String,
    envelope: String,
    created_at: String,
    expires_at: i64,
}

/// The `Put` of `envelope`'s outbox item into `table`, to go into the same
/// `TransactWriteItems` as the state change that raised the event.
///
/// The put is conditional on `attribute_not_exists(pk)`: a command retried with the same
/// envelope (same event id) after its transaction committed fails the condition instead of
/// recording, and so publishing, the event twice ([`transact_error`] maps that to a conflict).
///
/// Fails with [`DomainError::Internal`] when the event could never be published because
/// EventBridge would refuse its size: better to fail the command now, visibly, than to store
/// an event that blocks or is dropped by the relay later.
pub fn outbox_put<T: DomainEvent>(
    table: &str,
    envelope: &EventEnvelope<T>,
) -> Result<TransactWriteItem, DomainError> {
    outbox_put_event(table, &envelope.to_outgoing()?)
}

/// [`outbox_put`] for an envelope already turned into an [`OutgoingEvent`] (what the stores'
/// ports take): `event.detail` must be the envelope, with its `id` and `occurredAt`.
pub fn outbox_put_event(
    table: &str,
    event: &OutgoingEvent,
) -> Result<TransactWriteItem, DomainError> {
    let json = serde_json::to_string(&event.detail).map_err(|e| {
        DomainError::Internal(format!("cannot serialize {} event: {e}", event.detail_type))
    })?;
    let field = |name: &str| event.detail.get(name).and_then(serde_json::Value::as_str);
    let (Some(id), Some(occurred_at)) = (field("id"), field("occurredAt")) else {
        return Err(DomainError::Internal(format!(
            "{} event has no envelope `id` and `occurredAt`",
            event.detail_type
        )));
    };
    let occurred_at = DateTime::parse_from_rfc3339(occurred_at)
        .map_err(|e| DomainError::Internal(format!("bad envelope `occurredAt`: {e}")))?
        .with_timezone(&Utc);
    let size = entry_size(&event.source, &event.detail_type, &json);
    if size > MAX_PUT_EVENTS_BYTES {
        return Err(DomainError::Internal(format!(
            "{} event {id} is {size} bytes, more than EventBridge's {MAX_PUT_EVENTS_BYTES}: \
             send ids and changed fields, not whole documents",
            event.detail_type,
        )));
    }
    let expires_at =
        occurred_at + chrono::Duration::from_std(RETENTION).expect("the retention fits chrono");
    let item = OutboxItem {
        pk: outbox_pk(id),
        sk: OUTBOX_SK.to_owned(),
        r#type: OUTBOX_TYPE.to_owned(),
        source: event.source.clone(),
        detail_type: event.detail_type.clone(),
        envelope: json,
        created_at: rfc3339(occurred_at),
        expires_at: expires_at.timestamp(),
    };
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(crate::dynamo::to_item(&item)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| DomainError::Internal(format!("cannot build the outbox Put: {e}")))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Maps a failed `TransactWriteItems` onto a [`DomainError`].
///
/// A cancellation because item 0 (by convention the state change) failed its condition is
/// `on_condition_failed`: the caller knows whether that means a duplicate
/// ([`DomainError::Conflict`]) or a stale `If-Match` ([`DomainError::PreconditionFailed`]).
/// A failed condition on any later item (a uniqueness guard, or the outbox item of an event
/// already recorded) is a [`DomainError::Conflict`]. Cancellations by a concurrent transaction
/// or throttling are [`DomainError::Unavailable`] (retryable); anything else, such as a
/// validation error, is [`DomainError::Internal`]. Errors other than a cancellation go through
/// [`sdk_error`].
pub fn transact_error(
    err: SdkError<TransactWriteItemsError, HttpResponse>,
    on_condition_failed: DomainError,
) -> DomainError {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
            cancellation_error(canceled, on_condition_failed)
        }
        _ => sdk_error("DynamoDB TransactWriteItems", err),
    }
}

/// The index of the first item whose condition failed, when `err` is a transaction cancelled
/// for that reason: lets a store map each guard of its transaction to its own error.
pub fn failed_condition(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<usize> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => canceled
            .cancellation_reasons()
            .iter()
            .position(|reason| reason.code() == Some("ConditionalCheckFailed")),
        _ => None,
    }
}

/// Why a transaction was cancelled; see [`transact_error`].
fn cancellation_error(
    canceled: &TransactionCanceledException,
    on_condition_failed: DomainError,
) -> DomainError {
    // The reasons are positional, one per item, with code "None" for the items that were fine.
    let reasons: Vec<(usize, &str)> = canceled
        .cancellation_reasons()
        .iter()
        .enumerate()
        .filter_map(|(index, reason)| Some((index, reason.code()?)))
        .filter(|(_, code)| *code != "None")
        .collect();
    let message = format!(
        "DynamoDB TransactWriteItems was cancelled ({}): {}",
        reasons
            .iter()
            .map(|(index, code)| format!("item {index}: {code}"))
            .collect::<Vec<_>>()
            .join(", "),
        DisplayErrorContext(canceled)
    );
    if let Some((index, _)) = reasons
        .iter()
        .find(|(_, code)| *code == "ConditionalCheckFailed")
    {
        if *index == 0 {
            return on_condition_failed;
        }
        // The SDK's text names tables and items: logged, never shown to the client.
        tracing::info!(detail = %message, "a transaction's guard failed");
        return DomainError::Conflict(
            "a concurrent change got there first; read the resource again and retry".to_owned(),
        );
    }
    const TRANSIENT: &[&str] = &[
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    ];
    if reasons.iter().any(|(_, code)| TRANSIENT.contains(code)) {
        DomainError::Unavailable(message)
    } else {
        DomainError::Internal(message)
    }
}

/// One outbox record of a stream batch, ready for the bus.
struct Relayable {
    sequence_number: Option<String>,
    event_id: String,
    event: OutgoingEvent,
}

/// What a stream record turned out to be.
enum Decoded {
    /// An outbox insert to publish.
    Event(Relayable),
    /// Not an outbox insert (an entity write, a TTL removal): nothing to do.
    Ignored,
    /// An outbox insert that can never be published; the reason says why.
    Malformed(String),
}

/// The handler of every `relay-<service>-outbox` function: publishes the outbox inserts of a
/// DynamoDB Streams batch to the bus and reports what could not be confirmed.
///
/// - Records that are not outbox inserts are ignored, in case the mapping's filter is missing.
/// - A malformed outbox record (no envelope, envelope not a JSON object with an `id`, or too
///   large for EventBridge) is logged at error level with its sequence number and event id,
///   and skipped. It is a bug in the producer that no retry can fix; reporting it would hold
///   back every later event of the table for up to the stream's 24 h retention (or the
///   mapping's retry limit), so one event is lost loudly instead of all of them quietly late.
///   [`outbox_put`] refuses such events in the first place.
/// - Events are published in order, in calls of at most [`MAX_ENTRIES_PER_CALL`](crate::eventbridge::MAX_ENTRIES_PER_CALL) entries and
///   [`MAX_PUT_EVENTS_BYTES`] bytes (one `PutEvents` each). When a call fails, publishing
///   stops and the first record of that call is reported as the batch item failure: the
///   stream retries from it, and an [`EventPublisher`] does not say which entries of a failed
///   call it did deliver. The retry may publish some events again; consumers dedupe on id.
///
/// Returns `Err` (so the whole batch is retried) only when a failed record has no sequence
/// number to report, which a real stream never sends.
pub async fn relay(
    publisher: &dyn EventPublisher,
    event: Event,
) -> Result<DynamoDbEventResponse, HandlerError> {
    let total = event.records.len();
    let mut pending = Vec::new();
    for record in &event.records {
        match decode(record) {
            Decoded::Event(relayable) => pending.push(relayable),
            Decoded::Ignored => tracing::debug!(
                stream_event_id = %record.event_id,
                event_name = %record.event_name,
                "not an outbox insert; ignored"
            ),
            Decoded::Malformed(reason) => tracing::error!(
                sequence_number = record.change.sequence_number.as_deref().unwrap_or_default(),
                stream_event_id = %record.event_id,
                pk = image_string(record, "pk").unwrap_or_default(),
                reason = %reason,
                "malformed outbox record skipped: its event is lost; fix the producer"
            ),
        }
    }

    // One `publish` per PutEvents-sized run rather than one for the whole batch: a failure
    // then leaves the runs before it confirmed (fewer duplicates on retry), the runs after it
    // unsent, and no request can exceed EventBridge's 256 KB limit, which the EventBridge
    // adapter's count-only chunking does not guard against.
    let mut published = 0;
    for call in calls(&pending) {
        let events = call.iter().map(|r| r.event.clone()).collect();
        if let Err(err) = publisher.publish(events).await {
            let first = &call[0];
            tracing::error!(
                sequence_number = first.sequence_number.as_deref().unwrap_or_default(),
                event_id = %first.event_id,
                published,
                unconfirmed = pending.len() - published,
                retryable = err.is_retryable(),
                error = %err,
                "publishing outbox events failed; the stream will retry from this record"
            );
            let Some(sequence_number) = first.sequence_number.clone() else {
                return Err(HandlerError(err));
            };
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number);
            let mut response = DynamoDbEventResponse::default();
            response.batch_item_failures.push(failure);
            return Ok(response);
        }
        published += call.len();
    }
    tracing::info!(published, records = total, "outbox events relayed");
    Ok(DynamoDbEventResponse::default())
}

/// The whole `main` of a `relay-<service>-outbox` function: reads `EVENT_BUS_NAME`, builds the
/// EventBridge publisher once and serves [`relay`] for every stream batch.
pub async fn serve_relay() -> Result<(), lambda_runtime::Error> {
    crate::init_tracing();
    let bus = crate::config::required("EVENT_BUS_NAME")?;
    let sdk = crate::aws::sdk_config().await;
    let publisher =
        crate::eventbridge::EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<Event>| relay(&publisher, event.payload),
    ))
    .await
}

/// Splits `pending` into consecutive runs that each fit one `PutEvents` request.
fn calls(pending: &[Relayable]) -> Vec<&[Relayable]> {
    put_events_calls(pending, |relayable| &relayable.event)
}

/// A string attribute of the record's new image.
fn image_string<'a>(record: &'a EventRecord, name: &str) -> Option<&'a str> {
    match record.change.new_image.get(name)? {
        serde_dynamo::AttributeValue::S(value) => Some(value),
        _ => None,
    }
}

fn decode(record: &EventRecord) -> Decoded {
    if record.event_name != "INSERT" || image_string(record, "type") != Some(OUTBOX_TYPE) {
        return Decoded::Ignored;
    }
    let item: OutboxItem = match serde_dynamo::from_item(record.change.new_image.clone()) {
        Ok(item) => item,
        Err(e) => return Decoded::Malformed(format!("not an outbox item: {e}")),
    };
    let detail: serde_json::Value = match serde_json::from_str(&item.envelope) {
        Ok(detail @ serde_json::Value::Object(_)) => detail,
        Ok(other) => return Decoded::Malformed(format!("envelope is not an object: {other}")),
        Err(e) => return Decoded::Malformed(format!("envelope is not JSON: {e}")),
    };
    let Some(event_id) = detail
        .get("id")
        .and_then(|id| id.as_str())
        .map(str::to_owned)
    else {
        return Decoded::Malformed("envelope has no string `id`".to_owned());
    };
    let size = entry_size(&item.source, &item.detail_type, &detail.to_string());
    if size > MAX_PUT_EVENTS_BYTES {
        return Decoded::Malformed(format!(
            "event {event_id} is {size} bytes, more than EventBridge accepts"
        ));
    }
    Decoded::Event(Relayable {
        sequence_number: record.change.sequence_number.clone(),
        event_id,
        event: OutgoingEvent {
            source: item.source,
            detail_type: item.detail_type,
            detail,
        },
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
    use chrono::TimeZone;
    use serde_json::{Value, json};
    use shop_domain::Clock;

    use super::*;
    use crate::memory::{FixedClock, MemoryPublisher};

    /// Two outbox inserts around a product MODIFY, as the stream delivers them.
    const INSERT: &str = include_str!("../../../events/relay-outbox/insert.json");

    fn fixture() -> Value {
        serde_json::from_str(INSERT).unwrap()
    }

    fn event(json: Value) -> Event {
        serde_json::from_value(json).unwrap()
    }

    /// The envelope stored in record `index` of the fixture, as JSON.
    fn stored_envelope(index: usize) -> Value {
        let text = fixture()["Records"][index]["dynamodb"]["NewImage"]["envelope"]["S"]
            .as_str()
            .unwrap()
            .to_owned();
        serde_json::from_str(&text).unwrap()
    }

    fn failed_sequence_numbers(response: &DynamoDbEventResponse) -> Vec<String> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap_or_default())
            .collect()
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ProductCreated {
        product_id: String,
        price: i64,
    }

    impl DomainEvent for ProductCreated {
        const TYPE: &'static str = "ProductCreated";
        const SOURCE: &'static str = "shop.catalog";
        const VERSION: u32 = 1;
    }

    fn envelope(data: ProductCreated) -> EventEnvelope<ProductCreated> {
        let clock = FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap());
        assert_eq!(clock.now().timestamp(), 1_793_613_600);
        let mut envelope = EventEnvelope::new(
            &clock,
            "01JBQ0000000000000000000C1".parse().unwrap(),
            3,
            data,
        );
        envelope.id = "01JBQ0000000000000000000E1".parse().unwrap();
        envelope
    }

    #[test]
    fn outbox_put_builds_a_conditional_put_with_the_documented_attributes() {
        let envelope = envelope(ProductCreated {
            product_id: "p-1".into(),
            price: 8999,
        });
        let write = outbox_put("shop-catalog", &envelope).unwrap();
        let put = write.put().expect("a Put");

        assert_eq!(put.table_name(), "shop-catalog");
        assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let item = put.item();
        assert_eq!(item["pk"], s("OUTBOX#01JBQ0000000000000000000E1"));
        assert_eq!(item["sk"], s("OUTBOX"));
        assert_eq!(item["type"], s("outbox"));
        assert_eq!(item["source"], s("shop.catalog"));
        assert_eq!(item["detailType"], s("ProductCreated"));
        assert_eq!(item["createdAt"], s("2026-11-02T10:00:00.000Z"));
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N((1_793_613_600 + 7 * 86_400).to_string())
        );
        assert_eq!(item.len(), 8, "{item:?}");
        let AttributeValue::S(stored) = &item["envelope"] else {
            panic!("envelope is stored as a string");
        };
        let stored: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(stored, serde_json::to_value(&envelope).unwrap());
    }

    #[test]
    fn outbox_put_refuses_an_event_too_large_for_eventbridge() {
        let envelope = envelope(ProductCreated {
            product_id: "p".repeat(MAX_PUT_EVENTS_BYTES),
            price: 1,
        });
        let err = outbox_put("shop-catalog", &envelope).unwrap_err();
        assert!(
            matches!(err, DomainError::Internal(ref m) if m.contains("bytes")),
            "{err}"
        );
    }

    #[test]
    fn stream_filter_matches_only_outbox_inserts() {
        assert_eq!(
            stream_filter_pattern(),
            json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["outbox"]}}}})
        );
        let kept: Vec<bool> = fixture()["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| matches(&stream_filter_pattern(), record))
            .collect();
        assert_eq!(kept, [true, false, true]);
    }

    /// The exact-value subset of Lambda's filter syntax (objects descend, arrays list
    /// alternatives), enough to check the pattern against real records.
    fn matches(pattern: &Value, record: &Value) -> bool {
        pattern.as_object().unwrap().iter().all(|(key, expected)| {
            let actual = record.get(key);
            match expected {
                Value::Array(alternatives) => actual.is_some_and(|a| alternatives.contains(a)),
                nested => actual.is_some_and(|a| matches(nested, a)),
            }
        })
    }

    #[tokio::test]
    async fn relay_publishes_exactly_the_outbox_inserts_with_their_envelopes_intact() {
        let publisher = MemoryPublisher::new();
        let response = relay(&publisher, event(fixture())).await.unwrap();

        assert!(response.batch_item_failures.is_empty());
        let published = publisher.published();
        assert_eq!(
            publisher.detail_types(),
            ["ProductCreated", "ProductModified"]
        );
        for (event, index) in published.iter().zip([0, 2]) {
            assert_eq!(event.source, "shop.catalog");
            assert_eq!(event.detail, stored_envelope(index));
        }
        assert_eq!(published[0].detail["id"], "01JBQ0000000000000000000E1");
        assert_eq!(published[1].detail["aggregateVersion"], 2);
        assert_eq!(
            published[1].detail["correlationId"],
            "01JBQ0000000000000000000C2"
        );
    }

    #[tokio::test]
    async fn an_event_written_by_outbox_put_is_relayed_unchanged() {
        let envelope = envelope(ProductCreated {
            product_id: "p-1".into(),
            price: 8999,
        });
        let item = outbox_put("t", &envelope)
            .unwrap()
            .put()
            .unwrap()
            .item()
            .clone();
        let image: serde_dynamo::Item =
            serde_dynamo::to_item(serde_dynamo::from_item::<_, OutboxItem>(item).unwrap()).unwrap();
        let mut json = fixture();
        json["Records"][0]["dynamodb"]["NewImage"] = serde_json::to_value(image).unwrap();
        json["Records"].as_array_mut().unwrap().truncate(1);

        let publisher = MemoryPublisher::new();
        relay(&publisher, event(json)).await.unwrap();

        assert_eq!(publisher.published(), [envelope.to_outgoing().unwrap()]);
    }

    #[tokio::test]
    async fn a_failing_publisher_reports_the_first_outbox_record_as_failed() {
        let publisher = MemoryPublisher::new();
        publisher.fail_with(Some(DomainError::Unavailable("throttled".into())));
        let response = relay(&publisher, event(fixture())).await.unwrap();

        assert_eq!(
            failed_sequence_numbers(&response),
            ["111100000000012345678901"]
        );
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "111100000000012345678901"}]})
        );
    }

    #[tokio::test]
    async fn records_before_the_first_outbox_record_are_not_reported_as_failed() {
        let mut json = fixture();
        json["Records"].as_array_mut().unwrap().remove(0);
        let publisher = MemoryPublisher::new();
        publisher.fail_with(Some(DomainError::Internal("bus does not exist".into())));
        let response = relay(&publisher, event(json)).await.unwrap();

        assert_eq!(
            failed_sequence_numbers(&response),
            ["111300000000012345678903"]
        );
    }

    #[tokio::test]
    async fn a_failed_record_without_a_sequence_number_fails_the_whole_batch() {
        let mut json = fixture();
        json["Records"][0]["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("SequenceNumber");
        let publisher = MemoryPublisher::new();
        publisher.fail_with(Some(DomainError::Unavailable("throttled".into())));

        let err = relay(&publisher, event(json)).await.unwrap_err();
        assert!(err.0.is_retryable());
    }

    #[tokio::test]
    async fn records_that_are_not_outbox_inserts_are_ignored() {
        let mut json = fixture();
        // The MODIFY of a product, and the TTL removal of an outbox item.
        let mut removal = json["Records"][0].clone();
        removal["eventName"] = json!("REMOVE");
        json["Records"] = json!([json["Records"][1].clone(), removal]);
        let publisher = MemoryPublisher::new();
        let response = relay(&publisher, event(json)).await.unwrap();

        assert!(response.batch_item_failures.is_empty());
        assert!(publisher.published().is_empty());
    }

    #[tokio::test]
    async fn a_malformed_outbox_record_is_skipped_so_the_events_after_it_still_flow() {
        let mut json = fixture();
        json["Records"][0]["dynamodb"]["NewImage"]["envelope"] = json!({"S": "{not json"});
        json["Records"][2]["dynamodb"]["NewImage"]
            .as_object_mut()
            .unwrap()
            .remove("detailType");
        let mut third = fixture()["Records"][2].clone();
        third["dynamodb"]["NewImage"]["envelope"] = json!({"S": "{\"type\":\"ProductModified\"}"});
        let mut fourth = fixture()["Records"][2].clone();
        fourth["dynamodb"]["SequenceNumber"] = json!("111400000000012345678904");
        json["Records"]
            .as_array_mut()
            .unwrap()
            .extend([third, fourth]);

        let publisher = MemoryPublisher::new();
        let response = relay(&publisher, event(json)).await.unwrap();

        assert!(response.batch_item_failures.is_empty());
        let published = publisher.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].detail, stored_envelope(2));
    }

    #[test]
    fn events_are_sent_in_calls_that_fit_one_put_events_request() {
        let relayable = |bytes: usize| Relayable {
            sequence_number: None,
            event_id: String::new(),
            event: OutgoingEvent {
                source: String::new(),
                detail_type: String::new(),
                // A JSON string: its two quotes count too.
                detail: Value::String("x".repeat(bytes - 2)),
            },
        };
        let many: Vec<_> = (0..23).map(|_| relayable(10)).collect();
        let sizes: Vec<usize> = calls(&many).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);

        let big: Vec<_> = (0..3).map(|_| relayable(100 * 1024)).collect();
        let sizes: Vec<usize> = calls(&big).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 1]);
        assert!(calls(&[]).is_empty());
    }

    fn canceled(codes: &[&str]) -> SdkError<TransactWriteItemsError, HttpResponse> {
        let reasons = codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect();
        let exception = TransactionCanceledException::builder()
            .message(
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
            )
            .set_cancellation_reasons(Some(reasons))
            .build();
        let raw = HttpResponse::new(
            400.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(exception),
            raw,
        )
    }

    #[test]
    fn a_failed_condition_on_the_state_change_is_the_error_the_caller_chose() {
        let stale = DomainError::PreconditionFailed("product changed".into());
        let err = transact_error(canceled(&["ConditionalCheckFailed", "None"]), stale.clone());
        assert_eq!(err, stale);
    }

    #[test]
    fn a_failed_condition_on_a_later_item_is_a_conflict_without_the_sdk_text() {
        let err = transact_error(
            canceled(&["None", "ConditionalCheckFailed"]),
            DomainError::PreconditionFailed("product changed".into()),
        );
        let DomainError::Conflict(message) = err else {
            panic!("{err}");
        };
        assert!(!message.contains("TransactWriteItems"), "{message}");
        assert!(!message.contains("ConditionalCheckFailed"), "{message}");
    }

    #[test]
    fn a_transaction_conflict_is_retryable_and_a_validation_error_is_not() {
        let caller = DomainError::Conflict("exists".into());
        let busy = transact_error(canceled(&["None", "TransactionConflict"]), caller.clone());
        assert!(matches!(busy, DomainError::Unavailable(_)), "{busy}");
        let bug = transact_error(canceled(&["ValidationError", "None"]), caller);
        assert!(
            matches!(bug, DomainError::Internal(ref m) if m.contains("item 0: ValidationError")),
            "{bug}"
        );
    }
}
