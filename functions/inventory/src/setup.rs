//! What every inventory function binary does before serving: read the environment once, build
//! the AWS clients once, and run one handler.

use std::sync::Arc;

use shop_adapters::{aws, config};
use shop_domain::SystemClock;

use crate::Deps;
use crate::dynamo::DynamoInventory;

impl Deps {
    /// The inventory table (`TABLE_NAME`) and the system clock.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Deps {
            store: Arc::new(DynamoInventory::new(client, table)),
            clock: Arc::new(SystemClock),
        })
    }
}
