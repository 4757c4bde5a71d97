//! The platform service: functions that belong to no business domain.
//!
//! - `get-health` (`GET /api/health`, public) reports whether this deployment's dependencies
//!   answer. [`get_health`] runs every [`HealthProbe`] in [`Deps`] concurrently, each bounded by
//!   a timeout, and answers 200 when all are healthy or 503 with the failing ones marked.  Its
//!   [`Deps::from_env`] ([`setup`]) wires the AWS probes (DynamoDB `DescribeTable`,
//!   EventBridge `DescribeEventBus`) from `shop-adapters`.
//! - `manage-signing-keys` ([`signing_keys`]) creates and rotates the RS256 keys that sign
//!   access tokens and publishes the OIDC discovery document and JWKS the gateway's JWT
//!   authorizer reads; it runs as a custom resource on deploy and daily on a schedule.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CACHE_CONTROL, HeaderValue};
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use shop_adapters::http::json_response;
use shop_domain::{DomainError, HealthProbe};

pub mod setup;
pub mod signing_keys;

/// How long one probe may take before it counts as failed.
///
/// Well under the function's timeout, so a hung dependency yields a 503 naming it instead of
/// a gateway timeout that names nothing.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the health handler needs.
pub struct Deps {
    /// The dependencies to check, reported in this order.
    pub probes: Vec<Arc<dyn HealthProbe>>,
    /// The service name shown in the report.
    pub service: &'static str,
    /// The deployed version shown in the report.
    pub version: &'static str,
    /// The per-probe time limit; [`PROBE_TIMEOUT`] unless a test shortens it.
    pub probe_timeout: Duration,
}

impl Deps {
    /// Deps for the `platform` service at this crate's version with the default timeout.
    pub fn new(probes: Vec<Arc<dyn HealthProbe>>) -> Self {
        Self {
            probes,
            service: "platform",
            version: env!("CARGO_PKG_VERSION"),
            probe_timeout: PROBE_TIMEOUT,
        }
    }
}

/// The body of the health response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The service that answered.
    pub service: String,
    /// Its version.
    pub version: String,
    /// `ok` when every dependency is healthy, `degraded` otherwise.
    pub status: String,
    /// One entry per probe.
    pub dependencies: Vec<DependencyReport>,
}

/// The state of one dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyReport {
    /// The probe's name (`table`, `bus`).
    pub name: String,
    /// `ok` or `error`.
    pub status: String,
    /// A short, public reason when `status` is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /api/health`: 200 with `status: "ok"` when all dependencies answer, 503 with
/// `status: "degraded"` otherwise.
///
/// The request is not inspected: the route is public and takes no input.
pub async fn get_health(deps: &Deps, _req: Request) -> Result<Response<Body>, Error> {
    let checks = deps
        .probes
        .iter()
        .map(|probe| check(probe.as_ref(), deps.probe_timeout));
    let dependencies = futures::future::join_all(checks).await;
    let healthy = dependencies.iter().all(|d| d.status == "ok");
    let report = HealthReport {
        service: deps.service.to_owned(),
        version: deps.version.to_owned(),
        status: if healthy { "ok" } else { "degraded" }.to_owned(),
        dependencies,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = json_response(status, &report);
    // A cached "ok" would hide an outage from the monitor polling this route.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn check(probe: &dyn HealthProbe, timeout: Duration) -> DependencyReport {
    let name = probe.name().to_owned();
    let outcome = tokio::time::timeout(timeout, probe.check()).await;
    let message = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => {
            tracing::warn!(dependency = %name, error = %err, "health probe failed");
            Some(public_reason(&err).to_owned())
        }
        Err(_) => {
            tracing::warn!(dependency = %name, timeout_ms = timeout.as_millis() as u64, "health probe timed out");
            Some(format!("no answer within {} ms", timeout.as_millis()))
        }
    };
    DependencyReport {
        name,
        status: if message.is_none() { "ok" } else { "error" }.to_owned(),
        message,
    }
}

/// A fixed phrase per kind of failure: the route is public, so SDK messages (ARNs, account
/// ids, table names) stay in the logs.
fn public_reason(err: &DomainError) -> &'static str {
    match err {
        DomainError::NotFound { .. } => "not found",
        DomainError::Unavailable(_) | DomainError::TooManyRequests { .. } => {
            "unreachable or throttled"
        }
        DomainError::Forbidden(_) | DomainError::Unauthorized(_) => "access denied",
        _ => "check failed",
    }
}
