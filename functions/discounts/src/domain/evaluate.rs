//! The evaluator: what a discount takes off a cart, or why it does not apply, and which of
//! the candidates win.
//!
//! Rules:
//! - A discount applies to the lines its `appliesTo` names (a product, a category or any of
//!   its ancestors, a brand; nothing named = every line); their subtotal is what it can take
//!   off at most, and what `minSubtotal` is compared with.
//! - A percentage rounds down to the minor unit; nothing exceeds `maxDiscount`.
//! - The best single discount wins. Stackable discounts add up instead when together they
//!   take off more, capped at the subtotal of the lines any of them applies to.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shop_domain::{BrandId, CategoryId, Currency, DiscountId, ProductId};

use super::catalog::CategoryTree;
use super::discount::{Discount, DiscountType};

/// Why a discount does not apply (the `reason` of `{valid: false}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No discount has this code.
    UnknownCode,
    /// Switched off.
    Inactive,
    /// Before `startsAt`.
    NotStarted,
    /// At or after `endsAt`.
    Expired,
    /// `usageLimit` uses are reserved or redeemed.
    UsageLimitReached,
    /// The user has used up `perUserLimit`.
    PerUserLimitReached,
    /// The lines it applies to come to less than `minSubtotal`.
    MinimumNotMet,
    /// No line qualifies, or the cart is in another currency.
    NotApplicable,
}

impl Reason {
    /// The reason as the API writes it (`usage_limit_reached`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownCode => "unknown_code",
            Self::Inactive => "inactive",
            Self::NotStarted => "not_started",
            Self::Expired => "expired",
            Self::UsageLimitReached => "usage_limit_reached",
            Self::PerUserLimitReached => "per_user_limit_reached",
            Self::MinimumNotMet => "minimum_not_met",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// One cart line, priced by the caller (or the projection) and placed by the projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The product.
    pub product_id: ProductId,
    /// 1–99.
    pub quantity: u32,
    /// Minor units.
    pub unit_price: i64,
    /// The product's category, when the projection knows the product.
    pub category_id: Option<CategoryId>,
    /// Its brand, likewise.
    pub brand_id: Option<BrandId>,
}

impl Line {
    fn total(&self) -> i64 {
        self.unit_price.saturating_mul(i64::from(self.quantity))
    }
}

/// A cart to evaluate.
#[derive(Debug, Clone)]
pub struct Cart<'a> {
    /// Its currency.
    pub currency: Currency,
    /// Its lines.
    pub lines: &'a [Line],
    /// The categories, for ancestors.
    pub tree: &'a CategoryTree,
}

/// How often a discount has been used (reserved or redeemed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// By everyone.
    pub total: u64,
    /// By the user asking (0 when nobody is signed in).
    pub by_user: u64,
}

/// A discount with its usage, to evaluate.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The discount.
    pub discount: Discount,
    /// Its usage.
    pub usage: Usage,
}

/// What one discount takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The discount.
    pub id: DiscountId,
    /// Its code.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
    /// Minor units it takes off.
    pub amount: i64,
    /// Whether it stacks.
    stackable: bool,
    /// Indexes of the lines it applies to.
    lines: BTreeSet<usize>,
}

/// What [`evaluate`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The code's verdict, when a code was given.
    pub code: Option<Result<Applied, Reason>>,
    /// What the cart shows: the winner, or the stack (named after its largest, with the sum).
    pub discount: Option<Applied>,
    /// Each discount taken, largest first.
    pub applied: Vec<Applied>,
}

/// Whether `discount` applies to `line`.
fn qualifies(discount: &Discount, line: &Line, tree: &CategoryTree) -> bool {
    let to = &discount.applies_to;
    if to.is_whole_order() {
        return true;
    }
    to.product_ids.contains(&line.product_id)
        || line.brand_id.is_some_and(|b| to.brand_ids.contains(&b))
        || line.category_id.is_some_and(|c| {
            tree.lineage(c)
                .iter()
                .any(|id| to.category_ids.contains(id))
        })
}

