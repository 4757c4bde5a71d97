//! API Gateway (HTTP API, payload format 2.0) in front of the local functions.
//!
//! [`Gateway::from_stack`] reads every `AWS::ApiGatewayV2::Api` of the provisioned [`Stack`]:
//! its routes come from its OpenAPI `Body` (what SAM makes of `HttpApi` events: routes, Lambda
//! integrations, JWT authorizers, CORS) or, for a plain API, from the `Route`, `Integration` and
//! `Authorizer` resources that name it; its limits from its stage. [`serve`] then answers HTTP
//! like API Gateway does:
//!
//! - route selection ([`routes`]): most specific path, exact method before `ANY`, `$default` last;
//!   no route → `404 {"message":"Not Found"}`;
//! - route throttling ([`throttle`]): the `$default` stage's `DefaultRouteSettings` and
//!   `RouteSettings` give each route a token bucket shared by all its callers; an empty bucket →
//!   `429 {"message":"Too Many Requests"}` before the authorizer or the function runs;
//! - CORS ([`cors`]): preflights answered by the gateway, configured headers on every response;
//! - JWT authorizers ([`jwt`]): discovery + JWKS over HTTP, `401`/`403` exactly where AWS gives
//!   them, claims in `requestContext.authorizer.jwt`;
//! - the event: a real payload-2.0 event (`routeKey`, `rawPath`, `rawQueryString`, `cookies`,
//!   lower-cased `headers` with repeated values joined by commas, `queryStringParameters` joined
//!   the same way, `pathParameters`, `requestContext`, `body` + `isBase64Encoded`);
//! - the response: `{statusCode, headers, cookies, body, isBase64Encoded}`, or the 2.0 shortcut
//!   for bare JSON (no `statusCode`: `200`, `application/json`, the JSON as body);
//! - limits: request bodies over 10 MB → `413` before any invoke; an event over Lambda's 6 MB →
//!   `413`; a function error or crash → `500 {"message":"Internal Server Error"}`; no answer within
//!   API Gateway's 30 s integration timeout → `503 {"message":"Service Unavailable"}`.
//!
//! Request bodies are base64-encoded unless their content type is `text/*`, `application/json`,
//! `application/xml` or `application/javascript` (parameters like `; charset=utf-8` ignored), or
//! they are not valid UTF-8. That is the split observed on real HTTP APIs (the documentation does
//! not list it): a missing content type and `application/x-www-form-urlencoded` are base64 too.
//!
//! One port serves every API of the stack: a request goes to the API whose id or logical id is the
//! first label of its `Host` (`http://<api-id>.localhost:3000/...`), otherwise to the first API by
//! logical id. Each response carries `apigw-requestid`, like AWS's.

mod cors;
mod jwt;
mod routes;
mod throttle;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use self::cors::Cors;
use self::jwt::{Authorized, Denied, JwtAuthorizer};
use self::routes::{Api, Authorization};
use self::throttle::StageThrottling;
pub use self::throttle::Throttle;
use crate::ACCOUNT_ID;
use crate::host::{FunctionHost, InvokeError, InvokeOutcome, MAX_PAYLOAD_BYTES};
use crate::provision::Stack;

/// The largest request body an HTTP API accepts (10 MB); larger ones get `413`.
pub const MAX_REQUEST_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How long API Gateway waits for an integration (HTTP APIs: 30 s at most).
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an oversized body is still read (and dropped) so the client sees the `413` rather
/// than a reset connection.
const DRAIN_LIMIT: usize = 4 * MAX_REQUEST_BODY_BYTES;

/// Content types whose bodies reach the function as plain text.
const TEXT_TYPES: [&str; 3] = [
    "application/json",
    "application/xml",
    "application/javascript",
];

/// The HTTP APIs of a stack, ready to serve.
pub struct Gateway {
    apis: Vec<Api>,
    host: Arc<FunctionHost>,
}

