//! The internal functions (no route; invoked with Lambda `Invoke`, JSON in and out). Named
//! business failures are Lambda errors whose `errorType` is the name
//! ([`TaskError::Named`]); infrastructure failures are `Retryable`.
//!
//! - `evaluate_discounts` (the cart): `{userId, code, currency, items: [{productId, sku,
//!   quantity, unitPrice}]}` → `{code: null | {valid: true} | {valid: false, reason},
//!   discount: null | {id, code, name, amount}, applied: [{id, code, name, amount}]}`. The
//!   caller's prices; the projection only places products in categories and brands.
//! - `reserve_discount` (the checkout): `{orderId, userId, discountIds}` → `{orderId, status,
//!   discountIds}`, all or nothing; `UsageLimitReached`, `PerUserLimitReached`,
//!   `DiscountNotApplicable` (unknown, inactive, not started, expired). Idempotent by order.
//! - `redeem_discount`: `{orderId}` → `{orderId, status}`: RESERVED → REDEEMED (again:
//!   unchanged); `RedemptionNotFound`, `RedemptionReleased`.
//! - `release_discount`: `{orderId}` → `{orderId, status}`: RESERVED → RELEASED, each use
//!   given back once; an unknown order answers `status: null`, a released or redeemed one
//!   stays as it is — safe to repeat.

use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop_adapters::lambda::TaskError;
use shop_domain::{Currency, DiscountId, DomainError, OrderId, ProductId};

use crate::Deps;
use crate::domain::{Applied, Redemption, RedemptionStatus, ReserveRefusal};
use crate::pricing::{self, MAX_LINES, Wanted};

/// How often a reservation re-reads discounts that changed under it.
const STALE_RETRIES: usize = 5;
/// The most discounts one order may use.
pub const MAX_DISCOUNTS_PER_ORDER: usize = 10;

