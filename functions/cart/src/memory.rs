//! The ports in memory, for the handler tests: [`MemoryCarts`] (carts and the product
//! projection, with the DynamoDB adapter's conditions), [`MemoryStock`] and
//! [`MemoryDiscounts`] (fakes of inventory's and discounts' functions that can be told to
//! fail).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{CartId, DomainError, OrderId, ProductId};

use crate::domain::{
    AppliedDiscount, Cart, CartOwner, CartStore, Cleared, CodeVerdict, DiscountEvaluation,
    DiscountEvaluator, DiscountQuery, Line, LineAdd, MAX_LINES, MAX_QUANTITY, MergedGuest,
    ProductFacts, ProductProjection, Refusal, StockLevel, StockLevels, Unit, expiry,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Carts, merged guest carts and product facts.
#[derive(Default)]
pub struct MemoryCarts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    carts: BTreeMap<CartOwner, Cart>,
    merged: BTreeMap<CartId, MergedGuest>,
    products: BTreeMap<ProductId, ProductFacts>,
}

impl MemoryCarts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl State {
    /// The live cart of `owner`, or the refusal.
    fn live(&mut self, owner: &CartOwner, now: DateTime<Utc>) -> Result<&mut Cart, Refusal> {
        match self.carts.get_mut(owner) {
            Some(cart) if !cart.is_expired(now) => Ok(cart),
            _ => Err(Refusal::NoCart),
        }
    }
}

fn touch(cart: &mut Cart, now: DateTime<Utc>) {
    cart.version += 1;
    cart.updated_at = now;
    cart.expires_at = expiry(cart.owner, now);
}

#[async_trait]
impl CartStore for MemoryCarts {
    async fn cart(&self, owner: &CartOwner) -> Result<Option<Cart>, DomainError> {
        Ok(lock(&self.state).carts.get(owner).cloned())
    }

    async fn start_cart(&self, cart: &Cart, now: DateTime<Utc>) -> Result<bool, DomainError> {
        let mut state = lock(&self.state);
        if state.live(&cart.owner, now).is_ok() {
            return Ok(false);
        }
        state.carts.insert(cart.owner, cart.clone());
        Ok(true)
    }

