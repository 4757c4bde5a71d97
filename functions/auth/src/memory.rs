//! [`MemoryAccounts`]: the [`AccountStore`] in memory, recording the outbox events of every
//! write, for the handler tests. Same conditions as the DynamoDB store: a taken email and a
//! stale version or generation are conflicts.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::{
    Account, AccountStore, Attempt, EmailPolicy, LockoutPolicy, LoginAttempts, Session,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{DomainError, OutgoingEvent, SessionId, UserId};

/// Accounts by email, sessions by id, attempts by email, and the events written.
#[derive(Default)]
pub struct MemoryAccounts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    accounts: HashMap<String, Account>,
    sessions: HashMap<SessionId, Session>,
    attempts: HashMap<String, LoginAttempts>,
    events: Vec<OutgoingEvent>,
}

impl MemoryAccounts {
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

    /// Every session stored.
    pub fn sessions(&self) -> Vec<Session> {
        self.lock().sessions.values().cloned().collect()
    }
}

fn conflict(what: &str) -> DomainError {
    DomainError::Conflict(format!("{what} changed meanwhile"))
}

#[async_trait]
impl AccountStore for MemoryAccounts {
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, DomainError> {
        Ok(self.lock().accounts.get(email).cloned())
    }

    async fn account(&self, user_id: UserId) -> Result<Option<Account>, DomainError> {
        let state = self.lock();
        Ok(state
            .accounts
            .values()
            .find(|a| a.user_id == user_id)
            .cloned())
    }

    async fn create_account(
        &self,
        account: &Account,
        replaced: Option<&Account>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        if state.accounts.get(&account.email) != replaced {
            return Err(DomainError::Conflict("the email is taken".to_owned()));
        }
        state
            .accounts
            .insert(account.email.clone(), account.clone());
        state.events.extend(events);
        Ok(())
    }

    async fn update_account(
        &self,
        account: &Account,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        match state.accounts.get(&account.email) {
            Some(stored) if stored.version + 1 == account.version => {}
            _ => return Err(conflict("the account")),
        }
        state
            .accounts
            .insert(account.email.clone(), account.clone());
        state.events.extend(events);
        Ok(())
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, DomainError> {
        Ok(self.lock().sessions.get(&id).cloned())
    }

    async fn create_session(&self, session: &Session) -> Result<(), DomainError> {
        let mut state = self.lock();
        if state.sessions.contains_key(&session.session_id) {
            return Err(DomainError::Conflict("the session exists".to_owned()));
        }
        state.sessions.insert(session.session_id, session.clone());
        Ok(())
    }

    async fn rotate_session(
        &self,
        session: &Session,
        account: &Account,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        let epoch = state.accounts.get(&account.email).map(|a| a.session_epoch);
        if epoch != Some(session.epoch) {
            return Err(conflict("the account's sessions"));
        }
        match state.sessions.get(&session.session_id) {
            Some(stored) if stored.generation + 1 == session.generation && !stored.revoked => {}
            _ => return Err(conflict("the session")),
        }
        state.sessions.insert(session.session_id, session.clone());
        Ok(())
    }

    async fn revoke_session(&self, id: SessionId) -> Result<(), DomainError> {
        if let Some(session) = self.lock().sessions.get_mut(&id) {
            session.revoked = true;
        }
        Ok(())
    }

    async fn login_attempts(&self, email: &str) -> Result<Option<LoginAttempts>, DomainError> {
        Ok(self.lock().attempts.get(email).cloned())
    }

    async fn count_attempt(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> Result<Attempt, DomainError> {
        Ok(count_in_window(
            &mut self.lock().attempts,
            email,
            now,
            policy,
        ))
    }

    async fn clear_failed_logins(&self, email: &str) -> Result<(), DomainError> {
        self.lock().attempts.remove(email);
        Ok(())
    }

    async fn count_email(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &EmailPolicy,
    ) -> Result<Attempt, DomainError> {
        let mut state = self.lock();
        for (window, limit) in policy.windows() {
            let key = format!("EMAILS#{email}#{}", window.name());
            let counted = count_in_window(&mut state.attempts, &key, now, &limit);
            if counted != Attempt::Allowed {
                return Ok(counted);
            }
        }
        Ok(Attempt::Allowed)
    }
}

/// One event counted in the fixed window `windows[key]` (the lockout's shape).
fn count_in_window(
    windows: &mut HashMap<String, LoginAttempts>,
    key: &str,
    now: DateTime<Utc>,
    policy: &LockoutPolicy,
) -> Attempt {
    let fresh = LoginAttempts {
        failures: 0,
        window_start: now,
    };
    let attempts = windows.entry(key.to_owned()).or_insert(fresh.clone());
    if !attempts.is_current(now, policy) {
        *attempts = fresh;
    }
    if let Some(retry_after_secs) = attempts.retry_after(now, policy) {
        return Attempt::Locked { retry_after_secs };
    }
    attempts.failures += 1;
    Attempt::Allowed
}
