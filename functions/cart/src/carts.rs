//! Carts as a whole, and what every cart route shares.
//!
//! - `get_cart` (`GET /api/cart`, User): 200 with the caller's cart at today's prices; a
//!   user who never added anything has an empty cart (`items: []`).
//! - `delete_cart` (`DELETE /api/cart`, User): 204; the lines and the code are gone.
//! - `create_guest_cart` (`POST /api/guest-carts`, public): 201 `{cartId, cartToken,
//!   expiresAt}`; only the token's SHA-256 is stored.
//! - `get_guest_cart` (`GET /api/guest-carts/{cartId}`, `X-Cart-Token`): 200, or 404 for a
//!   wrong or missing token exactly as for a cart that does not exist.
//! - `merge_cart` (`POST /api/cart/merge` `{cartId, cartToken}`, User): the guest cart's
//!   lines fold into the caller's (quantities of one unit add, capped at 99 and at what is
//!   available) and the guest cart is gone, in one transaction; the same merge again answers
//!   with the caller's cart and changes nothing.

use std::collections::HashSet;

use base64::Engine;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use shop_adapters::api::{Caller, Handled, header, respond};
use shop_adapters::http::{json_response, no_content, parse_json, path_id};
use shop_domain::{CartId, DomainError, ProductId, UserId};

use crate::Deps;
use crate::domain::pricing::{self, CartView, DiscountAnswer};
use crate::domain::{
    Cart, CartOwner, Line, MAX_LINES, MAX_QUANTITY, ProductFacts, Refusal, StockLevel, Unit,
    expiry, hash_token,
};

/// The header that carries a guest cart's token.
pub const CART_TOKEN_HEADER: &str = "x-cart-token";
/// How often a write refused by a race is recomputed from a fresh read.
const ATTEMPTS: usize = 3;

/// The signed-in caller's cart: 403 for a token whose subject is not a user id.
pub(crate) fn user_owner(req: &Request) -> Result<CartOwner, DomainError> {
    let caller = Caller::required(req)?;
    let id: UserId = caller.sub.parse().map_err(|_| {
        DomainError::Forbidden(
            "this token's subject is not a registered user; log in as one".to_owned(),
        )
    })?;
    Ok(CartOwner::User(id))
}

fn no_guest_cart(id: CartId) -> DomainError {
    DomainError::not_found("guest cart", id)
}

/// The guest cart `{cartId}` of the path, opened by the `X-Cart-Token` header: 404 when it
/// does not exist, has expired, or the token is missing or wrong (all alike, so carts cannot
/// be probed).
pub(crate) async fn guest_cart(deps: &Deps, req: &Request) -> Result<Cart, DomainError> {
    let id: CartId = path_id(req, "cartId").map_err(|e| match e {
        shop_adapters::http::ApiError::Domain(err) => err,
        other => DomainError::validation("cartId", other.to_string()),
    })?;
    let token = header(req, CART_TOKEN_HEADER).unwrap_or_default().trim();
    let cart = deps
        .carts
        .cart(&CartOwner::Guest(id))
        .await?
        .filter(|c| !c.is_expired(deps.clock.now()))
        .filter(|c| !token.is_empty() && c.opens_with(token))
        .ok_or_else(|| no_guest_cart(id))?;
    Ok(cart)
}

/// The live cart of `owner`, if any.
pub(crate) async fn live_cart(deps: &Deps, owner: &CartOwner) -> Result<Option<Cart>, DomainError> {
    let now = deps.clock.now();
    Ok(deps.carts.cart(owner).await?.filter(|c| !c.is_expired(now)))
}

/// Stock levels of `units`, or `None` when inventory cannot be asked (logged).
pub(crate) async fn stock_of(deps: &Deps, units: &[Unit]) -> Option<Vec<StockLevel>> {
    if units.is_empty() {
        return Some(Vec::new());
    }
    match deps.stock.levels(units).await {
        Ok(levels) => Some(levels),
        Err(err) => {
            tracing::warn!(error = %err, "stock levels unavailable; the cart answers unmarked");
            None
        }
    }
}

/// What is available of `unit` according to `levels` (0 when inventory does not know it).
pub(crate) fn available(levels: &[StockLevel], unit: &Unit) -> i64 {
    let sku = unit.inventory_sku();
    levels
        .iter()
        .find(|l| l.product_id == unit.product_id && l.sku == sku && l.known)
        .map_or(0, |l| l.available)
}

