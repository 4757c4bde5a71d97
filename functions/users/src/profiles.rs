//! Profiles: the caller's own (`/api/users/me`) and the admin's view of everyone's.
//!
//! - `get_my_profile`: 200 with the profile, created from the token's claims on the first
//!   read if `UserVerified` has not made it yet.
//! - `replace_my_profile` (`PUT`, every editable field) and `patch_my_profile` (`PATCH`, a
//!   JSON merge patch of the same fields): 200 with the profile; publishes
//!   `UserProfileUpdated` naming the changed fields (none changed: no event).
//! - `list_users`: `GET /api/admin/users?search=&role=&pageSize=&nextToken=` (Admin).
//! - `get_user`: `GET /api/admin/users/{id}` (Admin).

use std::collections::HashSet;

use crate::domain::Role;
use crate::domain::{Profile, ProfileInput, UserFilter, UserProfileUpdated};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use shop_adapters::api::{Caller, Handled, ListBody, PageParams, envelope, query_pairs, respond};
use shop_adapters::http::{json_response, parse_json, path_id};
use shop_domain::merge_patch::merge_patch;
use shop_domain::{DomainError, FieldError, UserId};

use crate::Deps;

/// The caller's user id: 403 for a token whose subject is not a user id (a local-only
/// `make token` token, say).
pub(crate) fn caller_id(req: &Request) -> Result<(Caller, UserId), DomainError> {
    let caller = Caller::required(req)?;
    let id = caller.sub.parse().map_err(|_| {
        DomainError::Forbidden(
            "this token's subject is not a registered user; log in as one".to_owned(),
        )
    })?;
    Ok((caller, id))
}

/// The caller's profile, made from the token's claims (`email`, `name`, scopes) if this is
/// the first sign of the user.
pub(crate) async fn my_profile(deps: &Deps, req: &Request) -> Result<Profile, DomainError> {
    let (caller, user_id) = caller_id(req)?;
    if let Some(profile) = deps.profiles.profile(user_id).await? {
        return Ok(profile);
    }
    let email = caller.email.clone().ok_or_else(|| {
        DomainError::Forbidden("this token carries no email; log in again".to_owned())
    })?;
    let name = caller.name.clone().unwrap_or_default();
    let mut profile = Profile::new(user_id, email, name, deps.clock.now());
    profile.roles = roles_of(&caller);
    let stored = deps.profiles.create_profile(&profile).await?;
    tracing::info!(%user_id, "profile created on first read");
    Ok(stored)
}

fn roles_of(caller: &Caller) -> Vec<Role> {
    let mut roles = vec![Role::User];
    if caller.is_seller {
        roles.push(Role::Seller);
    }
    if caller.is_admin {
        roles.push(Role::Admin);
    }
    roles
}

/// `GET /api/users/me`.
pub async fn get_my_profile(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(
        my_profile(deps, &req)
            .await
            .map(|profile| json_response(StatusCode::OK, &profile.view()))
            .map_err(Into::into),
    )
}

/// `PUT /api/users/me`.
pub async fn replace_my_profile(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace_my_profile_inner(deps, &req).await)
}

async fn replace_my_profile_inner(deps: &Deps, req: &Request) -> Handled {
    let input: ProfileInput = parse_json(req)?;
    let profile = my_profile(deps, req).await?;
    save(deps, req, &profile, input.validate()?).await
}

/// `PATCH /api/users/me`.
pub async fn patch_my_profile(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(patch_my_profile_inner(deps, &req).await)
}

async fn patch_my_profile_inner(deps: &Deps, req: &Request) -> Handled {
    let patch: Value = parse_json(req)?;
    if !patch.is_object() {
        return Err(
            DomainError::validation("body", "must be a JSON object (a merge patch)").into(),
        );
    }
    let profile = my_profile(deps, req).await?;
    let mut target = serde_json::to_value(profile.input())
        .map_err(|e| DomainError::Internal(format!("cannot serialize a profile: {e}")))?;
    merge_patch(&mut target, &patch);
    let input: ProfileInput = serde_json::from_value(target)
        .map_err(|e| DomainError::Validation(vec![FieldError::new("body", e.to_string())]))?;
    save(deps, req, &profile, input.validate()?).await
}

