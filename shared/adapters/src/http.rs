//! HTTP helpers for API Gateway (HTTP API, payload v2) handlers on `lambda_http`.
//!
//! - [`ApiError`]: everything a handler can answer with besides success, and
//!   [`ApiError::into_response`] producing the one error shape of the API:
//!   `{"error": "ValidationError", "message": "...", "details": [{"field": "price", "message": "..."}]}`.
//! - [`parse_json`]: the body as `T`, answering 413 / 415 / 400 instead of ever failing with 500.
//! - [`path_param`], [`path_id`], [`query_param`], [`query_param_as`]: the extractors, so no
//!   handler repeats parameter boilerplate.
//! - [`json_response`]: a success response with a JSON body.

use std::str::FromStr;

use lambda_http::http::header::{
    CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::{DomainError, FieldError};

/// The largest request body a function accepts: 1 MiB.
///
/// The gateway passes up to 10 MB but a Lambda invoke payload is capped at 6 MB; no request
/// of this API needs more than a fraction of 1 MB, so anything larger is refused early.
pub const MAX_BODY_BYTES: usize = 1_048_576;

/// A handler's non-success answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// A domain error; its variant decides the status.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The body exceeds [`MAX_BODY_BYTES`] (413).
    #[error("the request body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes (1 MiB)")]
    PayloadTooLarge {
        /// The body's size in bytes.
        size: usize,
    },
    /// The body is empty or not syntactically valid JSON (400); the message says where.
    #[error("{0}")]
    MalformedJson(String),
    /// The body is not declared as JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::Domain(err) => err.status(),
            Self::PayloadTooLarge { .. } => 413,
            Self::MalformedJson(_) => 400,
            Self::UnsupportedMediaType(_) => 415,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The public error name, the `error` field of the body.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Domain(err) => err.kind(),
            Self::PayloadTooLarge { .. } => "PayloadTooLarge",
            Self::MalformedJson(_) => "MalformedJson",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
        }
    }

    /// The message shown to the client.
    ///
    /// Server-side failures get a fixed message: their details (table names, SDK errors) help
    /// an attacker more than a user, and they are logged in full by [`Self::into_response`].
    fn public_message(&self) -> String {
        match self {
            Self::Domain(DomainError::Internal(_)) => "internal error".to_owned(),
            Self::Domain(DomainError::Unavailable(_)) => {
                "a dependency is temporarily unavailable; retry later".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The JSON error response: the right status, `content-type: application/json`, and for
    /// 429 a `Retry-After`, for 401 a `WWW-Authenticate` header (RFC 6750).
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        } else {
            tracing::info!(error = %self, status = status.as_u16(), "request rejected");
        }
        let details: &[FieldError] = match &self {
            Self::Domain(err) => err.details(),
            _ => &[],
        };
        let body = ErrorBody {
            error: self.kind(),
            message: self.public_message(),
            details,
        };
        let mut response = json_response(status, &body);
        let headers = response.headers_mut();
        match &self {
            Self::Domain(DomainError::TooManyRequests { retry_after_secs }) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Domain(DomainError::Unauthorized(_)) => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"shop\""),
                );
            }
            _ => {}
        }
        response
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [FieldError],
}

/// A response with `status` and `body` serialized as JSON.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(json) => Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::Text(json))
            .expect("status and header are valid"),
        Err(err) => {
            // Only a broken `Serialize` impl (e.g. a map with non-string keys) gets here.
            tracing::error!(error = %err, "cannot serialize response body");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header(CONTENT_TYPE, "application/json")
                .body(Body::Text(
                    r#"{"error":"InternalError","message":"internal error"}"#.to_owned(),
                ))
                .expect("status and header are valid")
        }
    }
}

/// An empty `204 No Content` response.
pub fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("status is valid")
}

/// The request body parsed as JSON into `T`.
///
/// Checked in this order, so the cheapest refusal comes first:
/// 1. over [`MAX_BODY_BYTES`] → 413 `PayloadTooLarge`;
/// 2. `content-type` not `application/json` or `application/*+json` → 415;
/// 3. empty or syntactically invalid JSON → 400 `MalformedJson`, the message giving line and column;
/// 4. valid JSON of the wrong shape (wrong type, unknown enum value, missing field, invalid
///    id or currency) → 400 `ValidationError` whose `details` name the field path
///    (`items[0].quantity`).
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { size: body.len() });
    }
    check_json_content_type(req.headers())?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(body_error)?;
    // Rejects trailing garbage after the document (`{"a":1} x`).
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"));
    if is_json {
        Ok(())
    } else if declared.is_empty() {
        Err(ApiError::UnsupportedMediaType(
            "the request has no content-type; send `content-type: application/json`".to_owned(),
        ))
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "content-type `{declared}` is not supported; send `content-type: application/json`"
        )))
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::MalformedJson(format!("the request body is not valid JSON: {err}"))
}