/// `cart` (or the empty cart of `owner`) at today's prices, marked, with its discount.
pub(crate) async fn view(
    deps: &Deps,
    owner: CartOwner,
    cart: Option<&Cart>,
) -> Result<CartView, DomainError> {
    let units: Vec<Unit> = cart
        .map(|c| c.lines.iter().map(|l| l.unit.clone()).collect())
        .unwrap_or_default();
    let (products, stock) = facts_of(deps, &units).await?;
    priced_view(deps, owner, cart, &products, stock.as_deref()).await
}

/// The product facts and stock levels of `units`, asked at once (stock `None` when inventory
/// cannot be asked).
pub(crate) async fn facts_of(
    deps: &Deps,
    units: &[Unit],
) -> Result<(Vec<ProductFacts>, Option<Vec<StockLevel>>), DomainError> {
    if units.is_empty() {
        return Ok((Vec::new(), Some(Vec::new())));
    }
    let ids: Vec<ProductId> = units.iter().map(|u| u.product_id).collect();
    let (products, stock) = tokio::join!(deps.products.products(&ids), stock_of(deps, units));
    Ok((products?, stock))
}

/// `cart` priced with facts already read, and its discount.
pub(crate) async fn priced_view(
    deps: &Deps,
    owner: CartOwner,
    cart: Option<&Cart>,
    products: &[ProductFacts],
    stock: Option<&[StockLevel]>,
) -> Result<CartView, DomainError> {
    let priced = pricing::price(owner, cart, products, stock);
    let answer = match &priced.discount_query {
        None => DiscountAnswer::NotAsked,
        Some(query) => match deps.discounts.evaluate(query).await {
            Ok(evaluation) => DiscountAnswer::Evaluated(evaluation),
            Err(err) => {
                tracing::warn!(error = %err, "discounts unavailable; the cart answers without");
                DiscountAnswer::Unavailable
            }
        },
    };
    Ok(priced.finish(answer))
}

/// 200 with `owner`'s cart as it is now.
pub(crate) async fn answer_with_cart(deps: &Deps, owner: CartOwner) -> Handled {
    let cart = live_cart(deps, &owner).await?;
    Ok(json_response(
        StatusCode::OK,
        &view(deps, owner, cart.as_ref()).await?,
    ))
}

/// `GET /api/cart`.
pub async fn get_cart(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get_cart_inner(deps, &req).await)
}

async fn get_cart_inner(deps: &Deps, req: &Request) -> Handled {
    answer_with_cart(deps, user_owner(req)?).await
}

/// `DELETE /api/cart`.
pub async fn delete_cart(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete_cart_inner(deps, &req).await)
}

async fn delete_cart_inner(deps: &Deps, req: &Request) -> Handled {
    let owner = user_owner(req)?;
    deps.carts.delete_cart(&owner).await?;
    tracing::info!(owner = %owner, "cart deleted");
    Ok(no_content())
}

