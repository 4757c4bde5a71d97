//! What the product, category and brand handlers share, so each rule has one copy.
//!
//! - [`respond`]: the last step of every handler; 4xx become `Ok` in the API's error shape,
//!   5xx stay `Err` so Lambda logs and counts the failure.
//! - Conditional requests: [`with_etag`], [`json_with_etag`], [`created`],
//!   [`fresh_or_not_modified`] (the 304 of a GET), and [`lost_race`] (409 or 412 when a
//!   write loses an optimistic-concurrency race).
//! - Events: [`envelope`] wraps a domain event as the outbox item of this request's write,
//!   carrying the caller's [`correlation_id`].
//! - [`admin_target`]: the checks before an admin-only PUT or DELETE (role, id, existence,
//!   `If-Match`).
//! - Query strings: [`query_pairs`], [`PageParams`] (`pageSize` and `nextToken`, nothing
//!   else), [`ensure_no_params`], and the body of a paged list, [`ListBody`].

use std::collections::{BTreeSet, HashSet};

use lambda_http::http::header::{ETAG, HeaderValue, IF_MATCH, IF_NONE_MATCH, LOCATION};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt};
use serde::Serialize;
use shop_adapters::http::{ApiError, json_response, path_id};
use shop_domain::catalog::query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, NEXT_TOKEN_MAX_CHARS};
use shop_domain::catalog::{Versioned, if_match};
use shop_domain::{
    CorrelationId, DomainError, DomainEvent, EventEnvelope, FieldError, OutgoingEvent,
};

use crate::Deps;
use crate::auth::Caller;

/// The header a caller may set to carry its correlation id into the events.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// What a handler's inner function answers: a response, or the error [`respond`] renders.
pub type Handled = Result<Response<Body>, ApiError>;

/// Client mistakes become `Ok(4xx)`; server-side failures are `Err` so the invocation fails
/// and is logged and counted as an error.
pub fn respond(result: Handled) -> Result<Response<Body>, Error> {
    match result {
        Ok(response) => Ok(response),
        Err(err) if err.status().is_server_error() => {
            tracing::error!(error = %err, "catalog request failed");
            Err(Box::new(err))
        }
        Err(err) => Ok(err.into_response()),
    }
}

/// The value of header `name`, when present and visible ASCII.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

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
    if shop_domain::catalog::not_modified(header(req, IF_NONE_MATCH.as_str()), resource) {
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

/// Every query-string parameter as a (name, value) pair, a repeated one once per value, so
/// the parsers can refuse repetitions instead of silently taking the first.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// 400 naming every query parameter, for lists that take none: a typo'd filter should be an
/// error, not silently ignored.
pub fn ensure_no_params(req: &Request) -> Result<(), ApiError> {
    // A set: a repeated name is reported once, and in a stable order.
    let names: BTreeSet<String> = query_pairs(req).into_iter().map(|(k, _)| k).collect();
    if names.is_empty() {
        return Ok(());
    }
    let errors = names
        .into_iter()
        .map(|name| FieldError::new(name, "is not a known parameter; this list takes none"))
        .collect();
    Err(DomainError::Validation(errors).into())
}

/// The query of a list that is only paged: `pageSize` (1–100, default 20) and `nextToken`.
///
/// Parsed with the rules of `ProductQuery::from_params`: unknown or repeated parameters are
/// refused, every bad one reported under its own name, and an empty value counts as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParams {
    /// Items per page.
    pub page_size: u32,
    /// The opaque cursor from the previous page; its signature is the store's to check.
    pub next_token: Option<String>,
}

impl Default for PageParams {
    fn default() -> Self {
        Self {
            page_size: DEFAULT_PAGE_SIZE,
            next_token: None,
        }
    }
}

impl PageParams {
    const NAMES: [&str; 2] = ["pageSize", "nextToken"];

    /// Parses the (already URL-decoded) query-string pairs.
    pub fn from_params<I, K, V>(params: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut errors = Vec::new();
        let mut page = PageParams::default();
        let mut seen = HashSet::new();
        for (key, value) in params {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if !Self::NAMES.contains(&key) {
                errors.push(FieldError::new(
                    key,
                    format!(
                        "is not a known parameter; use one of {}",
                        Self::NAMES.join(", ")
                    ),
                ));
                continue;
            }
            if !seen.insert(key.to_owned()) {
                errors.push(FieldError::new(key, "must be given at most once"));
                continue;
            }
            if value.is_empty() {
                continue;
            }
            if key == "pageSize" {
                match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => page.page_size = n,
                    _ => errors.push(FieldError::new(
                        key,
                        format!("must be an integer from 1 to {MAX_PAGE_SIZE}"),
                    )),
                }
            } else if value.len() > NEXT_TOKEN_MAX_CHARS {
                errors.push(FieldError::new(key, "is not a token this API issued"));
            } else {
                page.next_token = Some(value.to_owned());
            }
        }
        if errors.is_empty() {
            Ok(page)
        } else {
            Err(DomainError::Validation(errors))
        }
    }

    /// The paging parameters of `req`'s query string.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self::from_params(query_pairs(req))?)
    }
}

/// The body of a paged list: `{"items": [...], "pageSize": 20, "nextToken": "…" | null}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListBody<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// The page size asked for (or the default), so a client can tell a short last page.
    pub page_size: u32,
    /// The cursor of the next page; `null` on the last.
    pub next_token: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: DomainError) -> Vec<String> {
        let mut fields: Vec<String> = err.details().iter().map(|f| f.field.clone()).collect();
        fields.sort();
        fields
    }

    #[test]
    fn page_params_default_to_twenty_without_a_token() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            PageParams::from_params(none).unwrap(),
            PageParams::default()
        );
        let page = PageParams::from_params([("pageSize", "5"), ("nextToken", "abc")]).unwrap();
        assert_eq!(page.page_size, 5);
        assert_eq!(page.next_token.as_deref(), Some("abc"));
        let empty = PageParams::from_params([("pageSize", ""), ("nextToken", " ")]).unwrap();
        assert_eq!(empty, PageParams::default());
    }

    #[test]
    fn page_params_name_every_unknown_repeated_or_out_of_range_parameter() {
        let err = PageParams::from_params([("pageSize", "0"), ("sortBy", "name")]).unwrap_err();
        assert_eq!(fields(err), ["pageSize", "sortBy"]);
        let err = PageParams::from_params([("pageSize", "101")]).unwrap_err();
        assert_eq!(fields(err), ["pageSize"]);
        let err = PageParams::from_params([("nextToken", "a"), ("nextToken", "b")]).unwrap_err();
        assert_eq!(fields(err), ["nextToken"]);
        let long = "x".repeat(NEXT_TOKEN_MAX_CHARS + 1);
        let err = PageParams::from_params([("nextToken", long.as_str())]).unwrap_err();
        assert_eq!(fields(err), ["nextToken"]);
    }
}
