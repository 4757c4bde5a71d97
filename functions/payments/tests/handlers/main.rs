//! Handler tests for the payments service: the internal functions and the signed callback on
//! the fixture events of `events/<function>/`, the in-memory store, a fake Step Functions
//! and a clock the tests move.

mod store;

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use payments::domain::PaymentStatus;
use payments::domain::signature::{callback_header, page_signature};
use payments::memory::{MemoryPayments, MemoryTasks, Sent};
use payments::{Deps, WebhookSecret};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::lambda::TaskError;
use shop_adapters::memory::{FixedClock, MemorySecrets};
use shop_domain::testing::assert_matches_its_schema;
use shop_domain::{Clock, DomainError, PaymentId};

/// The order (and payment) of the fixtures.
const ORDER: &str = "01JBQ00000000000000000RD01";
/// The webhook secret the fixtures are signed with.
const SECRET: &str = "test-webhook-secret";
const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook";

struct World {
    deps: Deps,
    store: Arc<MemoryPayments>,
    tasks: Arc<MemoryTasks>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let store = Arc::new(MemoryPayments::new());
    let tasks = Arc::new(MemoryTasks::new());
    let clock = Arc::new(FixedClock::new("2026-12-01T12:00:00Z".parse().unwrap()));
    World {
        deps: Deps {
            store: store.clone(),
            tasks: tasks.clone(),
            clock: clock.clone(),
            webhook: Some(WebhookSecret {
                source: Arc::new(MemorySecrets::new([(SECRET_ARN, SECRET)])),
                id: SECRET_ARN.to_owned(),
            }),
            public_api_url: Some("http://localhost:3000".to_owned()),
        },
        store,
        tasks,
        clock,
    }
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn fixture_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The `errorType` a failed internal function reports.
fn error_type<T: std::fmt::Debug>(result: Result<T, TaskError>) -> String {
    let err = result.expect_err("a named failure");
    Diagnostic::from(err).error_type
}

async fn create(world: &World) -> Value {
    payments::internal::create_payment(
        &world.deps,
        event(fixture_json(fixture!("create-payment/ok"))),
    )
    .await
    .unwrap()
}

async fn wait(world: &World, token: &str) {
    let answer = payments::internal::await_payment(
        &world.deps,
        event(json!({"paymentId": ORDER, "taskToken": token})),
    )
    .await
    .unwrap();
    assert_eq!(answer, json!({}));
}

async fn void(world: &World, error: &str) -> Value {
    payments::internal::void_payment(
        &world.deps,
        event(json!({"orderId": ORDER, "error": {"Error": error, "Cause": "..."}})),
    )
    .await
    .unwrap()
}

/// The callback body of the fixture with `changes` merged in.
fn body(changes: Value) -> Value {
    let fixture = fixture_json(fixture!("create-payment-callback/ok"));
    let mut body: Value = serde_json::from_str(fixture["body"].as_str().unwrap()).unwrap();
    body.as_object_mut()
        .unwrap()
        .extend(changes.as_object().unwrap().clone());
    body
}

/// The fixture request carrying `raw` signed at unix time `t` (or the given header).
fn signed(raw: &str, signature: Option<String>) -> Request {
    let mut fixture = fixture_json(fixture!("create-payment-callback/ok"));
    fixture["body"] = json!(raw);
    match signature {
        Some(value) => fixture["headers"]["x-signature"] = json!(value),
        None => {
            fixture["headers"]
                .as_object_mut()
                .unwrap()
                .remove("x-signature");
        }
    }
    lambda_http::request::from_str(&fixture.to_string()).unwrap()
}

fn now_secs(world: &World) -> i64 {
    world.clock.now().timestamp()
}

/// `body` signed now with the webhook secret.
fn callback_of(world: &World, body: &Value) -> Request {
    let raw = body.to_string();
    signed(
        &raw,
        Some(callback_header(SECRET, now_secs(world), raw.as_bytes())),
    )
}

async fn post(world: &World, req: Request) -> (u16, Value) {
    answer(payments::callback::create_payment_callback(&world.deps, req).await)
}

fn answer(response: Result<Response<Body>, Error>) -> (u16, Value) {
    let response = response.expect("no 5xx");
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
    )
}

