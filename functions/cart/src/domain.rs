//! Carts, with no storage and no HTTP in sight.
//!
//! - [`CartOwner`]: a signed-in user (keyed by the user id) or a guest (a [`CartId`] and a
//!   token whose SHA-256 is stored, never the token).
//! - [`Unit`]: what a line holds: a product's variant (`sku`), or the product itself when it
//!   has no variants. Its [`ItemId`] is derived from it, so the same unit is always the same
//!   line (and two carts' lines of one unit meet in a merge).
//! - [`Cart`] and [`Line`]: at most [`MAX_LINES`] lines of 1–[`MAX_QUANTITY`] each, one
//!   currency, the price each line was last added at, the stored discount code, `expiresAt`.
//! - [`ProductFacts`]: what the cart knows of a product, a projection of the catalog's events
//!   ([`CatalogProduct`] is the part of the catalog's product JSON it reads).
//! - [`pricing`]: a cart at today's prices, with the marks (`priceChanged`, `available:
//!   false`), the totals and the discount — the JSON every cart route answers with.
//! - Ports: [`CartStore`] and [`ProductProjection`] (the cart's table), [`StockLevels`]
//!   (inventory's `get-stock-levels`), [`DiscountEvaluator`] (discounts'
//!   `evaluate-discounts`).

pub mod pricing;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{CartId, Currency, DomainError, OrderId, ProductId, UserId};

/// The most of one unit a line may hold.
pub const MAX_QUANTITY: u32 = 99;
/// The most lines a cart may have.
pub const MAX_LINES: u32 = 50;
/// A guest cart lives this many days after its last change.
pub const GUEST_CART_DAYS: i64 = 7;
/// A signed-in user's cart lives this many days after its last change.
pub const USER_CART_DAYS: i64 = 30;

/// Whose cart it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CartOwner {
    /// A signed-in user's cart (one per user).
    User(UserId),
    /// A guest cart, reached with its id and token.
    Guest(CartId),
}

impl CartOwner {
    /// How long the cart lives after its last change.
    pub fn lifetime(&self) -> TimeDelta {
        match self {
            Self::User(_) => TimeDelta::days(USER_CART_DAYS),
            Self::Guest(_) => TimeDelta::days(GUEST_CART_DAYS),
        }
    }

    /// The user, for a user's cart.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Self::User(id) => Some(*id),
            Self::Guest(_) => None,
        }
    }
}

impl fmt::Display for CartOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "USER#{id}"),
            Self::Guest(id) => write!(f, "GUEST#{id}"),
        }
    }
}

/// A variant's SKU as the catalog spells it: 1–64 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Sku(String);

impl Sku {
    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sku {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::validation(
                "sku",
                "must be 1 to 64 letters, digits, dots, underscores or hyphens",
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(|_| {
            serde::de::Error::custom(
                "must be 1 to 64 letters, digits, dots, underscores or hyphens",
            )
        })
    }
}

/// What a line holds: a variant of a product, or a product without variants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit {
    /// The product.
    pub product_id: ProductId,
    /// The variant; `None` for a product without variants.
    pub sku: Option<Sku>,
}

impl Unit {
    /// The line's id: the product id, then `~` and the SKU for a variant.
    pub fn item_id(&self) -> ItemId {
        match &self.sku {
            Some(sku) => ItemId(format!("{}~{}", self.product_id, sku.as_str())),
            None => ItemId(self.product_id.to_string()),
        }
    }

    /// The unit's SKU in inventory's keys: a product without variants is its own SKU.
    pub fn inventory_sku(&self) -> String {
        match &self.sku {
            Some(sku) => sku.as_str().to_owned(),
            None => self.product_id.to_string(),
        }
    }
}

/// A line's id in the API (`/api/cart/items/{itemId}`): derived from its [`Unit`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(String);

impl ItemId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unit this id names; a malformed id is a 400 naming `itemId`.
    pub fn unit(&self) -> Result<Unit, DomainError> {
        let bad = || {
            DomainError::validation(
                "itemId",
                "must be a product id, or a product id, `~` and a SKU",
            )
        };
        let (product, sku) = match self.0.split_once('~') {
            Some((product, sku)) => (product, Some(sku.parse::<Sku>().map_err(|_| bad())?)),
            None => (self.0.as_str(), None),
        };
        let product_id = product.parse::<ProductId>().map_err(|_| bad())?;
        Ok(Unit { product_id, sku })
    }
}

