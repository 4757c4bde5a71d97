//! The routing table of one HTTP API, read from the OpenAPI `Body` SAM generates, and API
//! Gateway's route selection.
//!
//! SAM turns every `HttpApi` event into a path + method (or `x-amazon-apigateway-any-method`) with
//! an `x-amazon-apigateway-integration` whose `uri` is the function's invoke ARN, and its `Auth`
//! into `security` + `components.securitySchemes`; `CorsConfiguration` becomes
//! `x-amazon-apigateway-cors`. This module reads exactly that document.
//!
//! Selection follows [API Gateway's rules for HTTP APIs]: the most specific path wins (a static
//! segment beats `{param}`, which beats `{proxy+}`, compared from the left), then an exact method
//! beats `ANY`; `$default` only when nothing else matches.
//!
//! [API Gateway's rules for HTTP APIs]: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value};

use super::cors::Cors;
use super::jwt::JwtAuthorizer;
use super::throttle::{StageThrottling, TokenBucket};
use crate::provision::ProvisionedResource;

/// The OpenAPI keys that name an operation, and the method each stands for (`None` = ANY).
const OPERATIONS: [(&str, Option<&str>); 9] = [
    ("get", Some("GET")),
    ("post", Some("POST")),
    ("put", Some("PUT")),
    ("patch", Some("PATCH")),
    ("delete", Some("DELETE")),
    ("head", Some("HEAD")),
    ("options", Some("OPTIONS")),
    ("trace", Some("TRACE")),
    ("x-amazon-apigateway-any-method", None),
];

/// One HTTP API (`AWS::ApiGatewayV2::Api`) of the stack.
#[derive(Debug)]
pub(crate) struct Api {
    /// The template's logical id.
    pub logical_id: String,
    /// The API's id (its physical id): `requestContext.apiId`.
    pub api_id: String,
    /// `x-amazon-apigateway-cors`, when configured.
    pub cors: Option<Cors>,
    /// The routes, in no particular order ([`Api::select`] picks).
    pub routes: Vec<Route>,
    /// The stage's `DefaultRouteSettings` limits, when it sets both (what most routes get).
    pub default_throttle: Option<super::Throttle>,
}

/// A route's authorization.
#[derive(Clone, Debug)]
pub(crate) enum Authorization {
    /// No authorizer (no `security`, or `NONE`).
    Public,
    /// A JWT authorizer and the route's authorization scopes (empty: any valid token).
    Jwt {
        authorizer: Arc<JwtAuthorizer>,
        scopes: Vec<String>,
    },
    /// An authorizer the local gateway does not run (a Lambda `request` authorizer): the route
    /// fails closed with a 500 rather than letting requests through unchecked.
    Unsupported(String),
}

/// One route: `GET /things/{id}`, `ANY /files/{proxy+}` or `$default`.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// `GET /things/{id}`, `ANY /x`, or `$default`.
    pub route_key: String,
    /// `None` = any method.
    method: Option<String>,
    /// `None` = `$default`.
    path: Option<Vec<Segment>>,
    /// The function's ARN (what the integration invokes).
    pub function: String,
    /// Who may call it.
    pub authorization: Authorization,
    /// The route's token bucket, when its stage throttles it ([`Api::throttle`]).
    pub throttle: Option<Arc<TokenBucket>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    /// Higher is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Static(_) => 2,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

/// The route a request selected, with its path parameters (percent-decoded).
#[derive(Debug)]
pub(crate) struct Selected<'a> {
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
}