/// What `candidate` takes off `cart` for a user (`signed_in`) at `now`, or why it does not
/// apply. Reasons are checked in the order of [`Reason`]'s documentation below:
/// inactive, not started, expired, usage limit, per-user limit, not applicable, minimum.
pub fn apply(
    candidate: &Candidate,
    cart: &Cart<'_>,
    signed_in: bool,
    now: DateTime<Utc>,
) -> Result<Applied, Reason> {
    let d = &candidate.discount;
    if !d.active {
        return Err(Reason::Inactive);
    }
    if d.starts_at.is_some_and(|start| now < start) {
        return Err(Reason::NotStarted);
    }
    if d.ends_at.is_some_and(|end| now >= end) {
        return Err(Reason::Expired);
    }
    if d.usage_limit
        .is_some_and(|limit| candidate.usage.total >= limit)
    {
        return Err(Reason::UsageLimitReached);
    }
    if signed_in
        && d.per_user_limit
            .is_some_and(|limit| candidate.usage.by_user >= limit)
    {
        return Err(Reason::PerUserLimitReached);
    }
    if d.currency.is_some_and(|c| c != cart.currency) {
        return Err(Reason::NotApplicable);
    }
    let lines: BTreeSet<usize> = cart
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| qualifies(d, line, cart.tree))
        .map(|(i, _)| i)
        .collect();
    let subtotal: i64 = lines.iter().map(|i| cart.lines[*i].total()).sum();
    if subtotal <= 0 {
        return Err(Reason::NotApplicable);
    }
    if d.min_subtotal.is_some_and(|min| subtotal < min) {
        return Err(Reason::MinimumNotMet);
    }
    let raw = match d.r#type {
        // Rounded down: integer division of non-negative amounts.
        DiscountType::Percentage => (i128::from(subtotal) * i128::from(d.value) / 100) as i64,
        DiscountType::Fixed => d.value,
    };
    let amount = raw
        .min(subtotal)
        .min(d.max_discount.unwrap_or(i64::MAX))
        .max(0);
    if amount == 0 {
        return Err(Reason::NotApplicable);
    }
    Ok(Applied {
        id: d.id,
        code: d.code.clone(),
        name: d.name.clone(),
        amount,
        stackable: d.stackable,
        lines,
    })
}