impl FromStr for ItemId {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let id = ItemId(s.to_owned());
        id.unit()?;
        Ok(id)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A quantity of one unit, 1–[`MAX_QUANTITY`].
pub fn check_quantity(quantity: i64) -> Result<u32, DomainError> {
    match u32::try_from(quantity) {
        Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
        _ => Err(DomainError::validation(
            "quantity",
            format!("must be an integer from 1 to {MAX_QUANTITY}; to remove a line, DELETE it"),
        )),
    }
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it holds.
    pub unit: Unit,
    /// How many, 1–99.
    pub quantity: u32,
    /// The unit price (minor units of the cart's currency) when it was last added: what
    /// `priceChanged.from` shows when today's price differs.
    pub added_price: i64,
    /// When the line was first added (lines are shown in this order).
    pub added_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

/// A cart with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// Whose it is.
    pub owner: CartOwner,
    /// The currency of its lines; any currency is welcome while it has none.
    pub currency: Option<Currency>,
    /// Its lines, oldest first.
    pub lines: Vec<Line>,
    /// The discount code the customer entered, as entered (trimmed).
    pub discount_code: Option<String>,
    /// Hex SHA-256 of a guest cart's token; `None` for a user's cart.
    pub token_hash: Option<String>,
    /// The last order whose lines were cleared from the cart, so a repeated clear of that
    /// order changes nothing (and answers as the first did).
    pub cleared: Option<Cleared>,
    /// Bumped by every change: a merge writes the user's cart on the version it read.
    pub version: u64,
    /// When the cart was started.
    pub created_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
    /// When it stops existing unless changed again (`updatedAt` + the owner's lifetime).
    pub expires_at: DateTime<Utc>,
}

impl Cart {
    /// An empty cart started at `now` (version 1).
    pub fn new(owner: CartOwner, token_hash: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            owner,
            currency: None,
            lines: Vec::new(),
            discount_code: None,
            token_hash,
            cleared: None,
            version: 1,
            created_at: now,
            updated_at: now,
            expires_at: expiry(owner, now),
        }
    }

    /// Whether the cart has expired by `now` (TTL deletion lags, so every read checks).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// The line of `unit`.
    pub fn line(&self, unit: &Unit) -> Option<&Line> {
        self.lines.iter().find(|l| &l.unit == unit)
    }

    /// Whether `token` opens this guest cart.
    pub fn opens_with(&self, token: &str) -> bool {
        self.token_hash.as_deref() == Some(hash_token(token).as_str())
    }
}

/// An order's lines cleared from a cart (`clear-cart`, the checkout's step once paid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleared {
    /// The order.
    pub order_id: OrderId,
    /// How many lines the clear removed.
    pub removed: u32,
}

/// When a cart of `owner` changed at `now` expires: `now` + its lifetime, in whole seconds
/// (the table's TTL attribute is epoch seconds).
pub fn expiry(owner: CartOwner, now: DateTime<Utc>) -> DateTime<Utc> {
    let at = now + owner.lifetime();
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// Hex SHA-256 of a guest cart token: what is stored instead of the token.
pub fn hash_token(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A guest cart that was merged into a user's cart: what is left of it, so repeating the
/// merge with the same token answers with that user's cart instead of 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedGuest {
    /// The user it went to.
    pub user_id: UserId,
    /// Its token's hash.
    pub token_hash: String,
}

/// An add to a cart: `quantity` more of `unit` at `unit_price` (minor units of `currency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAdd {
    /// What to add.
    pub unit: Unit,
    /// How many more, 1–99.
    pub quantity: u32,
    /// Today's unit price, remembered on the line.
    pub unit_price: i64,
    /// The product's currency; the cart must have it or none.
    pub currency: Currency,
    /// Whether the caller's read of the cart had the unit's line: which write a store tries
    /// first (the other follows when its condition fails, so a stale hint costs one write).
    pub line_seen: bool,
}

/// Why a store refused a cart write: a rule held by the write's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// There is no live cart (a user's is started on first add; a guest's is a 404).
    NoCart,
    /// The cart has no line of that unit.
    NoLine,
    /// The line would pass [`MAX_QUANTITY`]; it holds `has`.
    TooMany {
        /// The line's quantity now.
        has: u32,
    },
    /// The cart has [`MAX_LINES`] lines already.
    TooManyLines,
    /// The cart's lines are in another currency.
    OtherCurrency(Currency),
    /// The cart changed since it was read (a merge's version condition).
    Changed,
}

