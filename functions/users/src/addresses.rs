//! The caller's addresses, `/api/users/me/addresses[/{id}]`.
//!
//! At most [`MAX_ADDRESSES`] (409 beyond). Exactly one is the default whenever there are any:
//! the first address becomes it, `isDefault: true` moves it, and deleting the default passes
//! it to the oldest remaining address. Every change is written together with the next version
//! of the profile, so two concurrent creates cannot both take the twentieth place.
//! Someone else's address is a 404, never a 403: its existence is not the caller's business.

use crate::domain::{Address, AddressInput, MAX_ADDRESSES, Profile};
use lambda_http::http::StatusCode;
use lambda_http::http::header::{HeaderValue, LOCATION};
use lambda_http::{Body, Error, Request, Response};
use shop_adapters::api::{Handled, ListBody, ensure_no_params, respond};
use shop_adapters::http::{json_response, no_content, parse_json, path_id};
use shop_domain::{AddressId, DomainError};

use crate::Deps;
use crate::profiles::my_profile;

/// `GET /api/users/me/addresses`.
pub async fn list_my_addresses(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list_inner(deps, &req).await)
}

async fn list_inner(deps: &Deps, req: &Request) -> Handled {
    ensure_no_params(req)?;
    let profile = my_profile(deps, req).await?;
    let addresses = deps.profiles.addresses(profile.user_id).await?;
    let body = ListBody {
        items: addresses.iter().map(|a| a.view(&profile)).collect(),
        page_size: MAX_ADDRESSES,
        next_token: None,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /api/users/me/addresses`. With an `Idempotency-Key`, a retry answers the first
/// response instead of adding the address again.
pub async fn create_my_address(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let (requests, clock) = (deps.requests.as_ref(), deps.clock.as_ref());
    shop_adapters::idempotency::idempotent(requests, clock, req, |req| async move {
        respond(create_inner(deps, &req).await)
    })
    .await
}

async fn create_inner(deps: &Deps, req: &Request) -> Handled {
    let input: AddressInput = parse_json(req)?;
    let fields = input.fields.validate()?;
    let address_id = AddressId::new();
    Ok(retried(|| create_once(deps, req, input.is_default, &fields, address_id)).await?)
}

/// The address writes change the profile's count or default, so concurrent writes of one
/// user race on the profile's version. The loser re-reads and tries again (the count is
/// checked again each time), a few times with a growing pause, before answering 409.
async fn retried<F, Fut>(attempt: F) -> Result<Response<Body>, DomainError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Response<Body>, DomainError>>,
{
    const ATTEMPTS: u64 = 10;
    for n in 1..ATTEMPTS {
        match attempt().await {
            Err(DomainError::Conflict(message)) if message.contains("changed meanwhile") => {
                tokio::time::sleep(std::time::Duration::from_millis(20 * n)).await;
            }
            other => return other,
        }
    }
    attempt().await
}

async fn create_once(
    deps: &Deps,
    req: &Request,
    is_default: bool,
    fields: &crate::domain::AddressFields,
    address_id: AddressId,
) -> Result<Response<Body>, DomainError> {
    let profile = my_profile(deps, req).await?;
    if profile.address_count >= MAX_ADDRESSES {
        return Err(DomainError::Conflict(format!(
            "an account keeps at most {MAX_ADDRESSES} addresses; delete one first"
        )));
    }
    let now = deps.clock.now();
    let address = Address {
        address_id,
        user_id: profile.user_id,
        fields: fields.clone(),
        created_at: now,
        updated_at: now,
    };
    let mut next = profile.touched(now);
    next.address_count += 1;
    if is_default || next.default_address_id.is_none() {
        next.default_address_id = Some(address.address_id);
    }
    deps.profiles.put_address(&next, &address, true).await?;
    tracing::info!(user_id = %next.user_id, address_id = %address.address_id, "address added");
    let mut response = json_response(StatusCode::CREATED, &address.view(&next));
    let location = format!("/api/users/me/addresses/{}", address.address_id);
    response.headers_mut().insert(
        LOCATION,
        HeaderValue::from_str(&location).expect("a path of ULIDs is a valid header"),
    );
    Ok(response)
}

/// The caller's profile and their address `{id}`; 404 when they have no such address.
async fn target(deps: &Deps, req: &Request) -> Result<(Profile, Address), DomainError> {
    let id: AddressId = path_id(req, "id").map_err(|e| match e {
        shop_adapters::http::ApiError::Domain(d) => d,
        other => DomainError::validation("id", other.to_string()),
    })?;
    let profile = my_profile(deps, req).await?;
    let address = deps
        .profiles
        .address(profile.user_id, id)
        .await?
        .ok_or_else(|| DomainError::not_found("address", id))?;
    Ok((profile, address))
}

/// `GET /api/users/me/addresses/{id}`.
pub async fn get_my_address(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(
        target(deps, &req)
            .await
            .map(|(profile, address)| json_response(StatusCode::OK, &address.view(&profile)))
            .map_err(Into::into),
    )
}

/// `PUT /api/users/me/addresses/{id}`.
pub async fn replace_my_address(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace_inner(deps, &req).await)
}

async fn replace_inner(deps: &Deps, req: &Request) -> Handled {
    let input: AddressInput = parse_json(req)?;
    let fields = input.fields.validate()?;
    Ok(retried(|| replace_once(deps, req, input.is_default, &fields)).await?)
}

async fn replace_once(
    deps: &Deps,
    req: &Request,
    is_default: bool,
    fields: &crate::domain::AddressFields,
) -> Result<Response<Body>, DomainError> {
    let (profile, address) = target(deps, req).await?;
    let now = deps.clock.now();
    let updated = Address {
        fields: fields.clone(),
        updated_at: now,
        ..address
    };
    let mut next = profile.touched(now);
    if is_default {
        next.default_address_id = Some(updated.address_id);
    }
    deps.profiles.put_address(&next, &updated, false).await?;
    Ok(json_response(StatusCode::OK, &updated.view(&next)))
}

/// `DELETE /api/users/me/addresses/{id}`.
pub async fn delete_my_address(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete_inner(deps, &req).await)
}

async fn delete_inner(deps: &Deps, req: &Request) -> Handled {
    Ok(retried(|| delete_once(deps, req)).await?)
}

async fn delete_once(deps: &Deps, req: &Request) -> Result<Response<Body>, DomainError> {
    let (profile, address) = target(deps, req).await?;
    let mut next = profile.touched(deps.clock.now());
    next.address_count = next.address_count.saturating_sub(1);
    if next.default_address_id == Some(address.address_id) {
        let remaining = deps.profiles.addresses(profile.user_id).await?;
        next.default_address_id = remaining
            .iter()
            .filter(|a| a.address_id != address.address_id)
            .min_by_key(|a| (a.created_at, a.address_id))
            .map(|a| a.address_id);
    }
    deps.profiles
        .delete_address(&next, address.address_id)
        .await?;
    tracing::info!(user_id = %next.user_id, address_id = %address.address_id, "address deleted");
    Ok(no_content())
}
