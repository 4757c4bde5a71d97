//! Access tokens: RS256 signing keys, their public JWKS and OIDC discovery document, and
//! signing and verifying the shop's JWTs.
//!
//! API Gateway's built-in JWT authorizer validates every access token before a function runs.
//! It accepts only RSA keys and fetches `<issuer>/.well-known/openid-configuration` and then
//! its `jwks_uri` from a public URL, caching the keys for up to two hours. So:
//!
//! - [`KeySet`] is the value of the signing-keys secret: the [`current`](KeySet::current) key
//!   signs, the [`next`](KeySet::next) key is already published so that caches know it before
//!   anything is signed with it, and the [`previous`](KeySet::previous) key stays published
//!   until every token it signed has expired. [`KeySet::rotate`] moves that window along a
//!   [`RotationPolicy`]; it takes the time as an argument, so the whole timeline is tested
//!   with fixed instants.
//! - [`KeySet::jwks`] and [`discovery_document`] are the two public JSON documents.
//! - [`AccessClaims`], [`sign`] and [`verify`] are the token itself; [`scopes_for_roles`]
//!   maps the shop's roles onto the scopes the gateway's routes require.
//!
//! Private keys are PKCS#8 PEM strings inside the secret; nothing here prints them (`Debug`
//! of [`SigningKey`] redacts the key), and [`TokenError`] never quotes secret material.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, rand_core::OsRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop_domain::{Clock, DomainError};

/// The only signing algorithm: the gateway's JWT authorizer accepts RSA keys only.
pub const ALGORITHM: &str = "RS256";

/// RSA modulus size of generated keys.
pub const KEY_BITS: usize = 2048;

/// Object key of the OIDC discovery document, relative to the issuer URL.
pub const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

/// Object key of the JWKS, relative to the issuer URL.
pub const JWKS_PATH: &str = ".well-known/jwks.json";

/// The longest an access token may live. [`RotationPolicy::max_token_lifetime`] keeps a
/// retired key published for this long, so [`AccessClaims::new`] never mints a longer one.
pub const MAX_ACCESS_TOKEN_LIFETIME: TimeDelta = TimeDelta::minutes(60);

/// Seconds of clock difference between signer and verifier that [`verify`] tolerates on
/// `exp` and `nbf`: a token minted "now" must not bounce off a verifier a moment behind.
pub const CLOCK_SKEW_SECS: i64 = 30;

/// Scope of every signed-in customer.
pub const SCOPE_USER: &str = "shop/user";
/// Scope of sellers (catalogue and inventory management).
pub const SCOPE_SELLER: &str = "shop/seller";
/// Scope of administrators.
pub const SCOPE_ADMIN: &str = "shop/admin";

/// Everything that can go wrong with keys and tokens.
///
/// The "token rejected" variants ([`is_rejection`](Self::is_rejection)) become 401s; the
/// others are misconfigurations. Messages never contain key material or token contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The operating system's random source or the RSA generator failed.
    #[error("could not generate an RSA signing key: {0}")]
    KeyGeneration(String),
    /// A stored or published key cannot be used.
    #[error("signing key `{kid}` is unusable: {reason}")]
    InvalidKey {
        /// The key's id.
        kid: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The signing-keys secret holds something other than a [`KeySet`] (or the placeholder).
    #[error("the signing-keys secret does not hold a key set: {0}")]
    InvalidKeySet(String),
    /// Encoding a token failed.
    #[error("could not sign the token: {0}")]
    Signing(String),
    /// The token is not a well-formed JWT of ours (bad base64/JSON, missing claims or `kid`).
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The token's header names an algorithm other than RS256 (`none`, `HS256`, …).
    #[error("the token's algorithm `{0}` is not accepted; only RS256 is")]
    Algorithm(String),
    /// The token's `kid` is not in the JWKS.
    #[error("the token's key `{0}` is not published")]
    UnknownKey(String),
    /// The signature does not match the header and payload.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
}

impl TokenError {
    /// Whether this error rejects a presented token (401) rather than reporting our own
    /// keys or configuration as broken (500).
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            Self::KeyGeneration(_)
                | Self::InvalidKey { .. }
                | Self::InvalidKeySet(_)
                | Self::Signing(_)
        )
    }
}

