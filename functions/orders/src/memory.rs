//! [`MemoryOrders`]: the [`OrderStore`] in maps, with the DynamoDB adapter's rules (one
//! checkout lock per user unless lapsed, unique order numbers, writes conditional on status
//! and version, newest-first lists). Tests only (feature `testing`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{DomainError, OrderId, OutgoingEvent};

use crate::domain::{Order, OrderStatus, OrderStore, PlaceRefusal};

#[derive(Default)]
struct State {
    orders: BTreeMap<OrderId, Order>,
    numbers: BTreeSet<String>,
    locks: HashMap<String, (OrderId, DateTime<Utc>)>,
    sellers: BTreeSet<(String, OrderId)>,
    outbox: Vec<OutgoingEvent>,
}

/// Orders in memory.
#[derive(Default)]
pub struct MemoryOrders {
    state: Mutex<State>,
}

impl MemoryOrders {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every event committed so far, oldest first.
    pub fn outbox(&self) -> Vec<OutgoingEvent> {
        self.state().outbox.clone()
    }

    /// The detail types of [`Self::outbox`].
    pub fn detail_types(&self) -> Vec<String> {
        self.outbox().into_iter().map(|e| e.detail_type).collect()
    }

    /// How many orders are stored.
    pub fn count(&self) -> usize {
        self.state().orders.len()
    }
}

fn page(
    mut ids: Vec<OrderId>,
    page_size: u32,
    after: Option<OrderId>,
    orders: &BTreeMap<OrderId, Order>,
) -> (Vec<Order>, Option<OrderId>) {
    ids.sort_by(|a, b| b.cmp(a));
    let rest: Vec<OrderId> = ids
        .into_iter()
        .filter(|id| after.is_none_or(|a| *id < a))
        .collect();
    let size = page_size as usize;
    let items: Vec<Order> = rest
        .iter()
        .take(size)
        .filter_map(|id| orders.get(id).cloned())
        .collect();
    let next = (rest.len() > size).then(|| rest[size - 1]);
    (items, next)
}

#[async_trait]
impl OrderStore for MemoryOrders {
    async fn place(
        &self,
        order: &Order,
        lock_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PlaceRefusal> {
        let mut state = self.state();
        if state.orders.contains_key(&order.order_id) {
            return Err(PlaceRefusal::Store(DomainError::Conflict(format!(
                "order {} exists",
                order.order_id
            ))));
        }
        if state.numbers.contains(&order.order_number.0) {
            return Err(PlaceRefusal::NumberTaken);
        }
        if let Some((holder, until)) = state.locks.get(&order.user_id)
            && *until >= now
        {
            return Err(PlaceRefusal::LockTaken(Some(*holder)));
        }
        state.orders.insert(order.order_id, order.clone());
        state.numbers.insert(order.order_number.0.clone());
        state
            .locks
            .insert(order.user_id.clone(), (order.order_id, lock_expires_at));
        for seller in order.sellers() {
            state.sellers.insert((seller, order.order_id));
        }
        Ok(())
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        Ok(self.state().orders.get(&id).cloned())
    }

    async fn update(
        &self,
        before: &Order,
        after: &Order,
        event: Option<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut state = self.state();
        match state.orders.get(&before.order_id) {
            Some(current)
                if current.status == before.status && current.version == before.version => {}
            _ => {
                return Err(DomainError::Conflict(format!(
                    "order {} changed meanwhile",
                    before.order_id
                )));
            }
        }
        state.orders.insert(after.order_id, after.clone());
        state.outbox.extend(event);
        Ok(())
    }

    async fn release_lock(&self, user: &str, order: OrderId) -> Result<(), DomainError> {
        let mut state = self.state();
        if state
            .locks
            .get(user)
            .is_some_and(|(holder, _)| *holder == order)
        {
            state.locks.remove(user);
        }
        Ok(())
    }

    async fn lock_of(&self, user: &str) -> Result<Option<(OrderId, DateTime<Utc>)>, DomainError> {
        Ok(self.state().locks.get(user).copied())
    }

    async fn list_by_user(
        &self,
        user: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        let state = self.state();
        let ids = state
            .orders
            .values()
            .filter(|o| o.user_id == user)
            .map(|o| o.order_id)
            .collect();
        Ok(page(ids, page_size, after, &state.orders))
    }

    async fn list_by_seller(
        &self,
        seller: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        let state = self.state();
        let ids = state
            .sellers
            .iter()
            .filter(|(s, _)| s == seller)
            .map(|(_, id)| *id)
            .collect();
        Ok(page(ids, page_size, after, &state.orders))
    }

    async fn list_all(
        &self,
        status: Option<OrderStatus>,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError> {
        let state = self.state();
        let ids = state
            .orders
            .values()
            .filter(|o| status.is_none_or(|s| o.status == s))
            .map(|o| o.order_id)
            .collect();
        Ok(page(ids, page_size, after, &state.orders))
    }
}
