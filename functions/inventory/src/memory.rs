//! [`MemoryInventory`]: the [`InventoryStore`] in memory, with the DynamoDB adapter's
//! conditions, recording the outbox events of every write, for the handler tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{DomainError, EventId, OutgoingEvent, ProductId, ReservationId};

use crate::domain::{
    Crossings, Finish, InventoryStore, Movement, ProductFacts, Reservation, ReservationStatus,
    Unit, UnitKey,
};

/// Products, units, reservations and movements, and the events written.
#[derive(Default)]
pub struct MemoryInventory {
    state: Mutex<State>,
}

#[derive(Default, Clone)]
struct State {
    products: BTreeMap<ProductId, ProductFacts>,
    units: BTreeMap<UnitKey, Unit>,
    reservations: BTreeMap<ReservationId, Reservation>,
    movements: BTreeMap<(UnitKey, EventId), Movement>,
    events: Vec<OutgoingEvent>,
}

fn conflict(what: &str) -> DomainError {
    DomainError::Conflict(format!("the {what} changed meanwhile; read it again"))
}

impl MemoryInventory {
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

    /// The detail types of [`Self::events`].
    pub fn event_types(&self) -> Vec<String> {
        self.lock()
            .events
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }
}

impl State {
    /// Runs `change` on a copy and keeps it only when it succeeds: all or nothing, as a
    /// transaction.
    fn transact<T>(
        &mut self,
        change: impl FnOnce(&mut State) -> Result<T, DomainError>,
    ) -> Result<T, DomainError> {
        let mut draft = self.clone();
        let value = change(&mut draft)?;
        *self = draft;
        Ok(value)
    }

    fn record(&mut self, movements: Vec<Movement>, events: Vec<OutgoingEvent>) {
        for movement in movements {
            let key = UnitKey::new(movement.product_id, movement.sku.clone());
            self.movements.insert((key, movement.movement_id), movement);
        }
        self.events.extend(events);
    }
}

#[async_trait]
impl InventoryStore for MemoryInventory {
    async fn product(&self, product_id: ProductId) -> Result<Option<ProductFacts>, DomainError> {
        Ok(self.lock().products.get(&product_id).cloned())
    }

    async fn apply_product(
        &self,
        facts: &ProductFacts,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let mut state = self.lock();
        if state
            .products
            .get(&facts.product_id)
            .is_some_and(|p| p.version >= facts.version)
        {
            return Ok(false);
        }
        let existing: Vec<String> = state
            .units
            .keys()
            .filter(|k| k.product_id == facts.product_id)
            .map(|k| k.sku.clone())
            .collect();
        let mut skus = existing;
        if !facts.is_deleted() {
            skus.extend(facts.skus.iter().cloned());
        }
        for sku in skus {
            let key = UnitKey::new(facts.product_id, sku.clone());
            let sellable = !facts.is_deleted() && facts.skus.contains(&sku);
            let unit = state
                .units
                .entry(key.clone())
                .or_insert_with(|| Unit::new(&key, &facts.seller_id, 0, at));
            if unit.product_version < facts.version {
                unit.seller_id = facts.seller_id.clone();
                unit.sellable = sellable;
                unit.product_version = facts.version;
            }
        }
        state.products.insert(facts.product_id, facts.clone());
        Ok(true)
    }

    async fn units(&self, product_id: ProductId) -> Result<Vec<Unit>, DomainError> {
        Ok(self
            .lock()
            .units
            .values()
            .filter(|u| u.product_id == product_id)
            .cloned()
            .collect())
    }

    async fn unit(&self, key: &UnitKey) -> Result<Option<Unit>, DomainError> {
        Ok(self.lock().units.get(key).cloned())
    }

    async fn stock_levels(&self, keys: &[UnitKey]) -> Result<Vec<Option<Unit>>, DomainError> {
        let state = self.lock();
        Ok(keys.iter().map(|k| state.units.get(k).cloned()).collect())
    }

    async fn write_unit(
        &self,
        unit: &Unit,
        movement: &Movement,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        self.lock().transact(|state| {
            let stored = state
                .units
                .get_mut(&unit.key())
                .ok_or_else(|| conflict("unit"))?;
            if stored.version + 1 != unit.version || stored.reserved != unit.reserved {
                return Err(conflict("unit"));
            }
            stored.on_hand = unit.on_hand;
            stored.available = unit.available;
            stored.low_stock_threshold = unit.low_stock_threshold;
            stored.version = unit.version;
            stored.updated_at = unit.updated_at;
            state.record(vec![movement.clone()], events);
            Ok(())
        })
    }

