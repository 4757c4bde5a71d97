//! The auth service's store: accounts, sessions and login attempts, each write of an account
//! atomic with the outbox items of its events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::account::Account;
use super::lockout::{LockoutPolicy, LoginAttempts};
use super::sessions::Session;
use shop_domain::{DomainError, OutgoingEvent, SessionId, UserId};

/// Accounts, sessions and login attempts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account registered with (normalised) `email`, lapsed or not.
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, DomainError>;

    /// The account of `user_id`.
    async fn account(&self, user_id: UserId) -> Result<Option<Account>, DomainError>;

    /// Stores a new account with its events. `lapsed` is the lapsed account it replaces
    /// under the same email, if any. [`DomainError::Conflict`] when the email is taken.
    async fn create_account(
        &self,
        account: &Account,
        lapsed: Option<&Account>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Replaces the account stored at `account.version - 1` with `account`, with its events.
    /// [`DomainError::Conflict`] when it changed meanwhile.
    async fn update_account(
        &self,
        account: &Account,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// The session `id`.
    async fn session(&self, id: SessionId) -> Result<Option<Session>, DomainError>;

    /// Stores a new session (a login).
    async fn create_session(&self, session: &Session) -> Result<(), DomainError>;

    /// Replaces the session stored at `session.generation - 1` with `session` (a rotation).
    /// [`DomainError::Conflict`] when another rotation won.
    async fn rotate_session(&self, session: &Session) -> Result<(), DomainError>;

    /// Marks session `id` revoked, whatever its state.
    async fn revoke_session(&self, id: SessionId) -> Result<(), DomainError>;

    /// The failed logins counted for `email`.
    async fn login_attempts(&self, email: &str) -> Result<Option<LoginAttempts>, DomainError>;

    /// Counts one failed login for `email` at `now`: one more in the current window, or the
    /// first of a new one when the last has passed.
    async fn record_failed_login(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> Result<(), DomainError>;

    /// Forgets the failed logins of `email` (after a successful login or a reset).
    async fn clear_failed_logins(&self, email: &str) -> Result<(), DomainError>;
}
