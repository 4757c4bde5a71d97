//! [`MemoryDiscounts`]: the [`DiscountStore`] and the [`CatalogProjection`] in memory, for the
//! handler tests, with the DynamoDB adapter's conditions (one lock stands for a transaction).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{CategoryId, DiscountId, DomainError, OrderId, OutgoingEvent, ProductId};

use crate::domain::{
    CatalogEvent, CatalogProjection, CategoryFacts, CategoryTree, Discount, DiscountStore,
    ProductFacts, Redemption, RedemptionEntry, RedemptionStatus, ReserveRefusal, Usage,
    normalise_code,
};

/// Discounts, codes, counters, redemptions and the catalog projection.
#[derive(Default)]
pub struct MemoryDiscounts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    discounts: BTreeMap<DiscountId, Discount>,
    codes: HashMap<String, DiscountId>,
    totals: HashMap<DiscountId, u64>,
    per_user: HashMap<(DiscountId, String), u64>,
    redemptions: BTreeMap<OrderId, Redemption>,
    products: HashMap<ProductId, ProductFacts>,
    deleted: HashMap<ProductId, u64>,
    categories: HashMap<CategoryId, CategoryFacts>,
    events: Vec<OutgoingEvent>,
}

impl MemoryDiscounts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event written so far, oldest first.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.lock().events.clone()
    }
}

fn stale(id: DiscountId) -> DomainError {
    DomainError::Conflict(format!(
        "discount `{id}` was changed or deleted by someone else; read it again"
    ))
}

fn code_taken(code: &str) -> DomainError {
    DomainError::Conflict(format!(
        "the code `{code}` is taken by another discount (codes ignore case)"
    ))
}

impl State {
    /// The newest version of the product this projection has seen, deletion included.
    fn product_version(&self, id: ProductId) -> u64 {
        let known = self.products.get(&id).map_or(0, |p| p.version);
        known.max(self.deleted.get(&id).copied().unwrap_or(0))
    }

    fn check_version(&self, before: &Discount) -> Result<(), DomainError> {
        match self.discounts.get(&before.id) {
            Some(stored) if stored.version == before.version => Ok(()),
            Some(_) => Err(stale(before.id)),
            None => Err(DomainError::not_found("discount", before.id)),
        }
    }

    fn set_status(&mut self, order_id: OrderId, to: RedemptionStatus, at: DateTime<Utc>) {
        if let Some(r) = self.redemptions.get_mut(&order_id) {
            r.status = to;
            r.updated_at = at;
        }
    }
}

#[async_trait]
impl DiscountStore for MemoryDiscounts {
    async fn get(&self, id: DiscountId) -> Result<Option<Discount>, DomainError> {
        Ok(self.lock().discounts.get(&id).cloned())
    }

    async fn by_code(&self, code: &str) -> Result<Option<Discount>, DomainError> {
        let state = self.lock();
        Ok(state
            .codes
            .get(&normalise_code(code))
            .and_then(|id| state.discounts.get(id))
            .cloned())
    }

    async fn automatic(&self) -> Result<Vec<Discount>, DomainError> {
        Ok(self
            .lock()
            .discounts
            .values()
            .filter(|d| d.automatic)
            .cloned()
            .collect())
    }

    async fn create(&self, discount: &Discount, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        if state.discounts.contains_key(&discount.id) {
            return Err(DomainError::Conflict(format!(
                "discount `{}` already exists",
                discount.id
            )));
        }
        if let Some(code) = discount.normalised_code() {
            if state.codes.contains_key(&code) {
                return Err(code_taken(discount.code.as_deref().unwrap_or_default()));
            }
            state.codes.insert(code, discount.id);
        }
        state.discounts.insert(discount.id, discount.clone());
        state.events.push(event);
        Ok(())
    }

    async fn update(
        &self,
        before: &Discount,
        after: &Discount,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        state.check_version(before)?;
        let (old, new) = (before.normalised_code(), after.normalised_code());
        if old != new {
            if let Some(code) = &new
                && state.codes.contains_key(code)
            {
                return Err(code_taken(after.code.as_deref().unwrap_or_default()));
            }
            if let Some(code) = &old
                && state.codes.get(code) == Some(&before.id)
            {
                state.codes.remove(code);
            }
            if let Some(code) = new {
                state.codes.insert(code, after.id);
            }
        }
        state.discounts.insert(after.id, after.clone());
        state.events.push(event);
        Ok(())
    }

    async fn delete(&self, before: &Discount, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        state.check_version(before)?;
        if let Some(code) = before.normalised_code()
            && state.codes.get(&code) == Some(&before.id)
        {
            state.codes.remove(&code);
        }
        state.discounts.remove(&before.id);
        state.events.push(event);
        Ok(())
    }

    async fn list(
        &self,
        page_size: u32,
        after: Option<DiscountId>,
    ) -> Result<(Vec<Discount>, Option<DiscountId>), DomainError> {
        let state = self.lock();
        let mut rest = state
            .discounts
            .values()
            .filter(|d| after.is_none_or(|a| d.id > a));
        let page: Vec<Discount> = rest.by_ref().take(page_size as usize).cloned().collect();
        let more = rest.next().is_some();
        let last = page.last().map(|d| d.id).filter(|_| more);
        Ok((page, last))
    }