    async fn settle_flags(
        &self,
        unit: &Unit,
        crossings: Crossings,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        self.lock().transact(|state| {
            let stored = state
                .units
                .get_mut(&unit.key())
                .ok_or_else(|| conflict("unit"))?;
            if stored.version != unit.version
                || stored.low_flag != unit.low_flag
                || stored.out_flag != unit.out_flag
            {
                return Err(conflict("unit"));
            }
            stored.low_flag = crossings.low_flag;
            stored.out_flag = crossings.out_flag;
            state.record(Vec::new(), events);
            Ok(())
        })
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        self.lock().transact(|state| {
            if state.reservations.contains_key(&reservation.reservation_id) {
                return Err(DomainError::Conflict(format!(
                    "reservation {} exists",
                    reservation.reservation_id
                )));
            }
            for line in &reservation.items {
                let refused = || {
                    DomainError::Unprocessable(format!("unit {} cannot be reserved", line.key()))
                };
                let unit = state.units.get_mut(&line.key()).ok_or_else(refused)?;
                if !unit.sellable || unit.available < line.quantity {
                    return Err(refused());
                }
                unit.available -= line.quantity;
                unit.reserved += line.quantity;
                unit.version += 1;
                unit.updated_at = reservation.created_at;
            }
            state
                .reservations
                .insert(reservation.reservation_id, reservation.clone());
            state.record(movements, events);
            Ok(())
        })
    }

    async fn finish(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        how: Finish,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        self.lock().transact(|state| {
            match state.reservations.get(&reservation.reservation_id) {
                Some(stored)
                    if stored.status == ReservationStatus::Active
                        && stored.version == reservation.version => {}
                _ => return Err(conflict("reservation")),
            }
            for line in &reservation.items {
                let unit = state.units.get_mut(&line.key());
                let broken = || {
                    DomainError::Internal(format!(
                        "unit {} holds less reserved than reservation {}",
                        line.key(),
                        reservation.reservation_id
                    ))
                };
                let unit = unit.ok_or_else(broken)?;
                if unit.reserved < line.quantity
                    || (how == Finish::Commit && unit.on_hand < line.quantity)
                {
                    return Err(broken());
                }
                unit.reserved -= line.quantity;
                match how {
                    Finish::Commit => unit.on_hand -= line.quantity,
                    Finish::Release | Finish::Expire => unit.available += line.quantity,
                }
                unit.version += 1;
                unit.updated_at = next.updated_at;
            }
            state
                .reservations
                .insert(reservation.reservation_id, next.clone());
            state.record(movements, events);
            Ok(())
        })
    }

    async fn commit_expired(
        &self,
        reservation: &Reservation,
        next: &Reservation,
        movements: Vec<Movement>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        self.lock().transact(|state| {
            match state.reservations.get(&reservation.reservation_id) {
                Some(stored)
                    if stored.status == ReservationStatus::Released
                        && stored.expired
                        && stored.version == reservation.version => {}
                _ => return Err(conflict("reservation")),
            }
            for line in &reservation.items {
                let gone = || {
                    DomainError::Unprocessable(format!(
                        "unit {} no longer has the stock",
                        line.key()
                    ))
                };
                let unit = state.units.get_mut(&line.key()).ok_or_else(gone)?;
                if !unit.sellable || unit.available < line.quantity {
                    return Err(gone());
                }
                unit.available -= line.quantity;
                unit.on_hand -= line.quantity;
                unit.version += 1;
                unit.updated_at = next.updated_at;
            }
            state
                .reservations
                .insert(reservation.reservation_id, next.clone());
            state.record(movements, events);
            Ok(())
        })
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, DomainError> {
        Ok(self.lock().reservations.get(&id).cloned())
    }

    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ReservationId>, DomainError> {
        let state = self.lock();
        let mut expired: Vec<&Reservation> = state
            .reservations
            .values()
            .filter(|r| r.status == ReservationStatus::Active && r.expires_at <= now)
            .collect();
        expired.sort_by_key(|r| r.expires_at);
        Ok(expired
            .into_iter()
            .take(limit)
            .map(|r| r.reservation_id)
            .collect())
    }

    async fn movements(
        &self,
        key: &UnitKey,
        page_size: u32,
        after: Option<EventId>,
    ) -> Result<(Vec<Movement>, Option<EventId>), DomainError> {
        let state = self.lock();
        let mut matching = state
            .movements
            .iter()
            .rev()
            .filter(|((k, id), _)| k == key && after.is_none_or(|a| *id < a))
            .map(|(_, m)| m.clone());
        let page: Vec<Movement> = matching.by_ref().take(page_size as usize).collect();
        let more = matching.next().is_some();
        let next = page.last().map(|m| m.movement_id).filter(|_| more);
        Ok((page, next))
    }
}
