//! The store ports: [`DiscountStore`] (discounts, their code guards, usage counters and
//! redemptions) and [`CatalogProjection`] (what the catalog's events said).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_domain::{DiscountId, DomainError, OrderId, OutgoingEvent, ProductId};

use super::catalog::{CatalogEvent, CategoryTree, ProductFacts};
use super::discount::Discount;
use super::evaluate::Usage;
use super::redemption::{Redemption, RedemptionEntry};

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveRefusal {
    /// The discount's `usageLimit` is used up.
    UsageLimitReached(DiscountId),
    /// The user's `perUserLimit` of it is used up.
    PerUserLimitReached(DiscountId),
    /// The discount is gone.
    Gone(DiscountId),
    /// The discount changed since the caller read it (its version moved): read it again.
    Stale(DiscountId),
    /// The store failed.
    Store(DomainError),
}

impl From<DomainError> for ReserveRefusal {
    fn from(err: DomainError) -> Self {
        Self::Store(err)
    }
}

/// Discounts and their redemptions. Every write is conditional (docs/decisions.md lists each
/// condition): versions for replace and delete, a guard item per normalised code, counters
/// with their limits in the condition, and redemptions that exist once per order.
#[async_trait]
pub trait DiscountStore: Send + Sync {
    /// The discount `id` (strongly consistent).
    async fn get(&self, id: DiscountId) -> Result<Option<Discount>, DomainError>;

    /// The discount holding `code` (any case).
    async fn by_code(&self, code: &str) -> Result<Option<Discount>, DomainError>;

    /// Every automatic campaign (active or not).
    async fn automatic(&self) -> Result<Vec<Discount>, DomainError>;

    /// Stores a new discount with its code guard and `event`; [`DomainError::Conflict`] when
    /// the id or the code (in any case) is taken.
    async fn create(&self, discount: &Discount, event: OutgoingEvent) -> Result<(), DomainError>;

    /// Replaces `before` (as the caller read it) by `after`, conditional on `before`'s
    /// version, with `event`; a changed code moves its guard. [`DomainError::Conflict`] when
    /// stale or the new code is taken, [`DomainError::NotFound`] when gone.
    async fn update(
        &self,
        before: &Discount,
        after: &Discount,
        event: OutgoingEvent,
    ) -> Result<(), DomainError>;

    /// Deletes `before`, conditional on its version, frees its code, with `event`.
    async fn delete(&self, before: &Discount, event: OutgoingEvent) -> Result<(), DomainError>;

    /// One page of discounts, oldest first, after `after`; the page and, when more follow,
    /// its last id.
    async fn list(
        &self,
        page_size: u32,
        after: Option<DiscountId>,
    ) -> Result<(Vec<Discount>, Option<DiscountId>), DomainError>;

    /// How often `id` is reserved or redeemed, in all and by `user`.
    async fn usage(&self, id: DiscountId, user: Option<&str>) -> Result<Usage, DomainError>;

    /// The redemption of `order_id`.
    async fn redemption(&self, order_id: OrderId) -> Result<Option<Redemption>, DomainError>;

    /// Reserves `redemption`'s uses of `discounts` (each as the caller read it) all at once:
    /// each discount's version must still be the one read, its global counter below
    /// `usageLimit` and the user's below `perUserLimit`, and the order must hold no
    /// redemption yet. Answers the stored redemption: this one, or the one a concurrent or
    /// earlier call with the same order id stored (then nothing else changes).
    async fn reserve(
        &self,
        redemption: &Redemption,
        discounts: &[Discount],
    ) -> Result<Redemption, ReserveRefusal>;

    /// RESERVED → REDEEMED; any other status stays. The redemption after, `None` if unknown.
    async fn redeem(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError>;

    /// RESERVED → RELEASED, giving each use back once; any other status stays. The
    /// redemption after, `None` if unknown.
    async fn release(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Redemption>, DomainError>;

    /// One page of `id`'s redemptions, by order id, after `after`.
    async fn redemptions_of(
        &self,
        id: DiscountId,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<RedemptionEntry>, Option<OrderId>), DomainError>;
}

/// The catalog as its events told it.
#[async_trait]
pub trait CatalogProjection: Send + Sync {
    /// Applies `event` unless the projection holds the same aggregate at its version or a
    /// newer one: redeliveries and late arrivals change nothing.
    async fn apply(&self, event: &CatalogEvent) -> Result<(), DomainError>;

    /// The facts of the products among `ids` the projection knows (deleted ones with status
    /// `deleted`), in any order.
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError>;

    /// The category tree.
    async fn categories(&self) -> Result<CategoryTree, DomainError>;
}
