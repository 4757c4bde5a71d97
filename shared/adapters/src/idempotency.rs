//! Idempotent requests: the `Idempotency-Key` header (IETF draft
//! `draft-ietf-httpapi-idempotency-key-header`), as Powertools' idempotency utility does it for
//! Python and TypeScript (there is no Rust equivalent).
//!
//! [`idempotent`] wraps a handler. Without the header the handler just runs. With it:
//!
//! - the first request claims the key with a conditional put of an in-progress record, runs,
//!   and its response (any status below 500 but 409 and 429, which say "not now") is stored
//!   with the record;
//! - a repeat with the same key and the same request gets the stored response again — same
//!   status, headers and body — with `Idempotent-Replayed: true`;
//! - the same key with a different request (method, path or body) is 422;
//! - a repeat while the first still runs is 409 with `Retry-After` — or, with
//!   [`idempotent_waiting`], waits a bounded time for the first to finish and replays its
//!   answer (for commands a client is likely to send twice at once, such as a checkout);
//! - a 5xx or a failure releases the key, so the client's retry runs again;
//! - records expire after [`RECORD_LIFETIME`] (a TTL, and a check, since TTL deletion lags);
//!   an in-progress record whose function died is taken over after [`IN_PROGRESS_LEASE`].
//!
//! Keys are scoped per caller (the token's `sub`) and per route, so two users' keys never
//! meet. Records are bounded: a key is at most [`MAX_KEY_CHARS`], a stored body at most
//! [`MAX_STORED_BODY`] (larger ones are kept as their status and `Location` only). The claim is
//! a condition expression, never read-then-write, so concurrent repeats run the handler once.

use std::future::Future;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shop_domain::{Clock, DomainError};

use crate::api::Caller;
use crate::aws::sdk_error;
use crate::dynamo::{get_item, is_condition_failed, to_item};
use crate::http::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header a replayed response carries.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const RECORD_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// How long a claimed key waits for its request before another may take it over: longer than
/// any function's timeout, so it only passes when the first function died.
pub const IN_PROGRESS_LEASE: TimeDelta = TimeDelta::seconds(60);
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;
/// The largest response body stored (a DynamoDB item holds 400 KB).
pub const MAX_STORED_BODY: usize = 256 * 1024;

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response's headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, or `None` when it was larger than [`MAX_STORED_BODY`].
    pub body: Option<String>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's now: run it.
    Claimed,
    /// The key's request finished: its response.
    Completed(StoredResponse),
    /// The key's request is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Where idempotency records live: the service's own table.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for the request with `fingerprint` at `now`, atomically: of concurrent
    /// claims of one key exactly one is [`Claim::Claimed`].
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, DomainError>;

    /// Stores the claimed key's response.
    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), DomainError>;

    /// Gives up the claim (the request failed), so a retry runs again.
    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), DomainError>;
}

/// Runs `handler` on `req` once per `Idempotency-Key` (see the module's documentation).
pub async fn idempotent<F, Fut>(
    store: &dyn IdempotencyStore,
    clock: &dyn Clock,
    req: Request,
    handler: F,
) -> Result<Response<Body>, Error>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, Error>>,
{
    idempotent_waiting(store, clock, req, std::time::Duration::ZERO, handler).await
}

/// How often a waiting repeat looks at the first request's record again.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(100);

