//! The stock routes.
//!
//! - `GET /api/inventory/{productId}` (public): `{productId, items: [{sku, available,
//!   inStock}]}`, the units in the catalog's order; 404 for a product the inventory has not
//!   heard of, or one deleted.
//! - `PUT /api/inventory/{productId}/{sku}` `{onHand, lowStockThreshold}` and `POST
//!   …/adjustments` `{delta, reason}` (the product's Seller, Admin): the unit after the
//!   change; 422 when on hand would go below what is reserved or below zero.
//! - `GET …/movements` (same callers): the unit's movements, newest first, paged.
//!
//! A Seller who does not own the product gets 403, an unknown product or sku 404. A write is
//! computed from a read and stored only if the unit is still at the version read; one that
//! loses to a reservation reads again and recomputes (a few times), so a seller's change
//! never overwrites a concurrent reservation's.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Serialize;
use shop_adapters::api::{
    Caller, Handled, ListBody, PageParams, correlation_id, ensure_no_params, respond,
};
use shop_adapters::http::{ApiError, json_response, parse_json, path_id, path_param};
use shop_domain::{DomainError, EventEnvelope, EventId, ProductId, ReservationId};

use crate::Deps;
use crate::domain::events::{StockAdjusted, event_id};
use crate::domain::{AdjustmentInput, Movement, ProductFacts, StockInput, Unit, UnitKey, is_sku};
use crate::reservations::settle;

