//! In-memory adapters for the handler tests: [`MemoryPayments`] (the [`PaymentStore`], with
//! the DynamoDB adapter's conditions; one lock stands for a transaction) and [`MemoryTasks`]
//! (the [`TaskTokens`] port, recording what was sent).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{DomainError, OutgoingEvent, PaymentId};

use crate::domain::{
    Delivery, Payment, PaymentStatus, PaymentStore, SettleRefusal, TaskToken, TaskTokens,
    TokenStored,
};

/// Payments, processed gateway events and the outbox.
#[derive(Default)]
pub struct MemoryPayments {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    payments: BTreeMap<PaymentId, Payment>,
    callbacks: HashSet<String>,
    events: Vec<OutgoingEvent>,
}

impl MemoryPayments {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event written so far, oldest first.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.lock().events.clone()
    }
}

/// `after`'s status, reason, event id and version onto `stored` (its token kept), as the
/// DynamoDB adapter's `Update` does.
fn apply(stored: &mut Payment, after: &Payment) {
    stored.status = after.status;
    stored.version = after.version;
    stored.updated_at = after.updated_at;
    if after.reason.is_some() {
        stored.reason.clone_from(&after.reason);
    }
    if after.event_id.is_some() {
        stored.event_id.clone_from(&after.event_id);
    }
}

#[async_trait]
impl PaymentStore for MemoryPayments {
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, DomainError> {
        Ok(self.lock().payments.get(&id).cloned())
    }

    async fn create(&self, payment: &Payment) -> Result<Payment, DomainError> {
        tokio::task::yield_now().await;
        let mut state = self.lock();
        Ok(state
            .payments
            .entry(payment.payment_id)
            .or_insert_with(|| payment.clone())
            .clone())
    }

    async fn store_token(
        &self,
        id: PaymentId,
        token: &TaskToken,
        _at: DateTime<Utc>,
    ) -> Result<TokenStored, DomainError> {
        tokio::task::yield_now().await;
        let mut state = self.lock();
        Ok(match state.payments.get_mut(&id) {
            None => TokenStored::Unknown,
            Some(p) if p.status == PaymentStatus::Pending => {
                p.task_token = Some(token.clone());
                TokenStored::Stored
            }
            Some(p) => TokenStored::NotPending(Box::new(p.clone())),
        })
    }

    async fn mark_answered(&self, id: PaymentId) -> Result<(), DomainError> {
        match self.lock().payments.get_mut(&id) {
            Some(p) => {
                p.answered = true;
                Ok(())
            }
            None => Err(DomainError::not_found("payment", id)),
        }
    }

    async fn event_seen(&self, event_id: &str) -> Result<bool, DomainError> {
        Ok(self.lock().callbacks.contains(event_id))
    }

    async fn settle(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), SettleRefusal> {
        tokio::task::yield_now().await;
        let event_id = after
            .event_id
            .clone()
            .ok_or_else(|| DomainError::Internal("a settlement names the gateway event".into()))?;
        let mut state = self.lock();
        let stored = state
            .payments
            .get(&before.payment_id)
            .ok_or(SettleRefusal::NotPending)?;
        if stored.status != PaymentStatus::Pending {
            return Err(SettleRefusal::NotPending);
        }
        if state.callbacks.contains(&event_id) {
            return Err(SettleRefusal::EventSeen);
        }
        let stored = state
            .payments
            .get_mut(&before.payment_id)
            .expect("read above under the same lock");
        apply(stored, after);
        state.callbacks.insert(event_id);
        state.events.push(event);
        Ok(())
    }

    async fn finish(
        &self,
        before: &Payment,
        after: &Payment,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        tokio::task::yield_now().await;
        let mut state = self.lock();
        match state.payments.get_mut(&before.payment_id) {
            Some(stored) if stored.status == before.status => {
                apply(stored, after);
                state.events.push(event);
                Ok(())
            }
            _ => Err(DomainError::Conflict(format!(
                "payment {} is no longer {}",
                before.payment_id, before.status
            ))),
        }
    }
}

/// One token sent back.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// `SendTaskSuccess(token, output)`.
    Success {
        /// The token.
        token: String,
        /// The output.
        output: serde_json::Value,
    },
    /// `SendTaskFailure(token, error, cause)`.
    Failure {
        /// The token.
        token: String,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// Records every send; tokens named by [`MemoryTasks::close`] answer [`Delivery::Gone`], and
/// [`MemoryTasks::fail_with`] makes every send fail.
#[derive(Default)]
pub struct MemoryTasks {
    state: Mutex<TasksState>,
}

#[derive(Default)]
struct TasksState {
    sent: Vec<Sent>,
    closed: HashSet<String>,
    failure: Option<DomainError>,
}

impl MemoryTasks {
    /// No task closed, nothing sent.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, TasksState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything sent, oldest first.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// The task of `token` timed out: sends to it answer `TaskTimedOut`.
    pub fn close(&self, token: &str) {
        self.lock().closed.insert(token.to_owned());
    }

    /// Every send fails with `error` (`None`: works again).
    pub fn fail_with(&self, error: Option<DomainError>) {
        self.lock().failure = error;
    }

    fn send(&self, token: &TaskToken, sent: Sent) -> Result<Delivery, DomainError> {
        let mut state = self.lock();
        if let Some(err) = &state.failure {
            return Err(err.clone());
        }
        if state.closed.contains(token.expose()) {
            return Ok(Delivery::Gone("TaskTimedOut".into()));
        }
        state.sent.push(sent);
        Ok(Delivery::Sent)
    }
}

#[async_trait]
impl TaskTokens for MemoryTasks {
    async fn succeed(
        &self,
        token: &TaskToken,
        output: &serde_json::Value,
    ) -> Result<Delivery, DomainError> {
        self.send(
            token,
            Sent::Success {
                token: token.expose().to_owned(),
                output: output.clone(),
            },
        )
    }

    async fn fail(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<Delivery, DomainError> {
        self.send(
            token,
            Sent::Failure {
                token: token.expose().to_owned(),
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        )
    }
}
