//! `manage-signing-keys`: the custom resource's create/delete and the daily schedule, with the
//! in-memory key store, bucket and CloudFormation responder.

use std::sync::Arc;

use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::tokens::{DISCOVERY_PATH, JWKS_PATH, KeySet, discovery_document};
use shop_domain::{Clock, DomainError};

use chrono::{DateTime, TimeDelta, Utc};
use lambda_runtime::{Context, LambdaEvent};
use shop_adapters::memory::FixedClock;
use shop_adapters::tokens::{AccessClaims, sign, verify};

use platform::signing_keys::memory::{MemoryKeyStore, MemoryObjects, MemoryResponder};
use platform::signing_keys::*;

const CREATE: &str = fixture!("manage-signing-keys/create");
const SCHEDULED: &str = fixture!("manage-signing-keys/scheduled");
const DELETE: &str = fixture!("manage-signing-keys/delete");
const ISSUER: &str = "https://s3.eu-west-1.amazonaws.com/shop-dev-jwks-123456789012-eu-west-1";

struct Fixture {
    keys: Arc<MemoryKeyStore>,
    objects: Arc<MemoryObjects>,
    responder: Arc<MemoryResponder>,
    clock: Arc<FixedClock>,
    deps: Deps,
}

fn fixture(secret: &str) -> Fixture {
    let keys = Arc::new(MemoryKeyStore::new(secret));
    let objects = Arc::new(MemoryObjects::new());
    let responder = Arc::new(MemoryResponder::new());
    let clock = Arc::new(FixedClock::default());
    let mut deps = Deps::new(
        keys.clone(),
        objects.clone(),
        responder.clone(),
        ISSUER.to_owned(),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-dev-signing-keys-AbCdEf"
            .to_owned(),
    );
    deps.clock = clock.clone();
    Fixture {
        keys,
        objects,
        responder,
        clock,
        deps,
    }
}

fn event(json: &str) -> LambdaEvent<Value> {
    LambdaEvent::new(serde_json::from_str(json).unwrap(), Context::default())
}

fn stored(f: &Fixture) -> KeySet {
    KeySet::from_secret_string(&f.keys.value())
        .unwrap()
        .expect("a key set is stored")
}

fn generated_at(at: DateTime<Utc>) -> String {
    KeySet::generate(&FixedClock::new(at))
        .unwrap()
        .to_secret_string()
}

#[test]
fn fixtures_are_the_events_this_function_receives() {
    let create: CustomResourceRequest = serde_json::from_str(CREATE).unwrap();
    assert_eq!(create.request_type, RequestType::Create);
    assert!(create.response_url.starts_with("https://"));
    let delete: CustomResourceRequest = serde_json::from_str(DELETE).unwrap();
    assert_eq!(delete.request_type, RequestType::Delete);
    assert!(delete.physical_resource_id.is_some());
    let scheduled: Value = serde_json::from_str(SCHEDULED).unwrap();
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
}

#[tokio::test]
async fn create_generates_keys_publishes_them_and_answers_success() {
    let f = fixture("{}");
    manage_signing_keys(&f.deps, event(CREATE)).await.unwrap();

    let keys = stored(&f);
    assert_eq!(f.objects.get(JWKS_PATH), Some(keys.jwks()));
    assert_eq!(f.keys.public(), Some(keys.jwks()));
    let public = f.keys.public().unwrap().to_string();
    assert!(!public.contains("PRIVATE KEY"), "{public}");
    assert_eq!(
        f.objects.get(DISCOVERY_PATH),
        Some(discovery_document(ISSUER))
    );

    let sent = f.responder.sent();
    assert_eq!(sent.len(), 1);
    let (url, response) = &sent[0];
    assert!(url.starts_with("https://cloudformation-custom-resource-response-euwest1"));
    assert_eq!(response.status, ResponseStatus::Success);
    assert_eq!(response.physical_resource_id, f.deps.resource_id);
    assert_eq!(response.logical_resource_id, "SigningKeys");
    assert_eq!(
        response.data,
        Some(json!({
            "Issuer": ISSUER,
            "JwksUri": format!("{ISSUER}/.well-known/jwks.json"),
            "CurrentKid": keys.current.kid,
        }))
    );

    // The published JWKS verifies what the stored current key signs.
    let claims = AccessClaims::new(
        "u1",
        vec!["User".into()],
        ISSUER,
        "shop-api",
        f.clock.now(),
        TimeDelta::minutes(5),
    );
    let token = sign(&claims, keys.signing_key()).unwrap();
    let jwks = f.objects.get(JWKS_PATH).unwrap();
    assert!(verify(&token, &jwks, ISSUER, "shop-api", f.clock.now()).is_ok());
}

#[tokio::test]
async fn create_keeps_an_existing_key_set_and_republishes_it() {
    let existing = generated_at(FixedClock::default().now());
    let f = fixture(&existing);
    manage_signing_keys(&f.deps, event(CREATE)).await.unwrap();

    assert_eq!(f.keys.value(), existing, "keys were not replaced");
    assert_eq!(f.keys.saves(), 0);
    assert_eq!(f.objects.get(JWKS_PATH), Some(stored(&f).jwks()));
    assert_eq!(f.responder.sent()[0].1.status, ResponseStatus::Success);
}

#[tokio::test]
async fn delete_answers_success_and_leaves_keys_and_documents_alone() {
    let existing = generated_at(FixedClock::default().now());
    let f = fixture(&existing);
    manage_signing_keys(&f.deps, event(DELETE)).await.unwrap();

    let (_, response) = &f.responder.sent()[0];
    assert_eq!(response.status, ResponseStatus::Success);
    let request: CustomResourceRequest = serde_json::from_str(DELETE).unwrap();
    assert_eq!(
        Some(&response.physical_resource_id),
        request.physical_resource_id.as_ref(),
        "the id CloudFormation knows is echoed"
    );
    assert_eq!(f.keys.value(), existing);
    assert!(f.objects.is_empty());
}

