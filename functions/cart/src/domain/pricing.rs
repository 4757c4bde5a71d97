//! A cart at today's prices: what every cart route answers with.
//!
//! [`price`] marks each line against the product projection and the stock levels (a line
//! that cannot be bought is `available: false` with its `unavailableReason` and counts in no
//! total; one whose price moved since it was added carries `priceChanged: {from, to}`) and
//! gives the lines that can be bought to ask the discounts service about; [`Priced::finish`]
//! adds its answer. Nothing disappears silently: when inventory or discounts cannot be asked,
//! the cart still answers, with a `warnings` entry saying what it could not check.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shop_domain::{CartId, Currency, ProductId, UserId};

use super::{
    AppliedDiscount, Cart, CartOwner, DiscountEvaluation, DiscountQuery, ItemId, PricedItem,
    ProductFacts, ProductStatus, StockLevel, Unavailable,
};

/// `priceChanged`: the unit price when the line was added, and today's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriceChange {
    /// At adding.
    pub from: i64,
    /// Today.
    pub to: i64,
}

/// One line as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    /// The line (derived from the unit).
    pub item_id: ItemId,
    /// The product.
    pub product_id: ProductId,
    /// The variant, `null` for a product without variants.
    pub sku: Option<String>,
    /// The product's (and variant's) name; empty when the cart never knew the product.
    pub name: String,
    /// The main image.
    pub image: Option<String>,
    /// Today's unit price (the price at adding when there is no price today).
    pub unit_price: i64,
    /// The cart's currency.
    pub currency: Currency,
    /// How many.
    pub quantity: u32,
    /// `unitPrice × quantity`.
    pub line_total: i64,
    /// Set when today's price differs from the price at adding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_changed: Option<PriceChange>,
    /// Whether it can be bought; a line that cannot counts in no total.
    pub available: bool,
    /// Why it cannot be bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<Unavailable>,
    /// With `insufficient_stock`: how many can be bought.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_quantity: Option<i64>,
}

/// The discount shown: `{id, code, name, amount}`.
pub type DiscountView = AppliedDiscount;

/// What the cart could not check, so the client knows the answer is partial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `stock_unavailable`, `discounts_unavailable` or `discount_code_not_applied`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// The cart as every cart route answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    /// A guest cart's id (absent for a user's cart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<CartId>,
    /// The lines, oldest first.
    pub items: Vec<LineView>,
    /// How many units can be bought (the sum of the available lines' quantities).
    pub item_count: u32,
    /// The available lines' totals.
    pub subtotal: i64,
    /// The discount that applies, or `null`.
    pub discount: Option<DiscountView>,
    /// The code the customer entered, or `null`.
    pub discount_code: Option<String>,
    /// `subtotal − discount.amount`.
    pub total: i64,
    /// The cart's currency; `null` while it has no lines.
    pub currency: Option<Currency>,
    /// The last change; `null` for a cart never written.
    #[serde(with = "optional_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the cart expires unless changed; `null` for a cart never written.
    #[serde(with = "optional_timestamp")]
    pub expires_at: Option<DateTime<Utc>>,
    /// What could not be checked; empty when everything was.
    pub warnings: Vec<Warning>,
}

mod optional_timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => s.serialize_none(),
        }
    }
}

/// A cart priced and marked, waiting for the discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    view: CartView,
    /// The question for the discounts service; `None` when nothing can be bought.
    pub discount_query: Option<DiscountQuery>,
}

/// What the discounts service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountAnswer {
    /// It was not asked (nothing can be bought).
    NotAsked,
    /// Its answer.
    Evaluated(DiscountEvaluation),
    /// It could not be asked.
    Unavailable,
}

/// `cart` (or an empty one of `owner`) at the prices of `products`, marked with `stock`
/// (`None`: inventory could not be asked, so no line is marked for stock and a warning
/// says so).
pub fn price(
    owner: CartOwner,
    cart: Option<&Cart>,
    products: &[ProductFacts],
    stock: Option<&[StockLevel]>,
) -> Priced {
    price_marked(owner, cart, products, stock, true)
}

