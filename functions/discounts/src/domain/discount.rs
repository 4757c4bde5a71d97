//! [`Discount`]: a coupon (with a `code`) or an automatic campaign (without), and
//! [`DiscountInput`], the body of `POST` and `PUT /api/admin/discounts…`, parsed from JSON
//! field by field so that every bad field is named in one 400.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shop_domain::{BrandId, CategoryId, Currency, DiscountId, DomainError, FieldError, ProductId};

/// Longest list in `appliesTo`.
pub const MAX_TARGETS: usize = 100;
/// Largest fixed amount, minimum subtotal or cap, in minor units (as the catalog's prices).
pub const MAX_MINOR: i64 = 10_000_000_000;
/// Largest `usageLimit` / `perUserLimit`.
pub const MAX_LIMIT: u64 = 100_000_000;

/// `percentage` (value 1–100) or `fixed` (value in minor units of `currency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscountType {
    /// `value` percent of what it applies to, rounded down to the minor unit.
    Percentage,
    /// `value` minor units of `currency`.
    Fixed,
}

/// What a discount applies to; all empty = the whole order. A line qualifies when its
/// product is listed, or its category or one of that category's ancestors is, or its brand is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliesTo {
    /// Products.
    #[serde(default)]
    pub product_ids: Vec<ProductId>,
    /// Categories, each including its descendants.
    #[serde(default)]
    pub category_ids: Vec<CategoryId>,
    /// Brands.
    #[serde(default)]
    pub brand_ids: Vec<BrandId>,
}

impl AppliesTo {
    /// Whether it names nothing (the whole order).
    pub fn is_whole_order(&self) -> bool {
        self.product_ids.is_empty() && self.category_ids.is_empty() && self.brand_ids.is_empty()
    }
}

/// A discount as stored and shown (`GET /api/admin/discounts/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discount {
    /// The discount.
    pub id: DiscountId,
    /// The coupon code as the admin wrote it (unique ignoring case); `null` for an automatic
    /// campaign.
    pub code: Option<String>,
    /// Shown to shoppers.
    pub name: String,
    /// Percentage or fixed.
    pub r#type: DiscountType,
    /// Percent (1–100) or minor units.
    pub value: i64,
    /// The currency of `value` (fixed), `minSubtotal` and `maxDiscount`; a discount with a
    /// currency applies only to orders in it.
    pub currency: Option<Currency>,
    /// The subtotal (of the items it applies to) an order needs, in minor units.
    pub min_subtotal: Option<i64>,
    /// The most it takes off, in minor units.
    pub max_discount: Option<i64>,
    /// Not valid before.
    #[serde(default, with = "optional_timestamp")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Not valid from then on.
    #[serde(default, with = "optional_timestamp")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses in all (reserved or redeemed).
    pub usage_limit: Option<u64>,
    /// Uses per user (reserved or redeemed).
    pub per_user_limit: Option<u64>,
    /// What it applies to.
    pub applies_to: AppliesTo,
    /// Applies without a code.
    pub automatic: bool,
    /// May be combined with other stackable discounts.
    pub stackable: bool,
    /// Switched on.
    pub active: bool,
    /// Optimistic-concurrency version (also the ETag).
    pub version: u64,
    /// When created.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a discount, valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountInput {
    /// See [`Discount`].
    pub code: Option<String>,
    /// See [`Discount`].
    pub name: String,
    /// See [`Discount`].
    pub r#type: DiscountType,
    /// See [`Discount`].
    pub value: i64,
    /// See [`Discount`].
    pub currency: Option<Currency>,
    /// See [`Discount`].
    pub min_subtotal: Option<i64>,
    /// See [`Discount`].
    pub max_discount: Option<i64>,
    /// See [`Discount`].
    pub starts_at: Option<DateTime<Utc>>,
    /// See [`Discount`].
    pub ends_at: Option<DateTime<Utc>>,
    /// See [`Discount`].
    pub usage_limit: Option<u64>,
    /// See [`Discount`].
    pub per_user_limit: Option<u64>,
    /// See [`Discount`].
    pub applies_to: AppliesTo,
    /// See [`Discount`].
    pub automatic: bool,
    /// See [`Discount`].
    pub stackable: bool,
    /// See [`Discount`].
    pub active: bool,
}

