//! Secrets Manager behind a TTL cache.
//!
//! A warm Lambda serves many requests; fetching the signing key from Secrets Manager on each
//! one would add latency and cost and risk throttling. [`CachedSecrets`] keeps each value for
//! a TTL (5 minutes by default), short enough that a rotated secret is picked up quickly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use shop_domain::{Clock, DomainError, SecretSource, SystemClock};

use crate::aws::sdk_error;

/// How long a fetched secret is served from memory unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// Reads secrets straight from Secrets Manager, uncached; wrap it in [`CachedSecrets`].
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: Client,
}

impl SecretsManagerSource {
    /// A source using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn get_secret(&self, id: &str) -> Result<String, DomainError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    // Our own secret missing is a deployment problem, not a client's 404.
                    DomainError::Internal(format!("secret `{id}` does not exist"))
                } else {
                    sdk_error("Secrets Manager GetSecretValue", err)
                }
            })?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| DomainError::Internal(format!("secret `{id}` has no string value")))
    }
}

/// A [`SecretSource`] that caches another one's values for a TTL.
///
/// Failures are not cached, so a transient error is retried on the next request. Values are
/// never printed: there is deliberately no `Debug` that shows them.
pub struct CachedSecrets<S = SecretsManagerSource> {
    inner: S,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<String, (DateTime<Utc>, String)>>,
}

impl CachedSecrets<SecretsManagerSource> {
    /// A cache over Secrets Manager with the [`DEFAULT_TTL`].
    pub fn secrets_manager(client: Client) -> Self {
        Self::new(SecretsManagerSource::new(client))
    }
}

impl<S: SecretSource> CachedSecrets<S> {
    /// A cache over `inner` with the [`DEFAULT_TTL`] and the system clock.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            ttl: DEFAULT_TTL,
            clock: Arc::new(SystemClock),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The same cache with another TTL.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same cache reading time from `clock` (tests pin it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Forgets every cached value, e.g. after a signature check failed with a cached key.
    pub fn invalidate(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (DateTime<Utc>, String)>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S> std::fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: SecretSource> SecretSource for CachedSecrets<S> {
    async fn get_secret(&self, id: &str) -> Result<String, DomainError> {
        let now = self.clock.now();
        if let Some((expires, value)) = self.lock().get(id)
            && now < *expires
        {
            return Ok(value.clone());
        }
        // The lock is not held across the fetch: two concurrent misses may both fetch, which
        // is harmless and cheaper than serialising every secret read behind one slow call.
        let value = self.inner.get_secret(id).await?;
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX);
        let expires = now
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.lock().insert(id.to_owned(), (expires, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{FixedClock, MemorySecrets};

    fn cached(clock: &Arc<FixedClock>) -> CachedSecrets<Arc<MemorySecrets>> {
        let inner = Arc::new(MemorySecrets::new([("jwt-key", "k1")]));
        CachedSecrets::new(inner).with_clock(clock.clone())
    }

    #[tokio::test]
    async fn serves_a_warm_secret_from_memory() {
        let clock = Arc::new(FixedClock::default());
        let secrets = cached(&clock);
        assert_eq!(secrets.get_secret("jwt-key").await.unwrap(), "k1");
        clock.advance(Duration::from_secs(299));
        assert_eq!(secrets.get_secret("jwt-key").await.unwrap(), "k1");
        assert_eq!(secrets.inner.calls(), 1);
    }

    #[tokio::test]
    async fn refetches_after_the_ttl_and_sees_a_rotated_value() {
        let clock = Arc::new(FixedClock::default());
        let secrets = cached(&clock);
        secrets.get_secret("jwt-key").await.unwrap();
        secrets.inner.set("jwt-key", "k2");
        clock.advance(Duration::from_secs(300));
        assert_eq!(secrets.get_secret("jwt-key").await.unwrap(), "k2");
        assert_eq!(secrets.inner.calls(), 2);
    }

    #[tokio::test]
    async fn does_not_cache_failures() {
        let clock = Arc::new(FixedClock::default());
        let secrets = cached(&clock);
        assert!(secrets.get_secret("missing").await.is_err());
        secrets.inner.set("missing", "now here");
        assert_eq!(secrets.get_secret("missing").await.unwrap(), "now here");
    }

    #[tokio::test]
    async fn invalidate_forces_a_refetch() {
        let clock = Arc::new(FixedClock::default());
        let secrets = cached(&clock);
        secrets.get_secret("jwt-key").await.unwrap();
        secrets.invalidate();
        secrets.get_secret("jwt-key").await.unwrap();
        assert_eq!(secrets.inner.calls(), 2);
    }
}
