//! Accounts: registration, email verification, and the admin's role changes.
//!
//! - `register`: `POST /api/auth/register` → 201 `{userId, message}`; 409 when the email has a
//!   verified account. An unverified account of the same email is replaced (new user id, new
//!   password, its tokens void): see `register_inner`. Publishes `UserRegistered` with the
//!   verification token for the email.
//! - `verify_email`: `POST /api/auth/verify-email` `{email, token}` → 200, publishes
//!   `UserVerified`; a wrong, used or expired token is a 400.
//! - `resend_verification`: `POST /api/auth/resend-verification` `{email}` → 202 whatever
//!   the email, so the answer tells nobody which addresses are registered.
//! - `set_user_roles`: `PUT /api/admin/users/{id}/roles` `{roles}` (Admin) → 200, publishes
//!   `UserRolesChanged` when the roles change.

use crate::domain::account::VERIFICATION_LIFETIME;
use crate::domain::{
    Account, AccountStatus, Attempt, OneTimeToken, Registration, Role, UserRegistered,
    UserRolesChanged, UserVerified, VerificationEmailRequested, normalize_email,
};
use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shop_adapters::api::{Caller, Handled, correlation_id, envelope, respond};
use shop_adapters::http::{json_response, parse_json, path_id};
use shop_domain::{DomainError, DomainEvent, EventEnvelope, UserId};

use crate::Deps;
use crate::secret::{hash, hash_password, new_secret, verify_password};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    full_name: String,
}

/// `POST /api/auth/register`.
pub async fn register(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(register_inner(deps, &req).await)
}

async fn register_inner(deps: &Deps, req: &Request) -> Handled {
    let body: RegisterBody = parse_json(req)?;
    let registration = Registration::parse(&body.email, &body.password, &body.full_name)?;
    let now = deps.clock.now();
    let existing = deps.accounts.account_by_email(&registration.email).await?;
    // A verified account holds its email. An unverified one does not: whoever registered it
    // never proved they own the address, and letting it block the owner is how accounts are
    // pre-hijacked (an attacker registers the victim's email with the attacker's password and
    // waits for the victim to verify it). A new registration replaces it — a new user id, a
    // new password, and a new verification token, so every token sent for it is void.
    let replaced = match existing {
        Some(account) if account.status == AccountStatus::Active => {
            return Err(email_taken().into());
        }
        other => other,
    };
    let token = new_secret()?;
    let password_hash = hash_password(&registration.password).await?;
    let account = Account::register(&registration, password_hash, hash(&token), now);
    let event = UserRegistered {
        user_id: account.user_id,
        email: account.email.clone(),
        full_name: account.full_name.clone(),
        verification_token: token,
        expires_at: now + VERIFICATION_LIFETIME,
    };
    let event = envelope(deps.clock.as_ref(), req, account.version, event)?;
    deps.accounts
        .create_account(&account, replaced.as_ref(), vec![event])
        .await
        .map_err(|err| match err {
            DomainError::Conflict(_) => email_taken(),
            other => other,
        })?;
    tracing::info!(user_id = %account.user_id, "account registered");
    // A registration always sends its verification email, whatever cooldown an earlier
    // (perhaps an attacker's) email started: the owner must be able to take the address
    // back. It still counts, so a resend right after it waits out the cooldown.
    let _ = deps
        .accounts
        .count_email(&account.email, now, &deps.config.emails)
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "userId": account.user_id,
            "message": "registered: check your email for the verification link",
        }),
    ))
}