/// The code as the uniqueness guard keys it: upper case.
pub fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

impl Discount {
    /// A new discount from `input`, at version 1.
    pub fn create(input: DiscountInput, id: DiscountId, now: DateTime<Utc>) -> Self {
        Self::from_input(input, id, 1, now, now)
    }

    /// This discount with every editable field replaced by `input`, one version on; `None`
    /// when nothing changes.
    pub fn replaced(&self, input: DiscountInput, now: DateTime<Utc>) -> Option<Self> {
        let next = Self::from_input(input, self.id, self.version + 1, self.created_at, now);
        let same = Self {
            version: self.version,
            updated_at: self.updated_at,
            ..next.clone()
        };
        (same != *self).then_some(next)
    }

    fn from_input(
        input: DiscountInput,
        id: DiscountId,
        version: u64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            code: input.code,
            name: input.name,
            r#type: input.r#type,
            value: input.value,
            currency: input.currency,
            min_subtotal: input.min_subtotal,
            max_discount: input.max_discount,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            usage_limit: input.usage_limit,
            per_user_limit: input.per_user_limit,
            applies_to: input.applies_to,
            automatic: input.automatic,
            stackable: input.stackable,
            active: input.active,
            version,
            created_at,
            updated_at,
        }
    }

    /// The guard key of its code, when it has one.
    pub fn normalised_code(&self) -> Option<String> {
        self.code.as_deref().map(normalise_code)
    }
}

/// The fields the body may have.
const FIELDS: [&str; 15] = [
    "code",
    "name",
    "type",
    "value",
    "currency",
    "minSubtotal",
    "maxDiscount",
    "startsAt",
    "endsAt",
    "usageLimit",
    "perUserLimit",
    "appliesTo",
    "automatic",
    "stackable",
    "active",
];

