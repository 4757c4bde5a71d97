//! What each mock gateway function does before serving: read the environment once, build the
//! clients once. Two sets of needs, two constructors:
//!
//! - [`Deps::page_from_env`]: the webhook secret (`WEBHOOK_SECRET_ARN`), for the page.
//! - [`Deps::from_env`]: plus the shop's public URL (`PUBLIC_API_URL`), for the outcome,
//!   which calls the shop back.

use std::sync::Arc;

use shop_adapters::secrets::CachedSecrets;
use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::Deps;
use crate::pages::BACKOFF;
use crate::shop::HttpShop;

impl Deps {
    /// The webhook secret (`WEBHOOK_SECRET_ARN`, cached) and the system clock.
    pub async fn page_from_env() -> Result<Self, config::ConfigError> {
        let secret_id = config::required("WEBHOOK_SECRET_ARN")?;
        Ok(Self::new(secret_id).await)
    }

    /// [`Deps::page_from_env`] plus the shop at `PUBLIC_API_URL`.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let secret_id = config::required("WEBHOOK_SECRET_ARN")?;
        let public_api_url = config::required("PUBLIC_API_URL")?;
        let shop = HttpShop::new(&public_api_url)?;
        Ok(Deps {
            shop: Some(Arc::new(shop)),
            ..Self::new(secret_id).await
        })
    }

    async fn new(secret_id: String) -> Self {
        let sdk = aws::sdk_config().await;
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        Deps {
            secrets: Arc::new(CachedSecrets::secrets_manager(client)),
            secret_id,
            shop: None,
            clock: Arc::new(SystemClock),
            backoff: BACKOFF,
        }
    }
}
