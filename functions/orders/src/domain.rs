//! Orders with no storage and no HTTP in sight.
//!
//! - [`Order`], its lines, totals, shipping address, payment and history; [`OrderView`], the
//!   JSON `GET /api/orders/{id}` answers (a seller's view holds only their lines).
//! - [`OrderStatus`] and its transitions ([`Order::moved`]): PENDING → PENDING_PAYMENT →
//!   CONFIRMED; PENDING → FAILED; PENDING_PAYMENT (or CONFIRMED) → CANCELLED; any non-final
//!   status → NEEDS_ATTENTION. Everything else is an [`IllegalTransition`].
//! - [`ShippingAddress`]: parsed and checked as the users service checks addresses.
//! - [`OrderNumber`]: `ORD-YYYYMMDD-XXXXXX`, human-readable, made unique by the store.
//! - [`close_reason`]: the buyer-facing reason of a failed step's error.
//! - [`events`]: `OrderConfirmed`, `OrderCancelled`, `OrderFailed`, `OrderNeedsAttention`.
//! - [`ports`]: [`OrderStore`], and the other services' functions the checkout calls
//!   ([`CartPricing`], [`AddressBook`]), the saga ([`Saga`]) and the ops topic ([`OpsAlerts`]).

pub mod events;
pub mod ports;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{
    CorrelationId, Currency, DiscountId, DomainError, FieldError, OrderId, ProductId,
};

pub use events::{
    OrderCancelled, OrderConfirmed, OrderEvent, OrderEventLine, OrderFailed, OrderNeedsAttention,
};
pub use ports::{
    AddressBook, AddressLookup, CartPricing, OpsAlerts, OrderStore, PlaceRefusal, PricedCart,
    PricedCode, PricedDiscount, PricedLine, Saga, SagaStart,
};

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Written by the checkout; the saga reserves discounts and stock.
    Pending,
    /// Reserved; the payment page waits for the buyer.
    PendingPayment,
    /// Paid, stock committed.
    Confirmed,
    /// Paid for no longer: declined, timed out, or a later step failed (compensated).
    Cancelled,
    /// Never got to a payment (stock, discount, or the saga could not start).
    Failed,
    /// A step or a compensation failed for good; an operator must look.
    NeedsAttention,
}

impl OrderStatus {
    /// Every status, as the admin's `?status=` accepts them.
    pub const ALL: [OrderStatus; 6] = [
        Self::Pending,
        Self::PendingPayment,
        Self::Confirmed,
        Self::Cancelled,
        Self::Failed,
        Self::NeedsAttention,
    ];

    /// The name on the wire (`PENDING_PAYMENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::PendingPayment => "PENDING_PAYMENT",
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
            Self::NeedsAttention => "NEEDS_ATTENTION",
        }
    }

    /// Parses a wire name; 400 naming `field` and the known statuses otherwise.
    pub fn parse(value: &str, field: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                DomainError::validation(field, format!("must be one of {}", known.join(", ")))
            })
    }

    /// Whether nothing moves the order any more (in this lifecycle).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Cancelled | Self::Failed | Self::NeedsAttention)
    }

    /// Whether `self → to` is a transition of the status machine.
    pub fn may_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        match (self, to) {
            (Pending, PendingPayment) | (PendingPayment, Confirmed) | (Pending, Failed) => true,
            (PendingPayment, Cancelled) | (Confirmed, Cancelled) => true,
            (from, NeedsAttention) => !from.is_final(),
            _ => false,
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payment's status as the order shows it (the payments service's statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Waiting for the gateway.
    Pending,
    /// Captured.
    Succeeded,
    /// Declined, or voided unpaid.
    Failed,
    /// Voided before capture.
    Voided,
    /// Captured and given back.
    Refunded,
}

