//! The account emails: `UserRegistered` and `VerificationEmailRequested` → the verification
//! email; `PasswordResetRequested` → the reset email. Each holds a link
//! (`<web>/verify-email?email=…&token=…`, `<web>/reset-password?email=…&token=…`) and the
//! token again on a line of its own, for clients that cannot open links.
//!
//! Idempotent per event id: an event already in the [`SentLog`](crate::mail::SentLog) is
//! acknowledged without sending. The mail is sent *before* it is logged, so a crash between
//! the two sends it twice on redelivery rather than never: a duplicate verification email is
//! harmless, a missing one locks the user out.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shop_adapters::sqs::{envelope_from_message, process_batch};
use shop_domain::DomainError;

use crate::mail::Email;
use crate::{Deps, MailConfig};

/// What the three events carry that an email needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountMail {
    email: String,
    full_name: String,
    #[serde(alias = "resetToken")]
    verification_token: String,
    expires_at: DateTime<Utc>,
}

/// The SQS consumer; failed messages are reported for redelivery.
pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    Ok(process_batch(event.payload, |message| async move {
        let envelope = envelope_from_message::<AccountMail>(&message)?;
        let kind = envelope.r#type.as_str();
        if deps.sent.was_sent(envelope.id).await? {
            tracing::info!(event_id = %envelope.id, event = kind, "already sent; skipped");
            return Ok(());
        }
        let email = compose(kind, &envelope.data, &deps.config)?;
        deps.mailer.send(&email).await?;
        deps.sent.mark_sent(envelope.id, deps.clock.now()).await?;
        tracing::info!(event_id = %envelope.id, event = kind, subject = %email.subject, "email sent");
        Ok(())
    })
    .await)
}

/// The email for event type `kind`.
fn compose(kind: &str, data: &AccountMail, config: &MailConfig) -> Result<Email, DomainError> {
    let (subject, page, intro, outro) = match kind {
        "UserRegistered" | "VerificationEmailRequested" => (
            "Verify your email address",
            "verify-email",
            "Welcome to the shop! Confirm your email address by opening this link:",
            "If you did not create an account, ignore this email: the account is removed \
             after 7 days unless verified.",
        ),
        "PasswordResetRequested" => (
            "Reset your password",
            "reset-password",
            "Somebody (hopefully you) asked to reset the password of your shop account. \
             Choose a new one by opening this link:",
            "If you did not ask for this, ignore this email: your password stays as it is.",
        ),
        other => {
            return Err(DomainError::validation(
                "type",
                format!("`{other}` is not an event this consumer handles"),
            ));
        }
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", &data.email)
        .append_pair("token", &data.verification_token)
        .finish();
    let link = format!("{}/{page}?{query}", config.web_url.trim_end_matches('/'));
    let until = data.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let text = format!(
        "Hello {name},\n\n{intro}\n\n{link}\n\nOr enter this code where the shop asks for it:\n\n\
         {token}\n\nThe link and the code work once, until {until}.\n\n{outro}\n",
        name = data.full_name,
        token = data.verification_token,
    );
    Ok(Email {
        to: data.email.clone(),
        from: config.from.clone(),
        subject: subject.to_owned(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_lambda_events::event::sqs::SqsMessage;
    use lambda_runtime::Context;
    use serde_json::json;
    use shop_adapters::memory::FixedClock;

    use super::*;
    use crate::mail::memory::{MemoryMailer, MemorySentLog};

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
        let response = handle(&deps, batch(vec![event.clone(), event]))
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
        handle(&deps, batch(vec![event])).await.unwrap();
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
        let response = handle(&deps, batch(vec![event.clone()])).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        mailer.fail(false);
        let response = handle(&deps, batch(vec![event])).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(mailer.sent().len(), 1);

        let odd = message(
            "01JBQ0000000000000000000E4",
            "UserVerified",
            registered("t"),
        );
        let response = handle(&deps, batch(vec![odd])).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
    }
}
