//! What every catalog function binary does before serving: read the environment once and
//! build the AWS clients once ([`Deps::from_env`]); its `main` then runs one handler.

use std::sync::Arc;

use shop_adapters::idempotency::DynamoIdempotency;

use shop_adapters::secrets::CachedSecrets;
use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::Deps;
use crate::cursor::CursorKey;
use crate::dynamo::DynamoCatalog;

impl Deps {
    /// The catalog table (`TABLE_NAME`) behind all three stores and the system clock: what
    /// every catalog function but the paged lists needs (they sign no cursors).
    ///
    /// Fails with a message naming the missing variable, so a misconfigured function says so
    /// in its first log line rather than on its first request.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        Ok(Self::new(&sdk, table, CursorKey::Unset))
    }

    /// [`Deps::from_env`] plus the key that signs list cursors, the secret
    /// `CURSOR_KEY_SECRET_ARN` (fetched on first use, then cached): for the paged lists
    /// (`list-products`, `list-seller-products`, `list-brands`).
    pub async fn listing_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let cursor_secret = config::required("CURSOR_KEY_SECRET_ARN")?;
        let sdk = aws::sdk_config().await;
        let secrets = CachedSecrets::secrets_manager(aws_sdk_secretsmanager::Client::new(&sdk));
        let key = CursorKey::Secret {
            source: Arc::new(secrets),
            id: cursor_secret,
        };
        Ok(Self::new(&sdk, table, key))
    }

    fn new(sdk: &aws_config::SdkConfig, table: String, cursor: CursorKey) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        let requests = Arc::new(DynamoIdempotency::new(client.clone(), table.clone()));
        let catalog = Arc::new(DynamoCatalog::new(client, table, cursor));
        Deps {
            products: catalog.clone(),
            categories: catalog.clone(),
            brands: catalog,
            clock: Arc::new(SystemClock),
            requests,
        }
    }
}
