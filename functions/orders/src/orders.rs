//! The orders' reads.
//!
//! - `get_order`: `GET /api/orders/{orderId}`: its buyer and Admins see all of it, a Seller
//!   with a line in it only their lines (the totals as stored); anyone else 404, so an order
//!   id tells a stranger nothing.
//! - `list_orders`: `GET /api/orders` (User): mine, newest first.
//! - `list_seller_orders`: `GET /api/seller/orders` (Seller): orders with my lines, only my
//!   lines shown, newest first.
//! - `list_admin_orders`: `GET /api/admin/orders?status=` (Admin): every order, or those in
//!   one status (400 on an unknown one), newest first.
//!
//! Lists are paged as everywhere (`pageSize` 1–100, default 20; `nextToken`, 400 when it is
//! not one this API issued) and answer `{items, pageSize, nextToken}`.

use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use shop_adapters::api::{Caller, Handled, ListBody, PageParams, query_pairs, respond};
use shop_adapters::http::{json_response, path_id};
use shop_domain::{DomainError, FieldError, OrderId};

use crate::Deps;
use crate::domain::{Order, OrderStatus};

/// `GET /api/orders/{orderId}`.
pub async fn get_order(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `GET /api/orders` (User).
pub async fn list_orders(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(mine(deps, &req).await)
}

/// `GET /api/seller/orders` (Seller).
pub async fn list_seller_orders(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(sold(deps, &req).await)
}

/// `GET /api/admin/orders` (Admin).
pub async fn list_admin_orders(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(all(deps, &req).await)
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    let id: OrderId = path_id(req, "orderId")?;
    let not_found = || DomainError::not_found("order", id);
    let order = deps.orders.get(id).await?.ok_or_else(not_found)?;
    let seller = if caller.is_admin || order.user_id == caller.sub {
        None
    } else if caller.is_seller
        && order
            .items
            .iter()
            .any(|l| l.seller_id.as_deref() == Some(caller.sub.as_str()))
    {
        Some(caller.sub.as_str())
    } else {
        return Err(not_found().into());
    };
    Ok(json_response(StatusCode::OK, &order.view(seller)))
}

fn after(page: &PageParams) -> Result<Option<OrderId>, DomainError> {
    page.next_token
        .as_deref()
        .map(|token| {
            token
                .parse::<OrderId>()
                .map_err(|_| DomainError::validation("nextToken", "is not a token this API issued"))
        })
        .transpose()
}

fn listed(
    orders: &[Order],
    seller: Option<&str>,
    page_size: u32,
    last: Option<OrderId>,
) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &ListBody {
            items: orders.iter().map(|o| o.view(seller)).collect(),
            page_size,
            next_token: last.map(|id| id.to_string()),
        },
    )
}

async fn mine(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    let page = PageParams::from_request(req)?;
    let (orders, last) = deps
        .orders
        .list_by_user(&caller.sub, page.page_size, after(&page)?)
        .await?;
    Ok(listed(&orders, None, page.page_size, last))
}

async fn sold(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let page = PageParams::from_request(req)?;
    let (orders, last) = deps
        .orders
        .list_by_seller(&caller.sub, page.page_size, after(&page)?)
        .await?;
    Ok(listed(&orders, Some(&caller.sub), page.page_size, last))
}

async fn all(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_admin()?;
    let (statuses, paging): (Vec<_>, Vec<_>) = query_pairs(req)
        .into_iter()
        .partition(|(k, _)| k == "status");
    let mut errors: Vec<FieldError> = Vec::new();
    let status = match statuses.as_slice() {
        [] => None,
        [(_, value)] if value.trim().is_empty() => None,
        [(_, value)] => match OrderStatus::parse(value.trim(), "status") {
            Ok(status) => Some(status),
            Err(err) => {
                errors.extend(err.details().iter().cloned());
                None
            }
        },
        _ => {
            errors.push(FieldError::new("status", "must be given at most once"));
            None
        }
    };
    let page = match PageParams::from_params(paging) {
        Ok(page) => Some(page),
        Err(err) => {
            errors.extend(err.details().iter().cloned());
            None
        }
    };
    let page = match page {
        Some(page) if errors.is_empty() => page,
        _ => return Err(DomainError::Validation(errors).into()),
    };
    let (orders, last) = deps
        .orders
        .list_all(status, page.page_size, after(&page)?)
        .await?;
    Ok(listed(&orders, None, page.page_size, last))
}
