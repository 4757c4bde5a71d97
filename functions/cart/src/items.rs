//! A cart's lines, in a user's cart (`/api/cart/items…`, User) and in a guest cart
//! (`/api/guest-carts/{cartId}/items…`, `X-Cart-Token`). Each answers 200 with the cart.
//!
//! - `create_cart_item`, `create_guest_cart_item` (`POST …/items` `{productId, sku?,
//!   quantity}`): adds to the unit's line, or makes one. 404 for a product or SKU the cart
//!   does not know, 422 for a product that is not active, a unit short of stock (checked
//!   against what the line will hold: two adds of one unit are checked against their sum),
//!   a cart in another currency, a line past 99 or a 51st line.
//! - `patch_cart_item`, `patch_guest_cart_item` (`PATCH …/items/{itemId}` `{quantity}`):
//!   sets the quantity (1–99; more than before is checked against the stock).
//! - `delete_cart_item`, `delete_guest_cart_item` (`DELETE …/items/{itemId}`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use shop_adapters::api::{Handled, respond};
use shop_adapters::http::{ApiError, json_response, parse_json, path_param};
use shop_domain::{DomainError, ProductId};

use crate::Deps;
use crate::carts::{
    answer_with_cart, available, facts_of, guest_cart, live_cart, priced_view, user_owner, view,
};
use crate::domain::{
    Cart, CartOwner, ItemId, LineAdd, ProductStatus, Refusal, Sku, StockLevel, Unavailable, Unit,
    check_quantity,
};

/// How often an add to a user's cart that has none yet starts it and tries again.
const ATTEMPTS: usize = 3;

/// The body of `POST …/items`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewItem {
    product_id: ProductId,
    #[serde(default)]
    sku: Option<Sku>,
    quantity: i64,
}

/// The body of `PATCH …/items/{itemId}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ItemPatch {
    quantity: i64,
}

/// Which cart a request addresses, and that cart as read (a user may have none yet).
async fn addressed(
    deps: &Deps,
    req: &Request,
    guest: bool,
) -> Result<(CartOwner, Option<Cart>), DomainError> {
    if guest {
        let cart = guest_cart(deps, req).await?;
        Ok((cart.owner, Some(cart)))
    } else {
        let owner = user_owner(req)?;
        Ok((owner, live_cart(deps, &owner).await?))
    }
}

fn item_unit(req: &Request) -> Result<Unit, ApiError> {
    let raw = path_param(req, "itemId")?;
    Ok(raw.parse::<ItemId>()?.unit()?)
}

/// 422 unless `wanted` of `unit` are available.
async fn ensure_stock(deps: &Deps, unit: &Unit, wanted: u32) -> Result<(), DomainError> {
    let levels = deps.stock.levels(std::slice::from_ref(unit)).await?;
    check_stock(&levels, unit, wanted)
}

/// 422 unless `levels` have `wanted` of `unit` available.
fn check_stock(levels: &[StockLevel], unit: &Unit, wanted: u32) -> Result<(), DomainError> {
    let available = available(levels, unit);
    if available <= 0 {
        Err(DomainError::Unprocessable(format!(
            "{} is out of stock",
            unit.item_id()
        )))
    } else if available < i64::from(wanted) {
        Err(DomainError::Unprocessable(format!(
            "only {available} of {} are available; the line would hold {wanted}",
            unit.item_id()
        )))
    } else {
        Ok(())
    }
}

/// `POST /api/cart/items`.
pub async fn create_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(create_item(deps, &req, false).await)
}

/// `POST /api/guest-carts/{cartId}/items`.
pub async fn create_guest_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(create_item(deps, &req, true).await)
}

