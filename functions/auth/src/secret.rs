//! Secrets: random one-time and refresh secrets, their stored hashes, the refresh rotation's
//! derivation, and argon2id password hashes.
//!
//! - [`new_secret`]: 256 random bits from the OS, base64url without padding (43 characters,
//!   safe in a URL query and on a line of its own in an email).
//! - [`hash`]: SHA-256, hex. Enough for random 256-bit secrets (nothing to brute-force), unlike
//!   passwords, which get argon2id ([`hash_password`]).
//! - [`derive`]: the next refresh secret, HMAC-SHA256 of the consumed secret under the
//!   rotation's random key (see `crate::domain::sessions`).
//! - [`RefreshToken`]: a session id and a secret, `<sessionId>.<secret>`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use shop_domain::{DomainError, SessionId};

/// A fresh random secret: 32 bytes from the OS, base64url without padding.
pub fn new_secret() -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of `secret`, hex: what is stored in place of a one-time or refresh secret.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The refresh secret that follows `secret` under the rotation key `key`.
pub fn derive(key: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A refresh token as the client holds it: `<sessionId>.<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The family.
    pub session_id: SessionId,
    /// The secret; only its hash is stored.
    pub secret: String,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("session_id", &self.session_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl RefreshToken {
    /// Parses `<sessionId>.<secret>`; `None` for anything else.
    pub fn parse(token: &str) -> Option<Self> {
        let (id, secret) = token.trim().split_once('.')?;
        let secret_ok = (20..=100).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        Some(Self {
            session_id: id.parse().ok()?,
            secret: secret_ok.then(|| secret.to_owned())?,
        })
    }

    /// The string the client keeps.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.session_id, self.secret)
    }
}

/// The argon2id PHC string of `password` (OWASP's parameters: 19 MiB, 2 passes), computed on
/// the blocking pool so the runtime's thread keeps serving.
pub async fn hash_password(password: &str) -> Result<String, DomainError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| DomainError::Internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| DomainError::Internal(format!("the hashing task failed: {e}")))?
}

/// Whether `password` matches the PHC string `stored`. With no stored hash (an unknown email)
/// a dummy hash is checked anyway, so both answers take the same time.
pub async fn verify_password(password: &str, stored: Option<&str>) -> Result<bool, DomainError> {
    let stored = stored.unwrap_or(DUMMY_HASH).to_owned();
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| {
            DomainError::Internal(format!("a stored password hash is corrupt: {e}"))
        })?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| DomainError::Internal(format!("the hashing task failed: {e}")))?
}

/// The argon2id hash (same parameters as [`hash_password`]) of a random password nobody
/// kept, for [`verify_password`] to check when there is no account: a constant, so even the
/// first unknown-email login of a fresh instance does exactly one hash.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$kb9lzByv05DeeqCtV5RybA$swwoaiSipfStMJw1w9fPMlWoAOmcXIqu1GJ+GlTypWg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_of_url_safe_text_and_differ() {
        let a = new_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, new_secret().unwrap());
    }

    #[test]
    fn derivation_depends_on_key_and_secret() {
        assert_eq!(derive("k", "s"), derive("k", "s"));
        assert_ne!(derive("k", "s"), derive("k2", "s"));
        assert_ne!(derive("k", "s"), derive("k", "s2"));
    }

    #[test]
    fn refresh_tokens_round_trip_and_junk_is_refused() {
        let token = RefreshToken {
            session_id: SessionId::new(),
            secret: new_secret().unwrap(),
        };
        assert_eq!(RefreshToken::parse(&token.encode()), Some(token.clone()));
        assert!(!format!("{token:?}").contains(&token.secret));
        for junk in ["", "abc", "not-an-id.secretsecretsecretsecret", "01J.x"] {
            assert!(RefreshToken::parse(junk).is_none(), "{junk}");
        }
        let spaced = format!("{}.{}", token.session_id, "a b".repeat(10));
        assert!(RefreshToken::parse(&spaced).is_none());
    }

    #[tokio::test]
    async fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse", Some(&hash)).await.unwrap());
        assert!(!verify_password("anything", None).await.unwrap());
        // The dummy hash has the parameters of a real one, so checking it costs the same.
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(DUMMY_HASH), params(&hash));
    }
}