/// `cart` at the prices of `products` with no stock marks and no warning about them: the
/// checkout's pricing (`price-cart`), where the stock reservation decides instead.
pub fn price_without_stock(
    owner: CartOwner,
    cart: Option<&Cart>,
    products: &[ProductFacts],
) -> Priced {
    price_marked(owner, cart, products, None, false)
}

fn price_marked(
    owner: CartOwner,
    cart: Option<&Cart>,
    products: &[ProductFacts],
    stock: Option<&[StockLevel]>,
    warn_unchecked_stock: bool,
) -> Priced {
    let products: HashMap<ProductId, &ProductFacts> =
        products.iter().map(|p| (p.product_id, p)).collect();
    let levels: Option<HashMap<(ProductId, &str), &StockLevel>> = stock.map(|levels| {
        levels
            .iter()
            .map(|l| ((l.product_id, l.sku.as_str()), l))
            .collect()
    });
    let mut warnings = Vec::new();
    if warn_unchecked_stock && stock.is_none() && cart.is_some_and(|c| !c.lines.is_empty()) {
        warnings.push(Warning {
            code: "stock_unavailable",
            message: "stock levels could not be checked; lines are not marked for stock".to_owned(),
        });
    }
    let currency = cart.and_then(|c| c.currency);
    let mut items = Vec::new();
    let mut buyable = Vec::new();
    let mut lines: Vec<_> = cart.map(|c| c.lines.iter().collect()).unwrap_or_default();
    lines.sort_by_key(|l| (l.added_at, l.unit.item_id()));
    for line in lines {
        let unit = &line.unit;
        let facts = products.get(&unit.product_id).copied();
        let offer = match facts {
            None => Err(Unavailable::UnknownProduct),
            Some(facts) => facts.offer(unit),
        };
        let mut reason = offer.as_ref().err().copied();
        let (unit_price, name) = offer.clone().unwrap_or((line.added_price, String::new()));
        let name = if name.is_empty() {
            facts.map(|f| f.name.clone()).unwrap_or_default()
        } else {
            name
        };
        if reason.is_none() && facts.and_then(|f| f.status) != Some(ProductStatus::Active) {
            reason = Some(Unavailable::NotActive);
        }
        if reason.is_none() && facts.and_then(|f| f.currency) != currency {
            reason = Some(Unavailable::CurrencyChanged);
        }
        let mut available_quantity = None;
        if reason.is_none()
            && let Some(levels) = &levels
        {
            let level = levels
                .get(&(unit.product_id, unit.inventory_sku().as_str()))
                .copied();
            let available = level.filter(|l| l.known).map_or(0, |l| l.available);
            if available <= 0 {
                reason = Some(Unavailable::OutOfStock);
            } else if available < i64::from(line.quantity) {
                reason = Some(Unavailable::InsufficientStock);
                available_quantity = Some(available);
            }
        }
        let price_changed =
            (offer.is_ok() && unit_price != line.added_price).then_some(PriceChange {
                from: line.added_price,
                to: unit_price,
            });
        if reason.is_none() {
            buyable.push(PricedItem {
                product_id: unit.product_id,
                sku: unit.sku.as_ref().map(|s| s.as_str().to_owned()),
                quantity: line.quantity,
                unit_price,
            });
        }
        items.push(LineView {
            item_id: unit.item_id(),
            product_id: unit.product_id,
            sku: unit.sku.as_ref().map(|s| s.as_str().to_owned()),
            name,
            image: facts.and_then(|f| f.image.clone()),
            unit_price,
            currency: currency.unwrap_or(Currency::EUR),
            quantity: line.quantity,
            line_total: unit_price.saturating_mul(i64::from(line.quantity)),
            price_changed,
            available: reason.is_none(),
            unavailable_reason: reason,
            available_quantity,
        });
    }
    let subtotal = items
        .iter()
        .filter(|l| l.available)
        .map(|l| l.line_total)
        .fold(0i64, i64::saturating_add);
    let item_count = items
        .iter()
        .filter(|l| l.available)
        .map(|l| l.quantity)
        .sum();
    let discount_query = match currency {
        Some(currency) if !buyable.is_empty() => Some(DiscountQuery {
            user_id: owner.user(),
            code: cart.and_then(|c| c.discount_code.clone()),
            currency,
            items: buyable,
        }),
        _ => None,
    };
    let cart_id = match owner {
        CartOwner::Guest(id) => Some(id),
        CartOwner::User(_) => None,
    };
    Priced {
        view: CartView {
            cart_id,
            items,
            item_count,
            subtotal,
            discount: None,
            discount_code: cart.and_then(|c| c.discount_code.clone()),
            total: subtotal,
            currency,
            updated_at: cart.map(|c| c.updated_at),
            expires_at: cart.map(|c| c.expires_at),
            warnings,
        },
        discount_query,
    }
}

