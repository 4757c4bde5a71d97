//! Product handlers: `/api/products` and `/api/products/{id}`.
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

use lambda_http::http::header::{CONTENT_TYPE, ETAG, HeaderValue, LOCATION};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt};
use serde::Serialize;
use shop_adapters::http::{ApiError, json_response, no_content, parse_json, path_id};
use shop_domain::catalog::{
    CategoryTree, Product, ProductCreated, ProductDeleted, ProductInput, ProductModified,
    ProductQuery, ProductView, if_match, not_modified,
};
use shop_domain::{CorrelationId, DomainError, DomainEvent, EventEnvelope, ProductId};

use crate::Deps;
use crate::auth::Caller;

/// The header a caller may set to carry its correlation id into the events.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

type Handled = Result<Response<Body>, ApiError>;

/// `GET /api/products/{id}` (public): the product with its `ETag`; 304 when `If-None-Match`
/// names the current version; 404 when it does not exist or is not visible to the caller.
pub async fn get_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `GET /api/products` (public): one page of active products matching the query string.
pub async fn list_products(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list(deps, &req).await)
}

/// `POST /api/products` (Seller, Admin): 201 with `Location` and `ETag`; 422 when the
/// category or brand does not exist.
pub async fn create_product(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(create(deps, &req).await)
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

/// Client mistakes become `Ok(4xx)`; server-side failures are `Err` so the invocation fails
/// and is logged and counted as an error.
fn respond(result: Handled) -> Result<Response<Body>, Error> {
    match result {
        Ok(response) => Ok(response),
        Err(err) if err.status().is_server_error() => {
            tracing::error!(error = %err, "product request failed");
            Err(Box::new(err))
        }
        Err(err) => Ok(err.into_response()),
    }
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let id: ProductId = path_id(req, "id")?;
    let caller = Caller::from_request(req);
    let product = load(deps, id).await?;
    let visible = product.is_public() || caller.is_some_and(|c| c.may_manage(&product.seller_id));
    if !visible {
        return Err(DomainError::not_found("product", id).into());
    }
    if not_modified(header(req, "if-none-match"), &product) {
        return Ok(Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(ETAG, product.etag())
            .body(Body::Empty)
            .expect("status and header are valid"));
    }
    Ok(with_etag(
        json_response(StatusCode::OK, &product.to_view()),
        &product,
    ))
}

/// The body of `GET /api/products`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody {
    items: Vec<ProductView>,
    page_size: u32,
    next_token: Option<String>,
}

async fn list(deps: &Deps, req: &Request) -> Handled {
    let params: Vec<(String, String)> = req
        .query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let query = ProductQuery::from_params(params)?;
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
    let mut response = with_etag(
        json_response(StatusCode::CREATED, &product.to_view()),
        &product,
    );
    let location = format!("/api/products/{}", product.id);
    response.headers_mut().insert(
        LOCATION,
        HeaderValue::from_str(&location).expect("a ULID path is a valid header"),
    );
    Ok(response)
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
        .delete(current.id, current.version, event)
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
    if_match(header(req, "if-match"), &product)?;
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
        return Ok(with_etag(
            json_response(StatusCode::OK, &current.to_view()),
            &current,
        ));
    }
    if changed.contains(&"categoryId") || changed.contains(&"brandId") {
        ensure_references_exist(deps, &next).await?;
    }
    let expected = current.version;
    let event = envelope(
        deps,
        req,
        next.version,
        ProductModified::new(current, next.clone(), changed),
    )?;
    deps.products
        .update(&next, expected, event)
        .await
        .map_err(|e| lost_race(e, req))?;
    tracing::info!(product_id = %next.id, changed = ?changed, "product modified");
    Ok(with_etag(
        json_response(StatusCode::OK, &next.to_view()),
        &next,
    ))
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

/// A write that lost an optimistic-concurrency race: 412 when the client asked for its
/// version with `If-Match`, 409 otherwise.
fn lost_race(err: DomainError, req: &Request) -> ApiError {
    match err {
        DomainError::Conflict(message) if header(req, "if-match").is_some() => {
            DomainError::PreconditionFailed(message).into()
        }
        other => other.into(),
    }
}

/// The envelope of `data` as the outbox item of this request's write.
fn envelope<T: DomainEvent>(
    deps: &Deps,
    req: &Request,
    aggregate_version: u64,
    data: T,
) -> Result<shop_domain::OutgoingEvent, ApiError> {
    let envelope = EventEnvelope::new(
        deps.clock.as_ref(),
        correlation_id(req),
        aggregate_version,
        data,
    );
    Ok(envelope.to_outgoing()?)
}

/// The caller's `x-correlation-id` when it is a ULID, else a new one.
pub fn correlation_id(req: &Request) -> CorrelationId {
    header(req, CORRELATION_HEADER)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(CorrelationId::new)
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

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn with_etag(mut response: Response<Body>, product: &Product) -> Response<Body> {
    response.headers_mut().insert(
        ETAG,
        HeaderValue::from_str(&product.etag()).expect("a quoted number is a valid header"),
    );
    response
}
