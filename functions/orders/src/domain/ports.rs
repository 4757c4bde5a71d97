//! The ports: [`OrderStore`] (orders, their numbers, the per-user checkout lock and the
//! sellers' index), and what the checkout asks of others — the cart's `price-cart`
//! ([`CartPricing`]), the users' `get-address` ([`AddressBook`]), Step Functions ([`Saga`])
//! — and the ops topic flag-order writes to ([`OpsAlerts`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shop_domain::{
    AddressId, Currency, DiscountId, DomainError, OrderId, OutgoingEvent, ProductId,
};

use super::{Order, OrderStatus, ShippingAddress};

/// Why an order was not placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceRefusal {
    /// The user's checkout lock is held (by this order, when the store could tell).
    LockTaken(Option<OrderId>),
    /// The order number is taken: draw another.
    NumberTaken,
    /// The store failed, or the order id exists.
    Store(DomainError),
}

impl From<DomainError> for PlaceRefusal {
    fn from(err: DomainError) -> Self {
        Self::Store(err)
    }
}

/// Orders. Every status change is a write conditional on the status and version the caller
/// read, so of racing changes exactly one wins.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Stores a new order in one transaction with its order-number guard, the buyer's
    /// checkout lock (taken only when absent or past its `expiresAt`; it gets
    /// `lock_expires_at`) and one index entry per seller of its lines.
    async fn place(
        &self,
        order: &Order,
        lock_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PlaceRefusal>;

    /// The order `id` (strongly consistent).
    async fn get(&self, id: OrderId) -> Result<Option<Order>, DomainError>;

    /// Replaces `before` by `after` (with `event` through the outbox, when given), on the
    /// condition that the order still has `before`'s status and version;
    /// [`DomainError::Conflict`] otherwise.
    async fn update(
        &self,
        before: &Order,
        after: &Order,
        event: Option<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// Releases `user`'s checkout lock if `order` holds it; otherwise nothing changes.
    async fn release_lock(&self, user: &str, order: OrderId) -> Result<(), DomainError>;

    /// The order holding `user`'s checkout lock and until when, if any lock is stored.
    async fn lock_of(&self, user: &str) -> Result<Option<(OrderId, DateTime<Utc>)>, DomainError>;

    /// One page of `user`'s orders, newest first, after the order `after`; the page and,
    /// when more may follow, its last id.
    async fn list_by_user(
        &self,
        user: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError>;

    /// One page of the orders with a line of `seller`, newest first.
    async fn list_by_seller(
        &self,
        seller: &str,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError>;

    /// One page of every order, or of those in `status`, newest first.
    async fn list_all(
        &self,
        status: Option<OrderStatus>,
        page_size: u32,
        after: Option<OrderId>,
    ) -> Result<(Vec<Order>, Option<OrderId>), DomainError>;
}

/// A line of the cart as `price-cart` prices it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedLine {
    /// The product.
    pub product_id: ProductId,
    /// The variant SKU, or `None` for a variantless product.
    #[serde(default)]
    pub sku: Option<String>,
    /// The unit inventory holds (the variant SKU, or the product id).
    pub inventory_sku: String,
    /// The product's name now.
    pub name: String,
    /// Minor units now.
    pub unit_price: i64,
    /// How many.
    pub quantity: u32,
    /// `unitPrice × quantity`.
    pub line_total: i64,
    /// Who sells it.
    #[serde(default)]
    pub seller_id: Option<String>,
    /// Whether it can be bought (known, ACTIVE, a known SKU).
    pub available: bool,
    /// Why not.
    #[serde(default)]
    pub unavailable_reason: Option<String>,
}

/// A discount as `price-cart` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedDiscount {
    /// The discount (the saga reserves its use).
    pub id: DiscountId,
    /// Its code, for a coupon.
    #[serde(default)]
    pub code: Option<String>,
    /// Its name.
    pub name: String,
    /// What it takes off.
    pub amount: i64,
}

/// The verdict on the discount code asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedCode {
    /// Whether it applies.
    pub valid: bool,
    /// Why not.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The buyer's live cart, priced by the cart service (`price-cart`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedCart {
    /// The cart's currency; `None` for an empty cart.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// The lines, in cart order.
    pub items: Vec<PricedLine>,
    /// Sum of the lines.
    pub subtotal: i64,
    /// The discount that applies in all (its amount is the order's `discountAmount`).
    #[serde(default)]
    pub discount: Option<PricedDiscount>,
    /// Every discount the total counts (the ids the order reserves).
    #[serde(default)]
    pub applied: Vec<PricedDiscount>,
    /// The code priced with.
    #[serde(default)]
    pub discount_code: Option<String>,
    /// The verdict on that code; `None` without one.
    #[serde(default)]
    pub code: Option<PricedCode>,
}

/// The cart's `price-cart`.
#[async_trait]
pub trait CartPricing: Send + Sync {
    /// `user`'s cart priced with `discount_code` instead of the cart's own code, when given.
    async fn price(
        &self,
        user: &str,
        discount_code: Option<&str>,
    ) -> Result<PricedCart, DomainError>;
}

/// What a lookup of a saved address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressLookup {
    /// The user's address.
    Found(ShippingAddress),
    /// No such address of this user (`AddressNotFound`).
    NotFound,
}

/// The users service's `get-address`.
#[async_trait]
pub trait AddressBook: Send + Sync {
    /// `user`'s saved address `id`.
    async fn address(&self, user: &str, id: AddressId) -> Result<AddressLookup, DomainError>;
}

/// What starting the saga did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagaStart {
    /// A new execution runs.
    Started,
    /// An execution of that name exists already (a retried checkout).
    AlreadyStarted,
}

/// The checkout state machine.
#[async_trait]
pub trait Saga: Send + Sync {
    /// Starts the execution named `order` with `input` (everything the ASL reads).
    async fn start(
        &self,
        order: OrderId,
        input: &serde_json::Value,
    ) -> Result<SagaStart, DomainError>;
}

/// The operators' topic.
#[async_trait]
pub trait OpsAlerts: Send + Sync {
    /// Publishes a message with `subject` (at most 100 characters) and `message`.
    async fn alert(&self, subject: &str, message: &str) -> Result<(), DomainError>;
}
