//! The HTTP API JWT authorizer, as [API Gateway documents it]:
//!
//! 1. the identity source (`$request.header.Authorization` by default) holds the token, alone or
//!    prefixed with `Bearer ` (both are accepted, as on AWS); missing → `401`;
//! 2. the token is decoded; only RSA algorithms (`RS256`, `RS384`, `RS512`) are accepted, so
//!    `alg: none` and `HS256` tokens (e.g. "signed" with the public key) are refused;
//! 3. the key whose `kid` matches is taken from the issuer's JWKS: the `jwks_uri` of
//!    `<issuer>/.well-known/openid-configuration`, fetched over HTTP and kept up to two hours; an
//!    unknown `kid` triggers a re-fetch at most once a minute (key rotation);
//! 4. the claims: `iss` equals the issuer; `aud` contains a configured audience, or when there is
//!    no `aud`, `client_id` is one; `exp` is in the future; `nbf` and `iat` are not (`iat` is
//!    required, as is `exp`). No clock-skew leeway: the issuer and the gateway share one clock
//!    here;
//! 5. when the route lists authorization scopes, the token's `scope` (space-separated) or `scp`
//!    must hold at least one, else `403`.
//!
//! A failure in 1–4 is `401 {"message":"Unauthorized"}` with a `www-authenticate` header shaped
//! like AWS's (`Bearer scope="" error="invalid_token" error_description="..."`); the
//! descriptions follow the ones AWS is known to send where known (e.g. "the token does not have a
//! valid audience") and are otherwise plain English. On success the claims reach the function as
//! strings (`requestContext.authorizer.jwt.claims`: arrays as `"[a b]"`, numbers as their JSON
//! text), with the token's scopes in `scopes` when the route has authorization scopes (`null`
//! otherwise).
//!
//! [API Gateway documents it]: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use axum::http::HeaderMap;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// How long fetched keys are used before they are fetched again (API Gateway: up to 2 h).
const KEYS_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// The least time between two fetches caused by an unknown `kid`.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// How long the discovery document and the JWKS may take to arrive.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the token is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum IdentitySource {
    Header(String),
    Query(String),
}

/// One JWT authorizer of an API (`components.securitySchemes.<name>`).
#[derive(Debug)]
pub(crate) struct JwtAuthorizer {
    name: String,
    issuer: String,
    audiences: Vec<String>,
    identity_source: IdentitySource,
    keys: Mutex<KeyCache>,
    client: reqwest::Client,
}

#[derive(Debug, Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

/// What an authorized request carries into `requestContext.authorizer.jwt`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authorized {
    /// Every claim, as a string.
    pub claims: Map<String, Value>,
    /// The token's scopes when the route has authorization scopes.
    pub scopes: Option<Vec<String>>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No token at all: `401`, `www-authenticate: Bearer`.
    Missing,
    /// A token that is not valid: `401` with `error="invalid_token"` and this description.
    Invalid(String),
    /// A valid token without any of the route's scopes: `403`, `error="insufficient_scope"`.
    InsufficientScope(Vec<String>),
}

