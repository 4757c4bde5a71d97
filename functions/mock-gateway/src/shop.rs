//! [`HttpShop`]: the [`Shop`] port over HTTP (reqwest, rustls), the way a real provider
//! reaches a shop: `POST <PUBLIC_API_URL>/api/payments/callback`.

use std::time::Duration;

use async_trait::async_trait;
use shop_domain::DomainError;

use crate::domain::Shop;

/// How long one try may take: a shop that is slow to answer (queued behind other callbacks,
/// cold) has usually processed the callback, and a retry of it would be refused as a replay.
/// Three tries and their pauses fit in the function's 28 s (API Gateway gives up at 30 s).
const TRY_TIMEOUT: Duration = Duration::from_secs(8);

/// The shop's public API.
#[derive(Debug, Clone)]
pub struct HttpShop {
    client: reqwest::Client,
    callback_url: String,
}

impl HttpShop {
    /// The shop at `public_api_url` (no trailing slash needed).
    pub fn new(public_api_url: &str) -> Result<Self, DomainError> {
        let client = reqwest::Client::builder()
            .timeout(TRY_TIMEOUT)
            .user_agent("mock-gateway/0.1")
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            callback_url: format!(
                "{}/api/payments/callback",
                public_api_url.trim_end_matches('/')
            ),
        })
    }
}

#[async_trait]
impl Shop for HttpShop {
    async fn post_callback(&self, body: &str, signature: &str) -> Result<u16, DomainError> {
        let response = self
            .client
            .post(&self.callback_url)
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| DomainError::Unavailable(format!("POST {}: {e}", self.callback_url)))?;
        Ok(response.status().as_u16())
    }
}