fn body_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = err.inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            // serde_json appends " at line 1 column 17"; the field path already says where.
            let full = inner.to_string();
            let message = match full.rfind(" at line ") {
                Some(cut) => full[..cut].to_owned(),
                None => full,
            };
            let field = field_path(err.path(), &message);
            DomainError::Validation(vec![FieldError::new(field, message)]).into()
        }
        _ => malformed(inner),
    }
}

/// The path of the offending field. serde reports a missing field at its parent object,
/// naming the field only in the message, so the name is appended from there. (An unknown
/// field's key is already the last path segment.)
fn field_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let parent = match path.to_string() {
        root if root == "." => String::new(),
        other => other,
    };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (parent.is_empty(), missing) {
        (true, Some(name)) => name.to_owned(),
        (false, Some(name)) => format!("{parent}.{name}"),
        // The document itself has the wrong type (an array where an object was expected).
        (true, None) => "body".to_owned(),
        (false, None) => parent,
    }
}

/// The path parameter `name` (`/api/products/{id}`).
///
/// Missing means the route in template.yaml does not declare it; answered as a 400 naming it
/// rather than a 500, since a direct invoke without it is the caller's mistake.
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| DomainError::validation(name, "is required in the path").into())
}

/// The path parameter `name` parsed as a typed id (or any type whose parse error is a
/// [`DomainError`]); a bad value is a 400 whose detail names the parameter.
pub fn path_id<T>(req: &Request, name: &str) -> Result<T, ApiError>
where
    T: FromStr,
    T::Err: Into<DomainError>,
{
    let raw = path_param(req, name)?;
    raw.parse::<T>().map_err(|e| {
        let err = match e.into() {
            // The id type names its field generically (`productId`); the client knows it as `name`.
            DomainError::Validation(fields) => DomainError::Validation(
                fields
                    .into_iter()
                    .map(|f| FieldError::new(name, f.message))
                    .collect(),
            ),
            other => other,
        };
        ApiError::from(err)
    })
}

/// The first value of query parameter `name`, if present.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

