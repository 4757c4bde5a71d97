//! Product handlers: `/api/products`, `/api/products/{id}` and `/api/seller/products`.
//!
//! Each handler is `async fn(&Deps, Request) -> Result<Response<Body>, Error>`. The work is
//! done in an inner function answering `Result<Response<Body>, ApiError>`; [`respond`] turns
//! a 4xx into `Ok` in the API's error shape and a 5xx into `Err`, so only infrastructure
//! failures fail the invocation.
//!
//! Rules worth knowing:
//! - Non-active products are invisible (404) to everyone but their seller and admins.
//! - `If-Match` is optional on PUT, PATCH and DELETE; a stale one is 412. A write that loses
//!   a race without `If-Match` is 409, with it 412.
//! - A PUT or PATCH that changes nothing writes nothing and emits no event.
//! - `categoryId` and `brandId` must name existing resources: 422 otherwise.
//! - A seller's own list shows every status and only their products, whoever calls it: an
//!   Admin sees their own there too, not everyone's.

use crate::domain::{
    CategoryTree, Product, ProductCreated, ProductDeleted, ProductInput, ProductModified,
    ProductQuery, if_match,
};
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use shop_adapters::http::{ApiError, json_response, no_content, parse_json, path_id};
use shop_adapters::idempotency::idempotent;
use shop_domain::{DomainError, ProductId};

use crate::Deps;
use crate::auth::Caller;
use crate::common::{
    Handled, ListBody, PageParams, created, envelope, fresh_or_not_modified, header,
    if_match_header, json_with_etag, lost_race, query_pairs, respond,
};

/// `GET /api/products/{id}` (public): the product with its `ETag`; 304 when `If-None-Match`
/// names the current version; 404 when it does not exist or is not visible to the caller.
pub async fn get_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `GET /api/products` (public): one page of active products matching the query string.
pub async fn list_products(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list(deps, &req).await)
}

/// `GET /api/seller/products/{id}` (Seller, Admin): one of the caller's own products in any
/// status (an Admin: anyone's), with its `ETag` and 304 on `If-None-Match`; 404 for a product
/// of someone else's.
pub async fn get_seller_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get_mine(deps, &req).await)
}

/// `GET /api/seller/products` (Seller, Admin): one page of the caller's own products in
/// every status, newest first. Takes `pageSize` (1–100, default 20) and `nextToken` only.
pub async fn list_seller_products(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list_mine(deps, &req).await)
}

/// `POST /api/products` (Seller, Admin): 201 with `Location` and `ETag`; 422 when the
/// category or brand does not exist.
/// With an `Idempotency-Key`, a retry answers the first response instead of creating again.
pub async fn create_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let (requests, clock) = (deps.requests.as_ref(), deps.clock.as_ref());
    idempotent(requests, clock, req, |req| async move {
        respond(create(deps, &req).await)
    })
    .await
}

/// `PUT /api/products/{id}` (the owning Seller, Admin): replaces every writable field.
pub async fn replace_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace(deps, &req).await)
}

/// `PATCH /api/products/{id}` (the owning Seller, Admin): a JSON merge patch, sent as
/// `application/json` or `application/merge-patch+json`.
pub async fn patch_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(patch(deps, &req).await)
}

/// `DELETE /api/products/{id}` (the owning Seller, Admin): 204.
pub async fn delete_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete(deps, &req).await)
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let id: ProductId = path_id(req, "id")?;
    let product = load(deps, id).await?;
    // A public route gets no claims from the gateway, so drafts and archived products are
    // 404 here for everyone; their seller reads them at `/api/seller/products/{id}`.
    if !product.is_public() {
        return Err(DomainError::not_found("product", id).into());
    }
    Ok(fresh_or_not_modified(req, &product.to_view(), &product))
}

async fn get_mine(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let id: ProductId = path_id(req, "id")?;
    let product = load(deps, id).await?;
    // Someone else's product is not "mine": 404, whatever its status.
    if !caller.may_manage(&product.seller_id) {
        return Err(DomainError::not_found("product", id).into());
    }
    Ok(fresh_or_not_modified(req, &product.to_view(), &product))
}

async fn list(deps: &Deps, req: &Request) -> Handled {
    let query = ProductQuery::from_params(query_pairs(req))?;
    let categories = match query.category {
        None => None,
        Some(id) => {
            let tree = CategoryTree::new(deps.categories.all().await?);
            Some(tree.descendants_of(id))
        }
    };
    let page = deps.products.list(&query, categories.as_deref()).await?;
    let body = ListBody {
        items: page.items.iter().map(Product::to_view).collect(),
        page_size: query.page_size,
        next_token: page.next_token,
    };
    Ok(json_response(StatusCode::OK, &body))
}

async fn list_mine(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let params = PageParams::from_request(req)?;
    let page = deps
        .products
        .list_by_seller(&caller.sub, params.page_size, params.next_token.as_deref())
        .await?;
    let body = ListBody {
        items: page.items.iter().map(Product::to_view).collect(),
        page_size: params.page_size,
        next_token: page.next_token,
    };
    Ok(json_response(StatusCode::OK, &body))
}

