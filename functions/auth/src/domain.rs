//! Identity: who may log in, with which roles, and how sessions live and die. No storage, no
//! hashing and no HTTP here: the auth service wires these rules to argon2, DynamoDB and the
//! gateway.
//!
//! A tour:
//! - [`account`]: [`Account`], [`Role`], email normalisation, the password policy, the
//!   registration input and the one-time tokens of verification and password reset.
//! - [`sessions`]: [`Session`], a refresh-token family: rotation, the grace period for two
//!   tabs refreshing at once, reuse detection.
//! - [`lockout`]: [`LoginAttempts`], password attempts counted per email in a fixed window.
//! - [`events`]: the `shop.auth` events.
//! - [`ports`]: the store, [`AccountStore`].

pub mod account;
pub mod events;
pub mod lockout;
pub mod ports;
pub mod sessions;

#[cfg(test)]
mod tests;

pub use account::{
    Account, AccountStatus, OneTimeToken, Registration, Role, check_password, normalize_email,
};
pub use events::{
    PasswordResetRequested, UserRegistered, UserRolesChanged, UserVerified,
    VerificationEmailRequested,
};
pub use lockout::{Attempt, EmailPolicy, EmailWindow, LockoutPolicy, LoginAttempts};
pub use ports::AccountStore;
pub use sessions::{IssuedAccess, Session, Verdict};