impl Refusal {
    /// The refusal as the API answers it.
    pub fn into_error(self, unit: Option<&Unit>) -> DomainError {
        match self {
            Self::NoCart => DomainError::not_found("cart", "this cart"),
            Self::NoLine => DomainError::not_found(
                "cart item",
                unit.map(|u| u.item_id().to_string()).unwrap_or_default(),
            ),
            Self::TooMany { has } => DomainError::Unprocessable(format!(
                "the cart holds {has} of this unit; a line holds at most {MAX_QUANTITY}"
            )),
            Self::TooManyLines => DomainError::Unprocessable(format!(
                "the cart has {MAX_LINES} lines, the most it may have; remove one first"
            )),
            Self::OtherCurrency(currency) => DomainError::Unprocessable(format!(
                "the cart is in {currency}; a product priced in another currency cannot join it"
            )),
            Self::Changed => DomainError::Conflict("the cart changed meanwhile; retry".to_owned()),
        }
    }
}

/// A product's status in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    /// Not listed yet.
    Draft,
    /// Listed: may be bought.
    Active,
    /// Withdrawn.
    Archived,
}

/// A variant as the cart knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantFacts {
    /// Its SKU.
    pub sku: Sku,
    /// Its name (`Blue, M`).
    pub name: String,
    /// Its own price, when it has one; otherwise the product's.
    #[serde(default)]
    pub price: Option<i64>,
}

/// What the cart knows of a product: the projection of the catalog's product events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFacts {
    /// The product.
    pub product_id: ProductId,
    /// The catalog's aggregate version these facts are at; older events never win.
    pub version: u64,
    /// Whether the product was deleted (then only `version` counts).
    #[serde(default)]
    pub deleted: bool,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its base price in minor units.
    #[serde(default)]
    pub price: i64,
    /// The currency of every price of it.
    pub currency: Option<Currency>,
    /// Draft, active or archived.
    pub status: Option<ProductStatus>,
    /// Its main image.
    #[serde(default)]
    pub image: Option<String>,
    /// Its variants; empty when the product itself is the unit.
    #[serde(default)]
    pub variants: Vec<VariantFacts>,
    /// The seller who lists it (an order line keeps it); `None` for facts stored before the
    /// cart kept it, until the product's next event.
    #[serde(default)]
    pub seller_id: Option<String>,
}

/// Why a unit cannot be bought (the `unavailableReason` of a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The cart has never heard of the product (or not yet).
    UnknownProduct,
    /// The product was deleted.
    ProductDeleted,
    /// The product is a draft or archived.
    NotActive,
    /// The variant no longer exists (or the product gained or lost variants).
    VariantRemoved,
    /// The product is now priced in another currency than the cart.
    CurrencyChanged,
    /// None is in stock.
    OutOfStock,
    /// Fewer are in stock than the line holds.
    InsufficientStock,
}

impl ProductFacts {
    /// Today's unit price of `unit` and the line's name, or why it cannot be bought.
    pub fn offer(&self, unit: &Unit) -> Result<(i64, String), Unavailable> {
        if self.deleted {
            return Err(Unavailable::ProductDeleted);
        }
        match (&unit.sku, self.variants.is_empty()) {
            (None, true) => Ok((self.price, self.name.clone())),
            (Some(sku), false) => self
                .variants
                .iter()
                .find(|v| &v.sku == sku)
                .map(|v| {
                    (
                        v.price.unwrap_or(self.price),
                        format!("{} ({})", self.name, v.name),
                    )
                })
                .ok_or(Unavailable::VariantRemoved),
            _ => Err(Unavailable::VariantRemoved),
        }
    }
}

/// The part of the catalog's product JSON (`data.product`, `data.new`) the cart reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogProduct {
    /// The product id.
    pub id: ProductId,
    /// Its name.
    pub name: String,
    /// Base price, minor units.
    pub price: i64,
    /// The currency of every price.
    pub currency: Currency,
    /// Draft, active, archived.
    pub status: ProductStatus,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<VariantFacts>,
    /// Image URLs, the main first.
    #[serde(default)]
    pub images: Vec<String>,
    /// The seller who lists it.
    #[serde(default)]
    pub seller_id: Option<String>,
    /// The product's version.
    pub version: u64,
}

impl CatalogProduct {
    /// The facts the cart keeps, at aggregate version `version`.
    pub fn facts(self, version: u64) -> ProductFacts {
        ProductFacts {
            product_id: self.id,
            version,
            deleted: false,
            name: self.name,
            price: self.price,
            currency: Some(self.currency),
            status: Some(self.status),
            image: self.images.into_iter().next(),
            variants: self.variants,
            seller_id: self.seller_id,
        }
    }
}

