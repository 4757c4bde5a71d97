//! The payments rules: the [`Payment`] and its status machine, the gateway's callback
//! ([`CallbackEvent`]), the signatures of the payment page and of the callback
//! ([`signature`]), the events ([`events`]) and the ports: [`PaymentStore`] and
//! [`TaskTokens`] (Step Functions' waiting tasks). No AWS, no HTTP.

pub mod events;
pub mod signature;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{Currency, DomainError, OrderId, OutgoingEvent, PaymentId};

/// Where a payment is. PENDING → SUCCEEDED | FAILED (declined) | VOIDED (never paid, the
/// checkout gave up); SUCCEEDED → REFUNDED (captured after the checkout gave up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Created; the gateway has not answered.
    Pending,
    /// The gateway captured it.
    Succeeded,
    /// The gateway declined it.
    Failed,
    /// Never paid, and the checkout is over: a late capture is refused.
    Voided,
    /// Captured, then given back because the checkout failed.
    Refunded,
}

impl PaymentStatus {
    /// The name as stored and answered (`SUCCEEDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Voided => "VOIDED",
            Self::Refunded => "REFUNDED",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Step Functions task token. Opaque and a credential of sorts (whoever holds it resolves
/// the task), so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    /// The largest token Step Functions issues is 1024 characters.
    pub const MAX_LEN: usize = 1024;

    /// `token`, when it is 1–1024 characters.
    pub fn parse(token: String) -> Result<Self, DomainError> {
        if token.is_empty() || token.len() > Self::MAX_LEN {
            return Err(DomainError::validation(
                "taskToken",
                "must be 1-1024 characters",
            ));
        }
        Ok(Self(token))
    }

    /// The token itself, for the one call that sends it back.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<{} chars>)", self.0.len())
    }
}

/// What the gateway says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Paid.
    Success,
    /// Declined.
    Decline,
}

/// One order's payment. Its id is the order's (`PaymentId::from_ulid(orderId.ulid())`), so a
/// retried step finds the same payment instead of making another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// The order's ULID.
    pub payment_id: PaymentId,
    /// The order paid for.
    pub order_id: OrderId,
    /// Minor units of `currency`.
    pub amount: u64,
    /// The order's currency.
    pub currency: Currency,
    /// Where it is.
    pub status: PaymentStatus,
    /// Why it failed, was voided or refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The gateway event that settled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The waiting checkout's task token, once `await-payment` stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<TaskToken>,
    /// Whether the task was sent its answer (or found gone): a replay of the settling event
    /// then sends nothing more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answered: bool,
    /// 1 when created, +1 per status change (the events' aggregate version).
    pub version: u64,
    /// When created.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When last changed.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The payment id of `order_id`.
pub fn payment_id_of(order_id: OrderId) -> PaymentId {
    PaymentId::from_ulid(order_id.ulid())
}