async fn status(world: &World) -> PaymentStatus {
    world
        .deps
        .store
        .payment(ORDER.parse::<PaymentId>().unwrap())
        .await
        .unwrap()
        .unwrap()
        .status
}

fn detail_types(world: &World) -> Vec<String> {
    world
        .store
        .events()
        .into_iter()
        .map(|e| e.detail_type)
        .collect()
}

#[tokio::test]
async fn create_payment_answers_a_pending_payment_with_a_signed_page_url() {
    let world = world();
    let created = create(&world).await;
    let sig = page_signature(SECRET, ORDER, 4497, "EUR");
    assert_eq!(
        created,
        json!({
            "paymentId": ORDER, "orderId": ORDER, "status": "PENDING",
            "paymentUrl": format!("http://localhost:3000/mock-gateway/payments/{ORDER}?amount=4497&currency=EUR&sig={sig}"),
            "amount": 4497, "currency": "EUR",
        })
    );
    assert!(
        world.store.events().is_empty(),
        "creating announces nothing"
    );
}

#[tokio::test]
async fn create_payment_repeated_answers_the_stored_one_and_another_amount_is_a_mismatch() {
    let world = world();
    let first = create(&world).await;
    world.clock.advance(Duration::from_secs(5));
    assert_eq!(create(&world).await, first);
    for other in [
        json!({"amount": 4498, "currency": "EUR"}),
        json!({"amount": 4497, "currency": "USD"}),
    ] {
        let mut input = other;
        input["orderId"] = json!(ORDER);
        let result = payments::internal::create_payment(&world.deps, event(input)).await;
        assert_eq!(error_type(result), "PaymentMismatch");
    }
    for bad in [
        json!({"orderId": ORDER, "amount": 0, "currency": "EUR"}),
        json!({"orderId": ORDER, "amount": 1.5, "currency": "EUR"}),
        json!({"orderId": "nope", "amount": 1, "currency": "EUR"}),
        json!({"orderId": ORDER, "amount": 1, "currency": "EUR", "extra": 1}),
    ] {
        let result = payments::internal::create_payment(&world.deps, event(bad.clone())).await;
        assert_eq!(error_type(result), "NonRetryable", "{bad}");
    }
}

#[tokio::test]
async fn a_waiting_checkout_is_resolved_by_the_gateways_signed_callback() {
    let world = world();
    create(&world).await;
    let token = fixture_json(fixture!("await-payment/ok"))["taskToken"]
        .as_str()
        .unwrap()
        .to_owned();
    payments::internal::await_payment(
        &world.deps,
        event(fixture_json(fixture!("await-payment/ok"))),
    )
    .await
    .unwrap();
    assert!(
        world.tasks.sent().is_empty(),
        "nothing to send before the gateway answers"
    );

    let req = lambda_http::request::from_str(fixture!("create-payment-callback/ok")).unwrap();
    let (code, answer) = post(&world, req).await;
    assert_eq!(
        (code, answer),
        (200, json!({"paymentId": ORDER, "status": "SUCCEEDED"}))
    );
    assert_eq!(
        world.tasks.sent(),
        vec![Sent::Success {
            token,
            output: json!({"paymentId": ORDER, "status": "SUCCEEDED", "eventId": "01JBQ00000000000000000EV01"}),
        }]
    );
    let events = world.store.events();
    assert_eq!(detail_types(&world), ["PaymentSucceeded"]);
    assert_matches_its_schema(&events[0]);
    assert_eq!(events[0].detail["correlationId"], ORDER);
    assert_eq!(events[0].detail["aggregateVersion"], 2);
}

#[tokio::test]
async fn a_callback_before_the_wait_is_resolved_by_await_payment_itself() {
    let world = world();
    create(&world).await;
    let (code, _) = post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(code, 200);
    assert!(
        world.tasks.sent().is_empty(),
        "no token yet: the callback sends nothing"
    );
    wait(&world, "token-1").await;
    assert_eq!(
        world.tasks.sent(),
        vec![Sent::Success {
            token: "token-1".into(),
            output: json!({"paymentId": ORDER, "status": "SUCCEEDED", "eventId": "01JBQ00000000000000000EV01"}),
        }]
    );
}

