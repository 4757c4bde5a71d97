//! What every HTTP handler shares, whatever its service:
//!
//! - [`Caller`]: who is calling, from the gateway's JWT claims, and the role rules.
//! - [`respond`]: the last step of every handler; 4xx become `Ok` in the API's error shape,
//!   5xx stay `Err` so Lambda logs and counts the failure.
//! - [`envelope`]: a domain event wrapped for the outbox, carrying the caller's
//!   [`correlation_id`].
//! - Query strings: [`query_pairs`], [`PageParams`] (`pageSize` and `nextToken`, nothing
//!   else), [`ensure_no_params`], and the body of a paged list, [`ListBody`].

use std::collections::{BTreeSet, HashSet};

use lambda_http::http::Response;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt};
use serde::Serialize;
use shop_domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, NEXT_TOKEN_MAX_CHARS};
use shop_domain::{
    Clock, CorrelationId, DomainError, DomainEvent, EventEnvelope, FieldError, OutgoingEvent,
};

use crate::http::ApiError;
use crate::tokens::{SCOPE_ADMIN, SCOPE_SELLER};

/// An authenticated caller, from the gateway's JWT claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject: the user id, and a seller's `sellerId`.
    pub sub: String,
    /// The token's `email` claim, when it has one.
    pub email: Option<String>,
    /// The token's `name` claim (the user's full name), when it has one.
    pub name: Option<String>,
    /// The token's scopes (`shop/user`, `shop/seller`, `shop/admin`).
    pub scopes: Vec<String>,
    /// Holds `shop/admin`: may change anything.
    pub is_admin: bool,
    /// Holds `shop/seller`: may create products and change their own.
    pub is_seller: bool,
}

impl Caller {
    /// The caller of `req`, or `None` when the request carries no JWT claims (a public
    /// route, or a claim set without a `sub`).
    pub fn from_request(req: &Request) -> Option<Caller> {
        let context = req.request_context_ref()?;
        // Only the HTTP API (v2) context is compiled in today; other variants carry no JWT.
        #[allow(irrefutable_let_patterns)]
        let RequestContext::ApiGatewayV2(context) = context else {
            return None;
        };
        let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
        let sub = jwt.claims.get("sub").filter(|s| !s.is_empty())?.clone();
        let scopes: Vec<String> = match &jwt.scopes {
            Some(scopes) if !scopes.is_empty() => scopes.clone(),
            _ => jwt
                .claims
                .get("scope")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        };
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
        Some(Caller {
            is_admin: has(SCOPE_ADMIN),
            is_seller: has(SCOPE_SELLER),
            email: jwt.claims.get("email").filter(|e| !e.is_empty()).cloned(),
            name: jwt.claims.get("name").filter(|n| !n.is_empty()).cloned(),
            sub,
            scopes,
        })
    }

    /// The caller of a route that needs a token: 401 when there is none. Behind the
    /// gateway this cannot happen; it guards a misconfigured route or a direct invoke.
    pub fn required(req: &Request) -> Result<Caller, DomainError> {
        Self::from_request(req)
            .ok_or_else(|| DomainError::Unauthorized("this route needs a bearer token".to_owned()))
    }

    /// Whether the caller may write products at all: Sellers and Admins (403 otherwise).
    pub fn ensure_seller(&self) -> Result<(), DomainError> {
        if self.is_seller || self.is_admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "this needs the Seller or Admin role".to_owned(),
            ))
        }
    }

    /// Whether the caller is an Admin (403 otherwise).
    pub fn ensure_admin(&self) -> Result<(), DomainError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "this needs the Admin role".to_owned(),
            ))
        }
    }

    /// Whether the caller may see or change what `owner` owns: the owner or an Admin.
    pub fn may_manage(&self, owner: &str) -> bool {
        self.is_admin || self.sub == owner
    }

    /// [`Self::ensure_seller`] plus ownership: 403 when a Seller touches what another owns.
    pub fn ensure_manages(&self, owner: &str) -> Result<(), DomainError> {
        self.ensure_seller()?;
        if self.may_manage(owner) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "only the owner or an Admin may change this".to_owned(),
            ))
        }
    }
}

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
            tracing::error!(error = %err, "request failed");
            Err(Box::new(err))
        }
        Err(err) => Ok(err.into_response()),
    }
}

/// The value of header `name`, when present and visible ASCII.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The envelope of `data` as the outbox item of this request's write, stamped by `clock`.
pub fn envelope<T: DomainEvent>(
    clock: &dyn Clock,
    req: &Request,
    aggregate_version: u64,
    data: T,
) -> Result<OutgoingEvent, ApiError> {
    let envelope = EventEnvelope::new(clock, correlation_id(req), aggregate_version, data);
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
        // A parameter repeated many times is reported once (the error's details are bounded).
        let mut reported = HashSet::new();
        for (key, value) in params {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if !Self::NAMES.contains(&key) {
                if reported.insert(key.to_owned()) {
                    errors.push(FieldError::new(
                        key,
                        format!(
                            "is not a known parameter; use one of {}",
                            Self::NAMES.join(", ")
                        ),
                    ));
                }
                continue;
            }
            if !seen.insert(key.to_owned()) {
                if reported.insert(key.to_owned()) {
                    errors.push(FieldError::new(key, "must be given at most once"));
                }
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