/// Query parameter `name` parsed as `T` (`pageSize`); absent is `None`, unparsable is a 400
/// naming the parameter.
pub fn query_param_as<T>(req: &Request, name: &str) -> Result<Option<T>, ApiError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    query_param(req, name)
        .map(|raw| {
            raw.parse::<T>().map_err(|e| {
                DomainError::validation(name, format!("`{raw}` is not valid: {e}")).into()
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_http::http;
    use serde::Deserialize;
    use serde_json::{Value, json};
    use shop_domain::{Money, ProductId};

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)] // fields are read only through Debug in the asserts
    struct NewProduct {
        name: String,
        price: Money,
        colour: Colour,
        #[serde(default)]
        items: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Colour {
        Red,
        Green,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: u32,
    }

    fn post(body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::Text(body.to_owned()))
            .unwrap()
    }

    fn body_json(response: Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    fn detail_field(err: ApiError) -> String {
        match err {
            ApiError::Domain(DomainError::Validation(fields)) => fields[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    const VALID: &str = r#"{"name":"Mug","price":{"amount":1999,"currency":"EUR"},"colour":"Red"}"#;

    #[test]
    fn parses_a_valid_body() {
        let product: NewProduct = parse_json(&post(VALID)).unwrap();
        assert_eq!(product.price.amount_minor, 1999);
    }

    #[test]
    fn oversized_body_is_413() {
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let err = parse_json::<NewProduct>(&post(&big)).unwrap_err();
        assert_eq!(err.status(), 413);
        assert_eq!(err.kind(), "PayloadTooLarge");
    }

    #[test]
    fn non_json_content_type_is_415() {
        let mut req = post(VALID);
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(parse_json::<NewProduct>(&req).unwrap_err().status(), 415);
        req.headers_mut().remove(CONTENT_TYPE);
        assert_eq!(parse_json::<NewProduct>(&req).unwrap_err().status(), 415);
        req.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/merge-patch+json"),
        );
        assert!(parse_json::<NewProduct>(&req).is_ok());
    }

    #[test]
    fn malformed_or_empty_json_is_400_with_position() {
        let trailing = format!("{VALID} trailing");
        for body in ["", "{\"name\": ", "{\"name\": \"Mug\",}", &trailing] {
            let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
            assert_eq!(err.kind(), "MalformedJson", "{body}");
            assert!(err.to_string().contains("line 1 column"), "{err}");
        }
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let body = r#"{"name":"Mug","price":{"amount":"lots","currency":"EUR"},"colour":"Red"}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(err.kind(), "ValidationError");
        assert_eq!(detail_field(err), "price.amount");

        let body = r#"{"name":"Mug","price":{"amount":1,"currency":"EUR"},"colour":"Red","items":[{"quantity":-1}]}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(detail_field(err), "items[0].quantity");
    }

    #[test]
    fn unknown_enum_value_and_invalid_currency_are_validation_errors() {
        let body = r#"{"name":"Mug","price":{"amount":1,"currency":"EUR"},"colour":"Purple"}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `Purple`"),
            "{err}"
        );
        assert_eq!(detail_field(err), "colour");

        let body = r#"{"name":"Mug","price":{"amount":1,"currency":"euro"},"colour":"Red"}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(detail_field(err), "price.currency");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let body = r#"{"name":"Mug","colour":"Red"}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(detail_field(err), "price");

        let body = r#"{"name":"Mug","price":{"currency":"EUR"},"colour":"Red"}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(detail_field(err), "price.amount");

        let body = r#"{"name":"Mug","price":{"amount":1,"currency":"EUR"},"colour":"Red","x":1}"#;
        let err = parse_json::<NewProduct>(&post(body)).unwrap_err();
        assert_eq!(detail_field(err), "x");

        let err = parse_json::<NewProduct>(&post("42")).unwrap_err();
        assert_eq!(detail_field(err), "body");
    }

    #[test]
    fn validation_error_response_has_the_api_shape() {
        let err = ApiError::from(DomainError::validation("price", "must be greater than 0"));
        let response = err.into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            body_json(response),
            json!({
                "error": "ValidationError",
                "message": "invalid input: price: must be greater than 0",
                "details": [{"field": "price", "message": "must be greater than 0"}]
            })
        );
    }

    #[test]
    fn error_without_details_omits_them() {
        let response = ApiError::from(DomainError::not_found("product", "p1")).into_response();
        assert_eq!(response.status(), 404);
        let body = body_json(response);
        assert_eq!(body["error"], "NotFound");
        assert!(body.get("details").is_none());
    }

    #[test]
    fn server_errors_hide_their_internals() {
        let response = ApiError::from(DomainError::Internal("table prod-orders missing".into()))
            .into_response();
        assert_eq!(response.status(), 500);
        let body = body_json(response);
        assert_eq!(body["message"], "internal error");
    }

    #[test]
    fn throttling_and_auth_errors_carry_their_headers() {
        let response = ApiError::from(DomainError::TooManyRequests {
            retry_after_secs: 30,
        })
        .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "30");

        let response = ApiError::from(DomainError::Unauthorized("expired".into())).into_response();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    }

    fn with_path(params: &[(&str, &str)]) -> Request {
        let params: HashMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        http::Request::builder()
            .body(Body::Empty)
            .unwrap()
            .with_path_parameters(params)
    }

    #[test]
    fn path_id_parses_typed_ids_and_names_the_parameter_on_error() {
        let id = ProductId::new();
        let req = with_path(&[("id", &id.to_string())]);
        assert_eq!(path_id::<ProductId>(&req, "id").unwrap(), id);

        let req = with_path(&[("id", "nope")]);
        let err = path_id::<ProductId>(&req, "id").unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(detail_field(err), "id");

        let req = with_path(&[]);
        assert_eq!(detail_field(path_param(&req, "id").unwrap_err()), "id");
    }

    #[test]
    fn query_params_are_optional_and_typed() {
        let query: HashMap<String, String> = HashMap::from([
            ("pageSize".to_owned(), "20".to_owned()),
            ("bad".to_owned(), "x".to_owned()),
        ]);
        let req = http::Request::builder()
            .body(Body::Empty)
            .unwrap()
            .with_query_string_parameters(query);
        assert_eq!(query_param_as::<u32>(&req, "pageSize").unwrap(), Some(20));
        assert_eq!(query_param_as::<u32>(&req, "nextToken").unwrap(), None);
        assert_eq!(query_param(&req, "bad").as_deref(), Some("x"));
        assert_eq!(
            detail_field(query_param_as::<u32>(&req, "bad").unwrap_err()),
            "bad"
        );
    }
}
