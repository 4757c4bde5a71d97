//! What `validate_discount` and `evaluate_discounts` share: placing cart lines with the
//! catalog projection, loading the candidates (the code's discount and the automatic
//! campaigns, each with its usage) and running the evaluator.

use std::collections::HashMap;

use shop_domain::{Currency, DomainError, ProductId};

use crate::Deps;
use crate::domain::evaluate::{self, Candidate, Cart, Evaluation, Line};
use crate::domain::{Discount, ProductFacts};

/// The most lines one evaluation takes.
pub const MAX_LINES: usize = 100;

/// A cart line as a caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The product.
    pub product_id: ProductId,
    /// Its variant, if any.
    pub sku: Option<String>,
    /// 1–99.
    pub quantity: u32,
    /// The caller's unit price, or `None` to price it from the projection.
    pub unit_price: Option<i64>,
}

/// The projection's facts of `ids`, by id.
pub async fn facts(
    deps: &Deps,
    ids: impl Iterator<Item = ProductId>,
) -> Result<HashMap<ProductId, ProductFacts>, DomainError> {
    let ids: Vec<ProductId> = ids.collect();
    Ok(deps
        .catalog
        .products(&ids)
        .await?
        .into_iter()
        .map(|p| (p.product_id, p))
        .collect())
}

/// Lines priced by the projection: 422 for a product it does not know or that is not for
/// sale, an unknown SKU, or products in more than one currency. The lines and their currency.
pub fn priced(
    wanted: &[Wanted],
    facts: &HashMap<ProductId, ProductFacts>,
) -> Result<(Vec<Line>, Currency), DomainError> {
    let mut lines = Vec::new();
    let mut currency = None;
    for (i, w) in wanted.iter().enumerate() {
        let product = facts
            .get(&w.product_id)
            .filter(|p| p.is_active())
            .ok_or_else(|| {
                DomainError::Unprocessable(format!(
                    "items[{i}]: product `{}` is not for sale (unknown, not active, or not yet known to discounts)",
                    w.product_id
                ))
            })?;
        let unit_price = product.unit_price(w.sku.as_deref()).ok_or_else(|| {
            DomainError::Unprocessable(format!(
                "items[{i}]: product `{}` has no SKU `{}`",
                w.product_id,
                w.sku.as_deref().unwrap_or_default()
            ))
        })?;
        match currency {
            Some(c) if c != product.currency => {
                return Err(DomainError::Unprocessable(format!(
                    "items[{i}]: product `{}` is priced in {}, the others in {c}",
                    w.product_id, product.currency
                )));
            }
            _ => currency = Some(product.currency),
        }
        lines.push(Line {
            product_id: w.product_id,
            quantity: w.quantity,
            unit_price,
            category_id: Some(product.category_id),
            brand_id: Some(product.brand_id),
        });
    }
    let currency =
        currency.ok_or_else(|| DomainError::validation("items", "must hold at least one item"))?;
    Ok((lines, currency))
}

/// Lines at the caller's prices, placed by the projection where it knows the product.
pub fn placed(wanted: &[Wanted], facts: &HashMap<ProductId, ProductFacts>) -> Vec<Line> {
    wanted
        .iter()
        .map(|w| {
            let known = facts.get(&w.product_id);
            Line {
                product_id: w.product_id,
                quantity: w.quantity,
                unit_price: w.unit_price.unwrap_or(0),
                category_id: known.map(|p| p.category_id),
                brand_id: known.map(|p| p.brand_id),
            }
        })
        .collect()
}

async fn candidate(
    deps: &Deps,
    discount: Discount,
    user: Option<&str>,
) -> Result<Candidate, DomainError> {
    let usage = deps.discounts.usage(discount.id, user).await?;
    Ok(Candidate { discount, usage })
}

/// Evaluates `lines` in `currency` for `user` with `code` (and, when `with_automatic`, the
/// automatic campaigns).
pub async fn evaluate(
    deps: &Deps,
    user: Option<&str>,
    code: Option<&str>,
    currency: Currency,
    lines: &[Line],
    with_automatic: bool,
) -> Result<Evaluation, DomainError> {
    let coded = match code {
        Some(code) => match deps.discounts.by_code(code).await? {
            Some(discount) => Some(Some(candidate(deps, discount, user).await?)),
            None => Some(None),
        },
        None => None,
    };
    let mut automatic = Vec::new();
    if with_automatic {
        for discount in deps.discounts.automatic().await? {
            // Only the ones that could apply are worth a counter read.
            if discount.active {
                automatic.push(candidate(deps, discount, user).await?);
            }
        }
    }
    let tree = deps.catalog.categories().await?;
    let cart = Cart {
        currency,
        lines,
        tree: &tree,
    };
    Ok(evaluate::evaluate(
        coded.as_ref().map(Option::as_ref),
        &automatic,
        &cart,
        user.is_some(),
        deps.clock.now(),
    ))
}
