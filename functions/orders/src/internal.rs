//! The saga's steps of this service (no route; Step Functions invokes them with Lambda
//! `Invoke`, JSON in and out). Each is safe to repeat: a repeat of a transition already made
//! answers as the first did. Named failures are the invocation's `errorType`:
//! `IllegalTransition` (the order is not where the step expects it), `OrderNotFound`.
//!
//! - `mark_order_pending_payment` `{orderId, payment: {paymentId, status, paymentUrl}}`:
//!   PENDING → PENDING_PAYMENT, the order shows the payment.
//! - `confirm_order` `{orderId, payment: {paymentId, status, eventId}}`: PENDING_PAYMENT →
//!   CONFIRMED, payment SUCCEEDED, `OrderConfirmed`; the checkout lock released.
//! - `close_order` (the whole saga state) `{orderId, error: {Error, Cause}, voided?:
//!   {paymentId, status}}`: PENDING → FAILED, PENDING_PAYMENT or CONFIRMED → CANCELLED with
//!   the reason of `error`, the payment status from `voided`; `OrderFailed` /
//!   `OrderCancelled`; the lock released. Already FAILED or CANCELLED: done.
//! - `flag_order` (the whole state) `{orderId, compensationError?, error?}`: any non-final
//!   status → NEEDS_ATTENTION, `OrderNeedsAttention`, a message on the ops topic; the lock
//!   released. An order already final keeps its status (the message still goes out).
//!
//! Every answer is `{orderId, orderNumber, status, paymentStatus}`.

use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shop_adapters::lambda::TaskError;
use shop_domain::{DomainError, DomainEvent, EventEnvelope, OrderId};

use crate::Deps;
use crate::domain::{
    IllegalTransition, Order, OrderCancelled, OrderConfirmed, OrderEvent, OrderFailed,
    OrderNeedsAttention, OrderStatus, PaymentRef, PaymentStatus, close_reason,
};

/// How often a step reads the order again after losing a race for it.
const RACE_RETRIES: usize = 5;

fn input<T: DeserializeOwned>(value: Value) -> Result<T, TaskError> {
    serde_json::from_value(value)
        .map_err(|e| TaskError::Domain(DomainError::validation("input", e.to_string())))
}

fn answer(order: &Order) -> Value {
    json!({
        "orderId": order.order_id,
        "orderNumber": order.order_number,
        "status": order.status,
        "paymentStatus": order.payment_status,
    })
}

fn illegal(err: IllegalTransition) -> TaskError {
    TaskError::named("IllegalTransition", err.to_string())
}

async fn load(deps: &Deps, id: OrderId) -> Result<Order, TaskError> {
    deps.orders
        .get(id)
        .await?
        .ok_or_else(|| TaskError::named("OrderNotFound", format!("order {id} does not exist")))
}

/// The outbox item of `data` for `order` as it is after its change.
fn outgoing<T: DomainEvent>(
    deps: &Deps,
    order: &Order,
    data: T,
) -> Result<shop_domain::OutgoingEvent, TaskError> {
    Ok(EventEnvelope::new(
        deps.clock.as_ref(),
        order.correlation_id,
        order.version,
        data,
    )
    .to_outgoing()?)
}

/// What a step does to the order it read: the order after, with its event; `None` when
/// there is nothing to do (a repeat).
type Step<'a> = dyn Fn(&Order) -> Result<Option<(Order, Option<shop_domain::OutgoingEvent>)>, TaskError>
    + Send
    + Sync
    + 'a;

