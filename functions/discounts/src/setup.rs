//! What every discounts function binary does before serving: read the environment once, build
//! the AWS clients once, and run one handler.

use std::sync::Arc;

use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::Deps;
use crate::dynamo::DynamoDiscounts;

impl Deps {
    /// The discounts table (`TABLE_NAME`) and the system clock.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        let store = Arc::new(DynamoDiscounts::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table,
        ));
        Ok(Deps {
            discounts: store.clone(),
            catalog: store,
            clock: Arc::new(SystemClock),
        })
    }
}