    async fn usage(&self, id: DiscountId, user: Option<&str>) -> Result<Usage, DomainError> {
        let state = self.lock();
        Ok(Usage {
            total: state.totals.get(&id).copied().unwrap_or(0),
            by_user: user
                .and_then(|u| state.per_user.get(&(id, u.to_owned())).copied())
                .unwrap_or(0),
        })
    }

    async fn redemption(&self, order_id: OrderId) -> Result<Option<Redemption>, DomainError> {
        Ok(self.lock().redemptions.get(&order_id).cloned())
    }

    async fn reserve(
        &self,
        redemption: &Redemption,
        discounts: &[Discount],
    ) -> Result<Redemption, ReserveRefusal> {
        let mut state = self.lock();
        if let Some(existing) = state.redemptions.get(&redemption.order_id) {
            return Ok(existing.clone());
        }
        for discount in discounts {
            match state.discounts.get(&discount.id) {
                None => return Err(ReserveRefusal::Gone(discount.id)),
                Some(stored) if stored.version != discount.version => {
                    return Err(ReserveRefusal::Stale(discount.id));
                }
                Some(_) => {}
            }
            let total = state.totals.get(&discount.id).copied().unwrap_or(0);
            if discount.usage_limit.is_some_and(|limit| total >= limit) {
                return Err(ReserveRefusal::UsageLimitReached(discount.id));
            }
            let key = (discount.id, redemption.user_id.clone());
            let mine = state.per_user.get(&key).copied().unwrap_or(0);
            if discount.per_user_limit.is_some_and(|limit| mine >= limit) {
                return Err(ReserveRefusal::PerUserLimitReached(discount.id));
            }
        }
        for discount in discounts {
            *state.totals.entry(discount.id).or_default() += 1;
            *state
                .per_user
                .entry((discount.id, redemption.user_id.clone()))
                .or_default() += 1;
        }
        state
            .redemptions
            .insert(redemption.order_id, redemption.clone());
        Ok(redemption.clone())
    }

    async fn redeem(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError> {
        let mut state = self.lock();
        if state
            .redemptions
            .get(&order_id)
            .is_some_and(|r| r.status == RedemptionStatus::Reserved)
        {
            state.set_status(order_id, RedemptionStatus::Redeemed, at);
        }
        Ok(state.redemptions.get(&order_id).cloned())
    }

    async fn release(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError> {
        let mut state = self.lock();
        let Some(redemption) = state.redemptions.get(&order_id).cloned() else {
            return Ok(None);
        };
        if redemption.status != RedemptionStatus::Reserved {
            return Ok(Some(redemption));
        }
        let below_zero = |id: &DiscountId| {
            DomainError::Internal(format!("a counter of discount `{id}` would go below zero"))
        };
        for id in &redemption.discount_ids {
            let key = (*id, redemption.user_id.clone());
            let total = state.totals.get(id).copied().unwrap_or(0);
            let mine = state.per_user.get(&key).copied().unwrap_or(0);
            if total == 0 || mine == 0 {
                return Err(below_zero(id));
            }
            state.totals.insert(*id, total - 1);
            state.per_user.insert(key, mine - 1);
        }
        state.set_status(order_id, RedemptionStatus::Released, at);
        Ok(state.redemptions.get(&order_id).cloned())
    }

    async fn redemptions_of(
        &self,
        id: DiscountId,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<RedemptionEntry>, Option<OrderId>), DomainError> {
        let state = self.lock();
        let mut rest = state
            .redemptions
            .values()
            .filter(|r| r.discount_ids.contains(&id))
            .filter(|r| after.is_none_or(|a| r.order_id > a));
        let page: Vec<RedemptionEntry> = rest
            .by_ref()
            .take(page_size as usize)
            .map(RedemptionEntry::of)
            .collect();
        let more = rest.next().is_some();
        let last = page.last().map(|r| r.order_id).filter(|_| more);
        Ok((page, last))
    }
}

#[async_trait]
impl CatalogProjection for MemoryDiscounts {
    async fn apply(&self, event: &CatalogEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        match event {
            CatalogEvent::Product(facts) => {
                let seen = state.product_version(facts.product_id);
                if seen < facts.version {
                    state.products.insert(facts.product_id, facts.clone());
                }
            }
            CatalogEvent::ProductDeleted {
                product_id,
                version,
            } => {
                if state.product_version(*product_id) < *version {
                    if let Some(p) = state.products.get_mut(product_id) {
                        p.status = "deleted".to_owned();
                        p.version = *version;
                    }
                    // Remembered even when the product never arrived, so its late creation
                    // event does not bring it back.
                    state.deleted.insert(*product_id, *version);
                }
            }
            CatalogEvent::Category(facts) => {
                if state
                    .categories
                    .get(&facts.category_id)
                    .is_none_or(|c| c.version < facts.version)
                {
                    state.categories.insert(facts.category_id, facts.clone());
                }
            }
        }
        Ok(())
    }

    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError> {
        let state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| state.products.get(id).cloned())
            .collect())
    }

    async fn categories(&self) -> Result<CategoryTree, DomainError> {
        Ok(CategoryTree::new(self.lock().categories.values().cloned()))
    }
}
