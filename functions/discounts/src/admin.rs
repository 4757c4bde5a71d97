//! The admin's discounts: `/api/admin/discounts` (Admin only, like every `/api/admin` route).
//!
//! - `create_discount` (`POST`): 201 with `Location` and `ETag`; 409 when the code is taken in
//!   any case. Every write commits its event (`DiscountCreated`, `DiscountModified`,
//!   `DiscountDeleted`) through the outbox in the same transaction.
//! - `list_discounts` (`GET`, `pageSize`, `nextToken`): oldest first.
//! - `get_discount`, `replace_discount` (`PUT`, every field; `If-Match` optional, a stale one
//!   412, a race lost without it 409), `delete_discount` (204; `If-Match` likewise).
//! - `list_discount_redemptions` (`GET /{id}/redemptions`): the orders holding a use, paged.

use lambda_http::http::header::{ETAG, HeaderValue, IF_MATCH, LOCATION};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use serde_json::Value;
use shop_adapters::api::{Caller, Handled, ListBody, PageParams, envelope, header, respond};
use shop_adapters::http::{ApiError, json_response, no_content, parse_json, path_id};
use shop_domain::{DiscountId, DomainError, OrderId};

use crate::Deps;
use crate::domain::{Discount, DiscountCreated, DiscountDeleted, DiscountInput, DiscountModified};

/// `POST /api/admin/discounts` (Admin).
pub async fn create_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(create(deps, &req).await)
}

/// `GET /api/admin/discounts` (Admin).
pub async fn list_discounts(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list(deps, &req).await)
}

/// `GET /api/admin/discounts/{id}` (Admin).
pub async fn get_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `PUT /api/admin/discounts/{id}` (Admin).
pub async fn replace_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace(deps, &req).await)
}

/// `DELETE /api/admin/discounts/{id}` (Admin).
pub async fn delete_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete(deps, &req).await)
}

/// `GET /api/admin/discounts/{id}/redemptions` (Admin).
pub async fn list_discount_redemptions(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(redemptions(deps, &req).await)
}

fn etag(discount: &Discount) -> String {
    format!("\"{}\"", discount.version)
}

fn with_etag(mut response: Response<Body>, discount: &Discount) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&etag(discount)) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

/// `If-Match`: absent or `*` passes; otherwise one strong tag must name the current version
/// (RFC 9110 strong comparison, so `W/"3"` never matches); 412 naming the current ETag.
fn check_if_match(req: &Request, current: &Discount) -> Result<(), DomainError> {
    let Some(value) = header(req, IF_MATCH.as_str()) else {
        return Ok(());
    };
    let value = value.trim();
    let current_tag = etag(current);
    let matched = value == "*" || value.split(',').any(|tag| tag.trim() == current_tag);
    if matched {
        Ok(())
    } else {
        Err(DomainError::PreconditionFailed(format!(
            "If-Match `{value}` does not match the current ETag {current_tag}; read the discount again"
        )))
    }
}

fn admin(req: &Request) -> Result<(), DomainError> {
    Caller::required(req)?.ensure_admin()
}

async fn load(deps: &Deps, req: &Request) -> Result<Discount, ApiError> {
    admin(req)?;
    let id: DiscountId = path_id(req, "id")?;
    Ok(deps
        .discounts
        .get(id)
        .await?
        .ok_or_else(|| DomainError::not_found("discount", id))?)
}

fn after<T: std::str::FromStr>(page: &PageParams) -> Result<Option<T>, DomainError> {
    page.next_token
        .as_deref()
        .map(|token| {
            token
                .parse::<T>()
                .map_err(|_| DomainError::validation("nextToken", "is not a token this API issued"))
        })
        .transpose()
}

async fn create(deps: &Deps, req: &Request) -> Handled {
    admin(req)?;
    let body: Value = parse_json(req)?;
    let input = DiscountInput::from_json(&body)?;
    let discount = Discount::create(input, DiscountId::new(), deps.clock.now());
    let event = envelope(
        deps.clock.as_ref(),
        req,
        discount.version,
        DiscountCreated {
            discount: discount.clone(),
        },
    )?;
    deps.discounts.create(&discount, event).await?;
    tracing::info!(discount_id = %discount.id, code = ?discount.code, "discount created");
    let mut response = with_etag(json_response(StatusCode::CREATED, &discount), &discount);
    let location = format!("/api/admin/discounts/{}", discount.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

async fn list(deps: &Deps, req: &Request) -> Handled {
    admin(req)?;
    let page = PageParams::from_request(req)?;
    let (items, last) = deps
        .discounts
        .list(page.page_size, after::<DiscountId>(&page)?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListBody {
            items,
            page_size: page.page_size,
            next_token: last.map(|id| id.to_string()),
        },
    ))
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let discount = load(deps, req).await?;
    Ok(with_etag(
        json_response(StatusCode::OK, &discount),
        &discount,
    ))
}

async fn replace(deps: &Deps, req: &Request) -> Handled {
    let current = load(deps, req).await?;
    check_if_match(req, &current)?;
    let body: Value = parse_json(req)?;
    let input = DiscountInput::from_json(&body)?;
    let Some(next) = current.replaced(input, deps.clock.now()) else {
        return Ok(with_etag(json_response(StatusCode::OK, &current), &current));
    };
    let event = envelope(
        deps.clock.as_ref(),
        req,
        next.version,
        DiscountModified {
            discount: next.clone(),
        },
    )?;
    if let Err(err) = deps.discounts.update(&current, &next, event).await {
        return Err(refused(deps, req, &current, err).await);
    }
    tracing::info!(discount_id = %next.id, version = next.version, "discount replaced");
    Ok(with_etag(json_response(StatusCode::OK, &next), &next))
}

/// A refused write: with `If-Match`, a lost race is 412, but a taken code stays 409 (the
/// discount is still at the version read, so nobody raced it).
async fn refused(deps: &Deps, req: &Request, read: &Discount, err: DomainError) -> ApiError {
    if matches!(err, DomainError::Conflict(_)) && header(req, IF_MATCH.as_str()).is_some() {
        let still = deps.discounts.get(read.id).await;
        if !matches!(still, Ok(Some(ref d)) if d.version == read.version) {
            return DomainError::PreconditionFailed(format!(
                "discount `{}` changed meanwhile; read it again",
                read.id
            ))
            .into();
        }
    }
    err.into()
}

async fn delete(deps: &Deps, req: &Request) -> Handled {
    let current = load(deps, req).await?;
    check_if_match(req, &current)?;
    // The deletion is the discount's last change: one past its last version.
    let event = envelope(
        deps.clock.as_ref(),
        req,
        current.version + 1,
        DiscountDeleted {
            discount_id: current.id,
            code: current.code.clone(),
        },
    )?;
    if let Err(err) = deps.discounts.delete(&current, event).await {
        return Err(refused(deps, req, &current, err).await);
    }
    tracing::info!(discount_id = %current.id, "discount deleted");
    Ok(no_content())
}

async fn redemptions(deps: &Deps, req: &Request) -> Handled {
    let discount = load(deps, req).await?;
    let page = PageParams::from_request(req)?;
    let (items, last) = deps
        .discounts
        .redemptions_of(discount.id, page.page_size, after::<OrderId>(&page)?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListBody {
            items,
            page_size: page.page_size,
            next_token: last.map(|id| id.to_string()),
        },
    ))
}