impl Api {
    /// Reads an API from its resolved `Body`; `authorizer` builds (or shares) JWT authorizers.
    pub fn from_body(
        logical_id: &str,
        api_id: &str,
        body: &Value,
        mut authorizer: impl FnMut(&str, &Value) -> anyhow::Result<Arc<JwtAuthorizer>>,
    ) -> anyhow::Result<Self> {
        let empty = Map::new();
        let schemes = body
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut authorizations = BTreeMap::new();
        for (name, scheme) in schemes {
            let Some(config) = scheme.get("x-amazon-apigateway-authorizer") else {
                continue;
            };
            let kind = config.get("type").and_then(Value::as_str).unwrap_or("");
            let authorization = if kind.eq_ignore_ascii_case("jwt") {
                Authorization::Jwt {
                    authorizer: authorizer(name, config)
                        .with_context(|| format!("the JWT authorizer {name}"))?,
                    scopes: Vec::new(),
                }
            } else {
                Authorization::Unsupported(format!("authorizer {name} of type {kind:?}"))
            };
            authorizations.insert(name.clone(), authorization);
        }
        let global_security = body.get("security");

        let mut routes = Vec::new();
        let paths = body
            .get("paths")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let parsed_path = if path == "$default" {
                None
            } else {
                Some(parse_path(path).with_context(|| format!("path {path}"))?)
            };
            for (key, method) in OPERATIONS {
                let Some(operation) = item.get(key) else {
                    continue;
                };
                let route_key = match (&parsed_path, method) {
                    (None, _) => "$default".to_owned(),
                    (Some(_), Some(method)) => format!("{method} {path}"),
                    (Some(_), None) => format!("ANY {path}"),
                };
                let integration = operation
                    .get("x-amazon-apigateway-integration")
                    .ok_or_else(|| anyhow!("{route_key} has no x-amazon-apigateway-integration"))?;
                let Some(function) = lambda_target(integration) else {
                    eprintln!(
                        "localcloud: gateway: {logical_id} {route_key}: only Lambda proxy \
                         integrations are emulated; the route answers 500"
                    );
                    routes.push(Route {
                        route_key,
                        method: method.map(str::to_owned),
                        path: parsed_path.clone(),
                        function: String::new(),
                        authorization: Authorization::Unsupported(
                            "a non-Lambda integration".to_owned(),
                        ),
                        throttle: None,
                    });
                    continue;
                };
                let version = integration
                    .get("payloadFormatVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("2.0");
                if version != "2.0" {
                    eprintln!(
                        "localcloud: gateway: {logical_id} {route_key}: payload format {version} \
                         is not emulated; sending 2.0"
                    );
                }
                let security = operation.get("security").or(global_security);
                routes.push(Route {
                    route_key,
                    method: method.map(str::to_owned),
                    path: parsed_path.clone(),
                    function,
                    authorization: authorization(security, &authorizations)?,
                    throttle: None,
                });
            }
        }
        let cors = body
            .get("x-amazon-apigateway-cors")
            .map(Cors::from_openapi)
            .transpose()
            .context("x-amazon-apigateway-cors")?;
        Ok(Self {
            logical_id: logical_id.to_owned(),
            api_id: api_id.to_owned(),
            cors,
            routes,
            default_throttle: None,
        })
    }

    /// Gives every route a token bucket of the limits `stage` sets for it. Like CloudFormation,
    /// refuses `RouteSettings` for a route key the API does not have (a typo would otherwise
    /// leave the route unprotected).
    pub fn throttle(&mut self, stage: &StageThrottling) -> anyhow::Result<()> {
        if let Some(unknown) = stage
            .named_routes()
            .find(|key| !self.routes.iter().any(|route| route.route_key == *key))
        {
            bail!("RouteSettings names {unknown}, which is not a route of this API");
        }
        for route in &mut self.routes {
            route.throttle = stage
                .throttle(&route.route_key)
                .map(|throttle| Arc::new(TokenBucket::new(throttle)));
        }
        Ok(())
    }