/// Reads the order, applies `step` and writes the result conditionally on what was read;
/// a lost race reads again. The order as it is now.
async fn apply(deps: &Deps, id: OrderId, step: &Step<'_>) -> Result<Order, TaskError> {
    for _ in 0..RACE_RETRIES {
        let before = load(deps, id).await?;
        let Some((after, event)) = step(&before)? else {
            return Ok(before);
        };
        match deps.orders.update(&before, &after, event).await {
            Ok(()) => {
                tracing::info!(order_id = %id, from = %before.status, to = %after.status, "order moved");
                return Ok(after);
            }
            Err(DomainError::Conflict(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(DomainError::Unavailable(format!("order {id} kept changing; retry")).into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentIn {
    payment_id: String,
    status: PaymentStatus,
    #[serde(default)]
    payment_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkInput {
    order_id: OrderId,
    payment: PaymentIn,
}

/// `mark-order-pending-payment`.
pub async fn mark_order_pending_payment(
    deps: &Deps,
    event: LambdaEvent<Value>,
) -> Result<Value, TaskError> {
    let input: MarkInput = input(event.payload)?;
    let Some(url) = input.payment.payment_url.clone() else {
        return Err(DomainError::validation("payment.paymentUrl", "is required").into());
    };
    let now = deps.clock.now();
    let payment = PaymentRef {
        id: input.payment.payment_id.clone(),
        status: input.payment.status,
        payment_url: url,
    };
    let order = apply(deps, input.order_id, &|before: &Order| {
        if before.status == OrderStatus::PendingPayment {
            return Ok(None);
        }
        let mut after = before
            .moved(OrderStatus::PendingPayment, None, now)
            .map_err(illegal)?
            .expect("PENDING_PAYMENT is not the status");
        after.payment = Some(payment.clone());
        after.payment_status = Some(payment.status);
        Ok(Some((after, None)))
    })
    .await?;
    Ok(answer(&order))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmInput {
    order_id: OrderId,
    #[serde(default)]
    payment: Option<PaymentIn>,
}

/// `confirm-order`.
pub async fn confirm_order(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: ConfirmInput = input(event.payload)?;
    if let Some(payment) = &input.payment
        && payment.status != PaymentStatus::Succeeded
    {
        return Err(DomainError::validation(
            "payment.status",
            format!(
                "must be SUCCEEDED to confirm (payment {})",
                payment.payment_id
            ),
        )
        .into());
    }
    let now = deps.clock.now();
    let order = apply(deps, input.order_id, &|before: &Order| {
        if before.status == OrderStatus::Confirmed {
            return Ok(None);
        }
        let mut after = before
            .moved(OrderStatus::Confirmed, None, now)
            .map_err(illegal)?
            .expect("CONFIRMED is not the status");
        after.payment_status = Some(PaymentStatus::Succeeded);
        if let Some(payment) = after.payment.as_mut() {
            payment.status = PaymentStatus::Succeeded;
        }
        let e = outgoing(deps, &after, OrderConfirmed(OrderEvent::of(&after)))?;
        Ok(Some((after, Some(e))))
    })
    .await?;
    deps.orders
        .release_lock(&order.user_id, order.order_id)
        .await?;
    Ok(answer(&order))
}

/// A failed step's error as the saga stores it.
#[derive(Debug, Default, Deserialize)]
struct StepError {
    #[serde(rename = "Error", default)]
    error: String,
    #[serde(rename = "Cause", default)]
    cause: String,
}

impl StepError {
    /// The cause's `errorMessage` when the cause is a Lambda error's JSON, else the cause.
    fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

#[derive(Deserialize)]
struct Voided {
    #[serde(default)]
    status: Option<PaymentStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseInput {
    order_id: OrderId,
    #[serde(default)]
    error: Option<StepError>,
    #[serde(default)]
    voided: Option<Voided>,
}

/// `close-order`.
pub async fn close_order(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: CloseInput = input(event.payload)?;
    let error = input.error.unwrap_or_default();
    let reason = close_reason(&error.error, &error.message());
    let payment_status = input.voided.and_then(|v| v.status);
    let now = deps.clock.now();
    let order = apply(deps, input.order_id, &|before: &Order| {
        let to = match before.status {
            OrderStatus::Failed | OrderStatus::Cancelled => return Ok(None),
            OrderStatus::Pending => OrderStatus::Failed,
            _ => OrderStatus::Cancelled,
        };
        let mut after = before
            .moved(to, Some(reason.clone()), now)
            .map_err(illegal)?
            .expect("a closed status is not the status");
        if let Some(status) = payment_status {
            after.payment_status = Some(status);
            if let Some(payment) = after.payment.as_mut() {
                payment.status = status;
            }
        }
        let data = OrderEvent::of(&after);
        let e = if to == OrderStatus::Failed {
            outgoing(deps, &after, OrderFailed(data))?
        } else {
            outgoing(deps, &after, OrderCancelled(data))?
        };
        Ok(Some((after, Some(e))))
    })
    .await?;
    deps.orders
        .release_lock(&order.user_id, order.order_id)
        .await?;
    Ok(answer(&order))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlagInput {
    order_id: OrderId,
    #[serde(default)]
    compensation_error: Option<StepError>,
    #[serde(default)]
    error: Option<StepError>,
}

/// `flag-order`.
pub async fn flag_order(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: FlagInput = input(event.payload)?;
    let failed = input.compensation_error.or(input.error).unwrap_or_default();
    let reason = format!(
        "a checkout step failed after its retries: {}: {}",
        if failed.error.is_empty() {
            "unknown"
        } else {
            &failed.error
        },
        failed.message()
    );
    let before = load(deps, input.order_id).await?;
    if before.status == OrderStatus::NeedsAttention {
        deps.orders
            .release_lock(&before.user_id, before.order_id)
            .await?;
        return Ok(answer(&before));
    }
    // Ops hear of it before the write: a lost write is retried (a repeated message at worst),
    // a lost message would leave the order flagged and nobody told.
    let subject = format!("Order {} needs attention", before.order_number);
    let message = format!(
        "Order {} ({}, buyer {}) was {}: {reason}. Look at the checkout execution named {} and the order's history.",
        before.order_number, before.order_id, before.user_id, before.status, before.order_id
    );
    deps.ops.alert(&subject, &message).await?;
    let now = deps.clock.now();
    let order = apply(deps, input.order_id, &|current: &Order| {
        if current.status.is_final() {
            return Ok(None);
        }
        let after = current
            .moved(OrderStatus::NeedsAttention, Some(reason.clone()), now)
            .map_err(illegal)?
            .expect("NEEDS_ATTENTION is not the status");
        let e = outgoing(deps, &after, OrderNeedsAttention(OrderEvent::of(&after)))?;
        Ok(Some((after, Some(e))))
    })
    .await?;
    tracing::warn!(order_id = %order.order_id, status = %order.status, reason = %reason, "order flagged for ops");
    deps.orders
        .release_lock(&order.user_id, order.order_id)
        .await?;
    Ok(answer(&order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_cause_gives_its_error_message() {
        let e = StepError {
            error: "InsufficientStock".into(),
            cause: r#"{"errorType":"InsufficientStock","errorMessage":"p1/MUG: 1 wanted, 0 available"}"#.into(),
        };
        assert_eq!(e.message(), "p1/MUG: 1 wanted, 0 available");
        let plain = StepError {
            error: "States.Timeout".into(),
            cause: "waited 900 s".into(),
        };
        assert_eq!(plain.message(), "waited 900 s");
    }
}
