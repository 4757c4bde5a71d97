//! `validate_discount`: `POST /api/discounts/validate` (User) — is this code good for these
//! items? The items are priced from the catalog projection, never from the client.
//!
//! 200 `{valid: true, discountAmount, currency, discount: {id, code, name}}` or 200
//! `{valid: false, reason}`; 400 for a malformed body, 422 for an item that cannot be bought
//! (unknown to the projection, not active, unknown SKU, another currency).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shop_adapters::api::{Caller, Handled, respond};
use shop_adapters::http::{json_response, parse_json};
use shop_domain::{DomainError, FieldError, ProductId};

use crate::Deps;
use crate::pricing::{self, Wanted};

/// The most items one validation takes (a cart's limit).
pub const MAX_ITEMS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ValidateBody {
    code: String,
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Item {
    product_id: ProductId,
    #[serde(default)]
    sku: Option<String>,
    quantity: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Named<'a> {
    id: shop_domain::DiscountId,
    code: Option<&'a str>,
    name: &'a str,
}

/// `POST /api/discounts/validate` (User).
pub async fn validate_discount(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(validate(deps, &req).await)
}

fn wanted(body: &ValidateBody) -> Result<Vec<Wanted>, DomainError> {
    let mut errors = Vec::new();
    let code = body.code.trim();
    if code.is_empty() || code.chars().count() > 64 || code.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "code",
            "must be 1 to 64 characters once trimmed, without control characters",
        ));
    }
    if body.items.is_empty() || body.items.len() > MAX_ITEMS {
        errors.push(FieldError::new(
            "items",
            format!("must hold 1 to {MAX_ITEMS} items"),
        ));
    }
    let mut wanted = Vec::new();
    for (i, item) in body.items.iter().enumerate().take(MAX_ITEMS) {
        if !(1..=99).contains(&item.quantity) {
            errors.push(FieldError::new(
                format!("items[{i}].quantity"),
                "must be an integer from 1 to 99",
            ));
        }
        let sku = item.sku.clone();
        let sku_ok = |s: &String| {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if sku.as_ref().is_some_and(|s| !sku_ok(s)) {
            errors.push(FieldError::new(
                format!("items[{i}].sku"),
                "must be 1 to 64 letters, digits, `.`, `_` or `-`, or null",
            ));
        }
        wanted.push(Wanted {
            product_id: item.product_id,
            sku,
            quantity: item.quantity.clamp(0, 99) as u32,
            unit_price: None,
        });
    }
    if errors.is_empty() {
        Ok(wanted)
    } else {
        Err(DomainError::Validation(errors))
    }
}

async fn validate(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    let body: ValidateBody = parse_json(req)?;
    let wanted = wanted(&body)?;
    let facts = pricing::facts(deps, wanted.iter().map(|w| w.product_id)).await?;
    let (lines, currency) = pricing::priced(&wanted, &facts)?;
    let evaluation = pricing::evaluate(
        deps,
        Some(&caller.sub),
        Some(body.code.trim()),
        currency,
        &lines,
        false,
    )
    .await?;
    let answer = match evaluation.code {
        Some(Ok(applied)) => json!({
            "valid": true,
            "discountAmount": applied.amount,
            "currency": currency,
            "discount": Named { id: applied.id, code: applied.code.as_deref(), name: &applied.name },
        }),
        Some(Err(reason)) => json!({"valid": false, "reason": reason}),
        None => {
            return Err(
                DomainError::Internal("a code was evaluated without a verdict".into()).into(),
            );
        }
    };
    Ok(json_response(StatusCode::OK, &answer))
}
