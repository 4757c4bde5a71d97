//! Issuing tokens: the access token the gateway validates and the refresh token of a session.
//!
//! Access tokens are RS256 JWTs signed with the key set's current key (`kid` in the header),
//! carrying `sub`, `email`, `name`, `roles`, the matching `scope`, `iss`, `aud`, `iat`, `nbf`, `exp`
//! and `jti`. A replay within the refresh grace period signs the stored claims again with the
//! stored key: RS256 (PKCS #1 v1.5) signatures are deterministic, so it is the same token.

use crate::domain::{Account, IssuedAccess, Role, Session};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use shop_adapters::tokens::{AccessClaims, KeySet, SigningKey, sign};
use shop_domain::{DomainError, UserId};

use crate::secret::{RefreshToken, hash, new_secret};
use crate::{Deps, PublicKeys, SigningKeys};

/// The body of a successful login, refresh or password change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// The RS256 JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// `<sessionId>.<secret>`, for `POST /api/auth/refresh` and `/logout`.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: &'static str,
}

impl SigningKeys {
    /// The current key set, read through the cached secret.
    pub async fn key_set(&self) -> Result<KeySet, DomainError> {
        let SigningKeys::Secret { source, id } = self else {
            return Err(DomainError::Internal(
                "this function was not given SIGNING_KEYS_SECRET_ARN".to_owned(),
            ));
        };
        let value = source.get_secret(id).await?;
        KeySet::from_secret_string(&value)?.ok_or_else(|| {
            DomainError::Unavailable("the signing keys have not been created yet".to_owned())
        })
    }
}

impl PublicKeys {
    /// The JWKS the key manager last published, read through the cached secret: a JSON
    /// object with a non-empty `keys` array (the placeholder `{}` means not created yet).
    pub async fn jwks(&self) -> Result<serde_json::Value, DomainError> {
        let value = self.source.get_secret(&self.id).await?;
        let jwks: serde_json::Value = serde_json::from_str(&value)
            .map_err(|_| DomainError::Internal("the public keys secret is not JSON".to_owned()))?;
        match jwks["keys"].as_array() {
            Some(keys) if !keys.is_empty() => Ok(jwks),
            _ => Err(DomainError::Unavailable(
                "the signing keys have not been published yet".to_owned(),
            )),
        }
    }
}

/// What a new access token for `account` will carry, issued at `now` with `key`.
pub fn issued_access(account: &Account, key: &SigningKey, now: DateTime<Utc>) -> IssuedAccess {
    IssuedAccess {
        issued_at: now.timestamp(),
        jti: ulid_at(now),
        roles: account.roles.clone(),
        email: account.email.clone(),
        name: account.full_name.clone(),
        kid: key.kid.clone(),
    }
}

fn ulid_at(now: DateTime<Utc>) -> String {
    ulid::Ulid::from_datetime(now.into()).to_string()
}

/// Signs the access token described by `issued` for `user_id`, with the key it names when the
/// set still holds it (else the current key).
pub fn access_token(
    deps: &Deps,
    keys: &KeySet,
    user_id: UserId,
    issued: &IssuedAccess,
) -> Result<String, DomainError> {
    let issued_at = DateTime::from_timestamp(issued.issued_at, 0)
        .ok_or_else(|| DomainError::Internal("a stored issue time is out of range".to_owned()))?;
    let mut claims = AccessClaims::new(
        user_id.to_string(),
        Role::names(&issued.roles),
        &deps.config.issuer,
        &deps.config.audience,
        issued_at,
        deps.config.access_lifetime,
    )
    .with_email(&issued.email);
    if !issued.name.is_empty() {
        claims = claims.with_name(&issued.name);
    }
    claims.jti = Some(issued.jti.clone());
    let key = keys
        .keys()
        .find(|k| k.kid == issued.kid)
        .unwrap_or(keys.signing_key());
    Ok(sign(&claims, key)?)
}

/// The pair answered for `session`'s current state and refresh `secret`.
pub fn pair(
    deps: &Deps,
    keys: &KeySet,
    session: &Session,
    secret: String,
) -> Result<TokenPair, DomainError> {
    let access_token = access_token(deps, keys, session.user_id, &session.issued)?;
    let expires_at = session.issued.issued_at + lifetime(deps).num_seconds();
    Ok(TokenPair {
        access_token,
        refresh_token: RefreshToken {
            session_id: session.session_id,
            secret,
        }
        .encode(),
        expires_in: (expires_at - deps.clock.now().timestamp()).max(0),
        token_type: "Bearer",
    })
}

fn lifetime(deps: &Deps) -> TimeDelta {
    deps.config
        .access_lifetime
        .min(shop_adapters::tokens::MAX_ACCESS_TOKEN_LIFETIME)
}

/// Starts a session for `account` (a login, or a password change that ends the others) and
/// answers its first pair.
pub async fn start_session(deps: &Deps, account: &Account) -> Result<TokenPair, DomainError> {
    let keys = deps.keys.key_set().await?;
    let now = deps.clock.now();
    let secret = new_secret()?;
    let session = Session::start(
        account.user_id,
        account.session_epoch,
        hash(&secret),
        issued_access(account, keys.signing_key(), now),
        now,
    );
    deps.accounts.create_session(&session).await?;
    tracing::info!(user_id = %account.user_id, session_id = %session.session_id, "session started");
    pair(deps, &keys, &session, secret)
}