impl Payment {
    /// A new PENDING payment of `amount` for `order_id`.
    pub fn new(order_id: OrderId, amount: u64, currency: Currency, now: DateTime<Utc>) -> Self {
        Self {
            payment_id: payment_id_of(order_id),
            order_id,
            amount,
            currency,
            status: PaymentStatus::Pending,
            reason: None,
            event_id: None,
            task_token: None,
            answered: false,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the gateway may still settle it.
    pub fn is_pending(&self) -> bool {
        self.status == PaymentStatus::Pending
    }

    fn moved(&self, status: PaymentStatus, reason: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            status,
            reason,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The payment after the gateway's `outcome` (event `event_id`): SUCCEEDED, or FAILED
    /// with reason `declined`.
    pub fn settled(&self, outcome: Outcome, event_id: &str, now: DateTime<Utc>) -> Self {
        let (status, reason) = match outcome {
            Outcome::Success => (PaymentStatus::Succeeded, None),
            Outcome::Decline => (PaymentStatus::Failed, Some("declined".to_owned())),
        };
        Self {
            event_id: Some(event_id.to_owned()),
            ..self.moved(status, reason, now)
        }
    }

    /// The payment after the checkout gave up on it (`reason`): VOIDED when unpaid,
    /// REFUNDED when captured; `None` when it is final otherwise (FAILED, VOIDED, REFUNDED).
    pub fn given_up(&self, reason: &str, now: DateTime<Utc>) -> Option<Self> {
        let status = match self.status {
            PaymentStatus::Pending => PaymentStatus::Voided,
            PaymentStatus::Succeeded => PaymentStatus::Refunded,
            PaymentStatus::Failed | PaymentStatus::Voided | PaymentStatus::Refunded => {
                return None;
            }
        };
        Some(self.moved(status, Some(reason.to_owned()), now))
    }
}

/// Why the checkout gave up, from the Step Functions error of the failed step
/// (`{"Error": "...", "Cause": "..."}`): the reason of the void or refund.
pub fn give_up_reason(error: Option<&str>) -> String {
    match error {
        None => "voided".to_owned(),
        Some("States.Timeout") => "payment timed out".to_owned(),
        Some("PaymentDeclined") => "payment declined".to_owned(),
        Some(other) => format!("checkout failed: {other}"),
    }
}

/// The gateway's callback body, `{eventId, paymentId, outcome, amount, currency}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackEvent {
    /// The gateway's id of this event: processed once.
    pub event_id: String,
    /// The payment it settles.
    pub payment_id: PaymentId,
    /// Paid or declined.
    pub outcome: Outcome,
    /// What the gateway charged, minor units: must be the payment's.
    pub amount: u64,
    /// In what: must be the payment's.
    pub currency: Currency,
}

/// The longest gateway event id kept.
pub const MAX_EVENT_ID_LEN: usize = 128;

impl CallbackEvent {
    /// `body` as a callback: 1–128 visible ASCII characters of event id, a ULID payment id,
    /// `success` or `decline`, an integer amount and an ISO currency.
    pub fn parse(body: &[u8]) -> Result<Self, DomainError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let event: Self = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            DomainError::validation(field, e.inner().to_string())
        })?;
        let id = &event.event_id;
        if id.is_empty() || id.len() > MAX_EVENT_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(DomainError::validation(
                "eventId",
                "must be 1-128 visible ASCII characters",
            ));
        }
        Ok(event)
    }
}

/// What storing a task token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStored {
    /// Stored on the PENDING payment: the callback will send it.
    Stored,
    /// The payment is no longer PENDING (the callback came first, or it was voided): the
    /// payment as it is now, token unchanged.
    NotPending(Box<Payment>),
    /// No such payment.
    Unknown,
}

/// Why a settlement was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SettleRefusal {
    /// The gateway event was processed before.
    EventSeen,
    /// The payment is no longer PENDING.
    NotPending,
    /// The store failed.
    Store(DomainError),
}

impl From<DomainError> for SettleRefusal {
    fn from(err: DomainError) -> Self {
        Self::Store(err)
    }
}

/// Payments, the gateway events processed and the outbox. Every change is conditional on
/// the status read, so of racing writers exactly one wins.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// The payment `id`, strongly consistent (what a write decides on).
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, DomainError>;

    /// Stores `payment` unless its id exists; the stored payment either way (this one, or
    /// the earlier one, whatever it became).
    async fn create(&self, payment: &Payment) -> Result<Payment, DomainError>;

    /// Stores `token` on payment `id`, conditional on its status being PENDING; touches
    /// nothing else.
    async fn store_token(
        &self,
        id: PaymentId,
        token: &TaskToken,
        at: DateTime<Utc>,
    ) -> Result<TokenStored, DomainError>;

    /// Whether gateway event `event_id` was processed.
    async fn event_seen(&self, event_id: &str) -> Result<bool, DomainError>;

    /// One transaction: `before` (PENDING) → `after` (its status, reason, event id, version;
    /// the stored token is kept), conditional on the status still being PENDING; the record
    /// of `after.event_id` (absent before); and `event`.
    async fn settle(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), SettleRefusal>;

    /// Records that payment `id`'s task was answered; touches nothing else.
    async fn mark_answered(&self, id: PaymentId) -> Result<(), DomainError>;

    /// `before` → `after` (status, reason, version), conditional on the status still being
    /// `before.status`, with `event`; [`DomainError::Conflict`] when it moved.
    async fn finish(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), DomainError>;
}

/// What became of a task token sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The task took it.
    Sent,
    /// The task is gone (timed out, closed, or the token is not one): the saga's
    /// compensation deals with the payment. The error code says which.
    Gone(String),
}

/// Step Functions' waiting tasks (`.waitForTaskToken`).
#[async_trait]
pub trait TaskTokens: Send + Sync {
    /// `SendTaskSuccess(token, output)`.
    async fn succeed(
        &self,
        token: &TaskToken,
        output: &serde_json::Value,
    ) -> Result<Delivery, DomainError>;

    /// `SendTaskFailure(token, error, cause)`.
    async fn fail(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<Delivery, DomainError>;
}

#[cfg(test)]
mod tests;