impl Gateway {
    /// Builds the routes of every `AWS::ApiGatewayV2::Api` in `stack` (from its resolved `Body`,
    /// or from the stack's `AWS::ApiGatewayV2::Route` resources naming it); invocations go to
    /// `host`. A stack without APIs gives a gateway that answers `404`.
    pub fn from_stack(stack: &Stack, host: Arc<FunctionHost>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("cannot build the HTTP client for JWKS")?;
        let mut apis = Vec::new();
        for (logical_id, resource) in &stack.resources {
            if resource.resource_type != "AWS::ApiGatewayV2::Api" {
                continue;
            }
            // An API either carries its routes in an OpenAPI `Body` (what SAM's `HttpApi`
            // makes) or gets them as Route, Integration and Authorizer resources, here from
            // every nested stack (AWS never mixes the two on one API: see docs/decisions.md).
            let body = match resource.properties.get("Body") {
                Some(body) => body.clone(),
                None => routes::body_from_resources(resource, stack.resources.values())
                    .with_context(|| {
                        format!("cannot read the routes of the HTTP API {logical_id}")
                    })?,
            };
            let mut api =
                Api::from_body(logical_id, &resource.physical_id, &body, |name, config| {
                    JwtAuthorizer::from_openapi(name, config, client.clone()).map(Arc::new)
                })
                .with_context(|| format!("cannot read the routes of the HTTP API {logical_id}"))?;
            if let Some((stage_id, stage)) = served_stage(stack, &resource.physical_id) {
                let throttling = StageThrottling::from_stage(&stage.properties)
                    .and_then(|throttling| api.throttle(&throttling).map(|()| throttling))
                    .with_context(|| {
                        format!(
                            "cannot read the throttling of {stage_id}, the stage of {logical_id}"
                        )
                    })?;
                api.default_throttle = throttling.default_throttle();
            }
            apis.push(api);
        }
        Ok(Self { apis, host })
    }

    /// `(logical id, api id, route keys)` of every API, for printing what is served.
    pub fn apis(&self) -> Vec<(String, String, Vec<String>)> {
        self.apis
            .iter()
            .map(|api| {
                let mut keys: Vec<String> = api
                    .routes
                    .iter()
                    .map(|route| route.route_key.clone())
                    .collect();
                keys.sort();
                (api.logical_id.clone(), api.api_id.clone(), keys)
            })
            .collect()
    }

    /// `(API logical id, route key, limits)` of every throttled route, for printing and tests.
    pub fn throttles(&self) -> Vec<(String, String, Throttle)> {
        let mut throttles = Vec::new();
        for api in &self.apis {
            for route in &api.routes {
                if let Some(bucket) = &route.throttle {
                    throttles.push((
                        api.logical_id.clone(),
                        route.route_key.clone(),
                        bucket.throttle(),
                    ));
                }
            }
        }
        throttles.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        throttles
    }

    /// One line per API for the runner to print: its routes and how they are throttled (the
    /// stage's default, then each route whose limits differ from it).
    pub fn summary(&self) -> Vec<String> {
        self.apis
            .iter()
            .map(|api| {
                let mut line = format!("API {}: {} routes", api.logical_id, api.routes.len());
                match api.default_throttle {
                    Some(throttle) => line.push_str(&format!(", each throttled at {throttle}")),
                    None => line.push_str(", no default throttle"),
                }
                let mut own: Vec<String> = api
                    .routes
                    .iter()
                    .filter_map(|route| {
                        let throttle = route.throttle.as_ref().map(|bucket| bucket.throttle());
                        (throttle != api.default_throttle).then(|| match throttle {
                            Some(throttle) => format!("{} {throttle}", route.route_key),
                            None => format!("{} not throttled", route.route_key),
                        })
                    })
                    .collect();
                own.sort();
                if !own.is_empty() {
                    line.push_str(&format!("; own limits: {}", own.join(", ")));
                }
                line
            })
            .collect()
    }

    /// The issuers of the JWT authorizers, by `(API logical id, issuer)`.
    pub fn issuers(&self) -> Vec<(String, String)> {
        let mut issuers = Vec::new();
        for api in &self.apis {
            for route in &api.routes {
                if let Authorization::Jwt { authorizer, .. } = &route.authorization {
                    let entry = (api.logical_id.clone(), authorizer.issuer().to_owned());
                    if !issuers.contains(&entry) {
                        issuers.push(entry);
                    }
                }
            }
        }
        issuers
    }

    /// The gateway as an axum router (serve it with `into_make_service_with_connect_info::
    /// <SocketAddr>()` so `sourceIp` is the client's; without it `sourceIp` is `127.0.0.1`).
    pub fn router(self) -> Router {
        Router::new().fallback(handle).with_state(Arc::new(self))
    }