    async fn add(
        &self,
        owner: &CartOwner,
        add: &LineAdd,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let mut state = lock(&self.state);
        let cart = match state.live(owner, now) {
            Ok(cart) => cart,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let currency = cart.currency;
        if let Some(line) = cart.lines.iter_mut().find(|l| l.unit == add.unit) {
            if let Some(currency) = currency.filter(|c| *c != add.currency) {
                return Ok(Err(Refusal::OtherCurrency(currency)));
            }
            if line.quantity + add.quantity > MAX_QUANTITY {
                return Ok(Err(Refusal::TooMany { has: line.quantity }));
            }
            line.quantity += add.quantity;
            line.added_price = add.unit_price;
            line.updated_at = now;
        } else {
            if cart.lines.len() as u32 >= MAX_LINES {
                return Ok(Err(Refusal::TooManyLines));
            }
            match cart.currency {
                Some(currency) if !cart.lines.is_empty() && currency != add.currency => {
                    return Ok(Err(Refusal::OtherCurrency(currency)));
                }
                _ => cart.currency = Some(add.currency),
            }
            cart.lines.push(Line {
                unit: add.unit.clone(),
                quantity: add.quantity,
                added_price: add.unit_price,
                added_at: now,
                updated_at: now,
            });
        }
        touch(cart, now);
        Ok(Ok(()))
    }

    async fn set_quantity(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let mut state = lock(&self.state);
        let cart = match state.live(owner, now) {
            Ok(cart) => cart,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(line) = cart.lines.iter_mut().find(|l| &l.unit == unit) else {
            return Ok(Err(Refusal::NoLine));
        };
        line.quantity = quantity;
        line.updated_at = now;
        touch(cart, now);
        Ok(Ok(()))
    }

    async fn remove_line(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let mut state = lock(&self.state);
        let cart = match state.live(owner, now) {
            Ok(cart) => cart,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let before = cart.lines.len();
        cart.lines.retain(|l| &l.unit != unit);
        if cart.lines.len() == before {
            return Ok(Err(Refusal::NoLine));
        }
        touch(cart, now);
        Ok(Ok(()))
    }

    async fn set_discount_code(
        &self,
        owner: &CartOwner,
        code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let mut state = lock(&self.state);
        let cart = match state.live(owner, now) {
            Ok(cart) => cart,
            Err(refusal) => return Ok(Err(refusal)),
        };
        cart.discount_code = code.map(str::to_owned);
        touch(cart, now);
        Ok(Ok(()))
    }

    async fn clear_order_lines(
        &self,
        owner: &CartOwner,
        order: OrderId,
        units: &[Unit],
        now: DateTime<Utc>,
    ) -> Result<u32, DomainError> {
        let mut state = lock(&self.state);
        let Ok(cart) = state.live(owner, now) else {
            return Ok(0);
        };
        if let Some(cleared) = cart.cleared.filter(|c| c.order_id == order) {
            return Ok(cleared.removed);
        }
        let before = cart.lines.len();
        cart.lines.retain(|l| !units.contains(&l.unit));
        let removed = (before - cart.lines.len()) as u32;
        cart.discount_code = None;
        cart.cleared = Some(Cleared {
            order_id: order,
            removed,
        });
        touch(cart, now);
        Ok(removed)
    }

    async fn delete_cart(&self, owner: &CartOwner) -> Result<(), DomainError> {
        lock(&self.state).carts.remove(owner);
        Ok(())
    }

    async fn merge(
        &self,
        guest: &Cart,
        merged: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let mut state = lock(&self.state);
        let CartOwner::Guest(guest_id) = guest.owner else {
            return Err(DomainError::Internal("merge from a user's cart".into()));
        };
        let CartOwner::User(user_id) = merged.owner else {
            return Err(DomainError::Internal("merge into a guest cart".into()));
        };
        let guest_ok = state
            .carts
            .get(&guest.owner)
            .is_some_and(|g| g.version == guest.version);
        let user_ok = match state.carts.get(&merged.owner) {
            Some(stored) if !stored.is_expired(now) => stored.version + 1 == merged.version,
            _ => merged.version == 1,
        };
        if !guest_ok || !user_ok {
            return Ok(Err(Refusal::Changed));
        }
        state.carts.remove(&guest.owner);
        state.merged.insert(
            guest_id,
            MergedGuest {
                user_id,
                token_hash: guest.token_hash.clone().unwrap_or_default(),
            },
        );
        state.carts.insert(merged.owner, merged.clone());
        Ok(Ok(()))
    }

    async fn merged_guest(&self, cart_id: CartId) -> Result<Option<MergedGuest>, DomainError> {
        Ok(lock(&self.state).merged.get(&cart_id).cloned())
    }
}

#[async_trait]
impl ProductProjection for MemoryCarts {
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError> {
        let state = lock(&self.state);
        let unique: std::collections::BTreeSet<&ProductId> = ids.iter().collect();
        Ok(unique
            .into_iter()
            .filter_map(|id| state.products.get(id).cloned())
            .collect())
    }

    async fn apply(&self, facts: &ProductFacts) -> Result<bool, DomainError> {
        let mut state = lock(&self.state);
        match state.products.get(&facts.product_id) {
            Some(stored) if stored.version >= facts.version => Ok(false),
            _ => {
                state.products.insert(facts.product_id, facts.clone());
                Ok(true)
            }
        }
    }
}

/// Inventory's stock levels, set by the test; unset units are unknown (0).
#[derive(Default)]
pub struct MemoryStock {
    levels: Mutex<HashMap<(ProductId, String), i64>>,
    failing: Mutex<bool>,
}

impl MemoryStock {
    /// `available` of `unit`.
    pub fn set(&self, unit: &Unit, available: i64) {
        lock(&self.levels).insert((unit.product_id, unit.inventory_sku()), available);
    }

    /// Makes every call fail as an unreachable function would (or work again).
    pub fn fail(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }
}

#[async_trait]
impl StockLevels for MemoryStock {
    async fn levels(&self, units: &[Unit]) -> Result<Vec<StockLevel>, DomainError> {
        if *lock(&self.failing) {
            return Err(DomainError::Unavailable("get-stock-levels is down".into()));
        }
        let levels = lock(&self.levels);
        Ok(units
            .iter()
            .map(|unit| {
                let sku = unit.inventory_sku();
                let known = levels.get(&(unit.product_id, sku.clone())).copied();
                StockLevel {
                    product_id: unit.product_id,
                    available: known.unwrap_or(0),
                    in_stock: known.unwrap_or(0) > 0,
                    known: known.is_some(),
                    sku,
                }
            })
            .collect())
    }
}

/// A discounts service with percentage codes (case-insensitive) and an optional automatic
/// percentage; the best single discount wins, rounded down.
#[derive(Default)]
pub struct MemoryDiscounts {
    codes: Mutex<HashMap<String, u32>>,
    automatic: Mutex<Option<u32>>,
    failing: Mutex<bool>,
    queries: Mutex<Vec<DiscountQuery>>,
}

impl MemoryDiscounts {
    /// `code` takes `percent` % off.
    pub fn code(&self, code: &str, percent: u32) {
        lock(&self.codes).insert(code.to_uppercase(), percent);
    }

    /// An automatic campaign of `percent` % (or none).
    pub fn automatic(&self, percent: Option<u32>) {
        *lock(&self.automatic) = percent;
    }

    /// Makes every call fail (or work again).
    pub fn fail(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }

    /// Every query asked so far.
    pub fn queries(&self) -> Vec<DiscountQuery> {
        lock(&self.queries).clone()
    }
}

#[async_trait]
impl DiscountEvaluator for MemoryDiscounts {
    async fn evaluate(&self, query: &DiscountQuery) -> Result<DiscountEvaluation, DomainError> {
        if *lock(&self.failing) {
            return Err(DomainError::Unavailable(
                "evaluate-discounts is down".into(),
            ));
        }
        lock(&self.queries).push(query.clone());
        let subtotal: i64 = query
            .items
            .iter()
            .map(|i| i.unit_price * i64::from(i.quantity))
            .sum();
        let off = |percent: u32| subtotal * i64::from(percent) / 100;
        let mut candidates = Vec::new();
        let verdict =
            query
                .code
                .as_ref()
                .map(|code| match lock(&self.codes).get(&code.to_uppercase()) {
                    Some(percent) => {
                        candidates.push(AppliedDiscount {
                            id: format!("code-{}", code.to_uppercase()),
                            code: Some(code.to_uppercase()),
                            name: format!("{percent} % off"),
                            amount: off(*percent),
                        });
                        CodeVerdict {
                            valid: true,
                            reason: None,
                        }
                    }
                    None => CodeVerdict {
                        valid: false,
                        reason: Some("unknown_code".into()),
                    },
                });
        if let Some(percent) = *lock(&self.automatic) {
            candidates.push(AppliedDiscount {
                id: "campaign".into(),
                code: None,
                name: format!("Campaign {percent} %"),
                amount: off(percent),
            });
        }
        let discount = candidates.iter().max_by_key(|d| d.amount).cloned();
        Ok(DiscountEvaluation {
            code: verdict,
            applied: discount.iter().cloned().collect(),
            discount,
        })
    }
}
