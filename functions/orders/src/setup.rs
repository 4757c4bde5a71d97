//! What every orders function binary does before serving: read the environment once, build
//! the AWS clients once, and run one handler. Each `from_env` reads exactly what its
//! functions use; the ports a function was not given answer with an internal error, never
//! silently.

use std::sync::Arc;

use async_trait::async_trait;
use shop_adapters::idempotency::DynamoIdempotency;
use shop_adapters::invoke::Function;
use shop_adapters::{aws, config};
use shop_domain::{AddressId, DomainError, OrderId, SystemClock};

use crate::domain::{
    AddressBook, AddressLookup, CartPricing, OpsAlerts, PricedCart, Saga, SagaStart,
};
use crate::dynamo::DynamoOrders;
use crate::invoke::{InvokedCart, InvokedUsers, SfnSaga, SnsOps};
use crate::{Deps, Settings};

impl Deps {
    /// Only the orders table (`TABLE_NAME`): the reads and the saga's steps but flag-order.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        Ok(Self::with_table(&sdk, table))
    }

    /// The checkout: the table, the state machine (`STATE_MACHINE_ARN`), the cart's
    /// `price-cart` (`PRICE_CART_FUNCTION`), the users' `get-address`
    /// (`GET_ADDRESS_FUNCTION`), and `SHIPPING_FEE`, `FREE_SHIPPING_THRESHOLD`,
    /// `PAYMENT_TIMEOUT_SECONDS`.
    pub async fn checkout_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let machine = config::required("STATE_MACHINE_ARN")?;
        let price_cart = config::required("PRICE_CART_FUNCTION")?;
        let get_address = config::required("GET_ADDRESS_FUNCTION")?;
        let settings = Settings {
            shipping_fee: config::parse("SHIPPING_FEE")?,
            free_shipping_threshold: config::parse("FREE_SHIPPING_THRESHOLD")?,
            payment_timeout_seconds: config::parse("PAYMENT_TIMEOUT_SECONDS")?,
        };
        let sdk = aws::sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&sdk);
        let mut deps = Self::with_table(&sdk, table);
        deps.pricing = Arc::new(InvokedCart::new(Function::new(lambda.clone(), price_cart)));
        deps.addresses = Arc::new(InvokedUsers::new(Function::new(lambda, get_address)));
        deps.saga = Arc::new(SfnSaga::new(aws_sdk_sfn::Client::new(&sdk), machine));
        deps.settings = settings;
        Ok(deps)
    }

    /// flag-order: the table and the ops topic (`OPS_TOPIC_ARN`).
    pub async fn flagging_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let topic = config::required("OPS_TOPIC_ARN")?;
        let sdk = aws::sdk_config().await;
        let mut deps = Self::with_table(&sdk, table);
        deps.ops = Arc::new(SnsOps::new(aws_sdk_sns::Client::new(&sdk), topic));
        Ok(deps)
    }

    fn with_table(sdk: &aws_config::SdkConfig, table: String) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        Deps {
            orders: Arc::new(DynamoOrders::new(client.clone(), table.clone())),
            requests: Arc::new(DynamoIdempotency::new(client, table)),
            pricing: Arc::new(NotWired),
            addresses: Arc::new(NotWired),
            saga: Arc::new(NotWired),
            ops: Arc::new(NotWired),
            clock: Arc::new(SystemClock),
            settings: Settings::default(),
        }
    }
}

/// The ports of a function that was not given them.
struct NotWired;

fn not_wired(what: &str) -> DomainError {
    DomainError::Internal(format!(
        "this function was not built with {what}: use the from_env that names it"
    ))
}

#[async_trait]
impl CartPricing for NotWired {
    async fn price(&self, _: &str, _: Option<&str>) -> Result<PricedCart, DomainError> {
        Err(not_wired("price-cart"))
    }
}

#[async_trait]
impl AddressBook for NotWired {
    async fn address(&self, _: &str, _: AddressId) -> Result<AddressLookup, DomainError> {
        Err(not_wired("get-address"))
    }
}

#[async_trait]
impl Saga for NotWired {
    async fn start(&self, _: OrderId, _: &serde_json::Value) -> Result<SagaStart, DomainError> {
        Err(not_wired("the state machine"))
    }
}

#[async_trait]
impl OpsAlerts for NotWired {
    async fn alert(&self, _: &str, _: &str) -> Result<(), DomainError> {
        Err(not_wired("the ops topic"))
    }
}
