//! Sessions: login, refresh, logout, and the public keys.
//!
//! - `login`: `POST /api/auth/login` `{email, password}` → 200 [`TokenPair`]. An unknown
//!   email and a wrong password get the same 401 after the same work (a dummy hash is
//!   checked). An unverified account gets 403, but only after the right password. Attempts
//!   per email are counted before the password is checked; a locked email gets 429 with
//!   `Retry-After` whatever the password (see `crate::domain::lockout`).
//! - `refresh_token`: `POST /api/auth/refresh` `{refreshToken}` → 200 with a new pair; the verdicts
//!   are `crate::domain::sessions`'. Roles are reloaded from the account.
//! - `logout`: `POST /api/auth/logout` `{refreshToken}` → 204, the session revoked. Access
//!   tokens already issued stay valid until they expire (at most the access lifetime): the
//!   gateway checks signatures, not a revocation list.
//! - `get_jwks`: `GET /.well-known/jwks.json`, the public keys (also published by the issuer).

use crate::domain::{Account, AccountStatus, Session, Verdict, normalize_email};
use lambda_http::http::StatusCode;
use lambda_http::http::header::{CACHE_CONTROL, HeaderValue};
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use shop_adapters::api::{Handled, respond};
use shop_adapters::http::{json_response, no_content, parse_json};
use shop_domain::{DomainError, SessionId};

use crate::accounts::{attempt_password, live_account, single};
use crate::issue::{TokenPair, issued_access, pair, start_session};
use crate::secret::{RefreshToken, derive, hash, new_secret};
use crate::{Deps, PublicKeys};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

/// `POST /api/auth/login`.
pub async fn login(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(login_inner(deps, &req).await)
}

