//! The internal functions the checkout invokes (no route; Lambda `Invoke`, JSON in and out).
//! Infrastructure failures are `Retryable` ([`TaskError`]); a malformed input is
//! `NonRetryable` (a bug of the caller).
//!
//! - `price_cart` (`create-checkout`): `{userId, discountCode?}` → `{currency, items:
//!   [{productId, sku, inventorySku, name, unitPrice, quantity, lineTotal, sellerId,
//!   available, unavailableReason?}], subtotal, discount, applied, discountCode, code}`: the
//!   user's live cart priced as `GET /api/cart` prices it, with `discountCode` (when given and
//!   not blank) instead of the cart's own. No stock is asked (the reservation decides), so a
//!   line is unavailable only for the catalog's reasons; the discounts are asked
//!   synchronously and, when they cannot be, the answer is a `Retryable` error — never a
//!   total silently without its discount. `applied` are the discounts the order reserves.
//! - `clear_cart` (the saga's `ClearCart` step, once paid): `{userId, orderId, items:
//!   [{productId, sku}]}` → `{removed}`: those lines (whatever their quantity now) and the
//!   cart's discount code go, once per order; a repeat answers the same count and removes
//!   nothing more, and no cart answers `{removed: 0}`.

use std::collections::HashMap;

use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shop_adapters::lambda::TaskError;
use shop_domain::{Currency, DomainError, OrderId, ProductId, UserId};

use crate::Deps;
use crate::carts::live_cart;
use crate::domain::pricing;
use crate::domain::pricing::DiscountAnswer;
use crate::domain::{AppliedDiscount, CartOwner, CodeVerdict, Sku, Unavailable, Unit};

fn input<T: DeserializeOwned>(value: Value) -> Result<T, TaskError> {
    serde_json::from_value(value)
        .map_err(|e| TaskError::Domain(DomainError::validation("input", e.to_string())))
}

fn output(value: &impl Serialize) -> Result<Value, TaskError> {
    serde_json::to_value(value)
        .map_err(|e| TaskError::Domain(DomainError::Internal(format!("task output: {e}"))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceCartInput {
    user_id: UserId,
    #[serde(default)]
    discount_code: Option<String>,
}

/// One line of `price-cart`'s answer: what an order line is made of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PricedLine {
    product_id: ProductId,
    sku: Option<String>,
    inventory_sku: String,
    name: String,
    unit_price: i64,
    quantity: u32,
    line_total: i64,
    seller_id: Option<String>,
    available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable_reason: Option<Unavailable>,
}

/// `price-cart`'s answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PricedCart {
    currency: Option<Currency>,
    items: Vec<PricedLine>,
    subtotal: i64,
    discount: Option<AppliedDiscount>,
    applied: Vec<AppliedDiscount>,
    discount_code: Option<String>,
    code: Option<CodeVerdict>,
}

/// `price-cart`.
#[tracing::instrument(skip_all)]
pub async fn price_cart(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: PriceCartInput = input(event.payload)?;
    let owner = CartOwner::User(input.user_id);
    let mut cart = live_cart(deps, &owner).await?;
    let code = input
        .discount_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let (Some(cart), Some(code)) = (cart.as_mut(), code) {
        cart.discount_code = Some(code.to_owned());
    }
    let ids: Vec<ProductId> = cart
        .iter()
        .flat_map(|c| c.lines.iter().map(|l| l.unit.product_id))
        .collect();
    let products = if ids.is_empty() {
        Vec::new()
    } else {
        deps.products.products(&ids).await?
    };
    let priced = pricing::price_without_stock(owner, cart.as_ref(), &products);
    let evaluation = match &priced.discount_query {
        None => None,
        Some(query) => Some(deps.discounts.evaluate(query).await?),
    };
    let (verdict, applied) = evaluation
        .as_ref()
        .map(|e| (e.code.clone(), e.applied.clone()))
        .unwrap_or_default();
    let view =
        priced.finish(evaluation.map_or(DiscountAnswer::NotAsked, DiscountAnswer::Evaluated));
    let sellers: HashMap<ProductId, Option<String>> = products
        .into_iter()
        .map(|p| (p.product_id, p.seller_id))
        .collect();
    let items = view
        .items
        .into_iter()
        .map(|line| PricedLine {
            inventory_sku: line
                .sku
                .clone()
                .unwrap_or_else(|| line.product_id.to_string()),
            seller_id: sellers.get(&line.product_id).cloned().flatten(),
            product_id: line.product_id,
            sku: line.sku,
            name: line.name,
            unit_price: line.unit_price,
            quantity: line.quantity,
            line_total: line.line_total,
            available: line.available,
            unavailable_reason: line.unavailable_reason,
        })
        .collect();
    tracing::info!(user_id = %input.user_id, subtotal = view.subtotal, "cart priced for a checkout");
    output(&PricedCart {
        currency: view.currency,
        items,
        subtotal: view.subtotal,
        discount: view.discount,
        applied,
        discount_code: view.discount_code,
        code: verdict,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClearCartInput {
    user_id: UserId,
    order_id: OrderId,
    items: Vec<ClearItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClearItem {
    product_id: ProductId,
    #[serde(default)]
    sku: Option<Sku>,
}

#[derive(Serialize)]
struct Cleared {
    removed: u32,
}

/// `clear-cart`.
#[tracing::instrument(skip_all)]
pub async fn clear_cart(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: ClearCartInput = input(event.payload)?;
    let owner = CartOwner::User(input.user_id);
    let units: Vec<Unit> = input
        .items
        .into_iter()
        .map(|i| Unit {
            product_id: i.product_id,
            sku: i.sku,
        })
        .collect();
    let removed = deps
        .carts
        .clear_order_lines(&owner, input.order_id, &units, deps.clock.now())
        .await?;
    tracing::info!(order_id = %input.order_id, user_id = %input.user_id, removed, "order's lines cleared from the cart");
    output(&Cleared { removed })
}
