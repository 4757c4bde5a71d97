//! Handler tests for the notifications consumers: `send-account-emails` with the in-memory
//! mailer and sent log; [`store`]: the store contract against the in-memory sent log.

mod store;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use shop_adapters::memory::FixedClock;

use notifications::account_emails::send_account_emails;
use notifications::mail::memory::{MemoryMailer, MemorySentLog};
use notifications::{Deps, MailConfig};

fn deps(mailer: Arc<MemoryMailer>) -> Deps {
    Deps {
        mailer,
        sent: Arc::new(MemorySentLog::default()),
        clock: Arc::new(FixedClock::default()),
        config: MailConfig {
            from: "no-reply@shop.test".to_owned(),
            web_url: "http://localhost:3000/".to_owned(),
        },
    }
}

fn message(id: &str, kind: &str, data: serde_json::Value) -> SqsMessage {
    let detail = json!({"id": id, "type": kind, "version": 1, "aggregateVersion": 1,
        "occurredAt": "2026-11-02T10:00:00.000Z", "correlationId": "01JBQ0000000000000000000C1",
        "data": data});
    let body = json!({"detail-type": kind, "source": "shop.auth", "detail": detail});
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{id}"));
    message.body = Some(body.to_string());
    message
}

fn batch(messages: Vec<SqsMessage>) -> LambdaEvent<SqsEvent> {
    let mut event = SqsEvent::default();
    event.records = messages;
    LambdaEvent::new(event, Context::default())
}

fn registered(token: &str) -> serde_json::Value {
    json!({"userId": "01JBQ00000000000000000AN01", "email": "ann+shop@example.com",
        "fullName": "Ann Lee", "verificationToken": token,
        "expiresAt": "2026-11-03T10:00:00.000Z"})
}

#[tokio::test]
async fn a_registration_sends_one_verification_email_with_link_and_code() {
    let mailer = Arc::new(MemoryMailer::default());
    let deps = deps(mailer.clone());
    let event = message(
        "01JBQ0000000000000000000E1",
        "UserRegistered",
        registered("tok-EN_1"),
    );
    let response = send_account_emails(&deps, batch(vec![event.clone(), event]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "the same event twice sends one email");
    let mail = &sent[0];
    assert_eq!(mail.to, "ann+shop@example.com");
    assert_eq!(mail.from, "no-reply@shop.test");
    assert!(
        mail.text.contains(
            "http://localhost:3000/verify-email?email=ann%2Bshop%40example.com&token=tok-EN_1\n"
        ),
        "{}",
        mail.text
    );
    assert!(mail.text.lines().any(|line| line == "tok-EN_1"));
    assert!(!format!("{mail:?}").contains("tok-EN_1"));
}

#[tokio::test]
async fn a_reset_request_sends_the_reset_link() {
    let mailer = Arc::new(MemoryMailer::default());
    let deps = deps(mailer.clone());
    let data = json!({"userId": "01JBQ00000000000000000AN01", "email": "ann@example.com",
        "fullName": "Ann", "resetToken": "reset-1", "expiresAt": "2026-11-02T11:00:00.000Z"});
    let event = message("01JBQ0000000000000000000E2", "PasswordResetRequested", data);
    send_account_emails(&deps, batch(vec![event]))
        .await
        .unwrap();
    let mail = &mailer.sent()[0];
    assert_eq!(mail.subject, "Reset your password");
    assert!(
        mail.text
            .contains("/reset-password?email=ann%40example.com&token=reset-1")
    );
}

#[tokio::test]
async fn a_failed_send_is_retried_and_unknown_events_fail() {
    let mailer = Arc::new(MemoryMailer::default());
    let deps = deps(mailer.clone());
    mailer.fail(true);
    let event = message(
        "01JBQ0000000000000000000E3",
        "UserRegistered",
        registered("t"),
    );
    let response = send_account_emails(&deps, batch(vec![event.clone()]))
        .await
        .unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    mailer.fail(false);
    let response = send_account_emails(&deps, batch(vec![event]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(mailer.sent().len(), 1);

    let odd = message(
        "01JBQ0000000000000000000E4",
        "UserVerified",
        registered("t"),
    );
    let response = send_account_emails(&deps, batch(vec![odd])).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
}