impl From<TokenError> for DomainError {
    fn from(err: TokenError) -> Self {
        if err.is_rejection() {
            DomainError::Unauthorized(err.to_string())
        } else {
            DomainError::Internal(err.to_string())
        }
    }
}

/// The public half of a signing key as a JWK (RFC 7517), as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Always `RSA`.
    pub kty: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Always `RS256`.
    pub alg: String,
    /// The key id, matched against a token header's `kid`.
    pub kid: String,
    /// The modulus, big-endian, base64url without padding.
    pub n: String,
    /// The public exponent, big-endian, base64url without padding.
    pub e: String,
}

/// One RS256 key pair with its id and birth time.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// The key id (a ULID, so ids sort by creation time).
    pub kid: String,
    /// When the key was generated, and so (give or take the publish call) first published.
    pub created_at: DateTime<Utc>,
    /// The private key, PKCS#8 PEM. Never log it.
    pub private_key_pem: String,
    /// The public key as published.
    pub public_jwk: PublicJwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("private_key_pem", &"<redacted>")
            .field("public_jwk", &self.public_jwk)
            .finish()
    }
}

impl SigningKey {
    /// A fresh 2048-bit key pair born at `now`, from the operating system's random source.
    pub fn generate(now: DateTime<Utc>) -> Result<Self, TokenError> {
        let private = RsaPrivateKey::new(&mut OsRng, KEY_BITS)
            .map_err(|e| TokenError::KeyGeneration(e.to_string()))?;
        let kid = ulid::Ulid::from_datetime(now.into()).to_string();
        let private_key_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| TokenError::KeyGeneration(e.to_string()))?
            .to_string();
        let public_jwk = PublicJwk {
            kty: "RSA".to_owned(),
            use_: "sig".to_owned(),
            alg: ALGORITHM.to_owned(),
            kid: kid.clone(),
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        };
        Ok(Self {
            kid,
            created_at: now,
            private_key_pem,
            public_jwk,
        })
    }

    /// The private key in the form the JWT library signs with (PKCS#1 DER).
    fn encoding_key(&self) -> Result<EncodingKey, TokenError> {
        let invalid = |reason: String| TokenError::InvalidKey {
            kid: self.kid.clone(),
            reason,
        };
        // The rsa crate's errors describe the structure that failed to parse, not the bytes.
        let private = RsaPrivateKey::from_pkcs8_pem(&self.private_key_pem)
            .map_err(|e| invalid(format!("not a PKCS#8 RSA key: {e}")))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| invalid(format!("cannot encode as PKCS#1: {e}")))?;
        Ok(EncodingKey::from_rsa_der(der.as_bytes()))
    }
}

/// When [`KeySet::rotate`] moves keys along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long `next` must have been published before it may sign: the gateway caches the
    /// JWKS for up to 2 hours, and a token signed with a key it has not seen is a 401.
    pub publish_ahead: TimeDelta,
    /// How long a key signs before the next one takes over.
    pub rotate_every: TimeDelta,
    /// The longest lifetime of a token (see [`MAX_ACCESS_TOKEN_LIFETIME`]): a retired key
    /// stays published at least this long after it stopped signing.
    pub max_token_lifetime: TimeDelta,
    /// How long a signer may keep using a key set it has cached (the default TTL of
    /// [`CachedSecrets`](crate::secrets::CachedSecrets)): the retired key may still sign for
    /// that long after a rotation, so it stays published that much longer too.
    pub signer_cache: TimeDelta,
}

impl Default for RotationPolicy {
    /// Publish 2 h ahead, rotate every 30 days, keep a retired key for 60 + 5 minutes.
    fn default() -> Self {
        Self {
            publish_ahead: TimeDelta::hours(2),
            rotate_every: TimeDelta::days(30),
            max_token_lifetime: MAX_ACCESS_TOKEN_LIFETIME,
            signer_cache: TimeDelta::minutes(5),
        }
    }
}

impl RotationPolicy {
    /// How long a retired key stays in the JWKS after it stopped being current.
    pub fn retain_previous_for(&self) -> TimeDelta {
        self.max_token_lifetime + self.signer_cache
    }
}

