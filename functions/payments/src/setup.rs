//! What every payments function binary does before serving: read the environment once, build
//! the AWS clients once, and run one handler. Three sets of needs, three constructors, so no
//! function requires a variable it does not read:
//!
//! - [`Deps::from_env`]: the table (`TABLE_NAME`) and Step Functions, for await-payment and
//!   void-payment.
//! - [`Deps::callback_from_env`]: plus the webhook secret (`WEBHOOK_SECRET_ARN`), for the
//!   callback.
//! - [`Deps::paying_from_env`]: plus the API's public URL (`PUBLIC_API_URL`), for
//!   create-payment, which signs the payment page's URL.

use std::sync::Arc;

use shop_adapters::secrets::CachedSecrets;
use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::dynamo::DynamoPayments;
use crate::sfn::SfnTasks;
use crate::{Deps, WebhookSecret};

impl Deps {
    /// The payments table (`TABLE_NAME`), Step Functions and the system clock.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        Ok(Self::new(&sdk, table))
    }

    /// [`Deps::from_env`] plus the webhook secret (`WEBHOOK_SECRET_ARN`, cached).
    pub async fn callback_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let secret = config::required("WEBHOOK_SECRET_ARN")?;
        let sdk = aws::sdk_config().await;
        Ok(Deps {
            webhook: Some(webhook_secret(&sdk, secret)),
            ..Self::new(&sdk, table)
        })
    }

    /// [`Deps::callback_from_env`] plus the API's public URL (`PUBLIC_API_URL`, e.g.
    /// `http://localhost:3000`), where the payment page lives.
    pub async fn paying_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let secret = config::required("WEBHOOK_SECRET_ARN")?;
        let public_api_url = config::required("PUBLIC_API_URL")?;
        let sdk = aws::sdk_config().await;
        Ok(Deps {
            webhook: Some(webhook_secret(&sdk, secret)),
            public_api_url: Some(public_api_url.trim_end_matches('/').to_owned()),
            ..Self::new(&sdk, table)
        })
    }

    fn new(sdk: &aws_config::SdkConfig, table: String) -> Self {
        Deps {
            store: Arc::new(DynamoPayments::new(
                aws_sdk_dynamodb::Client::new(sdk),
                table,
            )),
            tasks: Arc::new(SfnTasks::new(aws_sdk_sfn::Client::new(sdk))),
            clock: Arc::new(SystemClock),
            webhook: None,
            public_api_url: None,
        }
    }
}

fn webhook_secret(sdk: &aws_config::SdkConfig, id: String) -> WebhookSecret {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    WebhookSecret {
        source: Arc::new(CachedSecrets::secrets_manager(client)),
        id,
    }
}
