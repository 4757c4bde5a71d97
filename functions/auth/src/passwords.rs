//! Passwords: change (signed in), forgot and reset (by email).
//!
//! - `change_password`: `POST /api/auth/change-password` `{currentPassword, newPassword}`
//!   (User) → 200 with a new [`TokenPair`](crate::issue::TokenPair): every other session
//!   ends (the account's session epoch moves on), this caller continues in a new one. A wrong
//!   `currentPassword` is 400 and counts in the login lockout of the account's email: once
//!   it is full, 429 with `Retry-After` (a stolen access token buys no more guesses).
//! - `forgot_password`: `POST /api/auth/forgot-password` `{email}` → 202 whatever the email;
//!   a verified account gets a reset email (`PasswordResetRequested`) with a token valid 1 h.
//! - `reset_password`: `POST /api/auth/reset-password` `{email, token, newPassword}` → 200;
//!   ends every session and clears the login lockout. A wrong, used or expired token is a 400.

use crate::domain::account::RESET_LIFETIME;
use crate::domain::{
    Account, AccountStatus, PasswordResetRequested, check_password, normalize_email,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use shop_adapters::api::{Caller, Handled, respond};
use shop_adapters::http::{json_response, parse_json};
use shop_domain::{DomainError, UserId};

use crate::Deps;
use crate::accounts::{
    EmailBody, accepted, attempt_password, claim_email, issue_one_time_token, live_account,
    message, single,
};
use crate::issue::start_session;
use crate::secret::{hash, hash_password};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/auth/change-password` (User).
pub async fn change_password(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(change_password_inner(deps, &req).await)
}

async fn change_password_inner(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    let body: ChangeBody = parse_json(req)?;
    let user_id: UserId = caller
        .sub
        .parse()
        .map_err(|_| DomainError::Forbidden("this token's user has no password here".to_owned()))?;
    let account = deps.accounts.account(user_id).await?.ok_or_else(|| {
        DomainError::Forbidden("this token's user has no password here".to_owned())
    })?;
    check_password(&body.new_password, &account.email, "newPassword").map_err(single)?;
    let stored = Some(account.password_hash.as_str());
    if !attempt_password(deps, &account.email, &body.current_password, stored).await? {
        return Err(DomainError::validation("currentPassword", "is wrong").into());
    }
    let changed = with_new_password(&account, &body.new_password, deps).await?;
    deps.accounts.update_account(&changed, Vec::new()).await?;
    tracing::info!(%user_id, "password changed; other sessions ended");
    let pair = start_session(deps, &changed).await?;
    Ok(json_response(StatusCode::OK, &pair))
}

/// `account` with `password` hashed in, every session ended, and no pending reset.
async fn with_new_password(
    account: &Account,
    password: &str,
    deps: &Deps,
) -> Result<Account, DomainError> {
    Ok(Account {
        password_hash: hash_password(password).await?,
        session_epoch: account.session_epoch + 1,
        reset: None,
        ..account.touched(deps.clock.now())
    })
}

/// `POST /api/auth/forgot-password`.
pub async fn forgot_password(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(forgot_password_inner(deps, &req).await)
}

async fn forgot_password_inner(deps: &Deps, req: &Request) -> Handled {
    let body: EmailBody = parse_json(req)?;
    let email = normalize_email(&body.email).map_err(single)?;
    claim_email(deps, &email).await?;
    let account = live_account(deps, &email).await?;
    if let Some(account) = account.filter(|a| a.status == AccountStatus::Active) {
        let user_id = issue_one_time_token(
            deps,
            req,
            account,
            RESET_LIFETIME,
            |next, token| next.reset = Some(token),
            |next, token, expires_at| PasswordResetRequested {
                user_id: next.user_id,
                email: next.email.clone(),
                full_name: next.full_name.clone(),
                reset_token: token,
                expires_at,
            },
        )
        .await?;
        tracing::info!(%user_id, "password reset requested");
    }
    Ok(accepted(
        "if a verified account has this email, a password reset email is on its way",
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetBody {
    email: String,
    token: String,
    new_password: String,
}

/// `POST /api/auth/reset-password`.
pub async fn reset_password(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(reset_password_inner(deps, &req).await)
}

async fn reset_password_inner(deps: &Deps, req: &Request) -> Handled {
    let body: ResetBody = parse_json(req)?;
    let email = normalize_email(&body.email).map_err(single)?;
    check_password(&body.new_password, &email, "newPassword").map_err(single)?;
    let now = deps.clock.now();
    let account = live_account(deps, &email).await?.filter(|a| {
        a.reset
            .as_ref()
            .is_some_and(|t| t.accepts(&hash(body.token.trim()), now))
    });
    let Some(account) = account else {
        return Err(DomainError::validation(
            "token",
            "is invalid, used or expired; ask for a new reset email",
        )
        .into());
    };
    let changed = with_new_password(&account, &body.new_password, deps).await?;
    deps.accounts.update_account(&changed, Vec::new()).await?;
    deps.accounts.clear_failed_logins(&email).await?;
    tracing::info!(user_id = %changed.user_id, "password reset; every session ended");
    Ok(message(
        StatusCode::OK,
        "password changed: log in with the new password",
    ))
}