    /// The route API Gateway would pick for `method` and the raw (undecoded) `path`.
    pub fn select(&self, method: &str, path: &str) -> Option<Selected<'_>> {
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let mut best: Option<((Vec<u8>, u8), Selected<'_>)> = None;
        for route in &self.routes {
            let Some(pattern) = &route.path else {
                continue;
            };
            let method_rank = match &route.method {
                Some(m) if m.eq_ignore_ascii_case(method) => 1,
                Some(_) => continue,
                None => 0,
            };
            let Some(path_parameters) = match_path(pattern, &segments) else {
                continue;
            };
            let rank = (pattern.iter().map(Segment::rank).collect(), method_rank);
            if best.as_ref().is_none_or(|(current, _)| rank > *current) {
                best = Some((
                    rank,
                    Selected {
                        route,
                        path_parameters,
                    },
                ));
            }
        }
        best.map(|(_, selected)| selected).or_else(|| {
            self.routes
                .iter()
                .find(|route| route.path.is_none())
                .map(|route| Selected {
                    route,
                    path_parameters: BTreeMap::new(),
                })
        })
    }
}

/// The OpenAPI document API Gateway would export for `api` (a plain `AWS::ApiGatewayV2::Api`)
/// given the `AWS::ApiGatewayV2::Route`, `Integration` and `Authorizer` resources among
/// `resources` whose `ApiId` is this API's id: paths with their Lambda integrations and
/// `security`, the JWT authorizers as security schemes, `CorsConfiguration` as
/// `x-amazon-apigateway-cors`.
pub(crate) fn body_from_resources<'a>(
    api: &ProvisionedResource,
    resources: impl Iterator<Item = &'a ProvisionedResource> + Clone,
) -> anyhow::Result<Value> {
    let of_api = |kind: &'static str| {
        resources.clone().filter(move |resource| {
            resource.resource_type == kind
                && resource.properties.get("ApiId").and_then(Value::as_str)
                    == Some(api.physical_id.as_str())
        })
    };
    let mut schemes = Map::new();
    for authorizer in of_api("AWS::ApiGatewayV2::Authorizer") {
        let props = &authorizer.properties;
        let kind = props
            .get("AuthorizerType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let jwt = props.get("JwtConfiguration").cloned().unwrap_or_default();
        let config = serde_json::json!({
            "type": kind,
            "identitySource": props.get("IdentitySource").cloned().unwrap_or(Value::Null),
            "jwtConfiguration": {
                "issuer": jwt.get("Issuer").cloned().unwrap_or(Value::Null),
                "audience": jwt.get("Audience").cloned().unwrap_or(Value::Null),
            },
        });
        schemes.insert(
            authorizer.physical_id.clone(),
            serde_json::json!({ "x-amazon-apigateway-authorizer": config }),
        );
    }
    let integrations: BTreeMap<&str, &ProvisionedResource> =
        of_api("AWS::ApiGatewayV2::Integration")
            .map(|integration| (integration.physical_id.as_str(), integration))
            .collect();
    let mut paths = Map::new();
    for route in of_api("AWS::ApiGatewayV2::Route") {
        let props = &route.properties;
        let key = props
            .get("RouteKey")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("route {} has no RouteKey", route.physical_id))?;
        let (method, path) = match key.split_once(' ') {
            Some((method, path)) => (method, path),
            None => ("ANY", key),
        };
        let operation_key = if method == "ANY" {
            "x-amazon-apigateway-any-method".to_owned()
        } else {
            method.to_ascii_lowercase()
        };
        let target = props.get("Target").and_then(Value::as_str).unwrap_or("");
        let integration = target
            .strip_prefix("integrations/")
            .and_then(|id| integrations.get(id))
            .ok_or_else(|| {
                anyhow!("route {key}: its Target {target:?} names no integration of this API")
            })?;
        let integration = &integration.properties;
        let mut operation = Map::new();
        operation.insert(
            "x-amazon-apigateway-integration".to_owned(),
            serde_json::json!({
                "type": integration.get("IntegrationType").cloned().unwrap_or(Value::Null),
                "uri": integration.get("IntegrationUri").cloned().unwrap_or(Value::Null),
                "payloadFormatVersion": integration
                    .get("PayloadFormatVersion")
                    .cloned()
                    .unwrap_or_else(|| Value::from("2.0")),
            }),
        );
        let authorization = props
            .get("AuthorizationType")
            .and_then(Value::as_str)
            .unwrap_or("NONE");
        if !authorization.eq_ignore_ascii_case("NONE") {
            let authorizer = props
                .get("AuthorizerId")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("route {key} is {authorization} without AuthorizerId"))?;
            let scopes = props
                .get("AuthorizationScopes")
                .cloned()
                .unwrap_or_else(|| Value::Array(Vec::new()));
            operation.insert(
                "security".to_owned(),
                serde_json::json!([{ authorizer: scopes }]),
            );
        }
        let item = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if item.get(&operation_key).is_some() {
            bail!("two routes have the key {key}");
        }
        item[&operation_key] = Value::Object(operation);
    }
    let mut body = serde_json::json!({
        "openapi": "3.0.1",
        "paths": paths,
        "components": { "securitySchemes": schemes },
    });
    if let Some(cors) = api
        .properties
        .get("CorsConfiguration")
        .and_then(Value::as_object)
    {
        // CloudFormation's `AllowOrigins` is the extension's `allowOrigins`.
        let cors: Map<String, Value> = cors
            .iter()
            .map(|(key, value)| {
                let mut chars = key.chars();
                let first = chars.next().map(|c| c.to_ascii_lowercase());
                (first.into_iter().chain(chars).collect(), value.clone())
            })
            .collect();
        body["x-amazon-apigateway-cors"] = Value::Object(cors);
    }
    Ok(body)
}