/// The payment of an order, as the saga's CreatePayment step made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRef {
    /// The payment (the payments service's id).
    pub id: String,
    /// Its status when the order last heard of it.
    pub status: PaymentStatus,
    /// The gateway's hosted payment page.
    pub payment_url: String,
}

/// One line of an order: the product as it was sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// "1", "2", … in cart order.
    pub line_id: String,
    /// The product.
    pub product_id: ProductId,
    /// The variant's SKU, or `None` for a variantless product (as in the cart).
    pub sku: Option<String>,
    /// The unit inventory holds: the variant SKU, or the product id.
    pub inventory_sku: String,
    /// The product's name at order time.
    pub name: String,
    /// Minor units.
    pub unit_price: i64,
    /// How many.
    pub quantity: u32,
    /// `unit_price × quantity`.
    pub line_total: i64,
    /// Who sells it.
    pub seller_id: Option<String>,
}

/// One entry of an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The status the order moved to.
    pub status: OrderStatus,
    /// When.
    #[serde(with = "shop_domain::timestamp")]
    pub at: DateTime<Utc>,
    /// Why, when it is not the happy path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where the order goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShippingAddress {
    /// Who receives it.
    pub full_name: String,
    /// A phone number for the carrier.
    #[serde(default)]
    pub phone: Option<String>,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, building.
    #[serde(default)]
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province, county.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// The longest text of any address field.
pub const MAX_ADDRESS_FIELD: usize = 200;

impl ShippingAddress {
    /// Trims every field, upper-cases the country and checks them all at once, as the users
    /// service does: `fullName`, `line1`, `city`, `postalCode` required, every field at most
    /// [`MAX_ADDRESS_FIELD`] characters, `country` two letters. Errors are named
    /// `shippingAddress.<field>`.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("fullName", &mut self.full_name),
            ("line1", &mut self.line1),
            ("city", &mut self.city),
            ("postalCode", &mut self.postal_code),
        ] {
            *value = value.trim().to_owned();
            if value.is_empty() {
                errors.push(FieldError::new(
                    format!("shippingAddress.{field}"),
                    "is required",
                ));
            }
            check_text(&mut errors, field, value);
        }
        for (field, value) in [
            ("phone", &mut self.phone),
            ("line2", &mut self.line2),
            ("region", &mut self.region),
        ] {
            *value = value
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            if let Some(text) = value {
                check_text(&mut errors, field, text);
            }
        }
        self.country = self.country.trim().to_ascii_uppercase();
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(FieldError::new(
                "shippingAddress.country",
                "must be an ISO 3166-1 alpha-2 country code such as IE or US",
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.chars().count() > MAX_ADDRESS_FIELD {
        errors.push(FieldError::new(
            format!("shippingAddress.{field}"),
            format!("must be at most {MAX_ADDRESS_FIELD} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            format!("shippingAddress.{field}"),
            "must not contain control characters",
        ));
    }
}

/// `ORD-YYYYMMDD-XXXXXX`: the day and 6 random Crockford base-32 characters (30 bits a
/// day); the store refuses a number already taken and the checkout draws again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderNumber(pub String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl OrderNumber {
    /// A fresh number for an order placed `at`.
    pub fn draw(at: DateTime<Utc>) -> Self {
        let mut random = [0u8; 6];
        // The OS's randomness; a failure leaves zeros, which the store's uniqueness catches.
        let _ = getrandom::fill(&mut random);
        let suffix: String = random
            .iter()
            .map(|b| CROCKFORD[usize::from(b & 31)] as char)
            .collect();
        Self(format!("ORD-{}-{suffix}", at.format("%Y%m%d")))
    }
}

impl std::fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An order, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order (and the saga's execution name).
    pub order_id: OrderId,
    /// The human-readable number.
    pub order_number: OrderNumber,
    /// The buyer (the token's `sub`).
    pub user_id: String,
    /// Where it is.
    pub status: OrderStatus,
    /// The payment's status, `None` until a payment exists.
    pub payment_status: Option<PaymentStatus>,
    /// The lines, in cart order.
    pub items: Vec<OrderLine>,
    /// Sum of the lines.
    pub subtotal: i64,
    /// What the discounts take off.
    pub discount_amount: i64,
    /// The code the buyer used, if any.
    pub discount_code: Option<String>,
    /// Every discount the order was priced with (the saga reserves their uses).
    pub discount_ids: Vec<DiscountId>,
    /// Flat fee, or 0 above the free-shipping threshold.
    pub shipping_fee: i64,
    /// `subtotal − discountAmount + shippingFee` (no tax).
    pub total: i64,
    /// Of every amount.
    pub currency: Currency,
    /// Copied in at checkout.
    pub shipping_address: ShippingAddress,
    /// Once the saga created it.
    pub payment: Option<PaymentRef>,
    /// Every status it had, oldest first.
    pub history: Vec<HistoryEntry>,
    /// When checked out.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// 1 when placed, one more per change; the events' aggregate version.
    pub version: u64,
    /// The checkout request's correlation id, carried into every event of the order.
    pub correlation_id: CorrelationId,
}

/// A transition the status machine does not have (409 over HTTP, `IllegalTransition` in a
/// task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalTransition {
    /// The order.
    pub order_id: OrderId,
    /// Where it is.
    pub from: OrderStatus,
    /// Where it was asked to go.
    pub to: OrderStatus,
}

