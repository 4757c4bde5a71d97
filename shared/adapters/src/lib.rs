//! Adapters: the AWS and in-memory implementations of the domain's ports, plus the small
//! helpers every function binary and handler uses.
//!
//! A tour:
//! - [`api`]: what every HTTP handler shares: the [`Caller`](api::Caller) from the JWT
//!   claims, [`respond`](api::respond), event envelopes, paging parameters and list bodies.
//! - [`config`]: the one place environment variables are read, with errors that say how to
//!   fix them.
//! - [`aws`]: the shared SDK config (honours `AWS_ENDPOINT_URL` for the local cloud) and the
//!   mapping of SDK errors onto [`DomainError`](shop_domain::DomainError).
//! - [`dynamo`]: serde_dynamo item mapping, the conditional "put if absent" used for event-id
//!   dedupe, and a table health probe.
//! - [`eventbridge`]: [`EventBridgePublisher`](eventbridge::EventBridgePublisher), which resends
//!   only the entries PutEvents rejected, and a bus health probe.
//! - [`outbox`]: the transactional outbox: [`outbox_put`](outbox::outbox_put) for the write's
//!   `TransactWriteItems`, and [`relay`](outbox::relay), the stream → bus relay function.
//! - [`secrets`]: [`CachedSecrets`](secrets::CachedSecrets), a TTL cache over Secrets Manager.
//! - [`http`]: API Gateway request/response helpers: [`ApiError`](http::ApiError), JSON body
//!   parsing with 413/415/400 answers, path and query extractors.
//! - [`sqs`]: [`process_batch`](sqs::process_batch) for SQS consumers with partial batch
//!   failures.
//! - [`lambda`]: mapping handler errors onto `Retryable`/`NonRetryable` Lambda diagnostics,
//!   and [`TaskError`](lambda::TaskError) for the named failures of internal functions.
//! - [`invoke`]: calling another service's internal function (JSON in, JSON or a named
//!   failure out).
//! - [`tokens`]: RS256 access tokens: the rotating [`KeySet`](tokens::KeySet) stored in
//!   Secrets Manager, its public JWKS and OIDC discovery document, and
//!   [`sign`](tokens::sign)/[`verify`](tokens::verify).
//! - [`telemetry`]: [`init_tracing`], JSON logs in Lambda and pretty logs locally.
//! - [`memory`]: in-memory adapters for unit tests.
//!
//! SDK types stop here: everything public returns domain types or `DomainError`.

pub mod api;
pub mod aws;
pub mod config;
pub mod dynamo;
pub mod eventbridge;
pub mod http;
pub mod idempotency;
pub mod invoke;
pub mod lambda;
/// In-memory adapters, for tests only (feature `memory`; never in a function binary).
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod outbox;
pub mod secrets;
pub mod sqs;
pub mod telemetry;
pub mod tokens;

pub use telemetry::init_tracing;

/// The fixture event `events/<function>/<case>.json` of the calling service's tests, as text:
/// `fixture!("get-product/ok")`. One loader for every service (compiled with the `memory`
/// test kit only); the path is taken from the crate that expands it (`functions/<service>`).
#[cfg(feature = "memory")]
#[macro_export]
macro_rules! fixture {
    ($case:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/",
            $case,
            ".json"
        ))
    };
}
