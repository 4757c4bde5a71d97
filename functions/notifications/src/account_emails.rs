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
pub async fn send_account_emails(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
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
