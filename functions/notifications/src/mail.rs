//! Sending mail, and remembering what was sent.
//!
//! - [`Mailer`]: sends one [`Email`]. [`SesMailer`] uses SES v2 `SendEmail` (locally the AWS
//!   edge, which keeps a mailbox of everything sent); [`memory::MemoryMailer`] keeps mails for tests.
//! - [`SentLog`]: which events already became a message. [`DynamoSentLog`] keeps a
//!   `SENT#<eventId>` item (TTL 7 days, longer than SQS keeps a message); [`memory::MemorySentLog`]
//!   a set.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use chrono::{DateTime, TimeDelta, Utc};
use shop_adapters::aws::sdk_error;
use shop_domain::{DomainError, EventId};

/// One plain-text email.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient.
    pub to: String,
    /// The sender.
    pub from: String,
    /// The subject line.
    pub subject: String,
    /// The text body. May hold a one-time token: never log it.
    pub text: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .field("text", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Sends emails.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email`; [`DomainError::Unavailable`] when a retry may work.
    async fn send(&self, email: &Email) -> Result<(), DomainError>;
}

/// Which events were already turned into a message.
#[async_trait]
pub trait SentLog: Send + Sync {
    /// Whether event `id` was handled.
    async fn was_sent(&self, id: EventId) -> Result<bool, DomainError>;
    /// Records event `id` as handled at `at`.
    async fn mark_sent(&self, id: EventId, at: DateTime<Utc>) -> Result<(), DomainError>;
}

/// SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    /// The mailer on `client`.
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

fn content(data: &str) -> Result<Content, DomainError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| DomainError::Internal(format!("cannot build an email: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), DomainError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| sdk_error("SES SendEmail", e))?;
        Ok(())
    }
}

/// `SENT#<eventId>` items in the service's table.
#[derive(Debug, Clone)]
pub struct DynamoSentLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoSentLog {
    /// The log in `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn sent_pk(id: EventId) -> AttributeValue {
    AttributeValue::S(format!("SENT#{id}"))
}

#[async_trait]
impl SentLog for DynamoSentLog {
    async fn was_sent(&self, id: EventId) -> Result<bool, DomainError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", sent_pk(id))
            .key("sk", AttributeValue::S("SENT".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem", e))?;
        Ok(output.item.is_some())
    }

    async fn mark_sent(&self, id: EventId, at: DateTime<Utc>) -> Result<(), DomainError> {
        let expires_at = (at + TimeDelta::days(7)).timestamp();
        let item = [
            ("pk", sent_pk(id)),
            ("sk", AttributeValue::S("SENT".to_owned())),
            ("type", AttributeValue::S("sent".to_owned())),
            ("sentAt", AttributeValue::S(at.to_rfc3339())),
            ("expiresAt", AttributeValue::N(expires_at.to_string())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        shop_adapters::dynamo::put_if_absent(&self.client, &self.table, "pk", item).await?;
        Ok(())
    }
}

/// In-memory adapters of the ports, for tests only.
#[cfg(any(test, feature = "testing"))]
pub mod memory {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use super::*;

    /// Keeps every mail, for tests; can be told to fail.
    #[derive(Default)]
    pub struct MemoryMailer {
        sent: Mutex<Vec<Email>>,
        failing: Mutex<bool>,
    }

    impl MemoryMailer {
        /// The mails sent, oldest first.
        pub fn sent(&self) -> Vec<Email> {
            self.sent.lock().unwrap().clone()
        }

        /// Makes every send fail (`true`) or work again.
        pub fn fail(&self, failing: bool) {
            *self.failing.lock().unwrap() = failing;
        }
    }

    #[async_trait]
    impl Mailer for MemoryMailer {
        async fn send(&self, email: &Email) -> Result<(), DomainError> {
            if *self.failing.lock().unwrap() {
                return Err(DomainError::Unavailable(
                    "the mail service is down".to_owned(),
                ));
            }
            self.sent.lock().unwrap().push(email.clone());
            Ok(())
        }
    }

    /// A set of event ids, for tests.
    #[derive(Default)]
    pub struct MemorySentLog {
        ids: Mutex<HashSet<EventId>>,
    }

    #[async_trait]
    impl SentLog for MemorySentLog {
        async fn was_sent(&self, id: EventId) -> Result<bool, DomainError> {
            Ok(self.ids.lock().unwrap().contains(&id))
        }

        async fn mark_sent(&self, id: EventId, _at: DateTime<Utc>) -> Result<(), DomainError> {
            self.ids.lock().unwrap().insert(id);
            Ok(())
        }
    }
}