impl DiscountInput {
    /// Parses and checks a body, naming every bad field at once.
    pub fn from_json(body: &Value) -> Result<Self, DomainError> {
        let Some(object) = body.as_object() else {
            return Err(DomainError::validation("body", "must be a JSON object"));
        };
        let mut f = Fields {
            object,
            errors: Vec::new(),
        };
        for key in object.keys() {
            if !FIELDS.contains(&key.as_str()) {
                f.error(key, "is not a field of a discount");
            }
        }
        let automatic = f.boolean("automatic").unwrap_or(false);
        let stackable = f.boolean("stackable").unwrap_or(false);
        let active = f.boolean("active").unwrap_or(true);
        let code = f.text("code", 3, 32);
        match &code {
            Some(_) if automatic => {
                f.error("code", "must be absent for an automatic campaign");
            }
            Some(code)
                if !code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                f.error("code", "may hold only letters, digits, `-` and `_`");
            }
            Some(_) => {}
            None if !automatic && !f.has("code") => {
                f.error("code", "is required unless the discount is automatic");
            }
            None => {}
        }
        let name = f.text("name", 1, 100);
        if name.is_none() && !f.has("name") {
            f.error("name", "is required");
        }
        let kind = match f.object.get("type") {
            None | Some(Value::Null) => {
                f.error("type", "is required: percentage or fixed");
                None
            }
            Some(Value::String(s)) if s == "percentage" => Some(DiscountType::Percentage),
            Some(Value::String(s)) if s == "fixed" => Some(DiscountType::Fixed),
            Some(_) => {
                f.error("type", "must be one of percentage, fixed");
                None
            }
        };
        let value = f.integer("value", 1, MAX_MINOR);
        if value.is_none() && !f.has("value") {
            f.error("value", "is required");
        }
        if kind == Some(DiscountType::Percentage) && value.is_some_and(|v| v > 100) {
            f.error("value", "must be a percentage from 1 to 100");
        }
        let currency = f.currency("currency");
        let min_subtotal = f.integer("minSubtotal", 1, MAX_MINOR);
        let max_discount = f.integer("maxDiscount", 1, MAX_MINOR);
        if currency.is_none() && !f.has("currency") {
            if kind == Some(DiscountType::Fixed) {
                f.error("currency", "is required for a fixed discount");
            } else if min_subtotal.is_some() || max_discount.is_some() {
                f.error(
                    "currency",
                    "is required when minSubtotal or maxDiscount is given",
                );
            }
        }
        let starts_at = f.timestamp("startsAt");
        let ends_at = f.timestamp("endsAt");
        if let (Some(start), Some(end)) = (starts_at, ends_at)
            && end <= start
        {
            f.error("endsAt", "must be after startsAt");
        }
        let usage_limit = f
            .integer("usageLimit", 1, MAX_LIMIT as i64)
            .map(|v| v as u64);
        let per_user_limit = f
            .integer("perUserLimit", 1, MAX_LIMIT as i64)
            .map(|v| v as u64);
        let applies_to = f.applies_to();
        let errors = f.errors;
        match (name, kind, value) {
            (Some(name), Some(kind), Some(value)) if errors.is_empty() => Ok(Self {
                code,
                name,
                r#type: kind,
                value,
                currency,
                min_subtotal,
                max_discount,
                starts_at,
                ends_at,
                usage_limit,
                per_user_limit,
                applies_to,
                automatic,
                stackable,
                active,
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

/// The fields of a JSON object, read one by one into typed values; every mistake is recorded
/// under its field's name and the reader goes on.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields<'_> {
    fn error(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Whether `name` is present and not null (so a bad value was already reported).
    fn has(&self, name: &str) -> bool {
        self.object.get(name).is_some_and(|v| !v.is_null())
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(name, "must be true or false");
                None
            }
        }
    }

    /// Trimmed text of `min`–`max` characters without control characters.
    fn text(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                let chars = s.chars().count();
                if chars < min || chars > max {
                    self.error(name, &format!("must be {min} to {max} characters"));
                    None
                } else if s.chars().any(char::is_control) {
                    self.error(name, "must not contain control characters");
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_f64() => {
                // As serde words it, so the API reads every integer the same way.
                self.error(
                    name,
                    &format!("invalid type: floating point `{n}`, expected an integer"),
                );
                None
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.error(name, &format!("must be an integer from {min} to {max}"));
                    None
                }
            },
            Some(_) => {
                self.error(name, &format!("must be an integer from {min} to {max}"));
                None
            }
        }
    }

    fn currency(&mut self, name: &str) -> Option<Currency> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match s.parse::<Currency>() {
                Ok(c) => Some(c),
                Err(_) => {
                    self.error(
                        name,
                        "must be an ISO 4217 code of three upper-case letters, e.g. EUR",
                    );
                    None
                }
            },
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    fn timestamp(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let parsed = match self.object.get(name) {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s).ok(),
            Some(_) => None,
        };
        match parsed {
            // Stored with milliseconds, as every timestamp of the shop.
            Some(at) => DateTime::from_timestamp_millis(at.timestamp_millis()),
            None => {
                self.error(
                    name,
                    "must be an RFC 3339 timestamp such as 2026-12-01T00:00:00Z",
                );
                None
            }
        }
    }

    fn applies_to(&mut self) -> AppliesTo {
        let mut applies = AppliesTo::default();
        let object = match self.object.get("appliesTo") {
            None | Some(Value::Null) => return applies,
            Some(Value::Object(o)) => o,
            Some(_) => {
                self.error(
                    "appliesTo",
                    "must be an object of productIds, categoryIds, brandIds",
                );
                return applies;
            }
        };
        for key in object.keys() {
            if !["productIds", "categoryIds", "brandIds"].contains(&key.as_str()) {
                self.error(
                    &format!("appliesTo.{key}"),
                    "is not a field; use productIds, categoryIds or brandIds",
                );
            }
        }
        applies.product_ids = self.ids(object, "productIds");
        applies.category_ids = self.ids(object, "categoryIds");
        applies.brand_ids = self.ids(object, "brandIds");
        applies
    }