/// `{"Jwt": ["scope"]}` entries → the route's authorization. The first entry decides (API Gateway
/// allows one authorizer per route).
fn authorization(
    security: Option<&Value>,
    authorizations: &BTreeMap<String, Authorization>,
) -> anyhow::Result<Authorization> {
    let Some(requirement) = security
        .and_then(Value::as_array)
        .and_then(|list| list.first())
        .and_then(Value::as_object)
    else {
        return Ok(Authorization::Public);
    };
    let Some((name, scopes)) = requirement.iter().next() else {
        return Ok(Authorization::Public);
    };
    if name == "NONE" {
        return Ok(Authorization::Public);
    }
    let scopes: Vec<String> = scopes
        .as_array()
        .map(|scopes| {
            scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    match authorizations.get(name) {
        Some(Authorization::Jwt { authorizer, .. }) => Ok(Authorization::Jwt {
            authorizer: authorizer.clone(),
            scopes,
        }),
        Some(other) => Ok(other.clone()),
        None => bail!("a route uses the authorizer {name}, which components.securitySchemes lacks"),
    }
}

/// The function ARN of an AWS_PROXY Lambda integration: the `uri` is either the invoke ARN
/// (`arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations`)
/// or, as HTTP APIs also accept, the function ARN itself.
fn lambda_target(integration: &Value) -> Option<String> {
    let kind = integration
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("aws_proxy");
    if !kind.eq_ignore_ascii_case("aws_proxy") {
        return None;
    }
    let uri = integration.get("uri").and_then(Value::as_str)?;
    if let Some((_, rest)) = uri.split_once(":lambda:path/2015-03-31/functions/") {
        return Some(rest.strip_suffix("/invocations").unwrap_or(rest).to_owned());
    }
    uri.contains(":lambda:").then(|| uri.to_owned())
}

fn parse_path(path: &str) -> anyhow::Result<Vec<Segment>> {
    let Some(rest) = path.strip_prefix('/') else {
        bail!("a route path must start with /");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('+') {
                Some(name) if index + 1 == parts.len() => Segment::Greedy(name.to_owned()),
                Some(_) => bail!("a greedy path variable must be the last segment"),
                None => Segment::Param(name.to_owned()),
            },
            None => Segment::Static((*part).to_owned()),
        };
        segments.push(segment);
    }
    Ok(segments)
}

fn match_path(pattern: &[Segment], segments: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut parameters = BTreeMap::new();
    for (index, expected) in pattern.iter().enumerate() {
        match expected {
            Segment::Static(text) => {
                if segments.get(index) != Some(&text.as_str()) {
                    return None;
                }
            }
            Segment::Param(name) => {
                let actual = segments.get(index).filter(|s| !s.is_empty())?;
                parameters.insert(name.clone(), decode(actual));
            }
            Segment::Greedy(name) => {
                // `{proxy+}` takes one or more segments: the whole rest of the path.
                let rest = segments.get(index..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                parameters.insert(name.clone(), decode(&rest));
                return Some(parameters);
            }
        }
    }
    (segments.len() == pattern.len()).then_some(parameters)
}

/// Percent-decodes a path segment (`+` stays a plus: it is not a space in a path).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = segment.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn integration() -> Value {
        json!({"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "payloadFormatVersion": "2.0",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"
        }})
    }

    fn api(paths: &[(&str, &str)]) -> Api {
        let mut body = json!({"paths": {}});
        for (path, key) in paths {
            body["paths"][*path][*key] = integration();
        }
        Api::from_body("Api", "abc", &body, |_, _| unreachable!()).unwrap()
    }

    fn key(api: &Api, method: &str, path: &str) -> Option<(String, BTreeMap<String, String>)> {
        api.select(method, path)
            .map(|s| (s.route.route_key.clone(), s.path_parameters))
    }

    #[test]
    fn static_beats_param_beats_greedy_and_exact_method_beats_any() {
        let api = api(&[
            ("/things/{id}", "get"),
            ("/things/special", "get"),
            ("/things/special", "x-amazon-apigateway-any-method"),
            ("/things/{proxy+}", "x-amazon-apigateway-any-method"),
        ]);
        assert_eq!(
            key(&api, "GET", "/things/special").unwrap().0,
            "GET /things/special"
        );
        assert_eq!(
            key(&api, "POST", "/things/special").unwrap().0,
            "ANY /things/special"
        );
        let (route, params) = key(&api, "GET", "/things/a%20b").unwrap();
        assert_eq!(route, "GET /things/{id}");
        assert_eq!(params["id"], "a b");
        let (route, params) = key(&api, "GET", "/things/a/b").unwrap();
        assert_eq!(route, "ANY /things/{proxy+}");
        assert_eq!(params["proxy"], "a/b");
        assert_eq!(key(&api, "GET", "/things"), None);
        assert_eq!(key(&api, "GET", "/other"), None);
    }

    #[test]
    fn default_route_takes_what_nothing_else_matches() {
        let api = api(&[
            ("/things/{id}", "get"),
            ("$default", "x-amazon-apigateway-any-method"),
        ]);
        assert_eq!(key(&api, "GET", "/things/1").unwrap().0, "GET /things/{id}");
        assert_eq!(key(&api, "POST", "/things/1").unwrap().0, "$default");
        assert_eq!(key(&api, "GET", "/").unwrap().0, "$default");
    }

    #[test]
    fn each_route_gets_a_bucket_of_its_own_and_route_settings_must_name_a_route() {
        let mut api = api(&[("/login", "post"), ("/health", "get")]);
        let stage =
            |settings: Value| StageThrottling::from_stage(settings.as_object().unwrap()).unwrap();
        api.throttle(&stage(json!({
            "DefaultRouteSettings": {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
            "RouteSettings": {"POST /login": {"ThrottlingRateLimit": 0, "ThrottlingBurstLimit": 1}},
        })))
        .unwrap();
        let bucket = |method: &str, path: &str| {
            api.select(method, path)
                .unwrap()
                .route
                .throttle
                .clone()
                .unwrap()
        };
        assert!(bucket("POST", "/login").try_take());
        assert!(
            !bucket("POST", "/login").try_take(),
            "one bucket per route, kept"
        );
        assert!(
            bucket("GET", "/health").try_take(),
            "not the login route's bucket"
        );
        assert_eq!(bucket("GET", "/health").throttle().burst, 200);

        let typo = stage(json!({"RouteSettings": {"POST /logn": {"ThrottlingBurstLimit": 1}}}));
        let error = api.throttle(&typo).unwrap_err().to_string();
        assert!(error.contains("POST /logn"), "{error}");
    }

    #[test]
    fn the_function_arn_comes_from_the_invoke_arn() {
        let api = api(&[("/x", "get")]);
        assert_eq!(
            api.routes[0].function,
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
    }

    fn resource(kind: &str, id: &str, properties: Value) -> ProvisionedResource {
        ProvisionedResource {
            resource_type: kind.to_owned(),
            physical_id: id.to_owned(),
            ref_value: Value::from(id),
            attributes: BTreeMap::new(),
            properties: properties.as_object().cloned().unwrap(),
        }
    }

    #[test]
    fn routes_declared_as_resources_become_the_same_document_sam_writes() {
        let api = resource(
            "AWS::ApiGatewayV2::Api",
            "api1",
            json!({"CorsConfiguration": {"AllowOrigins": ["*"], "MaxAge": 600}}),
        );
        let function = "arn:aws:lambda:us-east-1:123456789012:function:f";
        let resources = [
            resource(
                "AWS::ApiGatewayV2::Authorizer",
                "auth1",
                json!({"ApiId": "api1", "AuthorizerType": "JWT",
                       "IdentitySource": ["$request.header.Authorization"],
                       "JwtConfiguration": {"Issuer": "https://issuer", "Audience": ["shop"]}}),
            ),
            resource(
                "AWS::ApiGatewayV2::Integration",
                "int1",
                json!({"ApiId": "api1", "IntegrationType": "AWS_PROXY",
                       "IntegrationUri": function, "PayloadFormatVersion": "2.0"}),
            ),
            resource(
                "AWS::ApiGatewayV2::Route",
                "r1",
                json!({"ApiId": "api1", "RouteKey": "GET /things/{id}", "Target": "integrations/int1"}),
            ),
            resource(
                "AWS::ApiGatewayV2::Route",
                "r2",
                json!({"ApiId": "api1", "RouteKey": "DELETE /things/{id}", "Target": "integrations/int1",
                       "AuthorizationType": "JWT", "AuthorizerId": "auth1",
                       "AuthorizationScopes": ["shop/admin"]}),
            ),
            // Another API's route is not this API's.
            resource(
                "AWS::ApiGatewayV2::Route",
                "r3",
                json!({"ApiId": "api2", "RouteKey": "GET /other", "Target": "integrations/int9"}),
            ),
        ];
        let body = body_from_resources(&api, resources.iter()).unwrap();
        let item = &body["paths"]["/things/{id}"];
        assert_eq!(
            item["get"]["x-amazon-apigateway-integration"]["uri"],
            function
        );
        assert!(item["get"].get("security").is_none());
        assert_eq!(
            item["delete"]["security"],
            json!([{"auth1": ["shop/admin"]}])
        );
        assert!(body["paths"].get("/other").is_none());
        let config =
            &body["components"]["securitySchemes"]["auth1"]["x-amazon-apigateway-authorizer"];
        assert_eq!(config["type"], "jwt");
        assert_eq!(config["jwtConfiguration"]["issuer"], "https://issuer");
        assert_eq!(
            body["x-amazon-apigateway-cors"]["allowOrigins"],
            json!(["*"])
        );
        assert_eq!(body["x-amazon-apigateway-cors"]["maxAge"], 600);
    }

    #[test]
    fn a_route_whose_target_is_no_integration_of_the_api_is_an_error() {
        let api = resource("AWS::ApiGatewayV2::Api", "api1", json!({}));
        let route = resource(
            "AWS::ApiGatewayV2::Route",
            "r1",
            json!({"ApiId": "api1", "RouteKey": "GET /x", "Target": "integrations/missing"}),
        );
        assert!(body_from_resources(&api, [route].iter()).is_err());
    }
}