fn email_taken() -> DomainError {
    DomainError::Conflict("an account with this email already exists".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    email: String,
    token: String,
}

/// `POST /api/auth/verify-email`.
pub async fn verify_email(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(verify_email_inner(deps, &req).await)
}

async fn verify_email_inner(deps: &Deps, req: &Request) -> Handled {
    let body: VerifyBody = parse_json(req)?;
    let email = normalize_email(&body.email).map_err(single)?;
    let now = deps.clock.now();
    let account = live_account(deps, &email).await?;
    let valid = account.as_ref().is_some_and(|a| {
        a.verification
            .as_ref()
            .is_some_and(|t| t.accepts(&hash(body.token.trim()), now))
    });
    let (Some(account), true) = (account, valid) else {
        return Err(DomainError::validation(
            "token",
            "is invalid, used or expired; ask for a new verification email",
        )
        .into());
    };
    let verified = Account {
        status: AccountStatus::Active,
        verification: None,
        ..account.touched(now)
    };
    let event = UserVerified {
        user_id: verified.user_id,
        email: verified.email.clone(),
        full_name: verified.full_name.clone(),
        roles: verified.roles.clone(),
    };
    let event = envelope(deps.clock.as_ref(), req, verified.version, event)?;
    deps.accounts.update_account(&verified, vec![event]).await?;
    tracing::info!(user_id = %verified.user_id, "email verified");
    Ok(message(
        StatusCode::OK,
        "email verified: you can log in now",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    pub(crate) email: String,
}

/// `POST /api/auth/resend-verification`.
pub async fn resend_verification(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(resend_verification_inner(deps, &req).await)
}

async fn resend_verification_inner(deps: &Deps, req: &Request) -> Handled {
    let body: EmailBody = parse_json(req)?;
    let email = normalize_email(&body.email).map_err(single)?;
    claim_email(deps, &email).await?;
    let account = live_account(deps, &email).await?;
    if let Some(account) = account.filter(|a| a.status == AccountStatus::Unverified) {
        let user_id = issue_one_time_token(
            deps,
            req,
            account,
            VERIFICATION_LIFETIME,
            |next, token| next.verification = Some(token),
            |next, token, expires_at| VerificationEmailRequested {
                user_id: next.user_id,
                email: next.email.clone(),
                full_name: next.full_name.clone(),
                verification_token: token,
                expires_at,
            },
        )
        .await?;
        tracing::info!(%user_id, "verification email requested");
    }
    Ok(accepted(
        "if an unverified account has this email, a new verification email is on its way",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    roles: Vec<String>,
}

/// `PUT /api/admin/users/{id}/roles` (Admin).
pub async fn set_user_roles(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(set_user_roles_inner(deps, &req).await)
}

async fn set_user_roles_inner(deps: &Deps, req: &Request) -> Handled {
    Caller::required(req)?.ensure_admin()?;
    let user_id: UserId = path_id(req, "id")?;
    let body: RolesBody = parse_json(req)?;
    let roles = Role::parse_set(&body.roles)?;
    let account = deps
        .accounts
        .account(user_id)
        .await?
        .filter(|a| !a.is_lapsed(deps.clock.now()))
        .ok_or_else(|| DomainError::not_found("user", user_id))?;
    if account.roles != roles {
        let changed = Account {
            roles: roles.clone(),
            ..account.touched(deps.clock.now())
        };
        let event = UserRolesChanged {
            user_id,
            email: changed.email.clone(),
            full_name: changed.full_name.clone(),
            roles: roles.clone(),
            previous_roles: account.roles.clone(),
        };
        let event = envelope(deps.clock.as_ref(), req, changed.version, event)?;
        deps.accounts.update_account(&changed, vec![event]).await?;
        tracing::info!(%user_id, roles = ?Role::names(&roles), "roles changed");
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"userId": user_id, "roles": roles}),
    ))
}

/// Stores a fresh one-time token (hashed) on the next version of `account` — `store` puts
/// it in its field — together with the event `announce` makes of the raw token and its
/// expiry, which is how the token reaches the email. The account's id.
pub(crate) async fn issue_one_time_token<E: DomainEvent>(
    deps: &Deps,
    req: &Request,
    account: Account,
    lifetime: TimeDelta,
    store: impl FnOnce(&mut Account, OneTimeToken),
    announce: impl FnOnce(&Account, String, DateTime<Utc>) -> E,
) -> Result<UserId, DomainError> {
    let now = deps.clock.now();
    let token = new_secret()?;
    let expires_at = now + lifetime;
    let mut next = account.touched(now);
    store(
        &mut next,
        OneTimeToken {
            hash: hash(&token),
            expires_at,
        },
    );
    let event = announce(&next, token, expires_at);
    let event = EventEnvelope::new(
        deps.clock.as_ref(),
        correlation_id(req),
        next.version,
        event,
    )
    .to_outgoing()?;
    deps.accounts.update_account(&next, vec![event]).await?;
    Ok(next.user_id)
}

/// The account of `email` unless it has lapsed (unverified for 7 days: as good as deleted).
pub(crate) async fn live_account(deps: &Deps, email: &str) -> Result<Option<Account>, DomainError> {
    let now = deps.clock.now();
    Ok(deps
        .accounts
        .account_by_email(email)
        .await?
        .filter(|a| !a.is_lapsed(now)))
}

/// Checks `password` against `stored` (the account's hash; `None`: no account, a dummy hash
/// is checked so the answer takes as long) as one attempt of `email`'s lockout: counted
/// before the check, refused with 429 + `Retry-After` when the window is full, cleared when
/// the password is right. Login and change-password both go through here.
pub(crate) async fn attempt_password(
    deps: &Deps,
    email: &str,
    password: &str,
    stored: Option<&str>,
) -> Result<bool, DomainError> {
    let policy = deps.config.lockout;
    let counted = deps
        .accounts
        .count_attempt(email, deps.clock.now(), &policy)
        .await?;
    if let Attempt::Locked { retry_after_secs } = counted {
        tracing::info!("password attempt refused: too many attempts for this email");
        return Err(DomainError::TooManyRequests { retry_after_secs });
    }
    let matches = verify_password(password, stored).await? && stored.is_some();
    if matches {
        deps.accounts.clear_failed_logins(email).await?;
    }
    Ok(matches)
}

/// Counts one account email to `email` in its cooldown and daily cap — before the account is
/// looked up, so an unknown address is answered exactly like a known one — and refuses it
/// with 429 + `Retry-After` when either is full. Every route that sends an account email on
/// request (resend-verification, forgot-password) goes through here.
pub(crate) async fn claim_email(deps: &Deps, email: &str) -> Result<(), DomainError> {
    let counted = deps
        .accounts
        .count_email(email, deps.clock.now(), &deps.config.emails)
        .await?;
    if let Attempt::Locked { retry_after_secs } = counted {
        tracing::info!("email refused: this address was sent one too recently");
        return Err(DomainError::TooManyRequests { retry_after_secs });
    }
    Ok(())
}

/// A 400 for one field.
pub(crate) fn single(error: shop_domain::FieldError) -> DomainError {
    DomainError::Validation(vec![error])
}

/// `{"message": …}` with `status`.
pub(crate) fn message(status: StatusCode, text: &str) -> Response<Body> {
    json_response(status, &json!({ "message": text }))
}

/// 202 with `{"message": …}`.
pub(crate) fn accepted(text: &str) -> Response<Body> {
    message(StatusCode::ACCEPTED, text)
}