/// A unit's stock as inventory's `get-stock-levels` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    /// The product.
    pub product_id: ProductId,
    /// Inventory's SKU (the product id for a product without variants).
    pub sku: String,
    /// On hand minus reserved.
    pub available: i64,
    /// Whether any is available.
    pub in_stock: bool,
    /// Whether inventory has heard of the unit (if not, `available` is 0).
    pub known: bool,
}

/// A priced line, as `evaluate-discounts` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedItem {
    /// The product.
    pub product_id: ProductId,
    /// The variant; `null` for a product without variants.
    pub sku: Option<String>,
    /// How many.
    pub quantity: u32,
    /// Today's unit price, minor units.
    pub unit_price: i64,
}

/// The question put to `evaluate-discounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountQuery {
    /// The signed-in user (per-user limits), `null` for a guest.
    pub user_id: Option<UserId>,
    /// The cart's code, if any.
    pub code: Option<String>,
    /// The cart's currency.
    pub currency: Currency,
    /// The lines that can be bought, at today's prices.
    pub items: Vec<PricedItem>,
}

/// What `evaluate-discounts` says of the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeVerdict {
    /// Whether it applies.
    pub valid: bool,
    /// Why not (`unknown_code`, `expired`, `minimum_not_met`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One discount that applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    /// The discount's id.
    pub id: String,
    /// Its code; `null` for an automatic campaign.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
    /// How much it takes off, minor units.
    pub amount: i64,
}

/// `evaluate-discounts`' answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountEvaluation {
    /// The code's verdict; `null` when no code was asked about.
    pub code: Option<CodeVerdict>,
    /// What the cart shows: the best discount, or the stacked sum named after the largest.
    pub discount: Option<AppliedDiscount>,
    /// Each discount applied.
    #[serde(default)]
    pub applied: Vec<AppliedDiscount>,
}

/// Carts, in the cart's table. Every rule is a condition of the write, so it holds across
/// function instances whatever the caller read before.
#[async_trait]
pub trait CartStore: Send + Sync {
    /// The cart of `owner` as stored (expired or not: the caller checks `expiresAt`); a
    /// merged guest cart is no cart.
    async fn cart(&self, owner: &CartOwner) -> Result<Option<Cart>, DomainError>;

    /// Stores `cart` unless a live cart of its owner exists (one expired by `now` is
    /// replaced); whether it was stored.
    async fn start_cart(&self, cart: &Cart, now: DateTime<Utc>) -> Result<bool, DomainError>;