    fn select_api(&self, headers: &HeaderMap) -> Option<&Api> {
        let label = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| host.split(['.', ':']).next())
            .unwrap_or("");
        self.apis
            .iter()
            .find(|api| {
                api.api_id.eq_ignore_ascii_case(label) || api.logical_id.eq_ignore_ascii_case(label)
            })
            .or_else(|| self.apis.first())
    }
}

/// The stage the gateway serves for the API whose id is `api_id`: its `$default` stage, else
/// its first (the local gateway has no stage paths), with its logical id.
fn served_stage<'a>(
    stack: &'a Stack,
    api_id: &str,
) -> Option<(&'a str, &'a crate::provision::ProvisionedResource)> {
    let mut stages = stack.resources.iter().filter(|(_, resource)| {
        resource.resource_type == "AWS::ApiGatewayV2::Stage"
            && resource.properties.get("ApiId").and_then(Value::as_str) == Some(api_id)
    });
    let first = stages.clone().next();
    stages
        .find(|(_, stage)| {
            stage.properties.get("StageName").and_then(Value::as_str) == Some("$default")
        })
        .or(first)
        .map(|(id, stage)| (id.as_str(), stage))
}

/// Serves `gateway` on `listener` until `shutdown` completes (then lets open requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        gateway
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the API gateway failed")
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let request_id = request_id();
    let source_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let (parts, body) = request.into_parts();
    let api = gateway.select_api(&parts.headers);
    let preflight = api
        .and_then(|api| api.cors.as_ref())
        .filter(|_| Cors::is_preflight(parts.method.as_str(), &parts.headers));

    let mut response = if let Some(cors) = preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        *response.headers_mut() = cors.preflight_headers(&parts.headers);
        response
    } else {
        match read_body(body, &parts.headers).await {
            Err(response) => response,
            Ok(body) => match api {
                None => gateway_error(StatusCode::NOT_FOUND, "Not Found"),
                Some(api) => {
                    let request = GatewayRequest {
                        api,
                        method: parts.method.as_str(),
                        path: parts.uri.path(),
                        raw_query: parts.uri.query().unwrap_or(""),
                        headers: &parts.headers,
                        version: parts.version,
                        body,
                        source_ip,
                        request_id: &request_id,
                    };
                    route(&gateway.host, request).await
                }
            },
        }
    };
    if preflight.is_none()
        && let Some(cors) = api.and_then(|api| api.cors.as_ref())
    {
        cors.apply(&parts.headers, response.headers_mut());
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

/// Reads the body, refusing more than [`MAX_REQUEST_BODY_BYTES`] with `413`.
async fn read_body(body: Body, headers: &HeaderMap) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(gateway_error(StatusCode::BAD_REQUEST, "Bad Request"));
        };
        total += chunk.len();
        if total <= MAX_REQUEST_BODY_BYTES {
            buffer.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT || declared.is_some_and(|n| n > DRAIN_LIMIT) {
            break;
        }
    }
    if total > MAX_REQUEST_BODY_BYTES {
        return Err(gateway_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large",
        ));
    }
    Ok(buffer.freeze())
}

/// One request, as far as the gateway has read it.
struct GatewayRequest<'a> {
    api: &'a Api,
    method: &'a str,
    path: &'a str,
    raw_query: &'a str,
    headers: &'a HeaderMap,
    version: axum::http::Version,
    body: Bytes,
    source_ip: String,
    request_id: &'a str,
}