/// [`idempotent`], but a repeat that finds the first request still running looks again every
/// 100 ms for up to `wait` and replays its answer once it is stored; only after `wait` is it
/// 409. Keep `wait` well below the function's timeout.
pub async fn idempotent_waiting<F, Fut>(
    store: &dyn IdempotencyStore,
    clock: &dyn Clock,
    req: Request,
    wait: std::time::Duration,
    handler: F,
) -> Result<Response<Body>, Error>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, Error>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        return handler(req).await;
    };
    let key = match key.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= MAX_KEY_CHARS => key.to_owned(),
        _ => {
            return Ok(ApiError::from(DomainError::validation(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ))
            .into_response());
        }
    };
    let scope = Caller::from_request(&req).map_or_else(|| "anonymous".to_owned(), |c| c.sub);
    let route = format!("{} {}", req.method(), req.uri().path());
    let key = format!("{scope}#{route}#{key}");
    let fingerprint = fingerprint(&route, req.body().as_ref());
    let mut claim = store.claim(&key, &fingerprint, clock.now()).await;
    let mut waited = std::time::Duration::ZERO;
    while matches!(claim, Ok(Claim::InProgress)) && waited < wait {
        tokio::time::sleep(WAIT_STEP).await;
        waited += WAIT_STEP;
        claim = store.claim(&key, &fingerprint, clock.now()).await;
    }
    match claim {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Completed(stored)) => return Ok(replay(&stored)),
        Ok(Claim::InProgress) => {
            return Ok(ApiError::from(DomainError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry later".to_owned(),
            ))
            .into_response()
            .with_header("retry-after", "1"));
        }
        Ok(Claim::Mismatch) => {
            return Ok(ApiError::from(DomainError::Unprocessable(
                "this Idempotency-Key was used for a different request".to_owned(),
            ))
            .into_response());
        }
        Err(err) => return Ok(ApiError::from(err).into_response()),
    }
    let outcome = handler(req).await;
    match &outcome {
        // A 409 or 429 says "not now" (a conflict that may pass, a limit): the client's retry
        // with the same key runs again rather than replaying it.
        Ok(response) if !response.status().is_server_error() && !retry_later(response) => {
            if let Err(err) = store.complete(&key, &fingerprint, &stored(response)).await {
                // The work is done and answered; a retry would run it again, so say so.
                tracing::error!(error = %err, "idempotency record not completed");
            }
        }
        _ => {
            if let Err(err) = store.release(&key, &fingerprint).await {
                tracing::error!(error = %err, "idempotency record not released");
            }
        }
    }
    outcome
}

fn retry_later(response: &Response<Body>) -> bool {
    matches!(
        response.status(),
        StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
    )
}

/// SHA-256 of the route and the body, hex.
fn fingerprint(route: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update([0]);
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn stored(response: &Response<Body>) -> StoredResponse {
    let body = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    StoredResponse {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: (body.len() <= MAX_STORED_BODY).then_some(body),
    }
}

fn replay(stored: &StoredResponse) -> Response<Body> {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = Response::builder()
        .status(status)
        .body(match &stored.body {
            Some(body) if body.is_empty() => Body::Empty,
            Some(body) => Body::Text(body.clone()),
            None => Body::Text(
                serde_json::json!({
                    "message": "done; the response was too large to keep: read the resource"
                })
                .to_string(),
            ),
        })
        .expect("a status is a valid response");
    for (name, value) in &stored.headers {
        if stored.body.is_none() && name == "content-length" {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response.with_header(REPLAYED, "true")
}

trait WithHeader {
    fn with_header(self, name: &'static str, value: &'static str) -> Self;
}

impl WithHeader for Response<Body> {
    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers_mut()
            .insert(name, HeaderValue::from_static(value));
        self
    }
}

/// The records in a service's table: `IDEMPOTENCY#<caller>#<route>#<key>`, sort key
/// `IDEMPOTENCY`, with `expiresAt` as the table's TTL.
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    client: Client,
    table: String,
}

impl DynamoIdempotency {
    /// Records in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

const SK: &str = "IDEMPOTENCY";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    pk: String,
    sk: String,
    r#type: String,
    status: String,
    fingerprint: String,
    /// Until when an in-progress claim holds, epoch milliseconds.
    lease_ends_ms: i64,
    /// The TTL, epoch seconds.
    expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<StoredResponse>,
}

fn pk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, DomainError> {
        let record = Record {
            pk: pk(key),
            sk: SK.to_owned(),
            r#type: "idempotency".to_owned(),
            status: IN_PROGRESS.to_owned(),
            fingerprint: fingerprint.to_owned(),
            lease_ends_ms: (now + IN_PROGRESS_LEASE).timestamp_millis(),
            expires_at: (now + RECORD_LIFETIME).timestamp(),
            response: None,
        };
        // A record that expired (TTL lags) or a claim whose function died is taken over.
        for _ in 0..3 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&record)?))
                .condition_expression(
                    "attribute_not_exists(pk) OR expiresAt <= :now \
                     OR (#status = :progress AND leaseEndsMs <= :nowMs)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":now", n(now.timestamp()))
                .expression_attribute_values(":nowMs", n(now.timestamp_millis()))
                .expression_attribute_values(":progress", AttributeValue::S(IN_PROGRESS.into()))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(err) if is_condition_failed(&err) => {}
                Err(err) => return Err(sdk_error("DynamoDB PutItem", err)),
            }
            let Some(found) =
                get_item::<Record>(&self.client, &self.table, pk(key), SK, true).await?
            else {
                continue; // released in between: claim again
            };
            return Ok(if found.fingerprint != fingerprint {
                Claim::Mismatch
            } else {
                match found.response {
                    Some(response) if found.status == COMPLETED => Claim::Completed(response),
                    _ => Claim::InProgress,
                }
            });
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), DomainError> {
        let response = serde_dynamo::to_attribute_value(response)
            .map_err(|e| DomainError::Internal(format!("cannot store a response: {e}")))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .key("sk", AttributeValue::S(SK.to_owned()))
            .update_expression("SET #status = :completed, #response = :response")
            .condition_expression("fingerprint = :fingerprint")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.into()))
            .expression_attribute_values(":response", response)
            .expression_attribute_values(":fingerprint", AttributeValue::S(fingerprint.into()))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB UpdateItem", e))?;
        Ok(())
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), DomainError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .key("sk", AttributeValue::S(SK.to_owned()))
            .condition_expression("#status = :progress AND fingerprint = :fingerprint")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":fingerprint", AttributeValue::S(fingerprint.into()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(sdk_error("DynamoDB DeleteItem", err)),
        }
    }
}