    fn ids<T: std::str::FromStr + PartialEq>(
        &mut self,
        object: &Map<String, Value>,
        name: &str,
    ) -> Vec<T> {
        let field = format!("appliesTo.{name}");
        let items = match object.get(name) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_TARGETS => items,
            Some(Value::Array(_)) => {
                self.error(&field, &format!("must hold at most {MAX_TARGETS} ids"));
                return Vec::new();
            }
            Some(_) => {
                self.error(&field, "must be an array of ids");
                return Vec::new();
            }
        };
        // A repeated id (in any case) counts once.
        let mut ids = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str().and_then(|s| s.parse::<T>().ok()) {
                Some(id) if ids.contains(&id) => {}
                Some(id) => ids.push(id),
                None => self.error(&format!("{field}[{i}]"), "must be a ULID"),
            }
        }
        ids
    }
}

/// `Option<DateTime<Utc>>` in the shop's timestamp form.
pub mod optional_timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the timestamp, or null.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => shop_domain::timestamp::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Reads a timestamp or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: Value) -> Vec<String> {
        match DiscountInput::from_json(&body) {
            Err(DomainError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn a_coupon_and_a_campaign_parse() {
        let coupon = DiscountInput::from_json(&json!({"code": " welcome10 ", "name": "Welcome",
            "type": "percentage", "value": 10}))
        .unwrap();
        assert_eq!(coupon.code.as_deref(), Some("welcome10"));
        assert!(coupon.active && !coupon.automatic && !coupon.stackable);
        let campaign = DiscountInput::from_json(&json!({"name": "Winter", "type": "fixed",
            "value": 500, "currency": "EUR", "automatic": true,
            "appliesTo": {"categoryIds": ["01JBQ0000000000000000CAT01"]}}))
        .unwrap();
        assert_eq!(campaign.code, None);
        assert_eq!(campaign.applies_to.category_ids.len(), 1);
        assert_eq!(normalise_code("Welcome10"), "WELCOME10");
    }

    #[test]
    fn every_bad_field_is_named() {
        let named = fields(
            json!({"code": "x", "name": "", "type": "percentage", "value": 101,
            "minSubtotal": 0, "startsAt": "2026-12-02T00:00:00Z", "endsAt": "2026-12-01T00:00:00Z",
            "usageLimit": 0, "perUserLimit": "1", "appliesTo": {"productIds": ["nope"], "tags": []},
            "automatic": "yes", "colour": "red"}),
        );
        for field in [
            "colour",
            "automatic",
            "code",
            "name",
            "value",
            "minSubtotal",
            "endsAt",
            "usageLimit",
            "perUserLimit",
            "appliesTo.tags",
            "appliesTo.productIds[0]",
        ] {
            assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
        }
    }

    #[test]
    fn fixed_needs_a_currency_and_campaigns_no_code() {
        assert_eq!(
            fields(json!({"code": "TENOFF", "name": "Ten off", "type": "fixed", "value": 1000})),
            ["currency"]
        );
        assert_eq!(
            fields(
                json!({"code": "TENOFF", "name": "x", "type": "percentage", "value": 10,
                "automatic": true})
            ),
            ["code"]
        );
        assert_eq!(
            fields(json!({"name": "x", "type": "percentage", "value": 10})),
            ["code"]
        );
        assert_eq!(
            fields(
                json!({"code": "A B C", "name": "x", "type": "bogus", "value": 10,
                "maxDiscount": 5})
            ),
            ["code", "type", "currency"]
        );
    }

    #[test]
    fn replacing_with_the_same_fields_changes_nothing() {
        let now = Utc::now();
        let input = DiscountInput::from_json(&json!({"code": "SAME", "name": "Same",
            "type": "percentage", "value": 5}))
        .unwrap();
        let discount = Discount::create(input.clone(), DiscountId::new(), now);
        assert_eq!(discount.replaced(input.clone(), now), None);
        let renamed = DiscountInput {
            name: "Other".into(),
            ..input
        };
        let next = discount.replaced(renamed, now).unwrap();
        assert_eq!((next.version, next.name.as_str()), (2, "Other"));
    }
}