impl Priced {
    /// The user a discount query is for (`null` for guests): kept for callers that log it.
    pub fn user(&self) -> Option<UserId> {
        self.discount_query.as_ref().and_then(|q| q.user_id)
    }

    /// The cart with the discounts service's `answer`.
    pub fn finish(self, answer: DiscountAnswer) -> CartView {
        let mut view = self.view;
        match answer {
            DiscountAnswer::NotAsked => {}
            DiscountAnswer::Unavailable => view.warnings.push(Warning {
                code: "discounts_unavailable",
                message: "discounts could not be checked; the total has none".to_owned(),
            }),
            DiscountAnswer::Evaluated(evaluation) => {
                if let (Some(code), Some(verdict)) = (&view.discount_code, &evaluation.code)
                    && !verdict.valid
                {
                    view.warnings.push(Warning {
                        code: "discount_code_not_applied",
                        message: format!(
                            "the code {code} does not apply: {}",
                            verdict.reason.as_deref().unwrap_or("not_applicable")
                        ),
                    });
                }
                if let Some(mut discount) = evaluation.discount {
                    // Never below zero, whatever the evaluator says.
                    discount.amount = discount.amount.clamp(0, view.subtotal);
                    view.total = view.subtotal - discount.amount;
                    view.discount = Some(discount);
                }
            }
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CodeVerdict, Line, Unit, VariantFacts};
    use chrono::TimeDelta;
    use shop_domain::UserId;

    fn facts(price: i64, status: ProductStatus) -> ProductFacts {
        ProductFacts {
            product_id: ProductId::new(),
            version: 1,
            deleted: false,
            name: "Mug".into(),
            price,
            currency: Some(Currency::EUR),
            status: Some(status),
            image: Some("https://cdn.example.com/mug.png".into()),
            variants: Vec::new(),
            seller_id: Some("01JBQ00000000000000000SE01".into()),
        }
    }

    fn cart_of(lines: &[(&ProductFacts, u32, i64)]) -> Cart {
        let now = Utc::now();
        let mut cart = Cart::new(CartOwner::User(UserId::new()), None, now);
        cart.currency = Some(Currency::EUR);
        for (i, (product, quantity, added_price)) in lines.iter().enumerate() {
            cart.lines.push(Line {
                unit: Unit {
                    product_id: product.product_id,
                    sku: product.variants.first().map(|v| v.sku.clone()),
                },
                quantity: *quantity,
                added_price: *added_price,
                added_at: now + TimeDelta::seconds(i as i64),
                updated_at: now,
            });
        }
        cart
    }

    fn level(product: &ProductFacts, available: i64) -> StockLevel {
        StockLevel {
            product_id: product.product_id,
            sku: product.product_id.to_string(),
            available,
            in_stock: available > 0,
            known: true,
        }
    }

    #[test]
    fn lines_are_priced_today_and_marked_and_marked_lines_count_in_no_total() {
        let repriced = facts(1200, ProductStatus::Active);
        let archived = facts(500, ProductStatus::Archived);
        let short = facts(300, ProductStatus::Active);
        let mut tee = facts(2000, ProductStatus::Active);
        tee.variants = vec![VariantFacts {
            sku: "TEE-M".parse().unwrap(),
            name: "M".into(),
            price: None,
        }];
        let cart = cart_of(&[
            (&repriced, 2, 1000),
            (&archived, 1, 500),
            (&short, 3, 300),
            (&tee, 1, 2000),
        ]);
        let mut stock = vec![level(&repriced, 10), level(&archived, 10), level(&short, 2)];
        stock.push(StockLevel {
            sku: "TEE-M".into(),
            ..level(&tee, 5)
        });
        let products = [repriced.clone(), archived, short, tee];
        let priced = price(cart.owner, Some(&cart), &products, Some(&stock));
        let query = priced.discount_query.clone().unwrap();
        assert_eq!(query.items.len(), 2);
        let view = priced.finish(DiscountAnswer::NotAsked);
        let json = serde_json::to_value(&view).unwrap();
        let items = json["items"].as_array().unwrap();
        assert_eq!(items[0]["unitPrice"], 1200);
        assert_eq!(items[0]["lineTotal"], 2400);
        assert_eq!(
            items[0]["priceChanged"],
            serde_json::json!({"from": 1000, "to": 1200})
        );
        assert_eq!(items[0]["available"], true);
        assert_eq!(items[1]["available"], false);
        assert_eq!(items[1]["unavailableReason"], "not_active");
        assert_eq!(items[2]["unavailableReason"], "insufficient_stock");
        assert_eq!(items[2]["availableQuantity"], 2);
        assert_eq!(items[3]["sku"], "TEE-M");
        assert_eq!(items[3]["name"], "Mug (M)");
        assert!(items[3].get("priceChanged").is_none());
        assert_eq!(view.subtotal, 2400 + 2000);
        assert_eq!(view.item_count, 3);
        assert_eq!(view.total, view.subtotal);
        assert!(view.warnings.is_empty());
    }

    #[test]
    fn without_stock_or_discounts_the_cart_still_answers_and_says_so() {
        let mug = facts(1000, ProductStatus::Active);
        let mut cart = cart_of(&[(&mug, 2, 1000)]);
        cart.discount_code = Some("WELCOME10".into());
        let priced = price(cart.owner, Some(&cart), std::slice::from_ref(&mug), None);
        assert_eq!(
            priced.discount_query.as_ref().unwrap().code.as_deref(),
            Some("WELCOME10")
        );
        let view = priced.finish(DiscountAnswer::Unavailable);
        assert_eq!(view.subtotal, 2000);
        assert_eq!(view.total, 2000);
        let codes: Vec<_> = view.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, ["stock_unavailable", "discounts_unavailable"]);
        assert!(view.items[0].available);
    }