/// The store contract every [`IdempotencyStore`] passes (run on the in-memory adapter here and
/// on DynamoDB by the end-to-end tests).
#[cfg(any(test, feature = "memory"))]
pub mod contract {
    use super::*;

    fn response(body: &str) -> StoredResponse {
        StoredResponse {
            status: 201,
            headers: vec![("location".to_owned(), "/api/things/1".to_owned())],
            body: Some(body.to_owned()),
        }
    }

    /// One claim of concurrent ones wins; repeats see it running, then its response; another
    /// fingerprint is a mismatch; a release, an expiry or a lapsed lease frees the key.
    pub async fn claims_are_exclusive_and_completed_once(store: &dyn IdempotencyStore) {
        let now = shop_domain::SystemClock.now();
        let key = format!("caller#POST /api/things#{}", ulid::Ulid::new());
        let claims = (0..12).map(|_| store.claim(&key, "f1", now));
        let results = futures::future::join_all(claims).await;
        let claimed = results
            .iter()
            .filter(|r| matches!(r, Ok(Claim::Claimed)))
            .count();
        assert_eq!(claimed, 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(Claim::Claimed | Claim::InProgress)))
        );
        assert_eq!(store.claim(&key, "f2", now).await.unwrap(), Claim::Mismatch);

        store.complete(&key, "f1", &response("{}")).await.unwrap();
        assert_eq!(
            store.claim(&key, "f1", now).await.unwrap(),
            Claim::Completed(response("{}"))
        );
        store.release(&key, "f1").await.unwrap();
        assert!(
            matches!(
                store.claim(&key, "f1", now).await.unwrap(),
                Claim::Completed(_)
            ),
            "a completed record is not released"
        );
        let tomorrow = now + RECORD_LIFETIME + TimeDelta::seconds(1);
        assert_eq!(
            store.claim(&key, "f2", tomorrow).await.unwrap(),
            Claim::Claimed
        );

        let other = format!("{key}-2");
        assert_eq!(
            store.claim(&other, "f1", now).await.unwrap(),
            Claim::Claimed
        );
        store.release(&other, "f1").await.unwrap();
        assert_eq!(
            store.claim(&other, "f1", now).await.unwrap(),
            Claim::Claimed
        );
        let later = now + IN_PROGRESS_LEASE + TimeDelta::seconds(1);
        assert_eq!(
            store.claim(&other, "f1", later).await.unwrap(),
            Claim::Claimed,
            "a claim whose function died is taken over"
        );
    }

    #[cfg(test)]
    #[tokio::test]
    async fn memory_claims_are_exclusive_and_completed_once() {
        claims_are_exclusive_and_completed_once(&crate::memory::MemoryIdempotency::default()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::memory::{FixedClock, MemoryIdempotency};

    fn request(key: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://shop.example/api/brands");
        if let Some(key) = key {
            builder = builder.header(HEADER, key);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    async fn call(
        store: &MemoryIdempotency,
        runs: &AtomicUsize,
        req: Request,
        status: StatusCode,
    ) -> Response<Body> {
        idempotent(store, &FixedClock::default(), req, |_| async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Response::builder()
                .status(status)
                .header("location", format!("/api/brands/{n}"))
                .body(Body::Text(format!("{{\"run\":{n}}}")))
                .unwrap())
        })
        .await
        .unwrap()
    }

    fn text(response: &Response<Body>) -> &str {
        std::str::from_utf8(response.body().as_ref()).unwrap()
    }

    #[tokio::test]
    async fn a_repeat_replays_the_first_response_and_another_body_is_422() {
        let (store, runs) = (MemoryIdempotency::default(), AtomicUsize::new(0));
        let first = call(
            &store,
            &runs,
            request(Some("k1"), "{}"),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(first.status(), 201);
        assert!(first.headers().get(REPLAYED).is_none());
        let again = call(
            &store,
            &runs,
            request(Some("k1"), "{}"),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(again.status(), 201);
        assert_eq!(text(&again), text(&first));
        assert_eq!(again.headers()["location"], "/api/brands/1");
        assert_eq!(again.headers()[REPLAYED], "true");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");

        let other = call(
            &store,
            &runs,
            request(Some("k1"), "{\"x\":1}"),
            StatusCode::CREATED,
        );
        assert_eq!(other.await.status(), 422);
        let without = call(&store, &runs, request(None, "{}"), StatusCode::CREATED).await;
        assert_eq!(text(&without), "{\"run\":2}", "no key: no idempotency");
        let bad = call(
            &store,
            &runs,
            request(Some(&"k".repeat(256)), "{}"),
            StatusCode::CREATED,
        );
        assert_eq!(bad.await.status(), 400);
    }

    #[tokio::test]
    async fn a_server_error_is_not_kept_and_a_running_request_is_409() {
        let (store, runs) = (MemoryIdempotency::default(), AtomicUsize::new(0));
        let failed = call(
            &store,
            &runs,
            request(Some("k2"), "{}"),
            StatusCode::BAD_GATEWAY,
        );
        assert_eq!(failed.await.status(), 502);
        let retried = call(
            &store,
            &runs,
            request(Some("k2"), "{}"),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(retried.status(), 201, "the retry ran");
        assert_eq!(runs.load(Ordering::SeqCst), 2);

        let busy = call(
            &store,
            &runs,
            request(Some("k5"), "{}"),
            StatusCode::CONFLICT,
        );
        assert_eq!(busy.await.status(), 409);
        let later = call(
            &store,
            &runs,
            request(Some("k5"), "{}"),
            StatusCode::CREATED,
        );
        assert_eq!(
            later.await.status(),
            201,
            "a 409 is not kept: the retry ran"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 4);

        let key = "anonymous#POST /api/brands#k3";
        let fingerprint = fingerprint("POST /api/brands", b"{}");
        let now = FixedClock::default().now();
        assert_eq!(
            store.claim(key, &fingerprint, now).await.unwrap(),
            Claim::Claimed
        );
        let running = call(
            &store,
            &runs,
            request(Some("k3"), "{}"),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(running.status(), 409);
        assert_eq!(running.headers()["retry-after"], "1");
    }

    #[tokio::test]
    async fn a_waiting_repeat_replays_the_answer_the_first_request_stores_meanwhile() {
        let (store, runs) = (MemoryIdempotency::default(), AtomicUsize::new(0));
        let clock = FixedClock::default();
        let first = idempotent(&store, &clock, request(Some("k4"), "{}"), |_| async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(350)).await;
            Ok(Response::builder()
                .status(StatusCode::ACCEPTED)
                .body(Body::Text("{\"orderId\":1}".to_owned()))
                .unwrap())
        });
        let wait = std::time::Duration::from_secs(3);
        let second = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            idempotent_waiting(&store, &clock, request(Some("k4"), "{}"), wait, |_| async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(Response::builder().status(500).body(Body::Empty).unwrap())
            })
            .await
        };
        let (first, second) = tokio::join!(first, second);
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first.status(), 202);
        assert_eq!(
            second.status(),
            202,
            "the repeat waited for the first answer"
        );
        assert_eq!(text(&second), text(&first));
        assert_eq!(second.headers()[REPLAYED], "true");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