#[tokio::test]
async fn a_failure_answers_failed_with_a_reason_instead_of_leaving_cloudformation_waiting() {
    let f = fixture("{}");
    f.objects.fail_with(Some(DomainError::Internal(
        "S3 PutObject failed: AccessDenied".into(),
    )));
    let mut event = event(CREATE);
    event.context.env_config = Arc::new(lambda_runtime::Config {
        log_stream: "2026/01/01/[$LATEST]abc".into(),
        ..Default::default()
    });

    let answer = manage_signing_keys(&f.deps, event).await;
    assert!(answer.is_ok(), "FAILED was delivered, so no Lambda retry");

    let (_, response) = &f.responder.sent()[0];
    assert_eq!(response.status, ResponseStatus::Failed);
    let reason = response.reason.as_deref().unwrap();
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert!(reason.contains("[$LATEST]abc"), "{reason}");
    assert_eq!(response.data, None);
    assert_eq!(f.keys.saves(), 0, "nothing saved that was not published");
}

#[tokio::test]
async fn an_unreadable_secret_fails_the_deploy_rather_than_being_overwritten() {
    let f = fixture(r#"{"current": 1}"#);
    manage_signing_keys(&f.deps, event(CREATE)).await.unwrap();
    assert_eq!(f.responder.sent()[0].1.status, ResponseStatus::Failed);
    assert_eq!(f.keys.value(), r#"{"current": 1}"#);
}

#[tokio::test]
async fn an_undelivered_answer_is_a_retryable_error() {
    let f = fixture("{}");
    f.responder
        .fail_with(Some(DomainError::Unavailable("connection reset".into())));
    let err = manage_signing_keys(&f.deps, event(CREATE))
        .await
        .unwrap_err();
    assert!(err.0.is_retryable(), "{err}");
}

#[tokio::test]
async fn schedule_republishes_but_does_not_rotate_before_it_is_due() {
    let existing = generated_at(FixedClock::default().now());
    let f = fixture(&existing);
    f.clock.advance(std::time::Duration::from_secs(24 * 3600));

    let answer = manage_signing_keys(&f.deps, event(SCHEDULED))
        .await
        .unwrap();
    assert_eq!(answer["action"], "unchanged");
    assert_eq!(f.keys.value(), existing);
    assert_eq!(f.objects.get(JWKS_PATH), Some(stored(&f).jwks()));
}

#[tokio::test]
async fn schedule_rotates_when_due_and_later_retires_the_previous_key() {
    let before = KeySet::from_secret_string(&generated_at(FixedClock::default().now()))
        .unwrap()
        .unwrap();
    let f = fixture(&before.to_secret_string());

    f.clock
        .advance(std::time::Duration::from_secs(30 * 24 * 3600));
    let answer = manage_signing_keys(&f.deps, event(SCHEDULED))
        .await
        .unwrap();
    assert_eq!(answer["action"], "rotated");
    let after = stored(&f);
    assert_eq!(after.current, before.next);
    assert_eq!(after.previous.as_ref(), Some(&before.current));
    assert_eq!(f.objects.get(JWKS_PATH), Some(after.jwks()));
    assert_eq!(f.keys.public(), Some(after.jwks()));
    assert_eq!(after.jwks()["keys"].as_array().unwrap().len(), 3);

    // The next day the previous key's tokens have all expired.
    f.clock.advance(std::time::Duration::from_secs(24 * 3600));
    let answer = manage_signing_keys(&f.deps, event(SCHEDULED))
        .await
        .unwrap();
    assert_eq!(answer["action"], "retired-previous");
    let later = stored(&f);
    assert_eq!(later.previous, None);
    assert_eq!(later.current, after.current);
    assert_eq!(
        f.objects.get(JWKS_PATH).unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn schedule_on_an_empty_secret_creates_keys() {
    let f = fixture("{}");
    let answer = manage_signing_keys(&f.deps, event(SCHEDULED))
        .await
        .unwrap();
    assert_eq!(answer["action"], "created");
    assert_eq!(answer["currentKid"], stored(&f).current.kid);
    assert!(f.responder.sent().is_empty());
}

#[tokio::test]
async fn a_failed_scheduled_publish_is_retryable_and_saves_nothing() {
    let existing = generated_at(FixedClock::default().now());
    let f = fixture(&existing);
    f.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    f.objects
        .fail_with(Some(DomainError::Unavailable("SlowDown".into())));
    let err = manage_signing_keys(&f.deps, event(SCHEDULED))
        .await
        .unwrap_err();
    assert!(err.0.is_retryable());
    assert_eq!(
        f.keys.value(),
        existing,
        "no unpublished key reaches signers"
    );
}

#[tokio::test]
async fn other_events_are_rejected() {
    let f = fixture("{}");
    let err = manage_signing_keys(&f.deps, event(r#"{"hello": "world"}"#))
        .await
        .unwrap_err();
    assert!(!err.0.is_retryable());
    assert!(f.objects.is_empty());
}

#[test]
fn issuer_must_be_an_absolute_url_without_trailing_slash() {
    assert_eq!(
        issuer_from_value("TOKEN_ISSUER", "http://localhost:4566/shop-dev-jwks").unwrap(),
        "http://localhost:4566/shop-dev-jwks"
    );
    assert!(issuer_from_value("TOKEN_ISSUER", "https://example.com/").is_err());
    let err = issuer_from_value("TOKEN_ISSUER", "s3://bucket").unwrap_err();
    assert!(err.to_string().contains("`TOKEN_ISSUER`"), "{err}");
}
