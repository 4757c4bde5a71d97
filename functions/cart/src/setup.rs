//! What every cart function binary does before serving: read the environment once, build the
//! AWS clients once, and run one handler.

use std::sync::Arc;

use async_trait::async_trait;
use shop_adapters::invoke::Function;
use shop_adapters::{aws, config};
use shop_domain::{DomainError, SystemClock};

use crate::Deps;
use crate::domain::{
    DiscountEvaluation, DiscountEvaluator, DiscountQuery, StockLevel, StockLevels, Unit,
};
use crate::dynamo::DynamoCarts;
use crate::invoke::{InvokedDiscounts, InvokedStock};

impl Deps {
    /// The cart table (`TABLE_NAME`), inventory's `get-stock-levels`
    /// (`GET_STOCK_LEVELS_FUNCTION`) and discounts' `evaluate-discounts`
    /// (`EVALUATE_DISCOUNTS_FUNCTION`): what every route answering with a priced cart needs.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let stock = config::required("GET_STOCK_LEVELS_FUNCTION")?;
        let discounts = config::required("EVALUATE_DISCOUNTS_FUNCTION")?;
        let sdk = aws::sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&sdk);
        let carts = Arc::new(DynamoCarts::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        Ok(Deps {
            carts: carts.clone(),
            products: carts,
            stock: Arc::new(InvokedStock::new(Function::new(lambda.clone(), stock))),
            discounts: Arc::new(InvokedDiscounts::new(Function::new(lambda, discounts))),
            clock: Arc::new(SystemClock),
        })
    }

    /// The cart table (`TABLE_NAME`) and discounts' `evaluate-discounts`
    /// (`EVALUATE_DISCOUNTS_FUNCTION`), no stock: `price-cart`, whose stock the checkout's
    /// reservation decides. Its stock port answers with an internal error, never silently.
    pub async fn pricing_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let discounts = config::required("EVALUATE_DISCOUNTS_FUNCTION")?;
        let sdk = aws::sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&sdk);
        let carts = Arc::new(DynamoCarts::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        Ok(Deps {
            carts: carts.clone(),
            products: carts,
            stock: Arc::new(NotWired),
            discounts: Arc::new(InvokedDiscounts::new(Function::new(lambda, discounts))),
            clock: Arc::new(SystemClock),
        })
    }

    /// Only the cart table (`TABLE_NAME`): for the functions that price nothing
    /// (`create-guest-cart`, `delete-cart`, `cart-on-catalog-events`, `clear-cart`). Their stock and
    /// discount ports answer with an internal error, never silently.
    pub async fn store_from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let sdk = aws::sdk_config().await;
        let carts = Arc::new(DynamoCarts::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        Ok(Deps {
            carts: carts.clone(),
            products: carts,
            stock: Arc::new(NotWired),
            discounts: Arc::new(NotWired),
            clock: Arc::new(SystemClock),
        })
    }
}

/// The stock and discount ports of a function that was given neither.
struct NotWired;

fn not_wired(what: &str) -> DomainError {
    DomainError::Internal(format!(
        "this function was built with Deps::store_from_env and cannot ask {what}"
    ))
}

#[async_trait]
impl StockLevels for NotWired {
    async fn levels(&self, _: &[Unit]) -> Result<Vec<StockLevel>, DomainError> {
        Err(not_wired("get-stock-levels"))
    }
}

#[async_trait]
impl DiscountEvaluator for NotWired {
    async fn evaluate(&self, _: &DiscountQuery) -> Result<DiscountEvaluation, DomainError> {
        Err(not_wired("evaluate-discounts"))
    }
}