/// Writes `input` over `profile`, with an event naming what changed.
async fn save(deps: &Deps, req: &Request, profile: &Profile, input: ProfileInput) -> Handled {
    let (next, changed) = profile.edited(input, deps.clock.now());
    if changed.is_empty() {
        return Ok(json_response(StatusCode::OK, &profile.view()));
    }
    let event = UserProfileUpdated {
        user_id: next.user_id,
        changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        profile: next.input(),
    };
    let event = envelope(deps.clock.as_ref(), req, next.version, event)?;
    deps.profiles.update_profile(&next, vec![event]).await?;
    tracing::info!(user_id = %next.user_id, changed = ?changed, "profile updated");
    Ok(json_response(StatusCode::OK, &next.view()))
}

/// `GET /api/admin/users` (Admin).
pub async fn list_users(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list_users_inner(deps, &req).await)
}

async fn list_users_inner(deps: &Deps, req: &Request) -> Handled {
    Caller::required(req)?.ensure_admin()?;
    let (filter, page) = list_query(query_pairs(req))?;
    let after =
        match &page.next_token {
            Some(token) => Some(token.parse::<UserId>().map_err(|_| {
                DomainError::validation("nextToken", "is not a token this API issued")
            })?),
            None => None,
        };
    let (profiles, last) = deps
        .profiles
        .list_profiles(&filter, page.page_size, after)
        .await?;
    let body = ListBody {
        items: profiles.iter().map(Profile::view).collect(),
        page_size: page.page_size,
        next_token: last.map(|id| id.to_string()),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// Splits the admin list's query into its filter and its paging, every mistake reported.
fn list_query(pairs: Vec<(String, String)>) -> Result<(UserFilter, PageParams), DomainError> {
    let mut filter = UserFilter::default();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut repeated = HashSet::new();
    let mut paging = Vec::new();
    for (key, value) in pairs {
        let value = value.trim().to_owned();
        match key.as_str() {
            "search" | "role" if !seen.insert(key.clone()) => {
                // Reported once however often it is repeated (the details are bounded).
                if repeated.insert(key.clone()) {
                    errors.push(FieldError::new(key, "must be given at most once"));
                }
            }
            "search" if value.chars().count() > 100 => {
                errors.push(FieldError::new(key, "must be at most 100 characters"));
            }
            "search" => filter.search = Some(value.to_lowercase()).filter(|v| !v.is_empty()),
            "role" if value.is_empty() => {}
            "role" => match Role::parse(&value) {
                Some(role) => filter.role = Some(role),
                None => errors.push(FieldError::new(key, "must be one of User, Seller, Admin")),
            },
            _ => paging.push((key, value)),
        }
    }
    let page = PageParams::from_params(paging).map_err(|err| {
        let mut all = errors.clone();
        all.extend(err.details().iter().cloned().map(|mut e| {
            if e.message.starts_with("is not a known parameter") {
                e.message =
                    "is not a known parameter; use search, role, pageSize or nextToken".to_owned();
            }
            e
        }));
        DomainError::Validation(all)
    });
    match page {
        Ok(page) if errors.is_empty() => Ok((filter, page)),
        Ok(_) => Err(DomainError::Validation(errors)),
        Err(err) => Err(err),
    }
}

/// `GET /api/admin/users/{id}` (Admin).
pub async fn get_user(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get_user_inner(deps, &req).await)
}

async fn get_user_inner(deps: &Deps, req: &Request) -> Handled {
    Caller::required(req)?.ensure_admin()?;
    let user_id: UserId = path_id(req, "id")?;
    let profile = deps
        .profiles
        .profile(user_id)
        .await?
        .ok_or_else(|| DomainError::not_found("user", user_id))?;
    Ok(json_response(StatusCode::OK, &profile.view()))
}