/// Decides what `cart` gets: the code's discount (`code`: the code as typed and the discount
/// it names, if any) and the automatic campaigns compete; the best single one wins unless the
/// stackable ones together take off more.
pub fn evaluate(
    code: Option<Option<&Candidate>>,
    automatic: &[Candidate],
    cart: &Cart<'_>,
    signed_in: bool,
    now: DateTime<Utc>,
) -> Evaluation {
    let verdict = code.map(|found| match found {
        None => Err(Reason::UnknownCode),
        Some(candidate) => apply(candidate, cart, signed_in, now),
    });
    let mut valid: Vec<Applied> = verdict.iter().filter_map(|v| v.clone().ok()).collect();
    for candidate in automatic {
        if candidate.discount.automatic
            && !valid.iter().any(|a| a.id == candidate.discount.id)
            && let Ok(applied) = apply(candidate, cart, signed_in, now)
        {
            valid.push(applied);
        }
    }
    // Largest first; ties go to the code (listed first), then the older discount.
    valid.sort_by_key(|a| std::cmp::Reverse(a.amount));
    let best = valid.first().cloned();
    let mut stack: Vec<Applied> = valid.iter().filter(|a| a.stackable).cloned().collect();
    let stacked = if stack.len() >= 2 {
        let covered: BTreeSet<usize> = stack.iter().flat_map(|a| a.lines.clone()).collect();
        let cap: i64 = covered.iter().map(|i| cart.lines[*i].total()).sum();
        let mut left = cap;
        for applied in &mut stack {
            applied.amount = applied.amount.min(left);
            left -= applied.amount;
        }
        stack.retain(|a| a.amount > 0);
        let sum: i64 = stack.iter().map(|a| a.amount).sum();
        Some((sum, stack))
    } else {
        None
    };
    let (discount, applied) = match (best, stacked) {
        (Some(best), Some((sum, stack))) if sum > best.amount => {
            let shown = Applied {
                amount: sum,
                ..stack[0].clone()
            };
            (Some(shown), stack)
        }
        (Some(best), _) => (Some(best.clone()), vec![best]),
        (None, _) => (None, Vec::new()),
    };
    Evaluation {
        code: verdict,
        discount,
        applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::CategoryFacts;
    use crate::domain::discount::{AppliesTo, DiscountInput};
    use serde_json::json;

    fn discount(body: serde_json::Value) -> Discount {
        Discount::create(
            DiscountInput::from_json(&body).unwrap(),
            DiscountId::new(),
            now(),
        )
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn candidate(body: serde_json::Value) -> Candidate {
        Candidate {
            discount: discount(body),
            usage: Usage::default(),
        }
    }

    fn line(price: i64, quantity: u32, category: Option<CategoryId>) -> Line {
        Line {
            product_id: ProductId::new(),
            quantity,
            unit_price: price,
            category_id: category,
            brand_id: None,
        }
    }

    fn cart<'a>(lines: &'a [Line], tree: &'a CategoryTree) -> Cart<'a> {
        Cart {
            currency: Currency::EUR,
            lines,
            tree,
        }
    }

    #[test]
    fn percentages_round_down_and_respect_the_cap() {
        let tree = CategoryTree::default();
        let lines = [line(999, 1, None)];
        let ten =
            candidate(json!({"code": "TEN", "name": "Ten", "type": "percentage", "value": 10}));
        assert_eq!(
            apply(&ten, &cart(&lines, &tree), true, now())
                .unwrap()
                .amount,
            99
        );
        let capped = candidate(json!({"code": "CAP", "name": "Cap", "type": "percentage",
            "value": 50, "maxDiscount": 100, "currency": "EUR"}));
        assert_eq!(
            apply(&capped, &cart(&lines, &tree), true, now())
                .unwrap()
                .amount,
            100
        );
        let huge = candidate(json!({"code": "HUGE", "name": "Huge", "type": "fixed",
            "value": 5000, "currency": "EUR"}));
        assert_eq!(
            apply(&huge, &cart(&lines, &tree), true, now())
                .unwrap()
                .amount,
            999
        );
    }

    #[test]
    fn a_category_discount_applies_to_its_descendants_only() {
        let (shoes, running, hats) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        let facts = |id, parent| CategoryFacts {
            category_id: id,
            parent_id: parent,
            version: 1,
            deleted: false,
        };
        let tree = CategoryTree::new([
            facts(shoes, None),
            facts(running, Some(shoes)),
            facts(hats, None),
        ]);
        let lines = [line(2000, 2, Some(running)), line(1000, 1, Some(hats))];
        let mut shoe_sale =
            candidate(json!({"code": "SHOES", "name": "Shoes", "type": "percentage", "value": 50}));
        shoe_sale.discount.applies_to = AppliesTo {
            category_ids: vec![shoes],
            ..AppliesTo::default()
        };
        let applied = apply(&shoe_sale, &cart(&lines, &tree), true, now()).unwrap();
        assert_eq!(
            applied.amount, 2000,
            "half of the running shoes, nothing off the hat"
        );
        let only_hats = [line(1000, 1, Some(hats))];
        assert_eq!(
            apply(&shoe_sale, &cart(&only_hats, &tree), true, now()),
            Err(Reason::NotApplicable)
        );
    }

    #[test]
    fn every_reason_is_reachable() {
        let tree = CategoryTree::default();
        let lines = [line(1000, 1, None)];
        let c = cart(&lines, &tree);
        let base = json!({"code": "REASON", "name": "R", "type": "percentage", "value": 10});
        let with = |extra: serde_json::Value| {
            let mut body = base.clone();
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            candidate(body)
        };
        let reason = |cand: &Candidate| apply(cand, &c, true, now()).unwrap_err();
        assert_eq!(reason(&with(json!({"active": false}))), Reason::Inactive);
        assert_eq!(
            reason(&with(json!({"startsAt": "2026-12-02T00:00:00Z"}))),
            Reason::NotStarted
        );
        assert_eq!(
            reason(&with(json!({"endsAt": "2026-12-01T12:00:00Z"}))),
            Reason::Expired
        );
        let mut used = with(json!({"usageLimit": 5}));
        used.usage.total = 5;
        assert_eq!(reason(&used), Reason::UsageLimitReached);
        let mut mine = with(json!({"perUserLimit": 1}));
        mine.usage.by_user = 1;
        assert_eq!(reason(&mine), Reason::PerUserLimitReached);
        assert!(
            apply(&mine, &c, false, now()).is_ok(),
            "a guest's use is not known"
        );
        assert_eq!(
            reason(&with(json!({"minSubtotal": 1001, "currency": "EUR"}))),
            Reason::MinimumNotMet
        );
        assert_eq!(
            reason(&with(json!({"currency": "USD"}))),
            Reason::NotApplicable
        );
        assert_eq!(
            evaluate(Some(None), &[], &c, true, now()).code,
            Some(Err(Reason::UnknownCode))
        );
    }

    #[test]
    fn the_best_single_discount_wins_unless_stacking_gives_more() {
        let tree = CategoryTree::default();
        let lines = [line(10_000, 1, None)];
        let c = cart(&lines, &tree);
        let code =
            candidate(json!({"code": "TEN", "name": "Ten", "type": "percentage", "value": 10}));
        let auto = candidate(json!({"name": "Auto", "type": "fixed", "value": 1500,
            "currency": "EUR", "automatic": true}));
        let picked = evaluate(
            Some(Some(&code)),
            std::slice::from_ref(&auto),
            &c,
            true,
            now(),
        );
        assert_eq!(picked.code.as_ref().unwrap().as_ref().unwrap().amount, 1000);
        assert_eq!(picked.discount.as_ref().unwrap().id, auto.discount.id);
        assert_eq!(picked.applied.len(), 1);

        let mut code_s = code.clone();
        code_s.discount.stackable = true;
        let mut auto_s = auto.clone();
        auto_s.discount.stackable = true;
        let stacked = evaluate(
            Some(Some(&code_s)),
            std::slice::from_ref(&auto_s),
            &c,
            true,
            now(),
        );
        let shown = stacked.discount.unwrap();
        assert_eq!((shown.id, shown.amount), (auto_s.discount.id, 2500));
        let amounts: Vec<i64> = stacked.applied.iter().map(|a| a.amount).collect();
        assert_eq!(amounts, [1500, 1000]);

        // Stacked past the subtotal: capped at it.
        let mut big = candidate(json!({"name": "Big", "type": "fixed", "value": 9000,
            "currency": "EUR", "automatic": true, "stackable": true}));
        big.discount.stackable = true;
        let capped = evaluate(None, &[big, auto_s], &c, true, now());
        assert_eq!(capped.discount.unwrap().amount, 10_000);
        assert_eq!(capped.applied.iter().map(|a| a.amount).sum::<i64>(), 10_000);
    }
}
