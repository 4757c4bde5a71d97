//! `create_checkout`: `POST /api/orders/checkout` (User).
//!
//! Body (unknown fields refused) `{shippingAddressId?, shippingAddress?, discountCode?,
//! expectedTotal?}`, exactly one of the two address fields; header `Idempotency-Key`
//! required (400 without; the same key and body answer the first answer again, another body
//! 422, a concurrent repeat waits for the first answer). Then:
//!
//! 1. the address: checked inline, or the user's saved one (users' `get-address`; unknown →
//!    422);
//! 2. the cart priced by the cart service (`price-cart`, with `discountCode` replacing the
//!    cart's code): empty → 422, an unavailable line → 422 naming it, a refused code → 422
//!    with the reason;
//! 3. shipping: the flat fee unless `subtotal − discountAmount` reaches the free-shipping
//!    threshold; no tax; `total = subtotal − discountAmount + shippingFee`;
//!    `expectedTotal` given and different → 409, nothing written;
//! 4. one transaction: the order PENDING, its number's guard, the buyer's checkout lock
//!    (409 while another checkout holds it) and the sellers' index entries;
//! 5. the saga started with the order id as execution name (already started = fine); when it
//!    cannot start, the order becomes FAILED ("checkout could not start"), the lock is
//!    released, 503.
//!
//! 202 `{orderId, orderNumber, status: "PENDING"}` with `Location: /api/orders/{orderId}`.

use std::time::Duration;

use chrono::TimeDelta;
use lambda_http::http::header::{HeaderValue, LOCATION};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use shop_adapters::api::{Caller, Handled, correlation_id, header, respond};
use shop_adapters::http::{ApiError, json_response, parse_json};
use shop_adapters::idempotency::{HEADER, idempotent_waiting};
use shop_domain::{AddressId, DomainError, EventEnvelope, OrderId};

use crate::Deps;
use crate::domain::{
    AddressLookup, HistoryEntry, Order, OrderEvent, OrderFailed, OrderLine, OrderNumber,
    OrderStatus, PlaceRefusal, PricedCart, SagaStart, ShippingAddress,
};

/// How long a concurrent repeat of a checkout waits for the first one's answer.
const REPEAT_WAIT: Duration = Duration::from_secs(5);
/// How often a new order number is drawn when the drawn one is taken.
const NUMBER_DRAWS: usize = 5;
/// How much longer than the payment wait the checkout lock holds (the saga's other steps
/// and their retries).
const LOCK_MARGIN_SECONDS: i64 = 900;
/// How much longer than the payment wait the stock stays reserved.
const HOLD_MARGIN_SECONDS: u32 = 300;

/// The body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckoutBody {
    #[serde(default)]
    shipping_address_id: Option<AddressId>,
    #[serde(default)]
    shipping_address: Option<ShippingAddress>,
    #[serde(default)]
    discount_code: Option<String>,
    #[serde(default)]
    expected_total: Option<i64>,
}

/// `POST /api/orders/checkout` (User).
pub async fn create_checkout(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    if header(&req, HEADER).is_none() {
        return Ok(ApiError::from(DomainError::validation(
            "Idempotency-Key",
            "is required: send a fresh key (a ULID or UUID) per checkout, and the same key again to retry it",
        ))
        .into_response());
    }
    idempotent_waiting(
        deps.requests.as_ref(),
        deps.clock.as_ref(),
        req,
        REPEAT_WAIT,
        |req| async move { respond(checkout(deps, &req).await) },
    )
    .await
}