impl std::fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "order {} is {} and cannot become {}",
            self.order_id, self.from, self.to
        )
    }
}

impl From<IllegalTransition> for DomainError {
    fn from(err: IllegalTransition) -> Self {
        DomainError::Conflict(err.to_string())
    }
}

impl Order {
    /// The order after moving to `to` at `now` with `reason` (history appended, version
    /// bumped); `Ok(None)` when it already is `to` (a repeat); [`IllegalTransition`] when the
    /// status machine has no such edge.
    pub fn moved(
        &self,
        to: OrderStatus,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<Order>, IllegalTransition> {
        if self.status == to {
            return Ok(None);
        }
        if !self.status.may_become(to) {
            return Err(IllegalTransition {
                order_id: self.order_id,
                from: self.status,
                to,
            });
        }
        let mut next = self.clone();
        next.status = to;
        next.history.push(HistoryEntry {
            status: to,
            at: now,
            reason,
        });
        next.updated_at = now;
        next.version += 1;
        Ok(Some(next))
    }

    /// The sellers with a line in the order, each once, in line order.
    pub fn sellers(&self) -> Vec<String> {
        let mut sellers: Vec<String> = Vec::new();
        for seller in self.items.iter().filter_map(|l| l.seller_id.as_ref()) {
            if !sellers.contains(seller) {
                sellers.push(seller.clone());
            }
        }
        sellers
    }

    /// The reason of the last history entry that has one.
    pub fn reason(&self) -> Option<&str> {
        self.history.iter().rev().find_map(|h| h.reason.as_deref())
    }

    /// The JSON of the order; with `seller`, only that seller's lines.
    pub fn view(&self, seller: Option<&str>) -> OrderView<'_> {
        OrderView {
            order_id: self.order_id,
            order_number: &self.order_number,
            status: self.status,
            payment_status: self.payment_status,
            items: self
                .items
                .iter()
                .filter(|l| seller.is_none_or(|s| l.seller_id.as_deref() == Some(s)))
                .map(|l| LineView {
                    line_id: &l.line_id,
                    product_id: l.product_id,
                    sku: l.sku.as_deref(),
                    name: &l.name,
                    unit_price: l.unit_price,
                    quantity: l.quantity,
                    line_total: l.line_total,
                    seller_id: l.seller_id.as_deref(),
                })
                .collect(),
            subtotal: self.subtotal,
            discount_amount: self.discount_amount,
            discount_code: self.discount_code.as_deref(),
            shipping_fee: self.shipping_fee,
            total: self.total,
            currency: self.currency,
            shipping_address: &self.shipping_address,
            payment: self.payment.as_ref(),
            history: &self.history,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The JSON of an order (`GET /api/orders/{id}`, and each item of the lists).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView<'a> {
    order_id: OrderId,
    order_number: &'a OrderNumber,
    status: OrderStatus,
    payment_status: Option<PaymentStatus>,
    items: Vec<LineView<'a>>,
    subtotal: i64,
    discount_amount: i64,
    discount_code: Option<&'a str>,
    shipping_fee: i64,
    total: i64,
    currency: Currency,
    shipping_address: &'a ShippingAddress,
    payment: Option<&'a PaymentRef>,
    history: &'a [HistoryEntry],
    #[serde(with = "shop_domain::timestamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "shop_domain::timestamp")]
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LineView<'a> {
    line_id: &'a str,
    product_id: ProductId,
    sku: Option<&'a str>,
    name: &'a str,
    unit_price: i64,
    quantity: u32,
    line_total: i64,
    seller_id: Option<&'a str>,
}

/// The buyer-facing reason for a saga that stopped on `error` (the failed step's
/// `{"Error", "Cause"}`).
pub fn close_reason(error: &str, cause: &str) -> String {
    let cause = cause.trim();
    match error {
        "InsufficientStock" => format!("insufficient stock: {cause}"),
        "UnknownUnit" => format!("unknown product or variant: {cause}"),
        "UsageLimitReached" => format!("discount usage limit reached: {cause}"),
        "PerUserLimitReached" => format!("discount already used as often as allowed: {cause}"),
        "DiscountNotApplicable" => format!("discount not applicable: {cause}"),
        "PaymentDeclined" => "payment declined".to_owned(),
        "States.Timeout" => "payment timed out".to_owned(),
        other => format!("checkout failed: {other}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        "2026-12-03T10:00:00.123Z".parse().unwrap()
    }

    /// An order as the checkout writes it.
    pub(crate) fn order() -> Order {
        Order {
            order_id: OrderId::new(),
            order_number: OrderNumber::draw(at()),
            user_id: "01JBQ00000000000000000AN01".into(),
            status: OrderStatus::Pending,
            payment_status: None,
            items: vec![OrderLine {
                line_id: "1".into(),
                product_id: "01JBQ00000000000000000PR01".parse().unwrap(),
                sku: Some("MUG-RED".into()),
                inventory_sku: "MUG-RED".into(),
                name: "Mug".into(),
                unit_price: 1500,
                quantity: 2,
                line_total: 3000,
                seller_id: Some("01JBQ00000000000000000SE01".into()),
            }],
            subtotal: 3000,
            discount_amount: 0,
            discount_code: None,
            discount_ids: vec![],
            shipping_fee: 499,
            total: 3499,
            currency: Currency::EUR,
            shipping_address: ShippingAddress {
                full_name: "Ann".into(),
                phone: None,
                line1: "1 Main St".into(),
                line2: None,
                city: "Cork".into(),
                region: None,
                postal_code: "T12".into(),
                country: "IE".into(),
            },
            payment: None,
            history: vec![HistoryEntry {
                status: OrderStatus::Pending,
                at: at(),
                reason: None,
            }],
            created_at: at(),
            updated_at: at(),
            version: 1,
            correlation_id: CorrelationId::new(),
        }
    }

    #[test]
    fn the_status_machine_has_exactly_its_edges() {
        use OrderStatus::*;
        let edges: Vec<(OrderStatus, OrderStatus)> = OrderStatus::ALL
            .into_iter()
            .flat_map(|a| OrderStatus::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.may_become(*b))
            .collect();
        assert_eq!(
            edges,
            [
                (Pending, PendingPayment),
                (Pending, Failed),
                (Pending, NeedsAttention),
                (PendingPayment, Confirmed),
                (PendingPayment, Cancelled),
                (PendingPayment, NeedsAttention),
                (Confirmed, Cancelled),
                (Confirmed, NeedsAttention),
            ]
        );
    }

    #[test]
    fn a_move_appends_to_history_and_a_repeat_changes_nothing() {
        let placed = order();
        let moved = placed
            .moved(OrderStatus::PendingPayment, None, at())
            .unwrap()
            .unwrap();
        assert_eq!(moved.version, 2);
        assert_eq!(moved.history.len(), 2);
        assert_eq!(
            moved.moved(OrderStatus::PendingPayment, None, at()),
            Ok(None)
        );
        let illegal = placed
            .moved(OrderStatus::Confirmed, None, at())
            .unwrap_err();
        assert_eq!(illegal.from, OrderStatus::Pending);
        assert!(matches!(
            DomainError::from(illegal),
            DomainError::Conflict(_)
        ));
    }

    #[test]
    fn a_sellers_view_holds_only_their_lines() {
        let mut two = order();
        let mut other = two.items[0].clone();
        other.line_id = "2".into();
        other.seller_id = Some("01JBQ00000000000000000SE02".into());
        two.items.push(other);
        let all = serde_json::to_value(two.view(None)).unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        let theirs = serde_json::to_value(two.view(Some("01JBQ00000000000000000SE02"))).unwrap();
        assert_eq!(theirs["items"][0]["lineId"], "2");
        assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
        let keys: Vec<&str> = all
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = [
            "orderId",
            "orderNumber",
            "status",
            "paymentStatus",
            "items",
            "subtotal",
            "discountAmount",
            "discountCode",
            "shippingFee",
            "total",
            "currency",
            "shippingAddress",
            "payment",
            "history",
            "createdAt",
            "updatedAt",
        ];
        let mut keys = keys;
        keys.sort();
        expected.sort();
        assert_eq!(keys, expected);
        let line: Vec<&str> = all["items"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(!line.contains(&"inventorySku"), "{line:?}");
    }

    #[test]
    fn order_numbers_read_as_the_day_and_six_crockford_characters() {
        let n = OrderNumber::draw(at()).0;
        assert_eq!(n.len(), "ORD-20261203-XXXXXX".len());
        assert!(n.starts_with("ORD-20261203-"), "{n}");
        assert!(n[13..].bytes().all(|b| CROCKFORD.contains(&b)), "{n}");
    }

    #[test]
    fn addresses_are_trimmed_upper_cased_and_checked_at_once() {
        let ok: ShippingAddress = serde_json::from_value(json!({"fullName": " Ann ",
            "line1": "1 Main St", "line2": " ", "city": "Cork", "postalCode": "T12",
            "country": "ie"}))
        .unwrap();
        let ok = ok.validate().unwrap();
        assert_eq!((ok.full_name.as_str(), ok.country.as_str()), ("Ann", "IE"));
        assert_eq!(ok.line2, None);
        let bad: ShippingAddress = serde_json::from_value(json!({"fullName": "",
            "line1": "x".repeat(201), "city": "C", "postalCode": "1", "country": "Ireland"}))
        .unwrap();
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .details()
            .iter()
            .map(|f| f.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "shippingAddress.fullName",
                "shippingAddress.line1",
                "shippingAddress.country"
            ]
        );
    }

    #[test]
    fn reasons_name_what_stopped_the_checkout() {
        assert_eq!(
            close_reason("InsufficientStock", "p1/MUG: 0 available"),
            "insufficient stock: p1/MUG: 0 available"
        );
        assert_eq!(close_reason("PaymentDeclined", "x"), "payment declined");
        assert_eq!(close_reason("States.Timeout", ""), "payment timed out");
        assert!(close_reason("DiscountNotApplicable", "d1 expired").starts_with("discount"));
        assert_eq!(
            close_reason("Lambda.Unknown", "boom"),
            "checkout failed: Lambda.Unknown"
        );
    }
}
