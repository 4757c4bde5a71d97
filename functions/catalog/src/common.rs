//! What the product, category and brand handlers share, so each rule has one copy (the
//! rules every service shares — [`respond`], [`PageParams`], [`ListBody`] … — live in
//! `shop_adapters::api` and are re-exported here).
//!
//! - Conditional requests: [`with_etag`], [`json_with_etag`], [`created`],
//!   [`fresh_or_not_modified`] (the 304 of a GET), and [`lost_race`] (409 or 412 when a
//!   write loses an optimistic-concurrency race).
//! - Events: [`envelope`] wraps a domain event as the outbox item of this request's write,
//!   carrying the caller's [`correlation_id`].
//! - [`admin_target`]: the checks before an admin-only PUT or DELETE (role, id, existence,
//!   `If-Match`).
//! - Query strings: [`query_pairs`], [`PageParams`] (`pageSize` and `nextToken`, nothing
//!   else), [`ensure_no_params`], and the body of a paged list, [`ListBody`].

use crate::domain::{Versioned, if_match};
use lambda_http::http::header::{ETAG, HeaderValue, IF_MATCH, IF_NONE_MATCH, LOCATION};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Request};
use serde::Serialize;
use shop_adapters::api;
pub use shop_adapters::api::{
    CORRELATION_HEADER, Handled, ListBody, PageParams, correlation_id, ensure_no_params, header,
    query_pairs, respond,
};
use shop_adapters::http::{ApiError, json_response, path_id};
use shop_domain::{DomainError, DomainEvent, OutgoingEvent};

use crate::Deps;
use crate::auth::Caller;

/// The request's `If-Match` header.
pub fn if_match_header(req: &Request) -> Option<&str> {
    header(req, IF_MATCH.as_str())
}

/// `response` with the `ETag` of `resource`'s version.
pub fn with_etag(mut response: Response<Body>, resource: &impl Versioned) -> Response<Body> {
    response.headers_mut().insert(
        ETAG,
        HeaderValue::from_str(&resource.etag()).expect("a quoted number is a valid header"),
    );
    response
}

/// A JSON response of `body` (the resource's view) with the resource's `ETag`.
pub fn json_with_etag<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
    resource: &impl Versioned,
) -> Response<Body> {
    with_etag(json_response(status, body), resource)
}

/// `201 Created` with `body`, the resource's `ETag` and `Location: location`.
pub fn created<T: Serialize + ?Sized>(
    location: &str,
    body: &T,
    resource: &impl Versioned,
) -> Response<Body> {
    let mut response = json_with_etag(StatusCode::CREATED, body, resource);
    response.headers_mut().insert(
        LOCATION,
        HeaderValue::from_str(location).expect("a path of ULIDs is a valid header"),
    );
    response
}

/// `304 Not Modified` with the resource's `ETag` and no body.
pub fn not_modified_response(resource: &impl Versioned) -> Response<Body> {
    Response::builder()
        .status(StatusCode::NOT_MODIFIED)
        .header(ETAG, resource.etag())
        .body(Body::Empty)
        .expect("status and header are valid")
}

/// The answer to a GET of one resource: 304 when `If-None-Match` names its current version,
/// else 200 with `body` and the `ETag`.
pub fn fresh_or_not_modified<T: Serialize + ?Sized>(
    req: &Request,
    body: &T,
    resource: &impl Versioned,
) -> Response<Body> {
    if crate::domain::not_modified(header(req, IF_NONE_MATCH.as_str()), resource) {
        not_modified_response(resource)
    } else {
        json_with_etag(StatusCode::OK, body, resource)
    }
}

/// A write that lost an optimistic-concurrency race: 412 when the client asked for its
/// version with `If-Match`, 409 otherwise.
pub fn lost_race(err: DomainError, req: &Request) -> ApiError {
    match err {
        DomainError::Conflict(message) if if_match_header(req).is_some() => {
            DomainError::PreconditionFailed(message).into()
        }
        other => other.into(),
    }
}

/// Why an update of a resource with a unique slug was refused.
///
/// The store answers a stale version and a taken slug alike with
/// [`DomainError::Conflict`]. Without `If-Match` both are a 409 anyway; with it, a lost race
/// is a 412 but a taken slug must stay a 409, or the client would re-read, retry and fail
/// again forever. So the resource is read once more (`reread`, only on this error path): if
/// it is still at the version the handler read, nobody raced it and the slug is the reason.
pub async fn update_refused<T, F>(err: DomainError, req: &Request, read: &T, reread: F) -> ApiError
where
    T: Versioned,
    F: Future<Output = Result<Option<T>, DomainError>>,
{
    if matches!(err, DomainError::Conflict(_))
        && if_match_header(req).is_some()
        && let Ok(Some(stored)) = reread.await
        && stored.version() == read.version()
    {
        return err.into();
    }
    lost_race(err, req)
}

/// The envelope of `data` as the outbox item of this request's write.
pub fn envelope<T: DomainEvent>(
    deps: &Deps,
    req: &Request,
    aggregate_version: u64,
    data: T,
) -> Result<OutgoingEvent, ApiError> {
    api::envelope(deps.clock.as_ref(), req, aggregate_version, data)
}

/// The `kind` resource (`category`, `brand`) an admin-only PUT or DELETE addresses, with
/// every check made before the body is read: 401 without a token, 403 without the Admin role,
/// 400 for a malformed id, 404 when `load` finds nothing, 412 for a stale `If-Match`.
pub async fn admin_target<I, T, Fut>(
    req: &Request,
    kind: &str,
    load: impl FnOnce(I) -> Fut,
) -> Result<T, ApiError>
where
    I: std::str::FromStr + Copy + std::fmt::Display,
    I::Err: Into<DomainError>,
    T: Versioned,
    Fut: std::future::Future<Output = Result<Option<T>, DomainError>>,
{
    let caller = Caller::required(req)?;
    caller.ensure_admin()?;
    let id: I = path_id(req, "id")?;
    let resource = load(id)
        .await?
        .ok_or_else(|| DomainError::not_found(kind, id))?;
    if_match(if_match_header(req), &resource)?;
    Ok(resource)
}
