//! The gateway's two routes (public, no JWT: the shop's `sig` is what makes a URL valid).
//!
//! - `get-payment-page`: `GET /mock-gateway/payments/{paymentId}?amount&currency&sig` → the
//!   HTML page with Pay and Decline; 404 HTML for a URL the shop did not sign.
//! - `create-payment-outcome`: `POST` to the same URL with JSON `{"outcome": "success" |
//!   "decline"}` or the form `outcome=…` → signs the callback `{eventId, paymentId, outcome,
//!   amount, currency}` (t = now) and posts it to the shop, 3 tries on no answer or a 5xx.
//!   JSON `{paymentId, outcome, eventId, callbackStatus}`, 200 when the shop answered 2xx,
//!   502 otherwise; for a form post the same as a small HTML page.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::json;
use shop_adapters::api::{Handled, header, query_pairs, respond};
use shop_adapters::http::{ApiError, MAX_BODY_BYTES, json_response};
use shop_domain::DomainError;

use crate::Deps;
use crate::domain::{
    Callback, Outcome, PageRequest, not_found_page, outcome_page, payment_page, sign_callback,
};

/// How often the callback is tried.
pub const TRIES: u32 = 3;

fn html(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("status and header are valid")
}

/// The signed request of `req`, or `None` when the gateway cannot trust it.
async fn page_request(deps: &Deps, req: &Request) -> Result<Option<PageRequest>, DomainError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("paymentId"))
        .unwrap_or_default()
        .to_owned();
    let pairs = query_pairs(req);
    let one = |name: &str| {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value),
            _ => None,
        }
    };
    let secret = deps.secrets.get_secret(&deps.secret_id).await?;
    Ok(PageRequest::verify(
        &secret,
        &id,
        one("amount"),
        one("currency"),
        one("sig"),
    ))
}

/// `get-payment-page`.
#[tracing::instrument(skip_all)]
pub async fn get_payment_page(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(
        async {
            Ok(match page_request(deps, &req).await? {
                Some(request) => {
                    tracing::info!(payment_id = %request.payment_id, "payment page shown");
                    html(StatusCode::OK, payment_page(&request))
                }
                None => html(StatusCode::NOT_FOUND, not_found_page()),
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: String,
}

/// How the outcome came: a form post answers HTML, JSON answers JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Html,
    Json,
}

fn chosen(req: &Request) -> Result<(Outcome, Form), ApiError> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { size: body.len() });
    }
    let content_type = header(req, "content-type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let refused = || {
        ApiError::from(DomainError::validation(
            "outcome",
            "send JSON {\"outcome\": \"success\" | \"decline\"} or the form outcome=success|decline",
        ))
    };
    let (text, form) = match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut values = form_urlencoded::parse(body).filter(|(k, _)| k == "outcome");
            match (values.next(), values.next()) {
                (Some((_, value)), None) => (value.into_owned(), Form::Html),
                _ => return Err(refused()),
            }
        }
        "application/json" => {
            let parsed: OutcomeBody = serde_json::from_slice(body).map_err(|_| refused())?;
            (parsed.outcome, Form::Json)
        }
        _ => return Err(refused()),
    };
    Outcome::parse(&text).map(|o| (o, form)).ok_or_else(refused)
}

/// `create-payment-outcome`.
#[tracing::instrument(skip_all, fields(payment_id, event_id))]
pub async fn create_payment_outcome(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(outcome(deps, &req).await)
}

async fn outcome(deps: &Deps, req: &Request) -> Handled {
    let Some(request) = page_request(deps, req).await? else {
        return Err(DomainError::not_found("payment page", "this URL").into());
    };
    let (outcome, form) = chosen(req)?;
    let callback = Callback {
        event_id: ulid::Ulid::new().to_string(),
        payment_id: request.payment_id.clone(),
        outcome,
        amount: request.amount,
        currency: request.currency,
    };
    let span = tracing::Span::current();
    span.record("payment_id", request.payment_id.as_str());
    span.record("event_id", callback.event_id.as_str());
    let body = serde_json::to_string(&callback)
        .map_err(|e| DomainError::Internal(format!("cannot serialize the callback: {e}")))?;
    let secret = deps.secrets.get_secret(&deps.secret_id).await?;
    let status = deliver(deps, &secret, &body).await?;
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    tracing::info!(outcome = outcome.as_str(), callback_status = ?status, "outcome sent to the shop");
    let code = if delivered {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    Ok(match form {
        Form::Html => html(code, outcome_page(&request, outcome, status)),
        Form::Json => json_response(
            code,
            &json!({
                "paymentId": callback.payment_id,
                "outcome": outcome,
                "eventId": callback.event_id,
                "callbackStatus": status,
            }),
        ),
    })
}

/// Posts `body` to the shop up to [`TRIES`] times while no answer comes or it answers 5xx
/// (each try signed anew, t = now; the same event id, so the shop processes it once). The
/// last status, `None` when the shop never answered.
async fn deliver(deps: &Deps, secret: &str, body: &str) -> Result<Option<u16>, DomainError> {
    let shop = deps.shop.as_ref().ok_or_else(|| {
        DomainError::Internal("this function was built without PUBLIC_API_URL".into())
    })?;
    let mut last = None;
    for attempt in 1..=TRIES {
        let signature = sign_callback(secret, deps.clock.now().timestamp(), body);
        match shop.post_callback(body, &signature).await {
            Ok(status) if status < 500 => return Ok(Some(status)),
            Ok(status) => {
                tracing::warn!(attempt, status, "the shop answered 5xx");
                last = Some(status);
            }
            Err(err) => {
                tracing::warn!(attempt, error = %err, "the shop did not answer");
                last = None;
            }
        }
        if attempt < TRIES {
            tokio::time::sleep(deps.backoff * 2u32.pow(attempt - 1)).await;
        }
    }
    Ok(last)
}

/// The pause before the second try (doubled before the third).
pub const BACKOFF: Duration = Duration::from_millis(200);