async fn create_item(deps: &Deps, req: &Request, guest: bool) -> Handled {
    let input: NewItem = parse_json(req)?;
    let quantity = check_quantity(input.quantity)?;
    let (owner, cart) = addressed(deps, req, guest).await?;
    let unit = Unit {
        product_id: input.product_id,
        sku: input.sku,
    };
    // The facts of every unit of the cart and of this one, read once: for the checks here and
    // for the answer after the write.
    let mut units: Vec<Unit> = cart
        .as_ref()
        .map(|c| c.lines.iter().map(|l| l.unit.clone()).collect())
        .unwrap_or_default();
    if !units.contains(&unit) {
        units.push(unit.clone());
    }
    let (products, stock) = facts_of(deps, &units).await?;
    let stock = stock.ok_or_else(|| {
        DomainError::Unavailable("inventory's stock levels cannot be checked".to_owned())
    })?;
    let facts = products
        .iter()
        .find(|f| f.product_id == unit.product_id && !f.deleted)
        .ok_or_else(|| DomainError::not_found("product", unit.product_id))?;
    let (unit_price, _) = facts.offer(&unit).map_err(|why| match (why, &unit.sku) {
        (Unavailable::VariantRemoved, Some(sku)) => DomainError::not_found("sku", sku.as_str()),
        _ => {
            DomainError::Unprocessable("this product has variants: name one with `sku`".to_owned())
        }
    })?;
    if facts.status != Some(ProductStatus::Active) {
        return Err(DomainError::Unprocessable(format!(
            "product {} is not for sale (it is not active)",
            unit.product_id
        ))
        .into());
    }
    let currency = facts.currency.ok_or_else(|| {
        DomainError::Internal(format!("product {} has no currency", unit.product_id))
    })?;
    let has = cart
        .as_ref()
        .and_then(|c| c.line(&unit))
        .map_or(0, |l| l.quantity);
    check_stock(&stock, &unit, has + quantity)?;
    let add = LineAdd {
        unit: unit.clone(),
        quantity,
        unit_price,
        currency,
        line_seen: has > 0,
    };
    for _ in 0..ATTEMPTS {
        let now = deps.clock.now();
        match deps.carts.add(&owner, &add, now).await? {
            Ok(()) => {
                tracing::info!(owner = %owner, item_id = %unit.item_id(), quantity, "added to cart");
                let cart = live_cart(deps, &owner).await?;
                // Another line may have arrived meanwhile: then its facts are read too.
                let known = cart
                    .as_ref()
                    .is_none_or(|c| c.lines.iter().all(|l| units.contains(&l.unit)));
                let view = if known {
                    priced_view(deps, owner, cart.as_ref(), &products, Some(&stock)).await?
                } else {
                    view(deps, owner, cart.as_ref()).await?
                };
                return Ok(json_response(StatusCode::OK, &view));
            }
            // A user's first add starts the cart (or replaces an expired one).
            Err(Refusal::NoCart) if !guest => {
                deps.carts
                    .start_cart(&Cart::new(owner, None, now), now)
                    .await?;
            }
            Err(refusal) => return Err(refusal.into_error(Some(&unit)).into()),
        }
    }
    Err(DomainError::Conflict("the cart kept changing; retry".to_owned()).into())
}

/// `PATCH /api/cart/items/{itemId}`.
pub async fn patch_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(patch_item(deps, &req, false).await)
}

/// `PATCH /api/guest-carts/{cartId}/items/{itemId}`.
pub async fn patch_guest_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(patch_item(deps, &req, true).await)
}

async fn patch_item(deps: &Deps, req: &Request, guest: bool) -> Handled {
    let unit = item_unit(req)?;
    let input: ItemPatch = parse_json(req)?;
    let quantity = check_quantity(input.quantity)?;
    let (owner, cart) = addressed(deps, req, guest).await?;
    let line = cart
        .as_ref()
        .and_then(|c| c.line(&unit))
        .ok_or_else(|| Refusal::NoLine.into_error(Some(&unit)))?;
    if quantity > line.quantity {
        ensure_stock(deps, &unit, quantity).await?;
    }
    deps.carts
        .set_quantity(&owner, &unit, quantity, deps.clock.now())
        .await?
        .map_err(|refusal| refusal_on_line(refusal, &unit))?;
    answer_with_cart(deps, owner).await
}

/// A line write refused: the cart or the line went meanwhile; both are a 404 of the item.
fn refusal_on_line(refusal: Refusal, unit: &Unit) -> DomainError {
    match refusal {
        Refusal::NoCart => Refusal::NoLine.into_error(Some(unit)),
        other => other.into_error(Some(unit)),
    }
}

/// `DELETE /api/cart/items/{itemId}`.
pub async fn delete_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete_item(deps, &req, false).await)
}

/// `DELETE /api/guest-carts/{cartId}/items/{itemId}`.
pub async fn delete_guest_cart_item(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete_item(deps, &req, true).await)
}

async fn delete_item(deps: &Deps, req: &Request, guest: bool) -> Handled {
    let unit = item_unit(req)?;
    let (owner, _) = addressed(deps, req, guest).await?;
    deps.carts
        .remove_line(&owner, &unit, deps.clock.now())
        .await?
        .map_err(|refusal| refusal_on_line(refusal, &unit))?;
    tracing::info!(owner = %owner, item_id = %unit.item_id(), "removed from cart");
    answer_with_cart(deps, owner).await
}
