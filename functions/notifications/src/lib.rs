//! The notifications service: messages to users caused by other services' events.
//!
//! A tour:
//! - [`account_emails`]: the first consumer: verification and password-reset emails for the
//!   auth service's events, exactly once per event as far as a crash allows (see there).
//! - [`mail`]: the [`Mailer`](mail::Mailer) port and its SES (v2) adapter; the
//!   [`SentLog`](mail::SentLog) port and its DynamoDB adapter; in-memory versions for tests.
//! - [`setup`]: reading the environment, [`Deps::from_env`].

use std::sync::Arc;

use shop_domain::Clock;

pub mod account_emails;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod mail;
pub mod setup;

/// What the consumers need.
#[derive(Clone)]
pub struct Deps {
    /// Sends emails.
    pub mailer: Arc<dyn mail::Mailer>,
    /// Which events were already turned into messages.
    pub sent: Arc<dyn mail::SentLog>,
    /// Timestamps.
    pub clock: Arc<dyn Clock>,
    /// Sender and links.
    pub config: MailConfig,
}

/// Who sends, and where the links in emails lead.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The `From` address (an SES-verified identity).
    pub from: String,
    /// The web app's base URL: links are `<web_url>/verify-email?…` and
    /// `<web_url>/reset-password?…`.
    pub web_url: String,
}