/// `GET /api/inventory/{productId}` (public).
pub async fn get_stock(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `PUT /api/inventory/{productId}/{sku}` (the product's Seller, Admin).
pub async fn replace_stock(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace(deps, &req).await)
}

/// `POST /api/inventory/{productId}/{sku}/adjustments` (the product's Seller, Admin).
pub async fn create_stock_adjustment(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(adjust(deps, &req).await)
}

/// `GET /api/inventory/{productId}/{sku}/movements` (the product's Seller, Admin).
pub async fn list_stock_movements(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(movements(deps, &req).await)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicItem<'a> {
    sku: &'a str,
    available: u64,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicStock<'a> {
    product_id: ProductId,
    items: Vec<PublicItem<'a>>,
}

/// A unit as its seller sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitView<'a> {
    product_id: ProductId,
    sku: &'a str,
    on_hand: u64,
    reserved: u64,
    available: u64,
    low_stock_threshold: u64,
    in_stock: bool,
    version: u64,
    #[serde(with = "shop_domain::timestamp")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl<'a> From<&'a Unit> for UnitView<'a> {
    fn from(unit: &'a Unit) -> Self {
        Self {
            product_id: unit.product_id,
            sku: &unit.sku,
            on_hand: unit.on_hand,
            reserved: unit.reserved,
            available: unit.available,
            low_stock_threshold: unit.low_stock_threshold,
            in_stock: unit.in_stock(),
            version: unit.version,
            updated_at: unit.updated_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MovementView<'a> {
    movement_id: EventId,
    on_hand_delta: i64,
    reserved_delta: i64,
    reason: &'a str,
    actor: &'a str,
    reservation_id: Option<ReservationId>,
    #[serde(with = "shop_domain::timestamp")]
    at: chrono::DateTime<chrono::Utc>,
}

/// The product, unless the inventory never heard of it or it was deleted (404).
async fn known_product(deps: &Deps, id: ProductId) -> Result<ProductFacts, ApiError> {
    match deps.store.product(id).await? {
        Some(product) if !product.is_deleted() => Ok(product),
        _ => Err(DomainError::not_found("product", id).into()),
    }
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let id: ProductId = path_id(req, "productId")?;
    ensure_no_params(req)?;
    let product = known_product(deps, id).await?;
    let units = deps.store.units(id).await?;
    let items = product
        .skus
        .iter()
        .filter_map(|sku| units.iter().find(|u| &u.sku == sku && u.sellable))
        .map(|u| PublicItem {
            sku: &u.sku,
            available: u.available,
            in_stock: u.in_stock(),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &PublicStock {
            product_id: id,
            items,
        },
    ))
}

/// The unit a seller route addresses, after every check that needs no body: 401 without a
/// token, 403 without the Seller or Admin role, 400 for a bad id or sku, 404 for an unknown
/// product or sku, 403 for another seller's product.
async fn seller_unit(deps: &Deps, req: &Request) -> Result<(Caller, Unit), ApiError> {
    let caller = Caller::required(req)?;
    caller.ensure_seller()?;
    let id: ProductId = path_id(req, "productId")?;
    let sku = path_param(req, "sku")?;
    if !is_sku(&sku) {
        return Err(DomainError::validation(
            "sku",
            "must be 1-64 letters, digits, '.', '_' or '-'",
        )
        .into());
    }
    let product = known_product(deps, id).await?;
    caller.ensure_manages(&product.seller_id)?;
    let key = UnitKey::new(id, sku);
    match deps.store.unit(&key).await? {
        Some(unit) if unit.sellable => Ok((caller, unit)),
        _ => Err(DomainError::not_found("unit", key).into()),
    }
}

/// How often a seller's write reads again after losing to a concurrent change.
const ATTEMPTS: usize = 5;

/// Writes `change(read)` with its movement and event, reading again when a concurrent change
/// got there first; then announces crossings.
async fn change_unit(
    deps: &Deps,
    req: &Request,
    caller: &Caller,
    mut unit: Unit,
    reason: &str,
    change: impl Fn(&Unit) -> Result<Unit, DomainError>,
) -> Handled {
    for _ in 0..ATTEMPTS {
        let next = change(&unit)?;
        let delta = next.on_hand as i64 - unit.on_hand as i64;
        let movement = Movement::new(&unit.key(), delta, 0, reason, &caller.sub, next.updated_at);
        let mut envelope = EventEnvelope::new(
            deps.clock.as_ref(),
            correlation_id(req),
            next.version,
            StockAdjusted::of(&next, delta, reason, &caller.sub),
        );
        envelope.id = event_id(
            &format!("StockAdjusted/{}/{}", next.key(), next.version),
            unit.updated_at,
        );
        let event = envelope.to_outgoing()?;
        match deps.store.write_unit(&next, &movement, vec![event]).await {
            Ok(()) => {
                tracing::info!(unit = %next.key(), delta, reason, "stock changed");
                if let Err(err) = settle(deps, &next.key()).await {
                    tracing::warn!(unit = %next.key(), error = %err, "threshold flags not settled");
                }
                let stored = deps.store.unit(&next.key()).await?.unwrap_or(next);
                return Ok(json_response(StatusCode::OK, &UnitView::from(&stored)));
            }
            Err(DomainError::Conflict(_)) => {
                unit = deps
                    .store
                    .unit(&unit.key())
                    .await?
                    .ok_or_else(|| DomainError::not_found("unit", unit.key()))?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(DomainError::Conflict("the unit kept changing; retry".to_owned()).into())
}

async fn replace(deps: &Deps, req: &Request) -> Handled {
    let (caller, unit) = seller_unit(deps, req).await?;
    let input: StockInput = parse_json(req)?;
    input.validate()?;
    let at = deps.clock.now();
    change_unit(deps, req, &caller, unit, "set", |read| {
        read.with_stock(input.on_hand, input.low_stock_threshold, at)
    })
    .await
}

async fn adjust(deps: &Deps, req: &Request) -> Handled {
    let (caller, unit) = seller_unit(deps, req).await?;
    let input: AdjustmentInput = parse_json(req)?;
    let reason = input.validate()?;
    let at = deps.clock.now();
    change_unit(deps, req, &caller, unit, &reason, |read| {
        read.adjusted(input.delta, at)
    })
    .await
}

async fn movements(deps: &Deps, req: &Request) -> Handled {
    let (_, unit) = seller_unit(deps, req).await?;
    let page = PageParams::from_request(req)?;
    let after = page
        .next_token
        .as_deref()
        .map(|token| {
            token.parse::<EventId>().map_err(|_| {
                ApiError::from(DomainError::validation(
                    "nextToken",
                    "is not a token this API issued",
                ))
            })
        })
        .transpose()?;
    let (items, next) = deps
        .store
        .movements(&unit.key(), page.page_size, after)
        .await?;
    let body = ListBody {
        items: items
            .iter()
            .map(|m| MovementView {
                movement_id: m.movement_id,
                on_hand_delta: m.on_hand_delta,
                reserved_delta: m.reserved_delta,
                reason: &m.reason,
                actor: &m.actor,
                reservation_id: m.reservation_id,
                at: m.at,
            })
            .collect(),
        page_size: page.page_size,
        next_token: next.map(|id| id.to_string()),
    };
    Ok(json_response(StatusCode::OK, &body))
}
