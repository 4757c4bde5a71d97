//! EventBridge: the [`EventPublisher`] adapter and a bus health probe.
//!
//! `PutEvents` is not all-or-nothing: the call can succeed while individual entries fail
//! (throttling, internal errors), reported by an `ErrorCode` on the result entry at the same
//! position. [`put_with_retry`] resends exactly those entries, so a partial failure neither
//! loses events nor duplicates the ones already accepted. It is written against the small
//! [`PutEntries`] trait so the retry logic is unit-tested without AWS.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use shop_domain::{DomainError, EventPublisher, HealthProbe, OutgoingEvent};

use crate::aws::sdk_error;

/// The most entries one `PutEvents` call accepts.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// The largest `PutEvents` request EventBridge accepts, in bytes, counted as AWS documents it
/// (the UTF-8 bytes of source, detail-type and detail of every entry).
pub const MAX_PUT_EVENTS_BYTES: usize = 256 * 1024;

/// The size EventBridge counts for one entry without `Time` or `Resources` (we set neither).
pub fn entry_size(source: &str, detail_type: &str, detail: &str) -> usize {
    source.len() + detail_type.len() + detail.len()
}

/// Splits `items` into consecutive runs that each fit one `PutEvents` request: at most
/// [`MAX_ENTRIES_PER_CALL`] entries and [`MAX_PUT_EVENTS_BYTES`] bytes (an entry larger than
/// that alone gets a call of its own, which EventBridge then rejects visibly).
pub fn put_events_calls<T>(items: &[T], event: impl Fn(&T) -> &OutgoingEvent) -> Vec<&[T]> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, item) in items.iter().enumerate() {
        let event = event(item);
        let size = entry_size(&event.source, &event.detail_type, &event.detail.to_string());
        if index > start
            && (index - start == MAX_ENTRIES_PER_CALL || bytes + size > MAX_PUT_EVENTS_BYTES)
        {
            calls.push(&items[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < items.len() {
        calls.push(&items[start..]);
    }
    calls
}

/// Sends one `PutEvents`-sized batch.
#[async_trait]
pub trait PutEntries: Send + Sync {
    /// Sends `entries` (at most [`MAX_ENTRIES_PER_CALL`]) and returns, position by position,
    /// `None` for each accepted entry and `Some(error code)` for each rejected one.
    /// `Err` means the call as a whole failed.
    async fn put_entries(
        &self,
        entries: &[OutgoingEvent],
    ) -> Result<Vec<Option<String>>, DomainError>;
}

/// How often and how patiently rejected entries are resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per entry, the first included.
    pub max_attempts: u32,
    /// The backoff ceiling before the first resend; doubled each attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts waiting at most 100, 200, 400 ms: well inside a handler's timeout.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before resend number `attempt` (1-based): "full jitter", a uniformly random
    /// delay up to the exponential ceiling, so throttled Lambdas do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random_u64() % (nanos + 1))
    }
}

/// A random number good enough for jitter, without a `rand` dependency: std's `RandomState`
/// is seeded randomly per thread and advanced on every construction.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// Sends all `events` in calls that fit `PutEvents` (ten entries, 256 KB), resending only
/// rejected entries with backoff.
///
/// If some entries are still rejected after `policy.max_attempts`, the other chunks are still
/// sent and the result is [`DomainError::Unavailable`] naming how many failed and with which
/// error codes; the caller (the outbox relay) then retries, and consumers dedupe on event id.
/// A failure of a whole call is returned at once: the SDK has already retried it.
pub async fn put_with_retry<P: PutEntries + ?Sized>(
    sender: &P,
    events: &[OutgoingEvent],
    policy: &RetryPolicy,
) -> Result<(), DomainError> {
    let mut failed = 0usize;
    let mut codes: Vec<String> = Vec::new();
    for chunk in put_events_calls(events, |event| event) {
        let mut pending: Vec<OutgoingEvent> = chunk.to_vec();
        let mut last_codes: Vec<String> = Vec::new();
        for attempt in 1..=policy.max_attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(policy.backoff(attempt - 1)).await;
            }
            let results = sender.put_entries(&pending).await?;
            last_codes.clear();
            let mut retry = Vec::new();
            for (index, event) in pending.into_iter().enumerate() {
                // A missing result entry is treated as a rejection: better a duplicate (consumers
                // dedupe) than a lost event.
                let code = match results.get(index) {
                    Some(None) => continue,
                    Some(Some(code)) => code.clone(),
                    None => "MissingResultEntry".to_owned(),
                };
                tracing::warn!(
                    attempt,
                    error_code = %code,
                    detail_type = %event.detail_type,
                    "EventBridge rejected an entry"
                );
                last_codes.push(code);
                retry.push(event);
            }
            pending = retry;
            if pending.is_empty() {
                break;
            }
        }
        failed += pending.len();
        for code in last_codes {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(DomainError::Unavailable(format!(
            "{failed} of {} events were not accepted by EventBridge after {} attempts (error codes: {})",
            events.len(),
            policy.max_attempts,
            codes.join(", ")
        )))
    }
}

/// Publishes events to one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
    policy: RetryPolicy,
}

impl EventBridgePublisher {
    /// A publisher to `bus_name` with the default [`RetryPolicy`].
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            policy: RetryPolicy::default(),
        }
    }

    /// The same publisher with another retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }
}

