//! The cart's discount code (User).
//!
//! - `replace_cart_discount` (`PUT /api/cart/discount` `{code}`): asks the discounts service
//!   about the code over the cart's lines at today's prices; stores it and answers 200 with
//!   the cart when it applies, 422 with the service's reason (`unknown_code`, `expired`,
//!   `minimum_not_met`, …) in `details[0].message` when it does not.
//! - `delete_cart_discount` (`DELETE /api/cart/discount`): removes the code; 200 with the
//!   cart (automatic campaigns still apply).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use shop_adapters::api::{Handled, respond};
use shop_adapters::http::{json_response, parse_json};
use shop_domain::{DomainError, FieldError};

use crate::Deps;
use crate::carts::{answer_with_cart, live_cart, stock_of, user_owner};
use crate::domain::pricing;
use crate::domain::{Refusal, Unit};
use shop_domain::ProductId;

/// The longest code accepted.
const MAX_CODE_CHARS: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    code: String,
}

/// The 422 body: the API's error shape, the reason as the detail of `code`.
#[derive(Serialize)]
struct CodeRefused {
    error: &'static str,
    message: String,
    details: [FieldError; 1],
}

/// `PUT /api/cart/discount`.
pub async fn replace_cart_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace_inner(deps, &req).await)
}

fn refused(code: &str, reason: &str) -> Response<Body> {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &CodeRefused {
            error: "Unprocessable",
            message: format!("the code {code} cannot be applied to this cart: {reason}"),
            details: [FieldError::new("code", reason)],
        },
    )
}

async fn replace_inner(deps: &Deps, req: &Request) -> Handled {
    let input: CodeInput = parse_json(req)?;
    let code = input.code.trim();
    if code.is_empty()
        || code.chars().count() > MAX_CODE_CHARS
        || code.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(DomainError::validation(
            "code",
            format!("must be 1 to {MAX_CODE_CHARS} characters without spaces"),
        )
        .into());
    }
    let owner = user_owner(req)?;
    let mut cart = live_cart(deps, &owner).await?;
    let Some(current) = cart.as_mut() else {
        return Ok(refused(code, "not_applicable"));
    };
    current.discount_code = Some(code.to_owned());
    let units: Vec<Unit> = current.lines.iter().map(|l| l.unit.clone()).collect();
    let ids: Vec<ProductId> = units.iter().map(|u| u.product_id).collect();
    let products = deps.products.products(&ids).await?;
    let stock = stock_of(deps, &units).await;
    let priced = pricing::price(owner, Some(current), &products, stock.as_deref());
    let Some(query) = &priced.discount_query else {
        return Ok(refused(code, "not_applicable"));
    };
    let evaluation = deps.discounts.evaluate(query).await?;
    match &evaluation.code {
        Some(verdict) if verdict.valid => {}
        Some(verdict) => {
            return Ok(refused(
                code,
                verdict.reason.as_deref().unwrap_or("not_applicable"),
            ));
        }
        None => {
            return Err(DomainError::Unavailable(
                "evaluate-discounts gave no verdict on the code".to_owned(),
            )
            .into());
        }
    }
    match deps
        .carts
        .set_discount_code(&owner, Some(code), deps.clock.now())
        .await?
    {
        Ok(()) => {
            tracing::info!(owner = %owner, "discount code stored");
            answer_with_cart(deps, owner).await
        }
        Err(refusal) => Err(refusal.into_error(None).into()),
    }
}

/// `DELETE /api/cart/discount`.
pub async fn delete_cart_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete_inner(deps, &req).await)
}

async fn delete_inner(deps: &Deps, req: &Request) -> Handled {
    let owner = user_owner(req)?;
    match deps
        .carts
        .set_discount_code(&owner, None, deps.clock.now())
        .await?
    {
        // No cart: no code either.
        Ok(()) | Err(Refusal::NoCart) => answer_with_cart(deps, owner).await,
        Err(refusal) => Err(refusal.into_error(None).into()),
    }
}