impl JwtAuthorizer {
    /// Reads `x-amazon-apigateway-authorizer` (`jwtConfiguration {issuer, audience}`,
    /// `identitySource`).
    pub fn from_openapi(
        name: &str,
        config: &Value,
        client: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let jwt = config
            .get("jwtConfiguration")
            .ok_or_else(|| anyhow!("no jwtConfiguration"))?;
        let issuer = jwt
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("jwtConfiguration.issuer is missing or not a string"))?
            .to_owned();
        let audiences = match jwt.get("audience") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let source = match config.get("identitySource") {
            Some(Value::String(one)) => one.clone(),
            Some(Value::Array(items)) => items
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => "$request.header.Authorization".to_owned(),
        };
        let identity_source = if let Some(name) = source.strip_prefix("$request.header.") {
            IdentitySource::Header(name.to_ascii_lowercase())
        } else if let Some(name) = source.strip_prefix("$request.querystring.") {
            IdentitySource::Query(name.to_owned())
        } else {
            anyhow::bail!("identitySource {source:?} is not supported locally");
        };
        Ok(Self {
            name: name.to_owned(),
            issuer,
            audiences,
            identity_source,
            keys: Mutex::new(KeyCache::default()),
            client,
        })
    }

    /// The issuer this authorizer trusts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Runs the authorizer for a request to a route with `route_scopes`.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        query: &[(String, String)],
        route_scopes: &[String],
    ) -> Result<Authorized, Denied> {
        let raw = match &self.identity_source {
            IdentitySource::Header(name) => headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect::<Vec<_>>()
                .join(","),
            IdentitySource::Query(name) => query
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Denied::Missing);
        }
        let token = match raw.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => raw,
        };
        let claims = self.verify(token).await.map_err(Denied::Invalid)?;
        let token_scopes = scopes_of(&claims);
        if !route_scopes.is_empty() && !route_scopes.iter().any(|s| token_scopes.contains(s)) {
            return Err(Denied::InsufficientScope(route_scopes.to_vec()));
        }
        Ok(Authorized {
            claims: claims
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(claim_string(value))))
                .collect(),
            scopes: (!route_scopes.is_empty()).then_some(token_scopes),
        })
    }

    /// Checks the token's algorithm, signature and claims; the error is the description.
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err("token contains an invalid number of segments".to_owned());
        };
        let header: Map<String, Value> =
            decode_part(header).map_err(|_| "the token header is not valid JSON".to_owned())?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        let algorithm = match alg {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            other => return Err(format!("signing method {other} is invalid")),
        };
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| "the token header has no kid".to_owned())?;
        let key = self.key(kid).await?;
        let message = &token[..header_len(token)];
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, algorithm) {
            Ok(true) => {}
            _ => return Err("crypto/rsa: verification error".to_owned()),
        }
        let claims: Map<String, Value> = decode_part(payload)
            .map_err(|_| "the token claims are not a valid JSON object".to_owned())?;
        self.check_claims(&claims)?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &Map<String, Value>) -> Result<(), String> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err("the token does not have a valid issuer".to_owned());
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => self.audiences.contains(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .filter_map(Value::as_str)
                .any(|aud| self.audiences.iter().any(|a| a == aud)),
            // AWS reads `client_id` only when there is no `aud`.
            Some(_) => false,
            None => claims
                .get("client_id")
                .and_then(Value::as_str)
                .is_some_and(|id| self.audiences.iter().any(|a| a == id)),
        };
        if !audience_ok {
            return Err("the token does not have a valid audience".to_owned());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs_f64())
            .unwrap_or(0.0);
        let time = |name: &str| claims.get(name).and_then(Value::as_f64);
        match time("exp") {
            None => return Err("the token has no exp claim".to_owned()),
            Some(exp) if exp <= now => return Err("the token has expired".to_owned()),
            Some(_) => {}
        }
        if time("nbf").is_some_and(|nbf| nbf > now) {
            return Err("the token is not valid yet".to_owned());
        }
        match time("iat") {
            None => Err("the token has no iat claim".to_owned()),
            Some(iat) if iat > now => Err("the token was issued in the future".to_owned()),
            Some(_) => Ok(()),
        }
    }

    /// The key for `kid`, fetching the JWKS when the cache is empty, stale, or lacks `kid`.
    async fn key(&self, kid: &str) -> Result<DecodingKey, String> {
        let mut cache = self.keys.lock().await;
        let stale = cache
            .fetched
            .is_none_or(|fetched| fetched.elapsed() > KEYS_MAX_AGE);
        let unknown_may_refetch = !cache.keys.contains_key(kid)
            && cache
                .fetched
                .is_none_or(|fetched| fetched.elapsed() > REFETCH_INTERVAL);
        if stale || unknown_may_refetch {
            match self.fetch_keys().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                Err(error) => {
                    eprintln!(
                        "localcloud: gateway: authorizer {} cannot fetch the keys of {}: {error:#}",
                        self.name, self.issuer
                    );
                    if cache.keys.is_empty() {
                        return Err(format!(
                            "unable to fetch the signing keys of {}",
                            self.issuer
                        ));
                    }
                }
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| format!("unable to find a signing key that matches '{kid}'"))
    }

    async fn fetch_keys(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let discovery: Value = self.get_json(&discovery_url).await?;
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{discovery_url} has no jwks_uri"))?;
        let jwks: Value = self.get_json(jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("{jwks_uri} has no keys"))?
        {
            let field = |name: &str| jwk.get(name).and_then(Value::as_str);
            if field("kty") != Some("RSA") || field("use").is_some_and(|u| u != "sig") {
                continue;
            }
            let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
                continue;
            };
            match DecodingKey::from_rsa_components(n, e) {
                Ok(key) => {
                    keys.insert(kid.to_owned(), key);
                }
                Err(error) => {
                    eprintln!("localcloud: gateway: ignoring the key {kid} of {jwks_uri}: {error}")
                }
            }
        }
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!("GET {url}: {status}");
        }
        response
            .json()
            .await
            .with_context(|| format!("GET {url}: not JSON"))
    }
}

/// The length of `header.payload` (what the signature covers).
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> anyhow::Result<T> {
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('='))?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The token's scopes: `scope` (space-separated) or `scp` (array or space-separated).
fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let from = |value: &Value| -> Vec<String> {
        match value {
            Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    claims
        .get("scope")
        .or_else(|| claims.get("scp"))
        .map(from)
        .unwrap_or_default()
}

/// A claim as API Gateway passes it: everything becomes a string; arrays and objects are printed
/// the way Go prints them (`[a b]`, `map[k:v]`), which is what AWS sends.
fn claim_string(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_string).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(key, value)| format!("{key}:{}", claim_string(value)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_become_strings_like_api_gateway_sends_them() {
        assert_eq!(claim_string(&json!("x")), "x");
        assert_eq!(claim_string(&json!(1700000000)), "1700000000");
        assert_eq!(claim_string(&json!(true)), "true");
        assert_eq!(claim_string(&json!(["a", "b"])), "[a b]");
        assert_eq!(claim_string(&json!({"k": "v"})), "map[k:v]");
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(scopes_of(&claims(json!({"scope": "a b"}))), ["a", "b"]);
        assert_eq!(scopes_of(&claims(json!({"scp": ["a"]}))), ["a"]);
        assert!(scopes_of(&claims(json!({}))).is_empty());
    }
}
