//! What every auth function binary does before serving: read the environment once, build the
//! AWS clients once ([`Deps::from_env`]); each `src/bin/<function>.rs` `main` then runs one
//! handler.

use std::sync::Arc;

use crate::domain::LockoutPolicy;
use chrono::TimeDelta;
use shop_adapters::secrets::CachedSecrets;
use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::dynamo::DynamoAccounts;
use crate::{AuthConfig, Deps};

impl Deps {
    /// The auth table (`TABLE_NAME`), the signing keys (`SIGNING_KEYS_SECRET_ARN`, cached),
    /// the token's `TOKEN_ISSUER` and `TOKEN_AUDIENCE`, and the tunables
    /// `ACCESS_TOKEN_MINUTES` (15), `REFRESH_GRACE_SECONDS` (10, at most 10),
    /// `LOCKOUT_MAX_FAILURES` (5) and `LOCKOUT_WINDOW_SECONDS` (900).
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let keys_secret_id = config::required("SIGNING_KEYS_SECRET_ARN")?;
        let auth = AuthConfig {
            issuer: config::required("TOKEN_ISSUER")?,
            audience: config::required("TOKEN_AUDIENCE")?,
            access_lifetime: TimeDelta::minutes(config::parse_or("ACCESS_TOKEN_MINUTES", 15)?),
            refresh_grace: TimeDelta::seconds(config::parse_or("REFRESH_GRACE_SECONDS", 10)?),
            lockout: LockoutPolicy {
                max_failures: config::parse_or("LOCKOUT_MAX_FAILURES", 5)?,
                window: TimeDelta::seconds(config::parse_or("LOCKOUT_WINDOW_SECONDS", 900)?),
            },
        };
        let sdk = aws::sdk_config().await;
        Ok(Deps {
            accounts: Arc::new(DynamoAccounts::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                table,
            )),
            keys: Arc::new(CachedSecrets::secrets_manager(
                aws_sdk_secretsmanager::Client::new(&sdk),
            )),
            keys_secret_id,
            clock: Arc::new(SystemClock),
            config: auth,
        })
    }
}
