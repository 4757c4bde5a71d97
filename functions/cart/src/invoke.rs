//! The ports to the other services' internal functions, called with Lambda `Invoke`:
//! [`InvokedStock`] (inventory's `get-stock-levels`) and [`InvokedDiscounts`] (discounts'
//! `evaluate-discounts`). A named failure of either is a bug on one side of the contract,
//! not an answer the cart acts on, so it becomes `Unavailable` like any breakage.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shop_adapters::invoke::Function;
use shop_domain::{DomainError, ProductId};

use crate::domain::{
    DiscountEvaluation, DiscountEvaluator, DiscountQuery, StockLevel, StockLevels, Unit,
};

/// The most units one `get-stock-levels` call takes.
const MAX_UNITS_PER_CALL: usize = 100;

/// Inventory's `get-stock-levels`.
pub struct InvokedStock {
    function: Function,
}

impl InvokedStock {
    /// The port over `function`.
    pub fn new(function: Function) -> Self {
        Self { function }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitKey {
    product_id: ProductId,
    sku: String,
}

#[derive(Serialize)]
struct LevelsInput<'a> {
    units: &'a [UnitKey],
}

#[derive(Deserialize)]
struct LevelsOutput {
    units: Vec<StockLevel>,
}

#[async_trait]
impl StockLevels for InvokedStock {
    async fn levels(&self, units: &[Unit]) -> Result<Vec<StockLevel>, DomainError> {
        let keys: Vec<UnitKey> = units
            .iter()
            .map(|u| UnitKey {
                product_id: u.product_id,
                sku: u.inventory_sku(),
            })
            .collect();
        let mut levels = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_UNITS_PER_CALL) {
            let output: LevelsOutput = self
                .function
                .call(&LevelsInput { units: chunk })
                .await?
                .map_err(|e| {
                    DomainError::Unavailable(format!(
                        "get-stock-levels refused: {}: {}",
                        e.error_type, e.message
                    ))
                })?;
            levels.extend(output.units);
        }
        Ok(levels)
    }
}

/// Discounts' `evaluate-discounts`.
pub struct InvokedDiscounts {
    function: Function,
}

impl InvokedDiscounts {
    /// The port over `function`.
    pub fn new(function: Function) -> Self {
        Self { function }
    }
}

#[async_trait]
impl DiscountEvaluator for InvokedDiscounts {
    async fn evaluate(&self, query: &DiscountQuery) -> Result<DiscountEvaluation, DomainError> {
        self.function.call(query).await?.map_err(|e| {
            DomainError::Unavailable(format!(
                "evaluate-discounts refused: {}: {}",
                e.error_type, e.message
            ))
        })
    }
}