async fn login_inner(deps: &Deps, req: &Request) -> Handled {
    let body: LoginBody = parse_json(req)?;
    let email = normalize_email(&body.email).map_err(single)?;
    let account = live_account(deps, &email).await?;
    let stored = account.as_ref().map(|a| a.password_hash.as_str());
    let matches = attempt_password(deps, &email, &body.password, stored).await?;
    let account = match account {
        Some(account) if matches => account,
        _ => {
            tracing::info!("login refused: wrong email or password");
            return Err(
                DomainError::Unauthorized("the email or password is wrong".to_owned()).into(),
            );
        }
    };
    if account.status != AccountStatus::Active {
        return Err(DomainError::Forbidden(
            "verify your email address first: follow the link we sent, or ask for a new one \
             at /api/auth/resend-verification"
                .to_owned(),
        )
        .into());
    }
    let pair = start_session(deps, &account).await?;
    Ok(json_response(StatusCode::OK, &pair))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /api/auth/refresh`.
pub async fn refresh_token(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(refresh_inner(deps, &req).await)
}

async fn refresh_inner(deps: &Deps, req: &Request) -> Handled {
    let body: RefreshBody = parse_json(req)?;
    let token = RefreshToken::parse(&body.refresh_token).ok_or_else(invalid_refresh)?;
    // Two rounds at most: a rotation that loses the race re-reads and is judged a replay (or,
    // when a password change or reset moved the account's epoch meanwhile, ended).
    for _ in 0..2 {
        let (session, account) = session_of(deps, token.session_id).await?;
        let now = deps.clock.now();
        let epoch = account.session_epoch;
        match session.judge(&hash(&token.secret), epoch, now, deps.config.refresh_grace) {
            Verdict::Rotate => {
                let keys = deps.keys.key_set().await?;
                let rotation_key = new_secret()?;
                let next_secret = derive(&rotation_key, &token.secret);
                let issued = issued_access(&account, keys.signing_key(), now);
                let next = session.rotated(hash(&next_secret), rotation_key, issued, now);
                match deps.accounts.rotate_session(&next, &account).await {
                    Ok(()) => {
                        tracing::info!(user_id = %next.user_id, session_id = %next.session_id, "session refreshed");
                        return Ok(json_response(
                            StatusCode::OK,
                            &pair(deps, &keys, &next, next_secret)?,
                        ));
                    }
                    Err(DomainError::Conflict(_)) => continue,
                    Err(other) => return Err(other.into()),
                }
            }
            Verdict::Replay => {
                if let Some(pair) = replay(deps, &session, &token.secret).await? {
                    tracing::info!(session_id = %session.session_id, "concurrent refresh answered with the same pair");
                    return Ok(json_response(StatusCode::OK, &pair));
                }
                return Err(reused(deps, &session).await?);
            }
            Verdict::Reuse => return Err(reused(deps, &session).await?),
            Verdict::Unknown | Verdict::Ended => return Err(invalid_refresh().into()),
        }
    }
    Err(DomainError::Unavailable("the session changed twice during one refresh".to_owned()).into())
}

/// The pair the last rotation issued, when `secret` is the one it consumed.
async fn replay(
    deps: &Deps,
    session: &Session,
    secret: &str,
) -> Result<Option<TokenPair>, DomainError> {
    let Some(key) = &session.rotation_key else {
        return Ok(None);
    };
    let next_secret = derive(key, secret);
    if hash(&next_secret) != session.current_hash {
        return Ok(None);
    }
    let keys = deps.keys.key_set().await?;
    Ok(Some(pair(deps, &keys, session, next_secret)?))
}

/// Revokes a session whose consumed token was presented again, and the 401 to answer.
async fn reused(
    deps: &Deps,
    session: &Session,
) -> Result<shop_adapters::http::ApiError, DomainError> {
    deps.accounts.revoke_session(session.session_id).await?;
    tracing::warn!(user_id = %session.user_id, session_id = %session.session_id, "refresh token reuse: session revoked");
    Ok(DomainError::Unauthorized(
        "this refresh token was already used; the session has been ended for safety, log in again"
            .to_owned(),
    )
    .into())
}

/// The session `id` and its account (whose roles a rotation takes and whose session epoch
/// decides whether the session is still on); 401 when either is gone.
async fn session_of(deps: &Deps, id: SessionId) -> Result<(Session, Account), DomainError> {
    let session = deps
        .accounts
        .session(id)
        .await?
        .ok_or_else(invalid_refresh)?;
    let account = deps
        .accounts
        .account(session.user_id)
        .await?
        .ok_or_else(invalid_refresh)?;
    Ok((session, account))
}

fn invalid_refresh() -> DomainError {
    DomainError::Unauthorized("the refresh token is invalid or expired; log in again".to_owned())
}

/// `POST /api/auth/logout`.
pub async fn logout(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(logout_inner(deps, &req).await)
}

async fn logout_inner(deps: &Deps, req: &Request) -> Handled {
    let body: RefreshBody = parse_json(req)?;
    let token = RefreshToken::parse(&body.refresh_token).ok_or_else(invalid_refresh)?;
    let (session, account) = session_of(deps, token.session_id).await?;
    let epoch = account.session_epoch;
    let presented = hash(&token.secret);
    let known = presented == session.current_hash
        || session.previous_hash.as_deref() == Some(presented.as_str());
    if !known {
        return Err(invalid_refresh().into());
    }
    if !session.has_ended(epoch, deps.clock.now()) {
        deps.accounts.revoke_session(session.session_id).await?;
        tracing::info!(user_id = %session.user_id, session_id = %session.session_id, "logged out");
    }
    Ok(no_content())
}

/// `GET /.well-known/jwks.json`: the public copy of the key set (never the private keys'
/// secret), not the table.
pub async fn get_jwks(keys: &PublicKeys, req: Request) -> Result<Response<Body>, Error> {
    let _ = req;
    respond(jwks_inner(keys).await)
}

async fn jwks_inner(keys: &PublicKeys) -> Handled {
    let jwks = keys.jwks().await?;
    let mut response = json_response(StatusCode::OK, &jwks);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}