/// The body of `POST /api/guest-carts`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewGuestCart {
    cart_id: CartId,
    cart_token: String,
    #[serde(with = "shop_domain::timestamp")]
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /api/guest-carts`.
pub async fn create_guest_cart(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(create_guest_cart_inner(deps, &req).await)
}

async fn create_guest_cart_inner(deps: &Deps, _req: &Request) -> Handled {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| DomainError::Internal(format!("no randomness for a cart token: {e}")))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let id = CartId::new();
    let now = deps.clock.now();
    let cart = Cart::new(CartOwner::Guest(id), Some(hash_token(&token)), now);
    if !deps.carts.start_cart(&cart, now).await? {
        return Err(DomainError::Internal(format!("guest cart {id} existed already")).into());
    }
    tracing::info!(cart_id = %id, "guest cart created");
    Ok(json_response(
        StatusCode::CREATED,
        &NewGuestCart {
            cart_id: id,
            cart_token: token,
            expires_at: cart.expires_at,
        },
    ))
}

/// `GET /api/guest-carts/{cartId}`.
pub async fn get_guest_cart(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get_guest_cart_inner(deps, &req).await)
}

async fn get_guest_cart_inner(deps: &Deps, req: &Request) -> Handled {
    let cart = guest_cart(deps, req).await?;
    Ok(json_response(
        StatusCode::OK,
        &view(deps, cart.owner, Some(&cart)).await?,
    ))
}

/// The body of `POST /api/cart/merge`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MergeInput {
    cart_id: CartId,
    cart_token: String,
}

/// `POST /api/cart/merge`.
pub async fn merge_cart(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(merge_cart_inner(deps, &req).await)
}

async fn merge_cart_inner(deps: &Deps, req: &Request) -> Handled {
    let input: MergeInput = parse_json(req)?;
    let owner = user_owner(req)?;
    let guest_owner = CartOwner::Guest(input.cart_id);
    let token = input.cart_token.trim();
    for _ in 0..ATTEMPTS {
        let now = deps.clock.now();
        let guest = deps
            .carts
            .cart(&guest_owner)
            .await?
            .filter(|c| !c.is_expired(now))
            .filter(|c| !token.is_empty() && c.opens_with(token));
        let Some(guest) = guest else {
            // Merged already (by this user, with this token): nothing more to do.
            let merged = deps.carts.merged_guest(input.cart_id).await?;
            return match merged {
                Some(m) if Some(m.user_id) == owner.user() && m.token_hash == hash_token(token) => {
                    answer_with_cart(deps, owner).await
                }
                _ => Err(no_guest_cart(input.cart_id).into()),
            };
        };
        let mine = live_cart(deps, &owner).await?;
        let merged = fold(deps, owner, mine.as_ref(), &guest).await?;
        match deps.carts.merge(&guest, &merged, now).await? {
            Ok(()) => {
                tracing::info!(cart_id = %input.cart_id, owner = %owner, "guest cart merged");
                return Ok(json_response(
                    StatusCode::OK,
                    &view(deps, owner, Some(&merged)).await?,
                ));
            }
            Err(Refusal::Changed) => continue,
            Err(other) => return Err(other.into_error(None).into()),
        }
    }
    Err(DomainError::Conflict("the carts kept changing during the merge; retry".to_owned()).into())
}

/// The user's cart (`mine`, or a new one) with `guest`'s lines folded in: quantities of one
/// unit add, capped at 99 and at what is available (never below what the user had; a line
/// with nothing available keeps its quantity and shows as unavailable rather than vanish).
async fn fold(
    deps: &Deps,
    owner: CartOwner,
    mine: Option<&Cart>,
    guest: &Cart,
) -> Result<Cart, DomainError> {
    let now = deps.clock.now();
    let mut merged = match mine {
        Some(cart) => Cart {
            version: cart.version + 1,
            ..cart.clone()
        },
        None => Cart::new(owner, None, now),
    };
    if !guest.lines.is_empty() && !merged.lines.is_empty() && guest.currency != merged.currency {
        return Err(DomainError::Unprocessable(
            "the guest cart is in another currency than yours; empty one of them first".to_owned(),
        ));
    }
    let units: Vec<Unit> = guest.lines.iter().map(|l| l.unit.clone()).collect();
    let levels = if units.is_empty() {
        Vec::new()
    } else {
        deps.stock.levels(&units).await?
    };
    let known: HashSet<Unit> = merged.lines.iter().map(|l| l.unit.clone()).collect();
    let new_lines = units.iter().filter(|u| !known.contains(*u)).count();
    if merged.lines.len() + new_lines > MAX_LINES as usize {
        return Err(DomainError::Unprocessable(format!(
            "together the carts have more than {MAX_LINES} lines; remove some first"
        )));
    }
    for line in &guest.lines {
        let available = available(&levels, &line.unit).max(0);
        match merged.lines.iter_mut().find(|l| l.unit == line.unit) {
            Some(mine) => {
                let cap =
                    (available as u64).clamp(u64::from(mine.quantity), u64::from(MAX_QUANTITY));
                mine.quantity = (u64::from(mine.quantity + line.quantity)).min(cap) as u32;
                mine.updated_at = now;
            }
            None => {
                let capped = (line.quantity.min(MAX_QUANTITY) as u64).min(available as u64) as u32;
                merged.lines.push(Line {
                    quantity: if capped == 0 { line.quantity } else { capped },
                    updated_at: now,
                    ..line.clone()
                });
            }
        }
    }
    if merged.currency.is_none() || mine.is_none_or(|c| c.lines.is_empty()) {
        merged.currency = guest.currency.or(merged.currency);
    }
    if merged.discount_code.is_none() {
        merged.discount_code = guest.discount_code.clone();
    }
    merged.updated_at = now;
    merged.expires_at = expiry(owner, now);
    Ok(merged)
}
