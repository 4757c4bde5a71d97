//! What the notifications function binaries do before serving: read the environment once and
//! build the AWS clients once.

use std::sync::Arc;

use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::mail::{DynamoSentLog, SesMailer};
use crate::{Deps, MailConfig};

impl Deps {
    /// The sent log's table (`TABLE_NAME`), the sender `MAIL_FROM`, the links' base
    /// `WEB_APP_URL`, SES v2 and the system clock.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let config = MailConfig {
            from: config::required("MAIL_FROM")?,
            web_url: config::required("WEB_APP_URL")?,
        };
        let sdk = aws::sdk_config().await;
        Ok(Deps {
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk))),
            sent: Arc::new(DynamoSentLog::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                table,
            )),
            clock: Arc::new(SystemClock),
            config,
        })
    }
}
