//! In-memory [`KeyStore`], [`PublicObjects`] and [`ResponseSender`] for the tests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::Value;
use shop_adapters::tokens::KeySet;
use shop_domain::DomainError;

use super::{CustomResourceResponse, KeyStore, PublicObjects, ResponseSender};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock should not cascade into unrelated asserts.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The secret as a string, exactly as Secrets Manager would hold it, so tests can start from
/// the `{}` placeholder or from garbage.
#[derive(Debug)]
pub struct MemoryKeyStore {
    value: Mutex<String>,
    public: Mutex<Option<Value>>,
    saves: AtomicUsize,
}

impl MemoryKeyStore {
    /// A store whose secret holds `value`.
    pub fn new(value: &str) -> Self {
        Self {
            value: Mutex::new(value.to_owned()),
            public: Mutex::new(None),
            saves: AtomicUsize::new(0),
        }
    }

    /// The secret's current value.
    pub fn value(&self) -> String {
        lock(&self.value).clone()
    }

    /// The public copy's current value (`None` until first written).
    pub fn public(&self) -> Option<Value> {
        lock(&self.public).clone()
    }

    /// How many times `save` was called.
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn load(&self) -> Result<Option<KeySet>, DomainError> {
        Ok(KeySet::from_secret_string(&self.value())?)
    }

    async fn save(&self, keys: &KeySet) -> Result<(), DomainError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        *lock(&self.value) = keys.to_secret_string();
        Ok(())
    }

    async fn save_public(&self, jwks: &Value) -> Result<(), DomainError> {
        *lock(&self.public) = Some(jwks.clone());
        Ok(())
    }
}

/// Objects in a map; can be told to fail.
#[derive(Debug, Default)]
pub struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Value>>,
    failure: Mutex<Option<DomainError>>,
}

impl MemoryObjects {
    /// An empty bucket that accepts every write.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following write fail with `error` (or succeed again with `None`).
    pub fn fail_with(&self, error: Option<DomainError>) {
        *lock(&self.failure) = error;
    }

    /// The object at `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        lock(&self.objects).get(key).cloned()
    }

    /// Whether nothing was ever written.
    pub fn is_empty(&self) -> bool {
        lock(&self.objects).is_empty()
    }
}

#[async_trait]
impl PublicObjects for MemoryObjects {
    async fn put_json(&self, key: &str, body: &Value) -> Result<(), DomainError> {
        if let Some(error) = lock(&self.failure).clone() {
            return Err(error);
        }
        lock(&self.objects).insert(key.to_owned(), body.clone());
        Ok(())
    }
}

/// Records the answers it is given; can be told to fail.
#[derive(Debug, Default)]
pub struct MemoryResponder {
    sent: Mutex<Vec<(String, CustomResourceResponse)>>,
    failure: Mutex<Option<DomainError>>,
}

impl MemoryResponder {
    /// A responder that delivers everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following delivery fail with `error` (or succeed again with `None`).
    pub fn fail_with(&self, error: Option<DomainError>) {
        *lock(&self.failure) = error;
    }

    /// Every `(url, response)` delivered so far, in order.
    pub fn sent(&self) -> Vec<(String, CustomResourceResponse)> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl ResponseSender for MemoryResponder {
    async fn send(&self, url: &str, response: &CustomResourceResponse) -> Result<(), DomainError> {
        if let Some(error) = lock(&self.failure).clone() {
            return Err(error);
        }
        lock(&self.sent).push((url.to_owned(), response.clone()));
        Ok(())
    }
}
