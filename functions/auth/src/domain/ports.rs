//! The auth service's store: accounts, sessions and login attempts, each write of an account
//! atomic with the outbox items of its events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::account::Account;
use super::lockout::{Attempt, EmailPolicy, LockoutPolicy, LoginAttempts};
use super::sessions::Session;
use shop_domain::{DomainError, OutgoingEvent, SessionId, UserId};

/// Accounts, sessions and login attempts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account registered with (normalised) `email`, lapsed or not.
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, DomainError>;

    /// The account of `user_id`.
    async fn account(&self, user_id: UserId) -> Result<Option<Account>, DomainError>;

    /// Stores a new account with its events. `replaced` is the unverified (or lapsed)
    /// account it replaces under the same email, if any, exactly as read. [`DomainError::Conflict`] when the email is taken.
    async fn create_account(
        &self,
        account: &Account,
        replaced: Option<&Account>,
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

    /// Replaces the session stored at `session.generation - 1` with `session` (a rotation),
    /// provided `account` (its owner) is still at the session's epoch.
    /// [`DomainError::Conflict`] when another rotation won, the session was revoked, or a
    /// password change or reset ended the session meanwhile.
    async fn rotate_session(&self, session: &Session, account: &Account)
    -> Result<(), DomainError>;

    /// Marks session `id` revoked, whatever its state.
    async fn revoke_session(&self, id: SessionId) -> Result<(), DomainError>;

    /// The attempts counted for `email`.
    async fn login_attempts(&self, email: &str) -> Result<Option<LoginAttempts>, DomainError>;

    /// Counts one password attempt for `email` at `now`, before the password is checked: one
    /// more in the current window, or the first of a new one when the last has passed — or,
    /// when the current window already holds `policy.max_failures`, nothing counted and
    /// [`Attempt::Locked`]. Atomic: of any number of concurrent calls in one window, exactly
    /// `max_failures` are allowed. Never fails on contention (it answers `Locked` instead).
    async fn count_attempt(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> Result<Attempt, DomainError>;

    /// Forgets the attempts of `email` (after a right password or a reset).
    async fn clear_failed_logins(&self, email: &str) -> Result<(), DomainError>;

    /// Counts one account email to `email` at `now` in each of `policy`'s windows, as
    /// [`AccountStore::count_attempt`] counts attempts (atomic, never failing on contention),
    /// stopping at the first window that is full: [`Attempt::Locked`] then, and nothing may
    /// be sent.
    async fn count_email(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &EmailPolicy,
    ) -> Result<Attempt, DomainError>;
}
