//! Handler tests for the mock gateway: the fixture events of `events/get-payment-page/` and
//! `events/create-payment-outcome/`, a fake shop and a fixed clock.

use std::sync::Arc;
use std::time::Duration;

use hmac_check::verify;
use lambda_http::{Body, Request, Response};
use mock_gateway::Deps;
use mock_gateway::memory::FakeShop;
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::memory::{FixedClock, MemorySecrets};

const SECRET: &str = "test-webhook-secret";
const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook";
const PAYMENT: &str = "01JBQ00000000000000000RD01";

/// The shop's side of the callback signature, written out here from the wire format
/// (`t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`), not with the gateway's own code.
mod hmac_check {
    use hmac::{Hmac, KeyInit, Mac};

    pub fn verify(secret: &str, header: &str, body: &str) -> bool {
        let (t, v1) = header
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .expect("t=…,v1=…");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        hex == v1
    }
}

fn deps(shop: Arc<FakeShop>) -> Deps {
    Deps {
        secrets: Arc::new(MemorySecrets::new([(SECRET_ARN, SECRET)])),
        secret_id: SECRET_ARN.to_owned(),
        shop: Some(shop),
        clock: Arc::new(FixedClock::new("2026-12-01T12:00:00Z".parse().unwrap())),
        backoff: Duration::from_millis(1),
    }
}

fn request(fixture: &str, change: impl FnOnce(&mut Value)) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    change(&mut event);
    // The query as the gateway sends it: `rawQueryString` follows the parameters.
    if let Some(query) = event["queryStringParameters"].as_object() {
        let raw = query
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("&");
        event["rawQueryString"] = json!(raw);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).unwrap()
}

fn content_type(response: &Response<Body>) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

#[tokio::test]
async fn the_payment_page_shows_the_amount_and_both_buttons() {
    let deps = deps(Arc::new(FakeShop::default()));
    let response = mock_gateway::pages::get_payment_page(
        &deps,
        request(fixture!("get-payment-page/ok"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(content_type(&response).starts_with("text/html"));
    let html = text(&response);
    assert!(html.contains("44.97 EUR"), "{html}");
    assert!(html.contains("value=\"success\">Pay</button>"));
    assert!(html.contains("value=\"decline\">Decline</button>"));
    assert!(html.contains(&format!(
        "action=\"/mock-gateway/payments/{PAYMENT}?amount=4497&amp;currency=EUR&amp;sig="
    )));
}

#[tokio::test]
async fn a_url_the_shop_did_not_sign_is_a_404_page() {
    let deps = deps(Arc::new(FakeShop::default()));
    for change in [
        json!({"amount": "1"}),
        json!({"currency": "USD"}),
        json!({"sig": "00"}),
    ] {
        let req = request(fixture!("get-payment-page/ok"), |event| {
            let query = event["queryStringParameters"].as_object_mut().unwrap();
            query.extend(change.as_object().unwrap().clone());
        });
        let response = mock_gateway::pages::get_payment_page(&deps, req)
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{change}");
        assert!(content_type(&response).starts_with("text/html"));
    }
    let missing = request(fixture!("get-payment-page/ok"), |event| {
        event["queryStringParameters"]
            .as_object_mut()
            .unwrap()
            .remove("sig");
    });
    let response = mock_gateway::pages::get_payment_page(&deps, missing)
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_json_outcome_is_signed_and_sent_to_the_shop() {
    let shop = Arc::new(FakeShop::default());
    let deps = deps(shop.clone());
    let response = mock_gateway::pages::create_payment_outcome(
        &deps,
        request(fixture!("create-payment-outcome/json"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_str(&text(&response)).unwrap();
    let received = shop.received();
    assert_eq!(received.len(), 1);
    let sent: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"eventId": answer["eventId"], "paymentId": PAYMENT, "outcome": "success", "amount": 4497, "currency": "EUR"})
    );
    assert!(verify(SECRET, &received[0].signature, &received[0].body));
    assert!(received[0].signature.starts_with("t=1796126400,"));
    assert_eq!(
        answer,
        json!({"paymentId": PAYMENT, "outcome": "success", "eventId": sent["eventId"], "callbackStatus": 200})
    );
    assert_eq!(sent["eventId"].as_str().unwrap().len(), 26);
}

#[tokio::test]
async fn a_form_outcome_answers_a_page_saying_what_happened() {
    let shop = Arc::new(FakeShop::default());
    let deps = deps(shop.clone());
    let response = mock_gateway::pages::create_payment_outcome(
        &deps,
        request(fixture!("create-payment-outcome/form"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(content_type(&response).starts_with("text/html"));
    let html = text(&response);
    assert!(html.contains("Declined 44.97 EUR."), "{html}");
    assert!(html.contains("href=\"/mock-gateway/payments/"));
    let sent: Value = serde_json::from_str(&shop.received()[0].body).unwrap();
    assert_eq!(sent["outcome"], "decline");
}

#[tokio::test]
async fn the_callback_is_tried_three_times_on_no_answer_or_a_5xx_with_one_event_id() {
    let shop = Arc::new(FakeShop::answering([None, Some(503), Some(200)]));
    let deps = deps(shop.clone());
    let response = mock_gateway::pages::create_payment_outcome(
        &deps,
        request(fixture!("create-payment-outcome/json"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let bodies: Vec<String> = shop.received().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "one event, sent again"
    );

    let failing = Arc::new(FakeShop::answering([Some(500), None, Some(502)]));
    let failing_deps = Deps {
        shop: Some(failing.clone()),
        ..deps
    };
    let response = mock_gateway::pages::create_payment_outcome(
        &failing_deps,
        request(fixture!("create-payment-outcome/json"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 502);
    let answer: Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(answer["callbackStatus"], 502);
    assert_eq!(failing.received().len(), 3);
}

#[tokio::test]
async fn a_4xx_from_the_shop_is_not_retried_and_is_a_502() {
    let shop = Arc::new(FakeShop::answering([Some(409)]));
    let deps = deps(shop.clone());
    let response = mock_gateway::pages::create_payment_outcome(
        &deps,
        request(fixture!("create-payment-outcome/json"), |_| {}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(shop.received().len(), 1);
}

#[tokio::test]
async fn an_outcome_that_is_neither_json_nor_a_form_is_a_400_and_an_unsigned_url_a_404() {
    let shop = Arc::new(FakeShop::default());
    let deps = deps(shop.clone());
    for (body, content_type) in [
        (r#"{"outcome":"maybe"}"#, "application/json"),
        (r#"{"outcome":"success","amount":1}"#, "application/json"),
        ("not json", "application/json"),
        ("outcome=maybe", "application/x-www-form-urlencoded"),
        ("", "application/x-www-form-urlencoded"),
        ("outcome=success", "text/plain"),
    ] {
        let req = request(fixture!("create-payment-outcome/json"), |event| {
            event["body"] = json!(body);
            event["headers"]["content-type"] = json!(content_type);
        });
        let response = mock_gateway::pages::create_payment_outcome(&deps, req)
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body} as {content_type}");
    }
    let unsigned = request(fixture!("create-payment-outcome/json"), |event| {
        event["queryStringParameters"]["amount"] = json!("1");
    });
    let response = mock_gateway::pages::create_payment_outcome(&deps, unsigned)
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(shop.received().is_empty(), "nothing reached the shop");
}
