//! The auth service's events, source `shop.auth`, schema version 1.
//!
//! `UserRegistered`, `VerificationEmailRequested` and `PasswordResetRequested` carry the
//! one-time token the notifications service puts in the email: the auth service keeps only
//! its hash, and the bus is the one way to the mailer. The token is short-lived (24 h / 1 h)
//! and single use; see docs/decisions.md for why it travels in the event and what that costs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::Role;
use shop_domain::{DomainEvent, UserId};

/// The bus source of every auth event.
pub const SOURCE: &str = "shop.auth";

macro_rules! auth_event {
    ($($name:ident),+) => {$(
        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    )+};
}

auth_event!(
    UserRegistered,
    VerificationEmailRequested,
    UserVerified,
    PasswordResetRequested,
    UserRolesChanged
);

/// Someone registered; the verification email is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    /// The new account.
    pub user_id: UserId,
    /// Normalised.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// The verification token for the email (URL-safe, 256 bits).
    pub verification_token: String,
    /// When it stops working.
    #[serde(with = "shop_domain::timestamp")]
    pub expires_at: DateTime<Utc>,
}

/// A new verification email was asked for (`resend-verification`); the previous token no
/// longer works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationEmailRequested {
    /// The unverified account.
    pub user_id: UserId,
    /// Normalised.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// The new verification token.
    pub verification_token: String,
    /// When it stops working.
    #[serde(with = "shop_domain::timestamp")]
    pub expires_at: DateTime<Utc>,
}

/// An account proved its email and may log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserVerified {
    /// The account.
    pub user_id: UserId,
    /// Normalised.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

/// A password reset was asked for; the reset email is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    /// The account.
    pub user_id: UserId,
    /// Normalised.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// The reset token (URL-safe, 256 bits).
    pub reset_token: String,
    /// When it stops working.
    #[serde(with = "shop_domain::timestamp")]
    pub expires_at: DateTime<Utc>,
}

/// An admin changed a user's roles; tokens issued from now on carry the new ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRolesChanged {
    /// The account.
    pub user_id: UserId,
    /// Normalised.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// The roles now.
    pub roles: Vec<Role>,
    /// The roles before.
    pub previous_roles: Vec<Role>,
}