fn input<T: DeserializeOwned>(value: Value) -> Result<T, TaskError> {
    serde_json::from_value(value)
        .map_err(|e| TaskError::Domain(DomainError::validation("input", e.to_string())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluateInput {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    currency: Currency,
    items: Vec<EvaluateItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluateItem {
    product_id: ProductId,
    #[serde(default)]
    sku: Option<String>,
    quantity: u32,
    unit_price: i64,
}

#[derive(Serialize)]
struct Taken<'a> {
    id: DiscountId,
    code: Option<&'a str>,
    name: &'a str,
    amount: i64,
}

impl<'a> From<&'a Applied> for Taken<'a> {
    fn from(a: &'a Applied) -> Self {
        Self {
            id: a.id,
            code: a.code.as_deref(),
            name: &a.name,
            amount: a.amount,
        }
    }
}

/// `evaluate-discounts`.
pub async fn evaluate_discounts(
    deps: &Deps,
    event: LambdaEvent<Value>,
) -> Result<Value, TaskError> {
    let input: EvaluateInput = input(event.payload)?;
    if input.items.len() > MAX_LINES {
        return Err(DomainError::validation(
            "items",
            format!("must hold at most {MAX_LINES} items"),
        )
        .into());
    }
    if let Some((i, _)) = input
        .items
        .iter()
        .enumerate()
        .find(|(_, item)| item.quantity == 0 || item.unit_price < 0)
    {
        return Err(DomainError::validation(
            format!("items[{i}]"),
            "needs a quantity of at least 1 and a unit price of at least 0",
        )
        .into());
    }
    let wanted: Vec<Wanted> = input
        .items
        .iter()
        .map(|item| Wanted {
            product_id: item.product_id,
            sku: item.sku.clone(),
            quantity: item.quantity,
            unit_price: Some(item.unit_price),
        })
        .collect();
    let facts = pricing::facts(deps, wanted.iter().map(|w| w.product_id)).await?;
    let lines = pricing::placed(&wanted, &facts);
    let code = input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let user = input.user_id.as_deref().filter(|u| !u.is_empty());
    let evaluation = pricing::evaluate(deps, user, code, input.currency, &lines, true).await?;
    let code = match &evaluation.code {
        None => Value::Null,
        Some(Ok(_)) => json!({"valid": true}),
        Some(Err(reason)) => json!({"valid": false, "reason": reason}),
    };
    Ok(json!({
        "code": code,
        "discount": evaluation.discount.as_ref().map(Taken::from),
        "applied": evaluation.applied.iter().map(Taken::from).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReserveInput {
    order_id: OrderId,
    user_id: String,
    discount_ids: Vec<DiscountId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderInput {
    order_id: OrderId,
}

fn answer(redemption: &Redemption) -> Value {
    json!({
        "orderId": redemption.order_id,
        "status": redemption.status,
        "discountIds": redemption.discount_ids,
    })
}

/// `reserve-discount`.
pub async fn reserve_discount(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: ReserveInput = input(event.payload)?;
    let user = input.user_id.trim().to_owned();
    if user.is_empty() || user.len() > 128 {
        return Err(DomainError::validation("userId", "must be 1 to 128 characters").into());
    }
    let now = deps.clock.now();
    let wanted = Redemption::reserve(input.order_id, user, input.discount_ids, now);
    if wanted.discount_ids.len() > MAX_DISCOUNTS_PER_ORDER {
        return Err(DomainError::validation(
            "discountIds",
            format!("must hold at most {MAX_DISCOUNTS_PER_ORDER} discounts"),
        )
        .into());
    }
    if let Some(existing) = deps.discounts.redemption(wanted.order_id).await? {
        return held(&existing, &wanted);
    }
    for _ in 0..STALE_RETRIES {
        let mut discounts = Vec::new();
        for id in &wanted.discount_ids {
            let discount = deps
                .discounts
                .get(*id)
                .await?
                .ok_or_else(|| not_applicable(*id, "does not exist"))?;
            let why = if !discount.active {
                Some("is inactive")
            } else if discount.starts_at.is_some_and(|s| now < s) {
                Some("has not started")
            } else if discount.ends_at.is_some_and(|e| now >= e) {
                Some("has expired")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(not_applicable(*id, why));
            }
            discounts.push(discount);
        }
        match deps.discounts.reserve(&wanted, &discounts).await {
            Ok(stored) => {
                let result = held(&stored, &wanted);
                if result.is_ok() {
                    tracing::info!(order_id = %wanted.order_id, discounts = ?wanted.discount_ids, "discount uses reserved");
                }
                return result;
            }
            Err(ReserveRefusal::Stale(_)) => continue,
            Err(ReserveRefusal::Gone(id)) => return Err(not_applicable(id, "does not exist")),
            Err(ReserveRefusal::UsageLimitReached(id)) => {
                return Err(TaskError::named(
                    "UsageLimitReached",
                    format!("discount {id} has reached its usage limit"),
                ));
            }
            Err(ReserveRefusal::PerUserLimitReached(id)) => {
                return Err(TaskError::named(
                    "PerUserLimitReached",
                    format!(
                        "user {} has used discount {id} as often as allowed",
                        wanted.user_id
                    ),
                ));
            }
            Err(ReserveRefusal::Store(err)) => return Err(err.into()),
        }
    }
    Err(DomainError::Unavailable(
        "the discounts kept changing during the reservation; retry".into(),
    )
    .into())
}

fn not_applicable(id: DiscountId, why: &str) -> TaskError {
    TaskError::named("DiscountNotApplicable", format!("discount {id} {why}"))
}

/// The answer for an order that holds `stored`: it, when it is what was asked for.
fn held(stored: &Redemption, wanted: &Redemption) -> Result<Value, TaskError> {
    if stored.same_request(wanted) {
        Ok(answer(stored))
    } else {
        Err(DomainError::Conflict(format!(
            "order {} already holds other discount uses ({:?} for user {})",
            stored.order_id, stored.discount_ids, stored.user_id
        ))
        .into())
    }
}

/// `redeem-discount`.
pub async fn redeem_discount(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: OrderInput = input(event.payload)?;
    let Some(redemption) = deps
        .discounts
        .redeem(input.order_id, deps.clock.now())
        .await?
    else {
        return Err(TaskError::named(
            "RedemptionNotFound",
            format!("order {} holds no discount uses", input.order_id),
        ));
    };
    if redemption.status == RedemptionStatus::Released {
        return Err(TaskError::named(
            "RedemptionReleased",
            format!("order {}'s discount uses were released", input.order_id),
        ));
    }
    tracing::info!(order_id = %input.order_id, "discount uses redeemed");
    Ok(answer(&redemption))
}

/// `release-discount`.
pub async fn release_discount(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: OrderInput = input(event.payload)?;
    match deps
        .discounts
        .release(input.order_id, deps.clock.now())
        .await?
    {
        Some(redemption) => {
            tracing::info!(order_id = %input.order_id, status = ?redemption.status, "discount uses released");
            Ok(answer(&redemption))
        }
        None => Ok(json!({"orderId": input.order_id, "status": null, "discountIds": []})),
    }
}