#[async_trait]
impl PutEntries for EventBridgePublisher {
    async fn put_entries(
        &self,
        entries: &[OutgoingEvent],
    ) -> Result<Vec<Option<String>>, DomainError> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(&event.source)
                    .detail_type(&event.detail_type)
                    .detail(event.detail.to_string())
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|err| sdk_error("EventBridge PutEvents", err))?;
        Ok(output
            .entries()
            .iter()
            .map(|entry| entry.error_code().map(str::to_owned))
            .collect())
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: Vec<OutgoingEvent>) -> Result<(), DomainError> {
        put_with_retry(self, &events, &self.policy).await
    }
}

/// Health probe: `DescribeEventBus` on the service's bus.
#[derive(Debug, Clone)]
pub struct BusProbe {
    client: Client,
    bus_name: String,
}

impl BusProbe {
    /// A probe for `bus_name`.
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl HealthProbe for BusProbe {
    fn name(&self) -> &str {
        "bus"
    }

    async fn check(&self) -> Result<(), DomainError> {
        self.client
            .describe_event_bus()
            .name(&self.bus_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    DomainError::not_found("event bus", &self.bus_name)
                } else {
                    sdk_error("EventBridge DescribeEventBus", err)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// A bus that rejects chosen entries (by detail-type) a chosen number of times.
    #[derive(Default)]
    struct FlakyBus {
        failures_left: Mutex<HashMap<String, u32>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl FlakyBus {
        fn failing(entries: &[(&str, u32)]) -> Self {
            let bus = Self::default();
            for (name, times) in entries {
                bus.failures_left
                    .lock()
                    .unwrap()
                    .insert((*name).to_owned(), *times);
            }
            bus
        }

        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl PutEntries for FlakyBus {
        async fn put_entries(
            &self,
            entries: &[OutgoingEvent],
        ) -> Result<Vec<Option<String>>, DomainError> {
            assert!(entries.len() <= MAX_ENTRIES_PER_CALL);
            self.calls
                .lock()
                .unwrap()
                .push(entries.iter().map(|e| e.detail_type.clone()).collect());
            let mut left = self.failures_left.lock().unwrap();
            Ok(entries
                .iter()
                .map(|e| match left.get_mut(&e.detail_type) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        Some("ThrottlingException".to_owned())
                    }
                    _ => None,
                })
                .collect())
        }
    }

    fn events(n: usize) -> Vec<OutgoingEvent> {
        (0..n)
            .map(|i| OutgoingEvent {
                source: "shop.test".into(),
                detail_type: format!("e{i}"),
                detail: serde_json::json!({ "i": i }),
            })
            .collect()
    }

    #[test]
    fn calls_stay_under_eventbridges_request_size_as_well_as_its_entry_count() {
        let big: Vec<OutgoingEvent> = (0..10)
            .map(|i| OutgoingEvent {
                source: "shop.test".into(),
                detail_type: format!("e{i}"),
                detail: serde_json::json!({ "blob": "x".repeat(60 * 1024) }),
            })
            .collect();
        let calls = put_events_calls(&big, |event| event);
        assert_eq!(calls.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 2]);
        for call in &calls {
            let bytes: usize = call
                .iter()
                .map(|e| entry_size(&e.source, &e.detail_type, &e.detail.to_string()))
                .sum();
            assert!(bytes <= MAX_PUT_EVENTS_BYTES, "{bytes}");
        }
        let small = events(23);
        let counts: Vec<usize> = put_events_calls(&small, |event| event)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(counts, [10, 10, 3]);
    }

    fn no_wait(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn resends_only_the_entries_that_were_rejected() {
        let bus = FlakyBus::failing(&[("e3", 1), ("e11", 2)]);
        put_with_retry(&bus, &events(12), &no_wait(3))
            .await
            .unwrap();

        let calls = bus.calls();
        assert_eq!(calls.len(), 5, "{calls:?}");
        assert_eq!(calls[0].len(), 10);
        assert_eq!(calls[1], ["e3"]);
        assert_eq!(calls[2], ["e10", "e11"]);
        assert_eq!(calls[3], ["e11"]);
        assert_eq!(calls[4], ["e11"]);
    }

    #[tokio::test]
    async fn reports_entries_still_rejected_after_the_last_attempt() {
        let bus = FlakyBus::failing(&[("e1", 99), ("e2", 99)]);
        let err = put_with_retry(&bus, &events(4), &no_wait(3))
            .await
            .unwrap_err();

        assert_eq!(bus.calls().len(), 3);
        assert_eq!(bus.calls()[2], ["e1", "e2"]);
        match err {
            DomainError::Unavailable(message) => {
                assert!(message.starts_with("2 of 4 events"), "{message}");
                assert!(message.contains("ThrottlingException"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn nothing_to_publish_makes_no_call() {
        let bus = FlakyBus::default();
        put_with_retry(&bus, &[], &no_wait(3)).await.unwrap();
        assert!(bus.calls().is_empty());
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let ceiling = (policy.base_delay * 2u32.pow(attempt - 1)).min(policy.max_delay);
            assert!(policy.backoff(attempt) <= ceiling);
        }
    }
}
