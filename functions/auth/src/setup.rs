//! What every auth function binary does before serving: read the environment once, build the
//! AWS clients once; each `src/bin/<function>.rs` `main` then runs one handler. Three sets of
//! needs, three constructors, so no function requires a variable it does not read:
//!
//! - [`Deps::from_env`]: the table, for every function that signs no token (register, the
//!   verification and password-reset mails, logout, roles).
//! - [`Deps::signing_from_env`]: the table plus the signing keys and token settings, for
//!   login, refresh-token and change-password.
//! - [`PublicKeys::from_env`]: the public copy of the keys alone, for get-jwks.

use std::sync::Arc;

use crate::domain::{EmailPolicy, LockoutPolicy};
use chrono::TimeDelta;
use shop_adapters::secrets::CachedSecrets;
use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::dynamo::DynamoAccounts;
use crate::{AuthConfig, Deps, PublicKeys, SigningKeys};

impl Deps {
    /// The auth table (`TABLE_NAME`), the system clock and the account-email limits
    /// (`EMAIL_COOLDOWN_SECONDS`, 60; `EMAIL_DAILY_CAP`, 5); no signing keys.
    ///
    /// Fails with a message naming the missing variable, so a misconfigured function says so
    /// in its first log line rather than on its first request.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let settings = AuthConfig {
            emails: emails_from_env()?,
            ..AuthConfig::default()
        };
        let sdk = aws::sdk_config().await;
        Ok(Self::new(&sdk, table, SigningKeys::Unset, settings))
    }

    /// [`Deps::from_env`] plus the signing keys (`SIGNING_KEYS_SECRET_ARN`, cached), the
    /// token's `TOKEN_ISSUER` and `TOKEN_AUDIENCE`, and the tunables `ACCESS_TOKEN_MINUTES`
    /// (15), `REFRESH_GRACE_SECONDS` (10, at most 10; the template gives it to
    /// refresh-token), `LOCKOUT_MAX_FAILURES` (5) and `LOCKOUT_WINDOW_SECONDS` (900; given
    /// to login).
    pub async fn signing_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let keys_secret = config::required("SIGNING_KEYS_SECRET_ARN")?;
        let settings = AuthConfig {
            issuer: config::required("TOKEN_ISSUER")?,
            audience: config::required("TOKEN_AUDIENCE")?,
            access_lifetime: TimeDelta::minutes(config::parse_or("ACCESS_TOKEN_MINUTES", 15)?),
            refresh_grace: TimeDelta::seconds(config::parse_or("REFRESH_GRACE_SECONDS", 10)?),
            lockout: LockoutPolicy {
                max_failures: config::parse_or("LOCKOUT_MAX_FAILURES", 5)?,
                window: TimeDelta::seconds(config::parse_or("LOCKOUT_WINDOW_SECONDS", 900)?),
            },
            // The signing functions send no account email.
            emails: EmailPolicy::default(),
        };
        let sdk = aws::sdk_config().await;
        let keys = SigningKeys::secret(&sdk, keys_secret);
        Ok(Self::new(&sdk, table, keys, settings))
    }

    fn new(
        sdk: &aws_config::SdkConfig,
        table: String,
        keys: SigningKeys,
        config: AuthConfig,
    ) -> Self {
        Deps {
            accounts: Arc::new(DynamoAccounts::new(
                aws_sdk_dynamodb::Client::new(sdk),
                table,
            )),
            keys,
            clock: Arc::new(SystemClock),
            config,
        }
    }
}

impl SigningKeys {
    fn secret(sdk: &aws_config::SdkConfig, id: String) -> Self {
        SigningKeys::Secret {
            source: cached_secrets(sdk),
            id,
        }
    }
}

impl PublicKeys {
    /// The public copy of the keys (`PUBLIC_KEYS_SECRET_ARN`, cached): for get-jwks, which
    /// reads no table and may not read the private keys.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let id = config::required("PUBLIC_KEYS_SECRET_ARN")?;
        let sdk = aws::sdk_config().await;
        Ok(Self {
            source: cached_secrets(&sdk),
            id,
        })
    }
}

fn emails_from_env() -> Result<EmailPolicy, config::ConfigError> {
    Ok(EmailPolicy {
        cooldown: TimeDelta::seconds(config::parse_or("EMAIL_COOLDOWN_SECONDS", 60)?),
        daily_cap: config::parse_or("EMAIL_DAILY_CAP", 5)?,
    })
}

fn cached_secrets(sdk: &aws_config::SdkConfig) -> Arc<CachedSecrets> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    Arc::new(CachedSecrets::secrets_manager(client))
}
