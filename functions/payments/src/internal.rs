//! The internal functions of the checkout's state machine (no route; JSON in and out; a
//! business refusal is a Lambda error whose `errorType` names it, infrastructure trouble is
//! `Retryable`). Each is idempotent: a repeat with the same input has one effect and the same
//! answer.
//!
//! - `create-payment` `{orderId, amount, currency}` → `{paymentId, orderId, status,
//!   paymentUrl, amount, currency}`; `PaymentMismatch` when the order's payment exists with
//!   another amount or currency.
//! - `await-payment` `{paymentId, taskToken}` → `{}`: stores the token on the PENDING
//!   payment (the callback then sends it), or, when the callback came first, resolves the
//!   task itself from the stored outcome; `PaymentNotFound`.
//! - `void-payment` `{orderId, error?}` → `{paymentId, status}`: PENDING → VOIDED
//!   (`PaymentFailed`), SUCCEEDED → REFUNDED (`PaymentRefunded`), anything else unchanged;
//!   both `null` when the order has no payment.

use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shop_adapters::lambda::TaskError;
use shop_domain::{
    CorrelationId, Currency, DomainError, DomainEvent, EventEnvelope, OrderId, OutgoingEvent,
    PaymentId,
};

use crate::Deps;
use crate::domain::events::{PaymentFailed, PaymentRefunded};
use crate::domain::signature::page_signature;
use crate::domain::{
    Delivery, Payment, PaymentStatus, TaskToken, TokenStored, give_up_reason, payment_id_of,
};

/// `errorType` of a create-payment repeat with another amount or currency.
pub const PAYMENT_MISMATCH: &str = "PaymentMismatch";
/// `errorType` of an await-payment for a payment that does not exist.
pub const PAYMENT_NOT_FOUND: &str = "PaymentNotFound";
/// The `error` of `SendTaskFailure` for a declined payment (the state machine catches it).
pub const PAYMENT_DECLINED: &str = "PaymentDeclined";

/// How often a transition re-reads and tries again after losing a race.
const ATTEMPTS: usize = 4;

/// The input as `T`; a wrong shape is a validation error naming the field.
fn input<T: DeserializeOwned>(value: Value) -> Result<T, DomainError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "input".to_owned()
        } else {
            path
        };
        DomainError::validation(field, e.inner().to_string())
    })
}

