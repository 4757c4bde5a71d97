//! The auth service: accounts, sessions and the access tokens the gateway validates.
//!
//! A tour:
//! - [`accounts`]: `register`, `verify_email`, `resend_verification`, and the admin's
//!   `set_user_roles`.
//! - [`sessions`]: `login` (with the lockout), `refresh_token` (rotation, grace, reuse detection),
//!   `logout`, and `get_jwks`, the public keys on the API.
//! - [`passwords`]: `change_password`, `forgot_password`, `reset_password`.
//! - [`issue`]: access tokens and refresh tokens: signing with the current key, a new session
//!   per login.
//! - [`secret`]: random one-time and refresh secrets, their hashes, the rotation derivation,
//!   and argon2id password hashes.
//! - [`dynamo`] and [`memory`]: the [`AccountStore`] on DynamoDB and in memory (handler tests);
//!   [`contract`]: the store contract both pass. `memory` and `contract` only with feature
//!   `testing`.
//! - [`setup`]: [`Deps::from_env`], read once by each `src/bin/<function>.rs`.
//!
//! The rules (email normalisation, password policy, session verdicts, the lockout window)
//! live in [`domain`]; the rest of this crate wires them to HTTP, hashing and storage. No
//! log line carries a password, a token, a secret or a hash: handlers log user ids only.

use std::sync::Arc;

use crate::domain::{AccountStore, EmailPolicy, LockoutPolicy};
use chrono::TimeDelta;
use shop_domain::{Clock, SecretSource};

pub mod accounts;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod issue;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod passwords;
pub mod secret;
pub mod sessions;
pub mod setup;

/// What the auth handlers need; each handler uses only its part, and each function's `main`
/// builds only the part its handler uses ([`Deps::from_env`] or [`Deps::signing_from_env`]).
#[derive(Clone)]
pub struct Deps {
    /// Accounts, sessions, login attempts and the outbox.
    pub accounts: Arc<dyn AccountStore>,
    /// The signing key set: for the functions that sign tokens (login, refresh, password
    /// change); [`SigningKeys::Unset`] in the others.
    pub keys: SigningKeys,
    /// Timestamps, token lifetimes, windows.
    pub clock: Arc<dyn Clock>,
    /// Issuer, audience, lifetimes, lockout: read from the environment by the signing
    /// functions; the defaults, which nothing reads, in the others.
    pub config: AuthConfig,
}

/// Where the signing key set is read.
#[derive(Clone)]
pub enum SigningKeys {
    /// A function that signs nothing and publishes no keys: it was not given the secret.
    Unset,
    /// The Secrets Manager secret `id`, read through `source` (cached).
    Secret {
        /// The (cached) secret reader.
        source: Arc<dyn SecretSource>,
        /// The key set's secret id (`SIGNING_KEYS_SECRET_ARN`).
        id: String,
    },
}

/// Where get-jwks reads the public keys: the key manager's public copy of the JWKS, a secret of
/// its own, so the public route's role never holds the private keys' secret.
#[derive(Clone)]
pub struct PublicKeys {
    /// The (cached) secret reader.
    pub source: Arc<dyn SecretSource>,
    /// The public copy's secret id (`PUBLIC_KEYS_SECRET_ARN`).
    pub id: String,
}

/// The auth service's settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of access tokens: the URL the gateway reads discovery and JWKS from.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// How long an access token lives (at most 60 minutes).
    pub access_lifetime: TimeDelta,
    /// How long a consumed refresh token still answers with the pair it was rotated to.
    pub refresh_grace: TimeDelta,
    /// Failed logins per email and window.
    pub lockout: LockoutPolicy,
    /// Account emails per address: the cooldown and the daily cap.
    pub emails: EmailPolicy,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:4566/jwks".to_owned(),
            audience: "shop-api".to_owned(),
            access_lifetime: TimeDelta::minutes(15),
            refresh_grace: TimeDelta::seconds(10),
            lockout: LockoutPolicy::default(),
            emails: EmailPolicy::default(),
        }
    }
}
