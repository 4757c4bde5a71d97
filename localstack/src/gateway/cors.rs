//! CORS as an HTTP API with `x-amazon-apigateway-cors` applies it.
//!
//! [API Gateway's documented behaviour](https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
//! with CORS configured, the gateway answers preflight `OPTIONS` requests itself (no route, no
//! authorizer involved), adds the configured headers to every other response whose `Origin` is
//! allowed, and ignores CORS headers the integration returns.

use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::Value;

/// `x-amazon-apigateway-cors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cors {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age: Option<i64>,
    allow_credentials: bool,
}

impl Cors {
    /// Reads the OpenAPI extension (keys as SAM writes them: `allowOrigins`, ...).
    pub fn from_openapi(value: &Value) -> anyhow::Result<Self> {
        let list = |key: &str| -> Vec<String> {
            value
                .get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let max_age = match value.get("maxAge") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            Some(other) => anyhow::bail!("maxAge must be a number, not {other}"),
        };
        let allow_credentials = match value.get("allowCredentials") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        Ok(Self {
            allow_origins: list("allowOrigins"),
            allow_methods: list("allowMethods"),
            allow_headers: list("allowHeaders"),
            expose_headers: list("exposeHeaders"),
            max_age,
            allow_credentials,
        })
    }

    /// A preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    pub fn is_preflight(method: &str, headers: &HeaderMap) -> bool {
        method.eq_ignore_ascii_case("OPTIONS")
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, when it is allowed.
    fn allowed_origin(&self, request: &HeaderMap) -> Option<String> {
        let origin = request.get(header::ORIGIN)?.to_str().ok()?;
        if self.allow_origins.iter().any(|o| o == "*") {
            // Browsers refuse `*` on credentialed requests, so echo the origin then.
            return Some(if self.allow_credentials {
                origin.to_owned()
            } else {
                "*".to_owned()
            });
        }
        self.allow_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
    }

    /// The headers of the gateway's `204` answer to a preflight (none when the origin is not
    /// allowed: the browser then blocks the request, as on AWS).
    pub fn preflight_headers(&self, request: &HeaderMap) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let Some(origin) = self.allowed_origin(request) else {
            return headers;
        };
        insert(&mut headers, "access-control-allow-origin", &origin);
        if !self.allow_methods.is_empty() {
            insert(
                &mut headers,
                "access-control-allow-methods",
                &self.allow_methods.join(","),
            );
        }
        if !self.allow_headers.is_empty() {
            insert(
                &mut headers,
                "access-control-allow-headers",
                &self.allow_headers.join(","),
            );
        }
        if let Some(max_age) = self.max_age {
            insert(&mut headers, "access-control-max-age", &max_age.to_string());
        }
        if self.allow_credentials {
            insert(&mut headers, "access-control-allow-credentials", "true");
        }
        headers
    }

    /// Replaces whatever CORS headers `response` has by the configured ones.
    pub fn apply(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let theirs: Vec<_> = response
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in theirs {
            response.remove(name);
        }
        let Some(origin) = self.allowed_origin(request) else {
            return;
        };
        insert(response, "access-control-allow-origin", &origin);
        if !self.expose_headers.is_empty() {
            insert(
                response,
                "access-control-expose-headers",
                &self.expose_headers.join(","),
            );
        }
        if self.allow_credentials {
            insert(response, "access-control-allow-credentials", "true");
        }
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