    #[test]
    fn the_discount_comes_off_the_subtotal_and_an_invalid_code_is_a_warning() {
        let mug = facts(1000, ProductStatus::Active);
        let mut cart = cart_of(&[(&mug, 3, 1000)]);
        cart.discount_code = Some("BIG".into());
        let stock = [level(&mug, 5)];
        let answer = |valid: bool, amount: i64| {
            DiscountAnswer::Evaluated(DiscountEvaluation {
                code: Some(CodeVerdict {
                    valid,
                    reason: (!valid).then(|| "minimum_not_met".to_owned()),
                }),
                discount: Some(AppliedDiscount {
                    id: "d1".into(),
                    code: None,
                    name: "Winter".into(),
                    amount,
                }),
                applied: Vec::new(),
            })
        };
        let view = price(
            cart.owner,
            Some(&cart),
            std::slice::from_ref(&mug),
            Some(&stock),
        )
        .finish(answer(true, 300));
        assert_eq!((view.subtotal, view.total), (3000, 2700));
        assert!(view.warnings.is_empty());
        let view = price(
            cart.owner,
            Some(&cart),
            std::slice::from_ref(&mug),
            Some(&stock),
        )
        .finish(answer(false, 99_999));
        assert_eq!(view.total, 0, "a discount never takes the total below zero");
        assert_eq!(view.warnings[0].code, "discount_code_not_applied");
    }

    #[test]
    fn an_empty_cart_asks_nobody() {
        let owner = CartOwner::User(UserId::new());
        let priced = price(owner, None, &[], None);
        assert!(priced.discount_query.is_none());
        let view = priced.finish(DiscountAnswer::NotAsked);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["items"], serde_json::json!([]));
        assert_eq!(json["discount"], serde_json::Value::Null);
        assert_eq!(json["updatedAt"], serde_json::Value::Null);
        assert!(view.warnings.is_empty());
    }
}