#[tokio::test]
async fn a_retried_await_after_the_callback_sends_nothing_more() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(world.tasks.sent().len(), 1, "the callback sent it");
    // Step Functions retries the invoke (a lost response): the same token is stored already.
    wait(&world, "token-1").await;
    assert_eq!(world.tasks.sent().len(), 1);
}

#[tokio::test]
async fn a_decline_fails_the_task_with_payment_declined() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    let (code, answer) = post(
        &world,
        callback_of(&world, &body(json!({"outcome": "decline"}))),
    )
    .await;
    assert_eq!((code, answer["status"].as_str()), (200, Some("FAILED")));
    match &world.tasks.sent()[..] {
        [Sent::Failure { token, error, .. }] => {
            assert_eq!(
                (token.as_str(), error.as_str()),
                ("token-1", "PaymentDeclined")
            );
        }
        other => panic!("{other:?}"),
    }
    let events = world.store.events();
    assert_eq!(detail_types(&world), ["PaymentFailed"]);
    assert_eq!(events[0].detail["data"]["reason"], "declined");
    assert_matches_its_schema(&events[0]);
    // The compensation that follows leaves a declined payment as it is.
    assert_eq!(
        void(&world, "PaymentDeclined").await,
        json!({"paymentId": ORDER, "status": "FAILED"})
    );
    assert_eq!(world.store.events().len(), 1);
}

#[tokio::test]
async fn forged_stale_and_malformed_callbacks_are_refused_and_change_nothing() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    let raw = body(json!({})).to_string();
    let t = now_secs(&world);
    let good = callback_header(SECRET, t, raw.as_bytes());
    for (signature, why) in [
        (None, "no signature"),
        (
            Some(callback_header("another-secret", t, raw.as_bytes())),
            "another key",
        ),
        (Some(callback_header(SECRET, t, b"{}")), "another body"),
        (Some(good.replace("v1=", "v1=00")), "malformed"),
        (Some(format!("t={t}")), "no v1"),
        (
            Some(callback_header(SECRET, t - 301, raw.as_bytes())),
            "stale",
        ),
        (
            Some(callback_header(SECRET, t + 301, raw.as_bytes())),
            "from the future",
        ),
    ] {
        let (code, answer) = post(&world, signed(&raw, signature)).await;
        assert_eq!(code, 401, "{why}: {answer}");
        assert_eq!(answer["error"], "Unauthorized");
    }
    // Signed, but not a callback.
    for bad in [
        "not json".to_owned(),
        body(json!({"outcome": "maybe"})).to_string(),
        body(json!({"amount": "4497"})).to_string(),
        body(json!({"paymentId": "nope"})).to_string(),
    ] {
        let req = signed(&bad, Some(callback_header(SECRET, t, bad.as_bytes())));
        assert_eq!(post(&world, req).await.0, 400, "{bad}");
    }
    // Signed, well formed, but not this payment's.
    let other = PaymentId::new().to_string();
    assert_eq!(
        post(
            &world,
            callback_of(&world, &body(json!({"paymentId": other})))
        )
        .await
        .0,
        404
    );
    for wrong in [json!({"amount": 4496}), json!({"currency": "USD"})] {
        let (code, answer) = post(&world, callback_of(&world, &body(wrong.clone()))).await;
        assert_eq!(code, 422, "{wrong}: {answer}");
    }
    assert_eq!(status(&world).await, PaymentStatus::Pending);
    assert!(world.store.events().is_empty());
    assert!(world.tasks.sent().is_empty());
    // Within the five minutes either way: accepted.
    world.clock.advance(Duration::from_secs(300));
    assert_eq!(post(&world, signed(&raw, Some(good))).await.0, 200);
}

#[tokio::test]
async fn a_replayed_or_second_event_changes_nothing() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    let paid = callback_of(&world, &body(json!({})));
    assert_eq!(post(&world, paid).await.0, 200);
    let (code, answer) = post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(code, 409, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("processed"));
    let declined = body(json!({"eventId": "evt-2", "outcome": "decline"}));
    let (code, answer) = post(&world, callback_of(&world, &declined)).await;
    assert_eq!((code, answer["status"].as_str()), (409, Some("SUCCEEDED")));
    assert_eq!(status(&world).await, PaymentStatus::Succeeded);
    assert_eq!(detail_types(&world), ["PaymentSucceeded"]);
    assert_eq!(
        world.tasks.sent().len(),
        1,
        "neither sent the task anything more"
    );
}

