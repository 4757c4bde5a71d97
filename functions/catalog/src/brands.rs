//! Brand handlers: `/api/brands` and `/api/brands/{id}`.
//!
//! Reads are public; writes need the Admin role. The shape is the products' (see
//! [`crate::products`]): a named handler per route, an inner function, [`respond`].
//!
//! Rules worth knowing:
//! - The list is paged (`pageSize` 1–100, default 20, and `nextToken`), sorted by name; any
//!   other query parameter is a 400 naming it.
//! - Slugs are unique; the store refuses a taken one with 409.
//! - `If-Match` is optional on PUT and DELETE; a stale one is 412, a race lost without it
//!   409. A PUT that changes nothing writes nothing and emits no event.
//! - A brand that any product (in any status) has cannot be deleted: 409.

use crate::domain::{Brand, BrandCreated, BrandDeleted, BrandInput, BrandModified};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use shop_adapters::http::{ApiError, json_response, no_content, parse_json, path_id};
use shop_adapters::idempotency::idempotent;
use shop_domain::{BrandId, DomainError};

use crate::Deps;
use crate::auth::Caller;
use crate::common::{
    Handled, ListBody, PageParams, admin_target, created, envelope, fresh_or_not_modified,
    json_with_etag, lost_race, respond, update_refused,
};

/// `GET /api/brands` (public): one page of brands sorted by name,
/// `{"items": [...], "pageSize": n, "nextToken": "…" | null}`.
pub async fn list_brands(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list(deps, &req).await)
}

/// `GET /api/brands/{id}` (public): the brand with its `ETag`; 304 when `If-None-Match`
/// names the current version; 404 when there is none.
pub async fn get_brand(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `POST /api/brands` (Admin): 201 with `Location` and `ETag`, and a `BrandCreated` event.
/// With an `Idempotency-Key`, a retry answers the first response instead of creating again.
pub async fn create_brand(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let (requests, clock) = (deps.requests.as_ref(), deps.clock.as_ref());
    idempotent(requests, clock, req, |req| async move {
        respond(create(deps, &req).await)
    })
    .await
}

/// `PUT /api/brands/{id}` (Admin): replaces every writable field; 200 with the brand and its
/// `ETag`, and a `BrandModified` event when anything changed.
pub async fn replace_brand(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace(deps, &req).await)
}

/// `DELETE /api/brands/{id}` (Admin): 204 and a `BrandDeleted` event; 409 while any product
/// has the brand.
pub async fn delete_brand(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete(deps, &req).await)
}

async fn list(deps: &Deps, req: &Request) -> Handled {
    let params = PageParams::from_request(req)?;
    let page = deps
        .brands
        .list(params.page_size, params.next_token.as_deref())
        .await?;
    let body = ListBody {
        items: page.items,
        page_size: params.page_size,
        next_token: page.next_token,
    };
    Ok(json_response(StatusCode::OK, &body))
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let id: BrandId = path_id(req, "id")?;
    let brand = load(deps, id).await?;
    Ok(fresh_or_not_modified(req, &brand, &brand))
}

async fn create(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_admin()?;
    let body: serde_json::Value = parse_json(req)?;
    let input = BrandInput::from_json(&body)?;
    let brand = Brand::create(input, deps.clock.now(), BrandId::new())?;
    let event = envelope(
        deps,
        req,
        brand.version,
        BrandCreated {
            brand: brand.clone(),
        },
    )?;
    deps.brands.create(&brand, event).await?;
    tracing::info!(brand_id = %brand.id, slug = %brand.slug, "brand created");
    let location = format!("/api/brands/{}", brand.id);
    Ok(created(&location, &brand, &brand))
}

async fn replace(deps: &Deps, req: &Request) -> Handled {
    let current = load_for_change(deps, req).await?;
    let body: serde_json::Value = parse_json(req)?;
    let input = BrandInput::from_json(&body)?;
    let (next, changed) = current.replace(input, deps.clock.now())?;
    if changed.is_empty() {
        return Ok(json_with_etag(StatusCode::OK, &current, &current));
    }
    let event = envelope(
        deps,
        req,
        next.version,
        BrandModified::new(current.clone(), next.clone(), &changed),
    )?;
    if let Err(err) = deps.brands.update(&current, &next, event).await {
        let reread = deps.brands.get(current.id);
        return Err(update_refused(err, req, &current, reread).await);
    }
    tracing::info!(brand_id = %next.id, changed = ?changed, "brand modified");
    Ok(json_with_etag(StatusCode::OK, &next, &next))
}

async fn delete(deps: &Deps, req: &Request) -> Handled {
    let current = load_for_change(deps, req).await?;
    if deps.products.any_of_brand(current.id).await? {
        return Err(DomainError::Conflict(format!(
            "brand `{}` still has products; move them to another brand first",
            current.id
        ))
        .into());
    }
    // Deletion is the aggregate's last change: one past its last version, so consumers
    // ordering by version see it after every modification.
    let event = envelope(
        deps,
        req,
        current.version + 1,
        BrandDeleted {
            brand_id: current.id,
        },
    )?;
    deps.brands
        .delete(&current, event)
        .await
        .map_err(|e| lost_race(e, req))?;
    tracing::info!(brand_id = %current.id, "brand deleted");
    Ok(no_content())
}

/// The brand for a PUT or DELETE; see [`admin_target`].
async fn load_for_change(deps: &Deps, req: &Request) -> Result<Brand, ApiError> {
    admin_target(req, "brand", |id: BrandId| deps.brands.get(id)).await
}

async fn load(deps: &Deps, id: BrandId) -> Result<Brand, ApiError> {
    deps.brands
        .get(id)
        .await?
        .ok_or_else(|| DomainError::not_found("brand", id).into())
}