/// The signing-keys secret's value: the key that signs, the one that will, and the one that
/// did. Every key in it is published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySet {
    /// Signs every new token.
    pub current: SigningKey,
    /// Published, waiting to become current once caches have seen it.
    pub next: SigningKey,
    /// Retired, kept until every token it signed has expired.
    #[serde(default)]
    pub previous: Option<SigningKey>,
    /// When `current` became current (and `previous`, if any, stopped being).
    pub rotated_at: DateTime<Utc>,
}

impl KeySet {
    /// A first key set: a current and a next key, both born now, no previous.
    ///
    /// The current key signs at once: on a first deployment no cache can hold an older JWKS.
    pub fn generate(clock: &dyn Clock) -> Result<Self, TokenError> {
        let now = clock.now();
        Ok(Self {
            current: SigningKey::generate(now)?,
            next: SigningKey::generate(now)?,
            previous: None,
            rotated_at: now,
        })
    }

    /// Parses the secret's value; `Ok(None)` for the placeholder the template creates the
    /// secret with (empty, or `{}`).
    ///
    /// Anything else that is not a key set is an error rather than a reason to generate a new
    /// one: overwriting a real key set would invalidate every token in flight.
    pub fn from_secret_string(value: &str) -> Result<Option<Self>, TokenError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        // Only position and category are reported: serde's messages can quote the value,
        // and the value holds private keys.
        let describe = |e: serde_json::Error| {
            TokenError::InvalidKeySet(format!(
                "JSON {:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        };
        let json: Value = serde_json::from_str(trimmed).map_err(describe)?;
        if json.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(None);
        }
        serde_json::from_value(json).map(Some).map_err(describe)
    }

    /// The JSON stored as the secret's value.
    pub fn to_secret_string(&self) -> String {
        serde_json::to_string(self).expect("a key set always serializes")
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.current
    }

    /// Every published key: current, next, then previous if kept.
    pub fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        [
            Some(&self.current),
            Some(&self.next),
            self.previous.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The public JWKS document: `{"keys": [<current>, <next>, <previous>?]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys().map(|k| &k.public_jwk).collect::<Vec<_>>() })
    }

    /// Whether `next` may take over at `now`: it has been published for
    /// [`publish_ahead`](RotationPolicy::publish_ahead) and `current` has signed for
    /// [`rotate_every`](RotationPolicy::rotate_every).
    pub fn is_rotation_due(&self, now: DateTime<Utc>, policy: &RotationPolicy) -> bool {
        now - self.next.created_at >= policy.publish_ahead
            && now - self.rotated_at >= policy.rotate_every
    }

    /// The key set as it should be at `now`, or `None` when nothing changes.
    ///
    /// When rotation [is due](Self::is_rotation_due), `next` becomes current, current becomes
    /// previous and a new next is generated. Otherwise a previous key is dropped once it has
    /// been retired for [`retain_previous_for`](RotationPolicy::retain_previous_for).
    pub fn rotate(
        &self,
        now: DateTime<Utc>,
        policy: &RotationPolicy,
    ) -> Result<Option<Self>, TokenError> {
        self.rotate_with(now, policy, SigningKey::generate)
    }

    /// [`rotate`](Self::rotate) with the new next key made by `make_next` (tests reuse keys:
    /// RSA generation is the slow part).
    pub fn rotate_with(
        &self,
        now: DateTime<Utc>,
        policy: &RotationPolicy,
        make_next: impl FnOnce(DateTime<Utc>) -> Result<SigningKey, TokenError>,
    ) -> Result<Option<Self>, TokenError> {
        if self.is_rotation_due(now, policy) {
            return Ok(Some(Self {
                current: self.next.clone(),
                next: make_next(now)?,
                previous: Some(self.current.clone()),
                rotated_at: now,
            }));
        }
        let previous_expired =
            self.previous.is_some() && now - self.rotated_at >= policy.retain_previous_for();
        Ok(previous_expired.then(|| Self {
            previous: None,
            ..self.clone()
        }))
    }
}

/// The OIDC discovery document for `issuer` (no trailing slash).
///
/// The gateway reads only `issuer` and `jwks_uri`; the other fields are the ones OpenID
/// Connect Discovery marks required, so generic OIDC tooling accepts the document too. There
/// is no `authorization_endpoint`: the shop's own login issues tokens, not an OAuth flow.
pub fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri(issuer),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": [SCOPE_USER, SCOPE_SELLER, SCOPE_ADMIN],
        "claims_supported": ["sub", "email", "name", "roles", "scope", "iss", "aud", "iat", "exp", "nbf", "jti"],
    })
}

/// Where `issuer`'s JWKS is published: `<issuer>/.well-known/jwks.json`.
pub fn jwks_uri(issuer: &str) -> String {
    format!("{}/{JWKS_PATH}", issuer.trim_end_matches('/'))
}

/// The scopes a user with `roles` holds, space-separated, lowest first.
///
/// Roles are a ladder: `User` → `shop/user`; `Seller` → `shop/seller shop/user`; `Admin` →
/// `shop/admin shop/seller shop/user`. Each gateway route then names the one scope of the
/// lowest role allowed on it, and every higher role passes because its token carries that
/// scope too. (The authorizer passes a token holding *any* of a route's scopes, so listing
/// every allowed role on every route would work as well, but would spread the ladder over
/// the whole template instead of keeping it here.) Unknown roles grant nothing.
pub fn scopes_for_roles<S: AsRef<str>>(roles: &[S]) -> String {
    let mut scopes = BTreeSet::new();
    for role in roles {
        let granted: &[&str] = match role.as_ref() {
            "User" => &[SCOPE_USER],
            "Seller" => &[SCOPE_SELLER, SCOPE_USER],
            "Admin" => &[SCOPE_ADMIN, SCOPE_SELLER, SCOPE_USER],
            _ => &[],
        };
        scopes.extend(granted.iter().copied());
    }
    // Fixed order (user, seller, admin) so equal role sets give byte-equal tokens.
    [SCOPE_USER, SCOPE_SELLER, SCOPE_ADMIN]
        .into_iter()
        .filter(|s| scopes.contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The claims of a shop access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: String,
    /// The user's email, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's full name (OIDC's `name`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's roles (`User`, `Seller`, `Admin`). Informational: the gateway hands claims
    /// to functions as strings (an array becomes `"[a b]"`), so authorisation uses `scope`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Space-separated scopes, see [`scopes_for_roles`].
    pub scope: String,
    /// The issuer URL.
    pub iss: String,
    /// The audience (the API).
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// A unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl AccessClaims {
    /// Claims for `sub` with `roles`, issued at `now` and living `lifetime`, capped at
    /// [`MAX_ACCESS_TOKEN_LIFETIME`] (a longer-lived token could outlive its key's
    /// publication). `scope` follows from the roles; `nbf` is `now`; `jti` is a fresh ULID.
    pub fn new(
        sub: impl Into<String>,
        roles: Vec<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        now: DateTime<Utc>,
        lifetime: TimeDelta,
    ) -> Self {
        let lifetime = lifetime.min(MAX_ACCESS_TOKEN_LIFETIME);
        Self {
            sub: sub.into(),
            email: None,
            name: None,
            scope: scopes_for_roles(&roles),
            roles,
            iss: issuer.into(),
            aud: audience.into(),
            iat: now.timestamp(),
            exp: (now + lifetime).timestamp(),
            nbf: Some(now.timestamp()),
            jti: Some(ulid::Ulid::from_datetime(now.into()).to_string()),
        }
    }

    /// The same claims with `email` set.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The same claims with `name` set.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The scopes as a list.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }
}

/// Signs `claims` with `key`: a compact JWS whose header is `{"typ":"JWT","alg":"RS256","kid":…}`.
pub fn sign(claims: &AccessClaims, key: &SigningKey) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding_key()?)
        .map_err(|e| TokenError::Signing(e.to_string()))
}

/// Checks `token` as the gateway does and returns its claims.
///
/// Accepts only RS256 with a `kid` found among the RSA keys of `jwks` (a JWKS document such
/// as [`KeySet::jwks`]), a valid signature, `iss == issuer`, `aud` containing `audience`,
/// `exp` after `now` and `nbf` (if present) not after `now`, both within
/// [`CLOCK_SKEW_SECS`]. The time is an argument so tests can move it.
pub fn verify(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<AccessClaims, TokenError> {
    // The header is read by hand before anything else so that `alg: none` or `HS256` is
    // named in the error instead of failing somewhere inside the library.
    let (alg, kid) = read_header(token)?;
    if alg != ALGORITHM {
        return Err(TokenError::Algorithm(alg));
    }
    let jwk = find_key(jwks, &kid).ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    let key =
        DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(|e| TokenError::InvalidKey {
            kid: kid.clone(),
            reason: e.to_string(),
        })?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    // Time is checked below against `now`; the library would read the system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;

    let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm(alg.clone()),
            _ => TokenError::Malformed(e.to_string()),
        })?
        .claims;

    let now = now.timestamp();
    if now >= claims.exp + CLOCK_SKEW_SECS {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECS) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// `alg` and `kid` of a compact JWS header.
fn read_header(token: &str) -> Result<(String, String), TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "not three dot-separated parts".into(),
        ));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed("header is not base64url".into()))?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|_| TokenError::Malformed("header is not JSON".into()))?;
    let alg = header["alg"]
        .as_str()
        .ok_or_else(|| TokenError::Malformed("header has no `alg`".into()))?;
    let kid = header["kid"]
        .as_str()
        .ok_or_else(|| TokenError::Malformed("header has no `kid`".into()))?;
    Ok((alg.to_owned(), kid.to_owned()))
}

/// The RSA signing key `kid` in `jwks`, ignoring keys of other types or uses.
fn find_key(jwks: &Value, kid: &str) -> Option<PublicJwk> {
    jwks["keys"]
        .as_array()?
        .iter()
        .filter(|k| k["kid"] == kid)
        .filter_map(|k| {
            // Published JWKs may omit `use`/`alg`; ours always have them.
            let jwk = PublicJwk {
                kty: k["kty"].as_str()?.to_owned(),
                use_: k["use"].as_str().unwrap_or("sig").to_owned(),
                alg: k["alg"].as_str().unwrap_or(ALGORITHM).to_owned(),
                kid: kid.to_owned(),
                n: k["n"].as_str()?.to_owned(),
                e: k["e"].as_str()?.to_owned(),
            };
            (jwk.kty == "RSA" && jwk.use_ == "sig" && jwk.alg == ALGORITHM).then_some(jwk)
        })
        .next()
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use chrono::TimeZone;

    use super::*;
    use crate::memory::FixedClock;

    const ISSUER: &str = "https://s3.eu-west-1.amazonaws.com/shop-dev-jwks";
    const AUDIENCE: &str = "shop-api";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    /// RSA generation costs ~100 ms per key even optimised; tests share a few keys and give
    /// each copy its own id and birth time.
    fn pooled_key(slot: usize, created_at: DateTime<Utc>, kid: &str) -> SigningKey {
        static POOL: OnceLock<Vec<SigningKey>> = OnceLock::new();
        let pool = POOL.get_or_init(|| {
            (0..3)
                .map(|_| SigningKey::generate(t0()).unwrap())
                .collect()
        });
        let mut key = pool[slot % pool.len()].clone();
        key.kid = kid.to_owned();
        key.public_jwk.kid = kid.to_owned();
        key.created_at = created_at;
        key
    }

    fn key_set_at(at: DateTime<Utc>) -> KeySet {
        KeySet {
            current: pooled_key(0, at, "k1"),
            next: pooled_key(1, at, "k2"),
            previous: None,
            rotated_at: at,
        }
    }

    fn kids(set: &KeySet) -> Vec<&str> {
        set.keys().map(|k| k.kid.as_str()).collect()
    }

    fn claims(now: DateTime<Utc>) -> AccessClaims {
        AccessClaims::new(
            "01JUSER",
            vec!["Seller".into()],
            ISSUER,
            AUDIENCE,
            now,
            TimeDelta::minutes(15),
        )
        .with_email("seller@example.com")
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    // ---------------------------------------------------------------- keys and key sets

    #[test]
    fn generated_key_set_has_distinct_current_and_next_and_no_previous() {
        let started = std::time::Instant::now();
        let set = KeySet::generate(&FixedClock::new(t0())).unwrap();
        // Two 2048-bit keys; catches a lost `[profile.dev.package]` opt-level entry.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "key generation took {:?}",
            started.elapsed()
        );
        assert_ne!(set.current.kid, set.next.kid);
        assert_ne!(set.current.public_jwk.n, set.next.public_jwk.n);
        assert!(set.previous.is_none());
        assert_eq!(set.rotated_at, t0());
        assert_eq!(set.current.created_at, t0());
        assert!(
            set.current
                .private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
    }

    #[test]
    fn jwks_lists_public_rsa_keys_in_base64url_without_padding() {
        let mut set = key_set_at(t0());
        set.previous = Some(pooled_key(2, t0(), "k0"));
        let jwks = set.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3);
        for (key, kid) in keys.iter().zip(["k1", "k2", "k0"]) {
            let fields: BTreeSet<&str> = key.as_object().unwrap().keys().map(|k| &**k).collect();
            assert_eq!(
                fields,
                BTreeSet::from(["kty", "use", "alg", "kid", "n", "e"])
            );
            assert_eq!(key["kty"], "RSA");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["alg"], "RS256");
            assert_eq!(key["kid"], kid);
            assert_eq!(key["e"], "AQAB", "65537");
            let n = key["n"].as_str().unwrap();
            assert!(!n.contains(['=', '+', '/']), "{n}");
            assert_eq!(URL_SAFE_NO_PAD.decode(n).unwrap().len(), 256, "2048 bits");
        }
        assert!(!jwks.to_string().contains("PRIVATE"));
    }

    #[test]
    fn debug_never_prints_private_keys() {
        let set = key_set_at(t0());
        let printed = format!("{set:?}");
        assert!(printed.contains("<redacted>"));
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
    }

    #[test]
    fn secret_string_roundtrips_and_placeholder_means_no_key_set() {
        let set = key_set_at(t0());
        let stored = set.to_secret_string();
        assert!(stored.contains("\"rotatedAt\""), "{stored}");
        assert!(stored.contains("\"privateKeyPem\""), "{stored}");
        assert_eq!(KeySet::from_secret_string(&stored).unwrap(), Some(set));
        assert_eq!(KeySet::from_secret_string("{}").unwrap(), None);
        assert_eq!(KeySet::from_secret_string("  ").unwrap(), None);
    }

    #[test]
    fn unreadable_secret_is_an_error_that_does_not_quote_it() {
        let err = KeySet::from_secret_string(r#"{"current": "-----BEGIN PRIVATE KEY-----"}"#)
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidKeySet(_)));
        assert!(!err.to_string().contains("PRIVATE"), "{err}");
    }

    // ---------------------------------------------------------------- rotation timeline

    #[test]
    fn rotation_waits_for_the_rotation_period() {
        let policy = RotationPolicy::default();
        let set = key_set_at(t0());
        for later in [TimeDelta::hours(3), TimeDelta::days(29)] {
            assert_eq!(set.rotate(t0() + later, &policy).unwrap(), None, "{later}");
        }
    }

    #[test]
    fn rotation_promotes_next_and_retires_current() {
        let policy = RotationPolicy::default();
        let set = key_set_at(t0());
        let at = t0() + TimeDelta::days(30);
        let rotated = set
            .rotate_with(at, &policy, |now| Ok(pooled_key(2, now, "k3")))
            .unwrap()
            .expect("due after 30 days");
        assert_eq!(kids(&rotated), ["k2", "k3", "k1"]);
        assert_eq!(rotated.rotated_at, at);
        assert_eq!(rotated.next.created_at, at);
        assert_eq!(rotated.signing_key().kid, "k2");
    }

    #[test]
    fn rotation_waits_until_next_has_been_published_long_enough() {
        let policy = RotationPolicy::default();
        // Current has signed for long enough, but `next` was published only an hour ago.
        let now = t0() + TimeDelta::days(60);
        let mut set = key_set_at(t0());
        set.next.created_at = now - TimeDelta::hours(1);
        assert!(!set.is_rotation_due(now, &policy));
        assert_eq!(set.rotate(now, &policy).unwrap(), None);

        let still_early = now + TimeDelta::minutes(59);
        assert_eq!(set.rotate(still_early, &policy).unwrap(), None);

        let two_hours_after_publishing = now + TimeDelta::hours(1);
        let rotated = set
            .rotate_with(two_hours_after_publishing, &policy, |now| {
                Ok(pooled_key(2, now, "k3"))
            })
            .unwrap()
            .expect("due once next is 2 h old");
        assert_eq!(rotated.signing_key().kid, "k2");
    }

    #[test]
    fn previous_key_is_kept_for_the_token_lifetime_then_dropped() {
        let policy = RotationPolicy::default();
        let rotation = t0() + TimeDelta::days(30);
        let rotated = key_set_at(t0())
            .rotate_with(rotation, &policy, |now| Ok(pooled_key(2, now, "k3")))
            .unwrap()
            .unwrap();

        // A token signed with k1 just before the rotation (or by a signer with a cached key
        // set just after it) is still valid: k1 must stay published.
        for later in [TimeDelta::minutes(30), TimeDelta::minutes(64)] {
            assert_eq!(
                rotated.rotate(rotation + later, &policy).unwrap(),
                None,
                "{later}"
            );
        }
        let dropped = rotated
            .rotate(rotation + TimeDelta::minutes(65), &policy)
            .unwrap()
            .expect("previous expires after 60 + 5 minutes");
        assert_eq!(kids(&dropped), ["k2", "k3"]);
        assert_eq!(dropped.rotated_at, rotation, "dropping is not a rotation");
        assert_eq!(dropped.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    // ---------------------------------------------------------------- discovery and scopes

    #[test]
    fn discovery_document_points_at_the_jwks_under_the_issuer() {
        let doc = discovery_document(ISSUER);
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(
            jwks_uri("http://localhost:4566/b/"),
            "http://localhost:4566/b/.well-known/jwks.json"
        );
    }

    #[test]
    fn higher_roles_carry_the_scopes_of_lower_ones() {
        assert_eq!(scopes_for_roles(&["User"]), "shop/user");
        assert_eq!(scopes_for_roles(&["Seller"]), "shop/user shop/seller");
        assert_eq!(
            scopes_for_roles(&["Admin"]),
            "shop/user shop/seller shop/admin"
        );
        assert_eq!(
            scopes_for_roles(&["User", "Admin", "Seller"]),
            "shop/user shop/seller shop/admin"
        );
        assert_eq!(scopes_for_roles(&["Guest", "root"]), "");
        assert_eq!(scopes_for_roles::<&str>(&[]), "");
    }

    #[test]
    fn claims_never_outlive_the_maximum_token_lifetime() {
        let claims = AccessClaims::new(
            "u",
            vec!["Admin".into()],
            ISSUER,
            AUDIENCE,
            t0(),
            TimeDelta::days(1),
        );
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.nbf, Some(claims.iat));
        assert!(claims.scopes().any(|s| s == SCOPE_ADMIN));
    }

    // ---------------------------------------------------------------- sign and verify

    #[test]
    fn signed_token_verifies_and_names_its_key() {
        let set = key_set_at(t0());
        let claims = claims(t0());
        let token = sign(&claims, set.signing_key()).unwrap();

        let (alg, kid) = read_header(&token).unwrap();
        assert_eq!((alg.as_str(), kid.as_str()), ("RS256", "k1"));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "JWT");

        let verified = verify(&token, &set.jwks(), ISSUER, AUDIENCE, t0()).unwrap();
        assert_eq!(verified, claims);
        assert_eq!(verified.scope, "shop/user shop/seller");
    }

    #[test]
    fn tokens_signed_by_the_previous_key_verify_after_rotation() {
        let policy = RotationPolicy::default();
        let set = key_set_at(t0());
        let rotation = t0() + TimeDelta::days(30);
        let token = sign(&claims(rotation), set.signing_key()).unwrap();
        let rotated = set
            .rotate_with(rotation, &policy, |now| Ok(pooled_key(2, now, "k3")))
            .unwrap()
            .unwrap();
        let later = rotation + TimeDelta::minutes(10);
        assert!(verify(&token, &rotated.jwks(), ISSUER, AUDIENCE, later).is_ok());
    }

    #[test]
    fn verify_rejects_expired_and_not_yet_valid_tokens() {
        let set = key_set_at(t0());
        let token = sign(&claims(t0()), set.signing_key()).unwrap();
        let jwks = set.jwks();

        let after_expiry = t0() + TimeDelta::minutes(16);
        assert_eq!(
            verify(&token, &jwks, ISSUER, AUDIENCE, after_expiry),
            Err(TokenError::Expired)
        );
        let before_nbf = t0() - TimeDelta::minutes(5);
        assert_eq!(
            verify(&token, &jwks, ISSUER, AUDIENCE, before_nbf),
            Err(TokenError::NotYetValid)
        );
        // Within the tolerated skew both ways.
        assert!(
            verify(
                &token,
                &jwks,
                ISSUER,
                AUDIENCE,
                t0() - TimeDelta::seconds(10)
            )
            .is_ok()
        );
    }

    #[test]
    fn verify_rejects_another_issuer_or_audience() {
        let set = key_set_at(t0());
        let token = sign(&claims(t0()), set.signing_key()).unwrap();
        let jwks = set.jwks();
        assert_eq!(
            verify(&token, &jwks, "https://evil.example", AUDIENCE, t0()),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            verify(&token, &jwks, ISSUER, "other-api", t0()),
            Err(TokenError::WrongAudience)
        );
    }

    #[test]
    fn verify_rejects_a_key_that_is_not_published() {
        let signer = pooled_key(2, t0(), "retired-long-ago");
        let token = sign(&claims(t0()), &signer).unwrap();
        assert_eq!(
            verify(&token, &key_set_at(t0()).jwks(), ISSUER, AUDIENCE, t0()),
            Err(TokenError::UnknownKey("retired-long-ago".into()))
        );
    }

    #[test]
    fn verify_rejects_unsigned_alg_none_tokens() {
        let set = key_set_at(t0());
        let header = json!({"alg": "none", "typ": "JWT", "kid": "k1"});
        let payload = serde_json::to_value(claims(t0())).unwrap();
        for token in [
            format!("{}.{}.", b64(&header), b64(&payload)),
            format!("{}.{}", b64(&header), b64(&payload)),
        ] {
            let err = verify(&token, &set.jwks(), ISSUER, AUDIENCE, t0()).unwrap_err();
            assert!(
                matches!(err, TokenError::Algorithm(_) | TokenError::Malformed(_)),
                "{err:?}"
            );
            assert!(err.is_rejection());
        }
    }

    #[test]
    fn verify_rejects_hs256_signed_with_the_public_key_as_secret() {
        // The classic key-confusion attack: HMAC with the published key as the shared secret.
        let set = key_set_at(t0());
        let public_key = set.jwks()["keys"][0].to_string();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        for secret in [public_key.as_bytes(), set.current.public_jwk.n.as_bytes()] {
            let token =
                jsonwebtoken::encode(&header, &claims(t0()), &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(
                verify(&token, &set.jwks(), ISSUER, AUDIENCE, t0()),
                Err(TokenError::Algorithm("HS256".into()))
            );
        }
    }

    #[test]
    fn verify_rejects_a_changed_payload() {
        let set = key_set_at(t0());
        let token = sign(&claims(t0()), set.signing_key()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut escalated = serde_json::to_value(claims(t0())).unwrap();
        escalated["scope"] = json!("shop/user shop/seller shop/admin");
        let forged = format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]);
        assert_eq!(
            verify(&forged, &set.jwks(), ISSUER, AUDIENCE, t0()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn verify_rejects_garbage() {
        let jwks = key_set_at(t0()).jwks();
        for token in ["", "abc", "a.b.c", "a.b.c.d"] {
            let err = verify(token, &jwks, ISSUER, AUDIENCE, t0()).unwrap_err();
            assert!(matches!(err, TokenError::Malformed(_)), "{token}: {err:?}");
        }
    }

    #[test]
    fn token_errors_map_to_401_and_key_errors_to_500() {
        assert_eq!(DomainError::from(TokenError::Expired).status(), 401);
        assert_eq!(
            DomainError::from(TokenError::InvalidKeySet("x".into())).status(),
            500
        );
    }
}