#[tokio::test]
async fn a_failed_send_is_a_5xx_and_the_gateways_retry_delivers_it() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    world
        .tasks
        .fail_with(Some(DomainError::Unavailable("throttled".into())));
    let result = payments::callback::create_payment_callback(
        &world.deps,
        callback_of(&world, &body(json!({}))),
    )
    .await;
    assert!(result.is_err(), "a 5xx, so the gateway retries");
    assert_eq!(
        status(&world).await,
        PaymentStatus::Succeeded,
        "the settlement itself is stored"
    );
    world.tasks.fail_with(None);
    let (code, _) = post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(code, 409);
    assert_eq!(world.tasks.sent().len(), 1, "the retry sent the outcome");
    assert_eq!(world.store.events().len(), 1);
    post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(
        world.tasks.sent().len(),
        1,
        "once answered, a replay sends nothing"
    );
}

#[tokio::test]
async fn a_capture_after_the_timeout_is_refunded_by_the_compensation() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    world.tasks.close("token-1");
    let (code, answer) = post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!(
        (code, answer["status"].as_str()),
        (200, Some("SUCCEEDED")),
        "a task gone is no error"
    );
    let voided = void(&world, "States.Timeout").await;
    assert_eq!(voided, json!({"paymentId": ORDER, "status": "REFUNDED"}));
    assert_eq!(
        void(&world, "States.Timeout").await,
        voided,
        "a repeat changes nothing"
    );
    let events = world.store.events();
    assert_eq!(
        detail_types(&world),
        ["PaymentSucceeded", "PaymentRefunded"]
    );
    assert_eq!(events[1].detail["data"]["reason"], "payment timed out");
    assert_eq!(events[1].detail["aggregateVersion"], 3);
    assert_matches_its_schema(&events[1]);
}

#[tokio::test]
async fn void_payment_voids_an_unpaid_payment_once_and_a_late_callback_is_refused() {
    let world = world();
    create(&world).await;
    wait(&world, "token-1").await;
    let input = fixture_json(fixture!("void-payment/timeout"));
    let first = payments::internal::void_payment(&world.deps, event(input.clone()))
        .await
        .unwrap();
    assert_eq!(first, json!({"paymentId": ORDER, "status": "VOIDED"}));
    let again = payments::internal::void_payment(&world.deps, event(input))
        .await
        .unwrap();
    assert_eq!(again, first);
    let events = world.store.events();
    assert_eq!(detail_types(&world), ["PaymentFailed"]);
    assert_eq!(events[0].detail["data"]["status"], "VOIDED");
    assert_eq!(events[0].detail["data"]["reason"], "payment timed out");
    assert_matches_its_schema(&events[0]);
    let (code, answer) = post(&world, callback_of(&world, &body(json!({})))).await;
    assert_eq!((code, answer["status"].as_str()), (409, Some("VOIDED")));
    assert!(world.tasks.sent().is_empty());
    assert_eq!(world.store.events().len(), 1);
}

#[tokio::test]
async fn void_payment_of_an_order_without_a_payment_answers_nulls() {
    let world = world();
    let answer = payments::internal::void_payment(&world.deps, event(json!({"orderId": ORDER})))
        .await
        .unwrap();
    assert_eq!(answer, json!({"paymentId": null, "status": null}));
    let reason = void(&world, "InsufficientStock").await;
    assert_eq!(reason, json!({"paymentId": null, "status": null}));
}

#[tokio::test]
async fn await_payment_of_an_unknown_payment_is_payment_not_found() {
    let world = world();
    let result = payments::internal::await_payment(
        &world.deps,
        event(json!({"paymentId": ORDER, "taskToken": "t"})),
    )
    .await;
    assert_eq!(error_type(result), "PaymentNotFound");
    let empty = payments::internal::await_payment(
        &world.deps,
        event(json!({"paymentId": ORDER, "taskToken": ""})),
    )
    .await;
    assert_eq!(error_type(empty), "NonRetryable");
}
