//! Handler tests for the platform functions: the fixture events of `events/<function>/` and
//! in-memory probes, key store, bucket and responder.
//!
//! - this file: `get-health`;
//! - [`signing_keys`] for `manage-signing-keys`.

mod signing_keys;

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{Body, Request, Response};
use shop_adapters::fixture;
use shop_domain::{DomainError, HealthProbe};

use serde_json::{Value, json};
use shop_adapters::memory::MemoryProbe;

use platform::*;

const OK_EVENT: &str = fixture!("get-health/ok");

fn request() -> Request {
    lambda_http::request::from_str(OK_EVENT).expect("fixture is an API Gateway v2 event")
}

fn deps(probes: Vec<MemoryProbe>) -> Deps {
    Deps::new(
        probes
            .into_iter()
            .map(|p| Arc::new(p) as Arc<dyn HealthProbe>)
            .collect(),
    )
}

fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

#[test]
fn fixture_is_the_health_route() {
    let req = request();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().path(), "/api/health");
}

#[tokio::test]
async fn healthy_dependencies_answer_200_ok() {
    let deps = deps(vec![
        MemoryProbe::healthy("table"),
        MemoryProbe::healthy("bus"),
    ]);
    let response = get_health(&deps, request()).await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        body(&response),
        json!({
            "service": "platform",
            "version": "0.1.0",
            "status": "ok",
            "dependencies": [
                {"name": "table", "status": "ok"},
                {"name": "bus", "status": "ok"}
            ]
        })
    );
}

#[tokio::test]
async fn failing_dependency_answers_503_degraded_without_internals() {
    let deps = deps(vec![
        MemoryProbe::healthy("table"),
        MemoryProbe::failing(
            "bus",
            DomainError::Unavailable(
                "DescribeEventBus failed: arn:aws:events:eu-west-1:123456789012:event-bus/shop"
                    .into(),
            ),
        ),
    ]);
    let response = get_health(&deps, request()).await.unwrap();

    assert_eq!(response.status(), 503);
    let body = body(&response);
    assert_eq!(body["status"], "degraded");
    assert_eq!(
        body["dependencies"][0],
        json!({"name": "table", "status": "ok"})
    );
    assert_eq!(
        body["dependencies"][1],
        json!({"name": "bus", "status": "error", "message": "unreachable or throttled"})
    );
    assert!(!body.to_string().contains("123456789012"));
}

#[tokio::test]
async fn slow_dependency_times_out_while_others_run_concurrently() {
    let mut deps = deps(vec![
        MemoryProbe::healthy("table").with_delay(Duration::from_millis(5_000)),
        MemoryProbe::healthy("bus").with_delay(Duration::from_millis(50)),
    ]);
    deps.probe_timeout = Duration::from_millis(200);
    let started = std::time::Instant::now();
    let response = get_health(&deps, request()).await.unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "probes ran in sequence or waited"
    );
    assert_eq!(response.status(), 503);
    let body = body(&response);
    assert_eq!(body["dependencies"][0]["status"], "error");
    assert_eq!(
        body["dependencies"][0]["message"],
        "no answer within 200 ms"
    );
    assert_eq!(body["dependencies"][1]["status"], "ok");
}

#[tokio::test]
async fn no_dependencies_is_healthy() {
    let response = get_health(&deps(vec![]), request()).await.unwrap();
    assert_eq!(response.status(), 200);
}
