//! Signed list cursors (`nextToken`).
//!
//! A cursor says where the previous page ended — for the product list, the last item's sort
//! key and id — so the next page starts strictly after it. That keeps a walk over the pages
//! exact (no item twice, none skipped) however many pages it takes, and items written between
//! two pages shift nothing that was already returned.
//!
//! The token is `base64url(payload JSON) . base64url(HMAC-SHA256(key, scope ‖ 0 ‖ payload))`.
//! The scope is the query the cursor belongs to (its filters and order), so a token edited by
//! hand, forged, or pasted onto another query is refused as a validation error on `nextToken`
//! (400), never decoded into something that fails later as a 500. The key comes from Secrets
//! Manager in the deployed functions ([`CursorKey`]); tests use a fixed one.

use std::sync::Arc;

use crate::domain::{Product, ProductQuery, SortBy};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shop_domain::{DomainError, ProductId, SecretSource};

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks cursors with one key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer with `key` (any length; 32+ random bytes in production).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }

    /// The token for `payload` within `scope`.
    pub fn encode<T: Serialize>(&self, scope: &str, payload: &T) -> String {
        let json = serde_json::to_vec(payload).expect("a cursor payload serializes");
        let tag = self.mac(scope, &json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of `token` if this signer issued it for `scope`; a validation error on
    /// `nextToken` otherwise.
    pub fn decode<T: DeserializeOwned>(&self, scope: &str, token: &str) -> Result<T, DomainError> {
        let (payload, tag) = token.split_once('.').ok_or_else(bad_token)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad_token())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad_token())?;
        // `verify_slice` compares in constant time.
        self.mac(scope, &payload)
            .verify_slice(&tag)
            .map_err(|_| bad_token())?;
        serde_json::from_slice(&payload).map_err(|_| bad_token())
    }
}

/// The error of every unusable `nextToken`: it says nothing about why, on purpose.
pub fn bad_token() -> DomainError {
    DomainError::validation("nextToken", "is not a token this API issued for this query")
}

/// Where the cursor key lives: a Secrets Manager secret read through a cache, or a fixed key.
#[derive(Clone)]
pub enum CursorKey {
    /// The secret `id`'s string value is the key.
    Secret {
        /// Where to read it (cached by the source).
        source: Arc<dyn SecretSource>,
        /// Its ARN or name.
        id: String,
    },
    /// A fixed signer (tests, benchmarks).
    Fixed(Signer),
    /// No key: the function signs no cursors (only the paged lists do, and they are given
    /// one), so asking for a signer is a wiring mistake.
    Unset,
}

impl CursorKey {
    /// The signer to use now.
    pub async fn signer(&self) -> Result<Signer, DomainError> {
        match self {
            Self::Secret { source, id } => Ok(Signer::new(source.get_secret(id).await?)),
            Self::Fixed(signer) => Ok(signer.clone()),
            Self::Unset => Err(DomainError::Internal(
                "this function has no list-cursor key: only the paged lists are built with \
                 Deps::listing_from_env (CURSOR_KEY_SECRET_ARN)"
                    .into(),
            )),
        }
    }
}

/// A product's position in a listing order: its sort key and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    /// Base price in minor units.
    Price(i64),
    /// Creation time.
    CreatedAt(DateTime<Utc>),
    /// Lower-cased name.
    Name(String),
}

impl SortKey {
    /// The key of a product with these fields under `sort_by`.
    pub fn of(sort_by: SortBy, price: i64, created_at: DateTime<Utc>, name_lower: &str) -> Self {
        match sort_by {
            SortBy::Price => Self::Price(price),
            SortBy::CreatedAt => Self::CreatedAt(created_at),
            SortBy::Name => Self::Name(name_lower.to_owned()),
        }
    }

    /// The key of `product` under `query`'s order.
    pub fn of_product(query: &ProductQuery, product: &Product) -> Self {
        Self::of(
            query.sort_by,
            product.price.amount_minor,
            product.created_at,
            &product.name.to_lowercase(),
        )
    }
}

/// The cursor of the product lists: the last item's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCursor {
    /// Sort key of the last item returned.
    pub key: SortKey,
    /// Its id, the tie-breaker.
    pub id: ProductId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_decodes_only_with_its_key_and_scope() {
        let signer = Signer::new("k1");
        let token = signer.encode("scope-a", &(7_u32, "x"));
        assert_eq!(
            signer.decode::<(u32, String)>("scope-a", &token).unwrap(),
            (7, "x".to_owned())
        );
        let status = |r: Result<(u32, String), DomainError>| r.unwrap_err().status();
        assert_eq!(status(signer.decode("scope-b", &token)), 400);
        assert_eq!(status(Signer::new("k2").decode("scope-a", &token)), 400);
    }

    #[test]
    fn an_edited_or_malformed_token_is_a_validation_error() {
        let signer = Signer::new("k1");
        let token = signer.encode("s", &1_u32);
        let (_, tag) = token.split_once('.').unwrap();
        let edited = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("2"));
        for bad in [edited.as_str(), "", ".", "not a token", "e30.AAAA"] {
            let err = signer.decode::<u32>("s", bad).unwrap_err();
            assert_eq!(err, bad_token(), "{bad}");
        }
    }
}
