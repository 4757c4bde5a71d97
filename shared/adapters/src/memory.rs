//! In-memory adapters for unit tests: every port without a cloud.
//!
//! They are ordinary (not `cfg(test)`) so the service crates' tests can use them too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use shop_domain::{Clock, DomainError, EventPublisher, HealthProbe, OutgoingEvent, SecretSource};

use crate::idempotency::{
    Claim, IN_PROGRESS_LEASE, IdempotencyStore, RECORD_LIFETIME, StoredResponse,
};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock should not cascade into unrelated asserts.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A clock that reads a fixed instant until moved with [`set`](Self::set) or
/// [`advance`](Self::advance).
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *lock(&self.0) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).expect("test durations fit chrono");
        *lock(&self.0) += by;
    }
}

impl Default for FixedClock {
    /// Stopped at 2026-01-01T00:00:00Z, so snapshots of timestamps stay stable.
    fn default() -> Self {
        Self::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// Records published events; can be told to fail.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    published: Mutex<Vec<OutgoingEvent>>,
    failure: Mutex<Option<DomainError>>,
}

impl MemoryPublisher {
    /// A publisher that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following `publish` fail with `error` (or succeed again with `None`).
    pub fn fail_with(&self, error: Option<DomainError>) {
        *lock(&self.failure) = error;
    }

    /// Everything published so far, in order.
    pub fn published(&self) -> Vec<OutgoingEvent> {
        lock(&self.published).clone()
    }

    /// The detail-types published so far, in order; handy for asserts.
    pub fn detail_types(&self) -> Vec<String> {
        lock(&self.published)
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }
}

#[async_trait]
impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: Vec<OutgoingEvent>) -> Result<(), DomainError> {
        if let Some(error) = lock(&self.failure).clone() {
            return Err(error);
        }
        lock(&self.published).extend(events);
        Ok(())
    }
}

/// Secrets from a map, counting lookups so cache tests can see them.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    calls: AtomicUsize,
}

impl MemorySecrets {
    /// Secrets with the given `(id, value)` pairs.
    pub fn new<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            values: Mutex::new(
                values
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            ),
            calls: AtomicUsize::new(0),
        }
    }

    /// Sets (or rotates) secret `id` to `value`.
    pub fn set(&self, id: &str, value: &str) {
        lock(&self.values).insert(id.to_owned(), value.to_owned());
    }

    /// How many times `get_secret` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn get_secret(&self, id: &str) -> Result<String, DomainError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        lock(&self.values)
            .get(id)
            .cloned()
            .ok_or_else(|| DomainError::Internal(format!("secret `{id}` does not exist")))
    }
}

/// A health probe with a scripted answer and an optional delay.
#[derive(Debug)]
pub struct MemoryProbe {
    name: String,
    result: Result<(), DomainError>,
    delay: Duration,
}

impl MemoryProbe {
    /// A probe named `name` that is healthy.
    pub fn healthy(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            result: Ok(()),
            delay: Duration::ZERO,
        }
    }

    /// A probe named `name` that fails with `error`.
    pub fn failing(name: &str, error: DomainError) -> Self {
        Self {
            result: Err(error),
            ..Self::healthy(name)
        }
    }

    /// The same probe, answering only after `delay` (to test timeouts).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[async_trait]
impl HealthProbe for MemoryProbe {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> Result<(), DomainError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.result.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publisher_records_events_until_told_to_fail() {
        let publisher = MemoryPublisher::new();
        let event = OutgoingEvent {
            source: "shop.test".into(),
            detail_type: "ThingHappened".into(),
            detail: serde_json::json!({}),
        };
        publisher.publish(vec![event.clone()]).await.unwrap();
        publisher.fail_with(Some(DomainError::Unavailable("down".into())));
        assert!(publisher.publish(vec![event]).await.is_err());
        assert_eq!(publisher.detail_types(), ["ThingHappened"]);
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::default();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(60));
        assert_eq!((clock.now() - start).num_seconds(), 60);
    }
}

/// Idempotency records in a map, with the DynamoDB adapter's rules (expiry, lease, fingerprint).
#[derive(Debug, Default)]
pub struct MemoryIdempotency {
    records: Mutex<HashMap<String, MemoryRecord>>,
}

#[derive(Debug, Clone)]
struct MemoryRecord {
    fingerprint: String,
    lease_ends: DateTime<Utc>,
    expires: DateTime<Utc>,
    response: Option<StoredResponse>,
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, DomainError> {
        let mut records = lock(&self.records);
        if let Some(found) = records.get(key) {
            let lapsed =
                found.expires <= now || (found.response.is_none() && found.lease_ends <= now);
            if !lapsed {
                return Ok(if found.fingerprint != fingerprint {
                    Claim::Mismatch
                } else {
                    match &found.response {
                        Some(response) => Claim::Completed(response.clone()),
                        None => Claim::InProgress,
                    }
                });
            }
        }
        records.insert(
            key.to_owned(),
            MemoryRecord {
                fingerprint: fingerprint.to_owned(),
                lease_ends: now + IN_PROGRESS_LEASE,
                expires: now + RECORD_LIFETIME,
                response: None,
            },
        );
        Ok(Claim::Claimed)
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), DomainError> {
        match lock(&self.records).get_mut(key) {
            Some(found) if found.fingerprint == fingerprint => {
                found.response = Some(response.clone());
                Ok(())
            }
            _ => Err(DomainError::Conflict("the claim is gone".to_owned())),
        }
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), DomainError> {
        let mut records = lock(&self.records);
        if records
            .get(key)
            .is_some_and(|r| r.fingerprint == fingerprint && r.response.is_none())
        {
            records.remove(key);
        }
        Ok(())
    }
}