    /// Adds `add.quantity` of `add.unit`: to its line when there is one (refused past 99),
    /// else as a new line (refused as the 51st, or in another currency than the cart's
    /// lines). The line remembers `add.unit_price`; the cart's expiry moves to `now` + its
    /// lifetime.
    async fn add(
        &self,
        owner: &CartOwner,
        add: &LineAdd,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError>;

    /// Sets the quantity of `unit`'s line (1–99); [`Refusal::NoLine`] when there is none.
    async fn set_quantity(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError>;

    /// Removes `unit`'s line; [`Refusal::NoLine`] when there is none.
    async fn remove_line(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError>;

    /// Stores (or with `None` clears) the cart's discount code.
    async fn set_discount_code(
        &self,
        owner: &CartOwner,
        code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError>;

    /// Once per `order`: removes the lines of `units` the live cart has (whatever their
    /// quantity) and its discount code, in one write, and remembers the order; how many
    /// lines were removed. A repeat for the same order changes nothing and answers the first
    /// count; no live cart (none, expired, merged) answers 0.
    async fn clear_order_lines(
        &self,
        owner: &CartOwner,
        order: OrderId,
        units: &[Unit],
        now: DateTime<Utc>,
    ) -> Result<u32, DomainError>;

    /// Deletes the cart, if any.
    async fn delete_cart(&self, owner: &CartOwner) -> Result<(), DomainError>;

    /// In one transaction: `guest` (as read, at its version) becomes a [`MergedGuest`] of
    /// `merged`'s user, and `merged` (the user's cart with the guest's lines folded in)
    /// replaces the user's cart at version `merged.version - 1` (or, at version 1, a cart
    /// that does not exist or has expired). [`Refusal::Changed`] when either changed since
    /// read, or the guest cart is gone: repeating a merge changes nothing.
    async fn merge(
        &self,
        guest: &Cart,
        merged: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError>;

    /// What is left of guest cart `cart_id` after a merge.
    async fn merged_guest(&self, cart_id: CartId) -> Result<Option<MergedGuest>, DomainError>;
}

/// The products the cart knows, fed by the catalog's events.
#[async_trait]
pub trait ProductProjection: Send + Sync {
    /// The facts of each of `ids` the cart has (missing ones are simply absent).
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError>;

    /// Stores `facts` unless the stored facts are at `facts.version` or newer; whether it
    /// stored them. Redelivered and out-of-order events change nothing.
    async fn apply(&self, facts: &ProductFacts) -> Result<bool, DomainError>;
}

/// Inventory's stock levels (`get-stock-levels`).
#[async_trait]
pub trait StockLevels: Send + Sync {
    /// The level of each unit, in the order asked.
    async fn levels(&self, units: &[Unit]) -> Result<Vec<StockLevel>, DomainError>;
}

/// The discounts service's evaluation (`evaluate-discounts`).
#[async_trait]
pub trait DiscountEvaluator: Send + Sync {
    /// The discount `query` earns, and the code's verdict.
    async fn evaluate(&self, query: &DiscountQuery) -> Result<DiscountEvaluation, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_name_their_unit_and_nothing_else() {
        let product = ProductId::new();
        let plain = Unit {
            product_id: product,
            sku: None,
        };
        assert_eq!(plain.item_id().as_str(), product.to_string());
        assert_eq!(plain.item_id().unit().unwrap(), plain);
        assert_eq!(plain.inventory_sku(), product.to_string());
        let variant = Unit {
            product_id: product,
            sku: Some("TEE-BLU.M_1".parse().unwrap()),
        };
        assert_eq!(variant.item_id().as_str(), format!("{product}~TEE-BLU.M_1"));
        assert_eq!(variant.item_id().unit().unwrap(), variant);
        assert_eq!(variant.inventory_sku(), "TEE-BLU.M_1");
        for bad in [
            "",
            "x",
            &format!("{product}~"),
            &format!("{product}~a b"),
            "~SKU",
        ] {
            assert!(bad.parse::<ItemId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_are_one_to_ninety_nine() {
        for ok in [1, 50, 99] {
            assert_eq!(check_quantity(ok).unwrap(), ok as u32);
        }
        for bad in [0, -1, 100, i64::MAX] {
            assert!(matches!(
                check_quantity(bad),
                Err(DomainError::Validation(_))
            ));
        }
    }

    #[test]
    fn tokens_are_stored_as_their_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let now = Utc::now();
        let cart = Cart::new(CartOwner::Guest(CartId::new()), Some(hash_token("t")), now);
        assert!(cart.opens_with("t"));
        assert!(!cart.opens_with("u"));
        assert!(cart.expires_at - now <= TimeDelta::days(7));
        assert!(cart.expires_at - now > TimeDelta::days(7) - TimeDelta::seconds(1));
        assert!(cart.is_expired(cart.expires_at));
        assert!(!cart.is_expired(cart.expires_at - TimeDelta::milliseconds(1)));
    }

    #[test]
    fn an_offer_needs_the_unit_to_match_the_products_variants() {
        let id = ProductId::new();
        let mut facts = ProductFacts {
            product_id: id,
            version: 1,
            deleted: false,
            name: "Tee".into(),
            price: 1500,
            currency: Some(Currency::EUR),
            status: Some(ProductStatus::Active),
            image: None,
            variants: vec![VariantFacts {
                sku: "TEE-M".parse().unwrap(),
                name: "M".into(),
                price: Some(1700),
            }],
            seller_id: None,
        };
        let unit = |sku: Option<&str>| Unit {
            product_id: id,
            sku: sku.map(|s| s.parse().unwrap()),
        };
        assert_eq!(
            facts.offer(&unit(Some("TEE-M"))),
            Ok((1700, "Tee (M)".into()))
        );
        assert_eq!(
            facts.offer(&unit(Some("TEE-L"))),
            Err(Unavailable::VariantRemoved)
        );
        assert_eq!(facts.offer(&unit(None)), Err(Unavailable::VariantRemoved));
        facts.variants.clear();
        assert_eq!(facts.offer(&unit(None)), Ok((1500, "Tee".into())));
        facts.deleted = true;
        assert_eq!(facts.offer(&unit(None)), Err(Unavailable::ProductDeleted));
    }
}