async fn route(host: &FunctionHost, request: GatewayRequest<'_>) -> Response {
    let Some(selected) = request.api.select(request.method, request.path) else {
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let route = selected.route;
    // API Gateway throttles before it authorizes or integrates: a throttled request costs the
    // backend nothing.
    if route
        .throttle
        .as_ref()
        .is_some_and(|bucket| !bucket.try_take())
    {
        return gateway_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(request.raw_query.as_bytes())
        .into_owned()
        .collect();
    let authorized = match &route.authorization {
        Authorization::Public => None,
        Authorization::Unsupported(what) => {
            eprintln!(
                "localcloud: gateway: {} uses {what}, which is not emulated",
                route.route_key
            );
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        Authorization::Jwt { authorizer, scopes } => {
            match authorizer.authorize(request.headers, &query, scopes).await {
                Ok(authorized) => Some(authorized),
                Err(denied) => return denied_response(denied),
            }
        }
    };
    let event = event(
        &request,
        &route.route_key,
        &selected.path_parameters,
        &query,
        authorized,
    );
    let payload = Bytes::from(event.to_string());
    if payload.len() > MAX_PAYLOAD_BYTES {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let outcome = tokio::time::timeout(INTEGRATION_TIMEOUT, host.invoke(&route.function, payload));
    match outcome.await {
        Err(_) => gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Ok(Err(InvokeError::TooLarge)) => {
            gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
        }
        Ok(Err(error)) => {
            eprintln!(
                "localcloud: gateway: {} cannot invoke {}: {error}",
                route.route_key, route.function
            );
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        Ok(Ok(InvokeOutcome::FunctionError(error))) => {
            eprintln!(
                "localcloud: gateway: {} failed: {}",
                route.route_key,
                String::from_utf8_lossy(&error)
            );
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        Ok(Ok(InvokeOutcome::Success(output))) => match function_response(&output) {
            Ok(response) => response,
            Err(reason) => {
                eprintln!(
                    "localcloud: gateway: {} returned a response API Gateway cannot map: {reason}",
                    route.route_key
                );
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        },
    }
}

/// The payload-2.0 event for a request.
fn event(
    request: &GatewayRequest<'_>,
    route_key: &str,
    path_parameters: &BTreeMap<String, String>,
    query: &[(String, String)],
    authorized: Option<Authorized>,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|cookie| !cookie.is_empty())
                    .map(|cookie| Value::String(cookie.to_owned())),
            );
            continue;
        }
        join_into(&mut headers, name.as_str(), &value);
    }
    // What API Gateway's front end adds.
    let forwarded_for = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(previous) => format!("{previous}, {}", request.source_ip),
        None => request.source_ip.clone(),
    };
    headers.insert("x-forwarded-for".into(), forwarded_for.into());
    headers.insert("x-forwarded-proto".into(), "http".into());
    if !headers.contains_key("x-forwarded-port") {
        let port = request
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| host.rsplit_once(':'))
            .map(|(_, port)| port.to_owned())
            .unwrap_or_else(|| "80".to_owned());
        headers.insert("x-forwarded-port".into(), port.into());
    }
    headers
        .entry("x-amzn-trace-id")
        .or_insert_with(|| trace_id().into());

    let mut query_parameters: Map<String, Value> = Map::new();
    for (key, value) in query {
        join_into(&mut query_parameters, key, value);
    }

    let host = request
        .headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let domain_name = host.split(':').next().unwrap_or(host);
    let domain_prefix = domain_name.split('.').next().unwrap_or(domain_name);
    let now = chrono::Utc::now();
    let user_agent = request
        .headers
        .get(header::USER_AGENT)
        .map(|agent| String::from_utf8_lossy(agent.as_bytes()).into_owned())
        .unwrap_or_default();
    let protocol = match request.version {
        axum::http::Version::HTTP_10 => "HTTP/1.0",
        axum::http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    };

    let mut context = json!({
        "accountId": ACCOUNT_ID,
        "apiId": request.api.api_id,
        "domainName": domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": protocol,
            "sourceIp": request.source_ip,
            "userAgent": user_agent,
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
        "timeEpoch": now.timestamp_millis(),
    });
    if let Some(authorized) = authorized {
        context["authorizer"] = json!({"jwt": {
            "claims": authorized.claims,
            "scopes": authorized.scopes,
        }});
    }

    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query_parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = json!(path_parameters);
    }
    if !request.body.is_empty() {
        let text = is_text(request.headers)
            .then(|| std::str::from_utf8(&request.body).ok())
            .flatten();
        match text {
            Some(text) => event["body"] = text.into(),
            None => {
                event["body"] = base64::engine::general_purpose::STANDARD
                    .encode(&request.body)
                    .into();
                event["isBase64Encoded"] = true.into();
            }
        }
    }
    event
}

