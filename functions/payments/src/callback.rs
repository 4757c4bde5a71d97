//! `create-payment-callback`: `POST /api/payments/callback` (public; the gateway signs it).
//!
//! Body `{eventId, paymentId, outcome: "success" | "decline", amount, currency}`, header
//! `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Refused,
//! changing nothing, in this order: a missing, malformed or wrong signature, or `t` more than
//! 300 s from now → 401; a malformed body → 400; an unknown payment → 404; an amount or
//! currency not the payment's → 422; an event id processed before → 409; a payment already
//! final (another event) → 409 with its `status`. Then one transaction settles it (PENDING →
//! SUCCEEDED / FAILED, the event id's record, `PaymentSucceeded` / `PaymentFailed`), and the
//! waiting task, if its token is stored, is resolved. 200 `{paymentId, status}`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shop_adapters::api::{Handled, header, respond};
use shop_adapters::http::{ApiError, MAX_BODY_BYTES, json_response};
use shop_domain::DomainError;

use crate::Deps;
use crate::domain::events::{PaymentFailed, PaymentSucceeded};
use crate::domain::signature::{SIGNATURE_HEADER, verify_callback};
use crate::domain::{CallbackEvent, Outcome, Payment, SettleRefusal};
use crate::internal::{outbox_event, resolve};

/// The handler.
#[tracing::instrument(skip_all, fields(payment_id, event_id))]
pub async fn create_payment_callback(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(handle(deps, &req).await)
}

fn conflict_final(payment: &Payment) -> Response<Body> {
    tracing::info!(status = %payment.status, "refused: the payment is final");
    json_response(
        StatusCode::CONFLICT,
        &json!({
            "error": "Conflict",
            "message": format!("payment {} is already {}", payment.payment_id, payment.status),
            "status": payment.status,
        }),
    )
}

fn replayed(event_id: &str) -> ApiError {
    DomainError::Conflict(format!("event {event_id} was processed already")).into()
}

async fn handle(deps: &Deps, req: &Request) -> Handled {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { size: body.len() });
    }
    let key = deps.webhook_key().await?;
    if let Err(refused) =
        verify_callback(&key, header(req, SIGNATURE_HEADER), body, deps.clock.now())
    {
        tracing::warn!(reason = %refused, "callback refused");
        return Err(DomainError::Unauthorized(refused.to_string()).into());
    }
    let callback = CallbackEvent::parse(body)?;
    let span = tracing::Span::current();
    span.record("payment_id", tracing::field::display(callback.payment_id));
    span.record("event_id", callback.event_id.as_str());
    let Some(payment) = deps.store.payment(callback.payment_id).await? else {
        return Err(DomainError::not_found("payment", callback.payment_id).into());
    };
    if (callback.amount, callback.currency) != (payment.amount, payment.currency) {
        return Err(DomainError::Unprocessable(format!(
            "payment {} is for {} {}, not {} {}",
            payment.payment_id,
            payment.amount,
            payment.currency,
            callback.amount,
            callback.currency
        ))
        .into());
    }
    if deps.store.event_seen(&callback.event_id).await? {
        redeliver(deps, &payment, &callback.event_id).await;
        return Err(replayed(&callback.event_id));
    }
    if !payment.is_pending() {
        return Ok(conflict_final(&payment));
    }
    let next = payment.settled(callback.outcome, &callback.event_id, deps.clock.now());
    let outbox = match callback.outcome {
        Outcome::Success => outbox_event(deps, &next, PaymentSucceeded::of(&next))?,
        Outcome::Decline => outbox_event(deps, &next, PaymentFailed::of(&next))?,
    };
    match deps.store.settle(&payment, &next, outbox).await {
        Ok(()) => {}
        Err(SettleRefusal::EventSeen) => return Err(replayed(&callback.event_id)),
        Err(SettleRefusal::NotPending) => {
            // Another event settled it (or the checkout voided it) since the read above.
            let now = deps
                .store
                .payment(payment.payment_id)
                .await?
                .unwrap_or(payment);
            if now.event_id.as_deref() == Some(callback.event_id.as_str()) {
                return Err(replayed(&callback.event_id));
            }
            return Ok(conflict_final(&now));
        }
        Err(SettleRefusal::Store(err)) => return Err(err.into()),
    }
    tracing::info!(status = %next.status, "payment settled");
    // Read after the write: a token stored before the transition is seen here; one that
    // await-payment tries to store after it fails its condition and await-payment resolves
    // the task itself. So exactly one of the two sends.
    let settled = deps
        .store
        .payment(next.payment_id)
        .await?
        .ok_or_else(|| DomainError::Unavailable("the payment vanished".into()))?;
    if let Some(token) = &settled.task_token {
        // Stored: a failure to send is a 5xx, so the gateway retries; its retry is a replay
        // that sends again (see `redeliver`).
        resolve(deps, &settled, token).await?;
    } else {
        tracing::info!("no task waits yet: await-payment resolves it");
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"paymentId": settled.payment_id, "status": settled.status}),
    ))
}

/// A replay of the event that settled `payment` whose task was never answered: the first
/// delivery failed (or died) between the transaction and the send, answered 5xx, and this is
/// the gateway's retry, so the outcome is sent now. Once answered, a replay sends nothing.
async fn redeliver(deps: &Deps, payment: &Payment, event_id: &str) {
    if payment.event_id.as_deref() != Some(event_id) || payment.answered {
        return;
    }
    if let Some(token) = &payment.task_token
        && let Err(err) = resolve(deps, payment, token).await
    {
        tracing::warn!(error = %err, "could not resend the outcome of a replayed event");
    }
}