/// The outbox item of `data` for `payment` (after the change). The correlation id is the
/// order's, so every event of one checkout carries the same one.
pub(crate) fn outbox_event<T: DomainEvent>(
    deps: &Deps,
    payment: &Payment,
    data: T,
) -> Result<OutgoingEvent, DomainError> {
    EventEnvelope::new(
        deps.clock.as_ref(),
        CorrelationId::from_ulid(payment.order_id.ulid()),
        payment.version,
        data,
    )
    .to_outgoing()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateInput {
    order_id: OrderId,
    amount: u64,
    currency: Currency,
}

/// `create-payment`: the order's payment, PENDING, and the gateway page to pay it on.
#[tracing::instrument(skip_all)]
pub async fn create_payment(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: CreateInput = input(event.payload)?;
    if request.amount == 0 {
        return Err(DomainError::validation("amount", "must be at least 1 minor unit").into());
    }
    let payment = Payment::new(
        request.order_id,
        request.amount,
        request.currency,
        deps.clock.now(),
    );
    let stored = deps.store.create(&payment).await?;
    if (stored.amount, stored.currency) != (request.amount, request.currency) {
        return Err(TaskError::named(
            PAYMENT_MISMATCH,
            format!(
                "payment {} exists for {} {}, not {} {}",
                stored.payment_id, stored.amount, stored.currency, request.amount, request.currency
            ),
        ));
    }
    let url = payment_url(deps, &stored).await?;
    tracing::info!(payment_id = %stored.payment_id, status = %stored.status, "payment ready");
    Ok(json!({
        "paymentId": stored.payment_id,
        "orderId": stored.order_id,
        "status": stored.status,
        "paymentUrl": url,
        "amount": stored.amount,
        "currency": stored.currency,
    }))
}

/// `<PUBLIC_API_URL>/mock-gateway/payments/<id>?amount=<n>&currency=<C>&sig=<hex>`.
pub async fn payment_url(deps: &Deps, payment: &Payment) -> Result<String, DomainError> {
    let base = deps.public_api_url.as_deref().ok_or_else(|| {
        DomainError::Internal("this function was built without PUBLIC_API_URL".into())
    })?;
    let key = deps.webhook_key().await?;
    let id = payment.payment_id.to_string();
    let currency = payment.currency.code();
    let sig = page_signature(&key, &id, payment.amount, currency);
    Ok(format!(
        "{base}/mock-gateway/payments/{id}?amount={}&currency={currency}&sig={sig}",
        payment.amount
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AwaitInput {
    payment_id: PaymentId,
    task_token: String,
}

/// `await-payment`: the checkout waits (`.waitForTaskToken`) for the gateway.
///
/// The token is stored on condition that the payment is PENDING. If that fails the callback
/// came first (or the payment was voided): the task is resolved here from what is stored —
/// unless the stored token is this one, which an earlier attempt of this call stored before
/// the callback's transition, so the callback's read after it found it and sent it.
#[tracing::instrument(skip_all, fields(payment_id))]
pub async fn await_payment(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: AwaitInput = input(event.payload)?;
    tracing::Span::current().record("payment_id", tracing::field::display(request.payment_id));
    let token = TaskToken::parse(request.task_token)?;
    match deps
        .store
        .store_token(request.payment_id, &token, deps.clock.now())
        .await?
    {
        TokenStored::Stored => {
            tracing::info!("waiting for the gateway");
        }
        TokenStored::Unknown => {
            return Err(TaskError::named(
                PAYMENT_NOT_FOUND,
                format!("no payment {}", request.payment_id),
            ));
        }
        TokenStored::NotPending(payment) if payment.task_token.as_ref() == Some(&token) => {
            tracing::info!(status = %payment.status, "settled after the token was stored: the callback sends it");
        }
        TokenStored::NotPending(payment) => {
            tracing::info!(status = %payment.status, "the gateway answered first; resolving the task here");
            resolve(deps, &payment, &token).await?;
        }
    }
    Ok(json!({}))
}

/// Sends `token` the outcome of the settled `payment`: success `{paymentId, status,
/// eventId}`, or failure `PaymentDeclined`. A task that is gone is logged: the saga's
/// compensation voids or refunds. A payment voided or refunded has nothing to tell.
pub async fn resolve(deps: &Deps, payment: &Payment, token: &TaskToken) -> Result<(), DomainError> {
    let delivery = match payment.status {
        PaymentStatus::Succeeded => {
            let output = json!({
                "paymentId": payment.payment_id,
                "status": payment.status,
                "eventId": payment.event_id,
            });
            deps.tasks.succeed(token, &output).await?
        }
        PaymentStatus::Failed => {
            let cause = format!(
                "the gateway declined payment {} ({})",
                payment.payment_id,
                payment.reason.as_deref().unwrap_or("declined")
            );
            deps.tasks.fail(token, PAYMENT_DECLINED, &cause).await?
        }
        PaymentStatus::Pending | PaymentStatus::Voided | PaymentStatus::Refunded => {
            tracing::info!(payment_id = %payment.payment_id, status = %payment.status, "no outcome to send");
            return Ok(());
        }
    };
    match delivery {
        Delivery::Sent => {
            tracing::info!(payment_id = %payment.payment_id, status = %payment.status, "task resolved");
        }
        Delivery::Gone(code) => {
            tracing::warn!(payment_id = %payment.payment_id, status = %payment.status, code, "the task no longer waits; the compensation settles the payment");
        }
    }
    // Only for the one case of a replay after a send that failed (see `callback`); the task
    // has its answer either way, so a failure here is logged, not returned.
    if let Err(err) = deps.store.mark_answered(payment.payment_id).await {
        tracing::warn!(payment_id = %payment.payment_id, error = %err, "the answer was sent but not recorded");
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VoidInput {
    order_id: OrderId,
    /// The failed step's `{"Error", "Cause"}`.
    #[serde(default)]
    error: Option<Value>,
}

/// `void-payment`: the checkout gave up; the order's payment is voided (unpaid) or refunded
/// (captured late, e.g. a callback after the timeout).
#[tracing::instrument(skip_all, fields(order_id))]
pub async fn void_payment(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: VoidInput = input(event.payload)?;
    tracing::Span::current().record("order_id", tracing::field::display(request.order_id));
    let error = request
        .error
        .as_ref()
        .and_then(|e| e.get("Error"))
        .and_then(Value::as_str);
    let reason = give_up_reason(error);
    let id = payment_id_of(request.order_id);
    for _ in 0..ATTEMPTS {
        let Some(payment) = deps.store.payment(id).await? else {
            return Ok(json!({"paymentId": null, "status": null}));
        };
        let Some(next) = payment.given_up(&reason, deps.clock.now()) else {
            return Ok(json!({"paymentId": payment.payment_id, "status": payment.status}));
        };
        let outbox = if next.status == PaymentStatus::Refunded {
            outbox_event(deps, &next, PaymentRefunded::of(&next))?
        } else {
            outbox_event(deps, &next, PaymentFailed::of(&next))?
        };
        match deps.store.finish(&payment, &next, outbox).await {
            Ok(()) => {
                tracing::info!(payment_id = %id, status = %next.status, reason, "payment given up");
                return Ok(json!({"paymentId": next.payment_id, "status": next.status}));
            }
            // The callback settled it meanwhile (or a repeat of this call won): read again.
            Err(DomainError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(DomainError::Unavailable(format!("payment {id} kept changing; retry")).into())
}