/// Adds `value` under `key`, joining repeated keys with commas as API Gateway does.
fn join_into(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::String(existing)) => {
            existing.push(',');
            existing.push_str(value);
        }
        _ => {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

/// Whether the request's content type is one API Gateway passes as text.
fn is_text(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/") || TEXT_TYPES.contains(&media.as_str())
}

/// Maps a function's output to the HTTP response, as payload format 2.0 does.
fn function_response(output: &[u8]) -> Result<Response, String> {
    let value: Value =
        serde_json::from_slice(output).map_err(|error| format!("not JSON: {error}"))?;
    let map = match value {
        Value::Object(map) if map.contains_key("statusCode") => map,
        // The 2.0 shortcut: anything without a statusCode is a 200 JSON body.
        Value::String(text) => return Ok(json_response(StatusCode::OK, Bytes::from(text))),
        _ => {
            return Ok(json_response(
                StatusCode::OK,
                Bytes::copy_from_slice(output),
            ));
        }
    };
    let status = match &map["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
    .and_then(|code| u16::try_from(code).ok())
    .and_then(|code| StatusCode::from_u16(code).ok())
    .ok_or_else(|| format!("statusCode {} is not a status", map["statusCode"]))?;

    let mut headers = HeaderMap::new();
    if let Some(Value::Object(fields)) = map.get("headers") {
        for (name, value) in fields {
            let value = match value {
                Value::String(text) => text.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a header name"))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("the value of {name} is not a header value"))?;
            headers.insert(name, value);
        }
    }
    if let Some(Value::Array(cookies)) = map.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            let value = HeaderValue::from_str(cookie)
                .map_err(|_| format!("the cookie {cookie:?} is not a header value"))?;
            headers.append(header::SET_COOKIE, value);
        }
    }
    let body = match map.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            if map.get("isBase64Encoded") == Some(&Value::Bool(true)) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|error| format!("the body is not base64: {error}"))?;
                Bytes::from(decoded)
            } else {
                Bytes::from(text.clone())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// The gateway's own answers: `{"message": ...}`, which API Gateway does not let one customise.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        Bytes::from(json!({ "message": message }).to_string()),
    )
}

fn denied_response(denied: Denied) -> Response {
    let (status, message, challenge) = match denied {
        Denied::Missing => (
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Bearer".to_owned(),
        ),
        Denied::Invalid(description) => (
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            format!(
                "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{}\"",
                description.replace('"', "'")
            ),
        ),
        Denied::InsufficientScope(scopes) => (
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Bearer scope=\"{0}\" error=\"insufficient_scope\" \
                 error_description=\"expected scopes: [{0}]\"",
                scopes.join(" ").replace('"', "'")
            ),
        ),
    };
    let mut response = gateway_error(status, message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A request id shaped like API Gateway's (`Mc7UVioPPHcEKPA=`: 10 random bytes, base64).
fn request_id() -> String {
    let bytes = ulid::Ulid::new().0.to_be_bytes();
    base64::engine::general_purpose::STANDARD.encode(&bytes[6..])
}

/// An X-Ray trace header like the one API Gateway adds (`Root=1-<epoch hex>-<24 hex>`).
fn trace_id() -> String {
    let seconds = chrono::Utc::now().timestamp();
    let hex = format!("{:032x}", ulid::Ulid::new().0);
    format!("Root=1-{seconds:08x}-{}", &hex[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> (StatusCode, HeaderMap, Bytes) {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn bare_json_is_a_200_json_body_and_a_bare_string_is_its_text() {
        let (status, headers, body) = body_of(function_response(br#"{"a":1}"#).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body, r#"{"a":1}"#);
        let (_, _, body) = body_of(function_response(br#""hello""#).unwrap()).await;
        assert_eq!(body, "hello");
    }

    #[tokio::test]
    async fn structured_responses_map_status_headers_cookies_and_base64() {
        let output = json!({"statusCode": 201, "headers": {"x-n": 1},
            "cookies": ["a=1", "b=2"], "isBase64Encoded": true, "body": "AAEC"});
        let (status, headers, body) =
            body_of(function_response(output.to_string().as_bytes()).unwrap()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(headers["x-n"], "1");
        let cookies: Vec<_> = headers.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(&body[..], [0, 1, 2]);
        assert!(function_response(br#"{"statusCode": "x"}"#).is_err());
        assert!(function_response(b"not json").is_err());
    }

    #[test]
    fn only_text_like_content_types_stay_text() {
        let with = |content_type: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
            is_text(&headers)
        };
        assert!(with("application/json; charset=utf-8"));
        assert!(with("text/csv"));
        assert!(with("application/xml"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("application/octet-stream"));
        assert!(!is_text(&HeaderMap::new()));
    }
}