#[tracing::instrument(skip_all)]
async fn checkout(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    let body: CheckoutBody = parse_json(req)?;
    let address = match (body.shipping_address, body.shipping_address_id) {
        (Some(address), None) => address.validate()?,
        (None, Some(id)) => match deps.addresses.address(&caller.sub, id).await? {
            AddressLookup::Found(address) => address,
            AddressLookup::NotFound => {
                return Err(DomainError::Unprocessable(format!(
                    "shippingAddressId {id} is not one of your addresses"
                ))
                .into());
            }
        },
        _ => {
            return Err(DomainError::validation(
                "shippingAddress",
                "give exactly one of shippingAddressId and shippingAddress",
            )
            .into());
        }
    };
    let code = body
        .discount_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let priced = deps.pricing.price(&caller.sub, code).await?;
    refuse_unbuyable(&priced)?;
    let now = deps.clock.now();
    let mut order = priced_order(deps, &caller.sub, priced, address, now)?;
    order.correlation_id = correlation_id(req);
    if let Some(expected) = body.expected_total
        && expected != order.total
    {
        return Err(DomainError::Conflict(format!(
            "prices changed: the total is now {}",
            order.total
        ))
        .into());
    }
    let lock_until = now
        + TimeDelta::seconds(
            i64::from(deps.settings.payment_timeout_seconds) + LOCK_MARGIN_SECONDS,
        );
    place(deps, &mut order, lock_until).await?;
    tracing::info!(order_id = %order.order_id, order_number = %order.order_number, total = order.total, "order placed");

    let input = saga_input(deps, &order);
    match deps.saga.start(order.order_id, &input).await {
        Ok(SagaStart::Started | SagaStart::AlreadyStarted) => {}
        Err(err) => {
            tracing::error!(order_id = %order.order_id, error = %err, "the checkout saga did not start");
            fail_unstarted(deps, &order).await?;
            return Ok(ApiError::from(DomainError::Unavailable(
                "checkout could not start; try again".to_owned(),
            ))
            .into_response());
        }
    }
    let mut response = json_response(
        StatusCode::ACCEPTED,
        &json!({
            "orderId": order.order_id,
            "orderNumber": order.order_number,
            "status": order.status,
        }),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/api/orders/{}", order.order_id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// 422 for an empty cart, an unavailable line, or a refused discount code.
fn refuse_unbuyable(priced: &PricedCart) -> Result<(), DomainError> {
    if priced.items.is_empty() {
        return Err(DomainError::Unprocessable("your cart is empty".to_owned()));
    }
    if let Some(line) = priced.items.iter().find(|l| !l.available) {
        return Err(DomainError::Unprocessable(format!(
            "{} ({}) cannot be bought now: {}; remove it from your cart",
            line.name,
            line.sku.as_deref().unwrap_or(&line.product_id.to_string()),
            line.unavailable_reason.as_deref().unwrap_or("unavailable"),
        )));
    }
    if let Some(code) = &priced.code
        && !code.valid
    {
        return Err(DomainError::Unprocessable(format!(
            "discount code {} cannot be used: {}",
            priced.discount_code.as_deref().unwrap_or_default(),
            code.reason.as_deref().unwrap_or("it does not apply"),
        )));
    }
    Ok(())
}

/// The order the priced cart makes.
fn priced_order(
    deps: &Deps,
    user: &str,
    priced: PricedCart,
    address: ShippingAddress,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Order, DomainError> {
    let currency = priced.currency.ok_or_else(|| {
        DomainError::Unavailable("price-cart answered a non-empty cart without a currency".into())
    })?;
    let discount_amount = priced
        .discount
        .as_ref()
        .map_or(0, |d| d.amount.clamp(0, priced.subtotal));
    let after_discount = priced.subtotal - discount_amount;
    let shipping_fee = if after_discount >= deps.settings.free_shipping_threshold {
        0
    } else {
        deps.settings.shipping_fee
    };
    let items = priced
        .items
        .into_iter()
        .enumerate()
        .map(|(i, l)| OrderLine {
            line_id: (i + 1).to_string(),
            product_id: l.product_id,
            sku: l.sku,
            inventory_sku: l.inventory_sku,
            name: l.name,
            unit_price: l.unit_price,
            quantity: l.quantity,
            line_total: l.line_total,
            seller_id: l.seller_id,
        })
        .collect();
    let mut discount_ids = Vec::new();
    for id in priced.applied.iter().map(|d| d.id) {
        if !discount_ids.contains(&id) {
            discount_ids.push(id);
        }
    }
    Ok(Order {
        order_id: OrderId::new(),
        order_number: OrderNumber::draw(now),
        user_id: user.to_owned(),
        status: OrderStatus::Pending,
        payment_status: None,
        items,
        subtotal: priced.subtotal,
        discount_amount,
        discount_code: priced
            .discount
            .as_ref()
            .and_then(|_| priced.discount_code.clone()),
        discount_ids,
        shipping_fee,
        total: after_discount + shipping_fee,
        currency,
        shipping_address: address,
        payment: None,
        history: vec![HistoryEntry {
            status: OrderStatus::Pending,
            at: now,
            reason: None,
        }],
        created_at: now,
        updated_at: now,
        version: 1,
        correlation_id: shop_domain::CorrelationId::new(),
    })
}

/// Stores `order`, drawing another number while the drawn one is taken.
async fn place(
    deps: &Deps,
    order: &mut Order,
    lock_until: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let now = order.created_at;
    for _ in 0..NUMBER_DRAWS {
        match deps.orders.place(order, lock_until, now).await {
            Ok(()) => return Ok(()),
            Err(PlaceRefusal::NumberTaken) => {
                tracing::warn!(order_number = %order.order_number, "order number taken; drawing another");
                order.order_number = OrderNumber::draw(now);
            }
            Err(PlaceRefusal::LockTaken(holder)) => {
                let holder = match holder {
                    Some(id) => Some(id),
                    None => deps.orders.lock_of(&order.user_id).await?.map(|(id, _)| id),
                };
                let which = holder.map_or_else(String::new, |id| format!(" (order {id})"));
                return Err(DomainError::Conflict(format!(
                    "a checkout is already in progress{which}; pay or wait for it to end"
                ))
                .into());
            }
            Err(PlaceRefusal::Store(err)) => return Err(err.into()),
        }
    }
    Err(DomainError::Unavailable("no free order number was found; retry".into()).into())
}

/// The execution input: everything the ASL reads.
fn saga_input(deps: &Deps, order: &Order) -> Value {
    let mut units: Vec<(String, String, u32)> = Vec::new();
    for line in &order.items {
        let product = line.product_id.to_string();
        match units
            .iter_mut()
            .find(|(p, s, _)| *p == product && *s == line.inventory_sku)
        {
            Some((_, _, quantity)) => *quantity += line.quantity,
            None => units.push((product, line.inventory_sku.clone(), line.quantity)),
        }
    }
    let timeout = deps.settings.payment_timeout_seconds;
    json!({
        "orderId": order.order_id,
        "userId": order.user_id,
        "currency": order.currency,
        "items": units.iter().map(|(p, s, q)| json!({"productId": p, "sku": s, "quantity": q})).collect::<Vec<_>>(),
        "cartItems": order.items.iter().map(|l| json!({"productId": l.product_id, "sku": l.sku})).collect::<Vec<_>>(),
        "discountIds": order.discount_ids,
        "total": order.total,
        "holdSeconds": timeout + HOLD_MARGIN_SECONDS,
        "paymentTimeoutSeconds": timeout,
    })
}

/// The saga did not start: the order FAILED with its event, the lock released.
async fn fail_unstarted(deps: &Deps, order: &Order) -> Result<(), DomainError> {
    let now = deps.clock.now();
    if let Ok(Some(failed)) = order.moved(
        OrderStatus::Failed,
        Some("checkout could not start".to_owned()),
        now,
    ) {
        let event = EventEnvelope::new(
            deps.clock.as_ref(),
            order.correlation_id,
            failed.version,
            OrderFailed(OrderEvent::of(&failed)),
        )
        .to_outgoing()?;
        deps.orders.update(order, &failed, Some(event)).await?;
    }
    deps.orders
        .release_lock(&order.user_id, order.order_id)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_refuses_unknown_fields() {
        let err = serde_json::from_value::<CheckoutBody>(json!({"coupon": "X"}));
        assert!(err.is_err());
        let ok: CheckoutBody = serde_json::from_value(json!({"expectedTotal": 5})).unwrap();
        assert_eq!(ok.expected_total, Some(5));
    }
}