async fn create(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let body: serde_json::Value = parse_json(req)?;
    let input = ProductInput::from_json(&body)?;
    let owner = input.owner(&caller.sub, caller.is_admin)?;
    let product = Product::create(input, &owner, deps.clock.now(), ProductId::new())?;
    ensure_references_exist(deps, &product).await?;
    let event = envelope(
        deps,
        req,
        product.version,
        ProductCreated {
            product: product.clone(),
        },
    )?;
    deps.products.create(&product, event).await?;
    tracing::info!(product_id = %product.id, seller_id = %product.seller_id, "product created");
    let location = format!("/api/products/{}", product.id);
    Ok(created(&location, &product.to_view(), &product))
}

async fn replace(deps: &Deps, req: &Request) -> Handled {
    let (caller, current) = load_for_change(deps, req).await?;
    let body: serde_json::Value = parse_json(req)?;
    let input = ProductInput::from_json(&body)?;
    if input
        .seller_id
        .as_ref()
        .is_some_and(|s| *s != current.seller_id)
        && !caller.is_admin
    {
        return Err(DomainError::Forbidden("only an admin may name another seller".into()).into());
    }
    let (next, changed) = current.replace(input, deps.clock.now())?;
    save_change(deps, req, current, next, &changed).await
}

async fn patch(deps: &Deps, req: &Request) -> Handled {
    check_patch_content_type(req)?;
    let (_caller, current) = load_for_change(deps, req).await?;
    let body: serde_json::Value = parse_json(req)?;
    let (next, changed) = current.patch(&body, deps.clock.now())?;
    save_change(deps, req, current, next, &changed).await
}

async fn delete(deps: &Deps, req: &Request) -> Handled {
    let (_caller, current) = load_for_change(deps, req).await?;
    // Deletion is the aggregate's last change: one past its last version, so consumers
    // ordering by version see it after every modification.
    let event = envelope(
        deps,
        req,
        current.version + 1,
        ProductDeleted {
            product_id: current.id,
            seller_id: current.seller_id.clone(),
        },
    )?;
    deps.products
        .delete(&current, event)
        .await
        .map_err(|e| lost_race(e, req))?;
    tracing::info!(product_id = %current.id, "product deleted");
    Ok(no_content())
}

/// The caller and the product for a PUT, PATCH or DELETE, with every check made before the
/// body is read: 401 without a token, 403 without the role, 404 for an unknown id (or one
/// the caller may not see), 403 for someone else's product, 412 for a stale `If-Match`.
async fn load_for_change(deps: &Deps, req: &Request) -> Result<(Caller, Product), ApiError> {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let id: ProductId = path_id(req, "id")?;
    let product = load(deps, id).await?;
    // Another seller's draft is not theirs to know about; a public product is.
    if !product.is_public() && !caller.may_manage(&product.seller_id) {
        return Err(DomainError::not_found("product", id).into());
    }
    caller.ensure_manages(&product.seller_id)?;
    if_match(if_match_header(req), &product)?;
    Ok((caller, product))
}

/// Writes a PUT or PATCH result with its `ProductModified` event, or nothing when nothing
/// changed; answers 200 with the product and its ETag.
async fn save_change(
    deps: &Deps,
    req: &Request,
    current: Product,
    next: Product,
    changed: &[&str],
) -> Handled {
    if changed.is_empty() {
        return Ok(json_with_etag(StatusCode::OK, &current.to_view(), &current));
    }
    if changed.contains(&"categoryId") || changed.contains(&"brandId") {
        ensure_references_exist(deps, &next).await?;
    }
    let event = envelope(
        deps,
        req,
        next.version,
        ProductModified::new(current.clone(), next.clone(), changed),
    )?;
    // The product as loaded, not just its version: the store moves the counts of the
    // category and brand it names, and refuses the write if it is no longer what is stored.
    deps.products
        .update(&current, &next, event)
        .await
        .map_err(|e| lost_race(e, req))?;
    tracing::info!(product_id = %next.id, changed = ?changed, "product modified");
    Ok(json_with_etag(StatusCode::OK, &next.to_view(), &next))
}

async fn load(deps: &Deps, id: ProductId) -> Result<Product, ApiError> {
    deps.products
        .get(id)
        .await?
        .ok_or_else(|| DomainError::not_found("product", id).into())
}

/// 422 when the product's category or brand does not exist (both reported).
async fn ensure_references_exist(deps: &Deps, product: &Product) -> Result<(), ApiError> {
    let mut missing = Vec::new();
    if deps.categories.get(product.category_id).await?.is_none() {
        missing.push(format!("category `{}`", product.category_id));
    }
    if deps.brands.get(product.brand_id).await?.is_none() {
        missing.push(format!("brand `{}`", product.brand_id));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Unprocessable(format!("{} does not exist", missing.join(" and "))).into())
    }
}

/// PATCH takes only a JSON merge patch: `application/merge-patch+json`, or plain
/// `application/json` for clients that cannot set a custom type. Other `+json` types
/// (`application/json-patch+json`) mean a different patch format: 415.
fn check_patch_content_type(req: &Request) -> Result<(), ApiError> {
    let declared = header(req, CONTENT_TYPE.as_str()).unwrap_or("");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence == "application/merge-patch+json" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "content-type `{declared}` is not supported for PATCH; send a JSON merge patch as \
             `application/merge-patch+json` or `application/json`"
        )))
    }
}
