//! Products: the entity, its API forms, its validation and its three ways of changing.
//!
//! - [`Product`] is the entity. Its JSON form (for the API, the events and the table) is
//!   [`ProductView`]: `price` as an integer in minor units and `currency` as an ISO code,
//!   two top-level fields as issue 4 specifies.
//! - [`ProductInput`] is what POST and PUT accept, and the document a PATCH is applied to.
//! - [`Product::create`], [`Product::replace`] (PUT) and [`Product::patch`] (JSON merge
//!   patch) all end in one validation, so the three paths cannot drift apart.
//!
//! # Status transitions
//!
//! ```text
//!   draft ──► active ◄──► archived
//!     └──────────────────────▲
//! ```
//!
//! A product is created as `draft` (the default) or directly `active`, never `archived`.
//! `draft → active` publishes, `active → archived` withdraws, `archived → active` re-lists
//! (a seasonal product comes back with its id, reviews and links intact), and `draft →
//! archived` shelves an abandoned draft. Nothing goes back to `draft`: once customers may
//! have seen, carted or ordered a product, "unpublished but editable" would be a lie —
//! archive it instead. Keeping the status is always allowed. A refused transition is a
//! validation error on `status` (400), collected with every other field error.
//!
//! # Limits
//!
//! Each field has a limit (the `*_MAX*` constants) and the product as a whole must serialize
//! to at most [`MAX_PRODUCT_JSON_BYTES`]. The per-field limits alone would allow a product
//! of several megabytes (100 variants × 10 attributes × 320 characters × 4 bytes); the total
//! cap is what keeps a `ProductModified` event, carrying two products, under EventBridge's
//! 256 KB (see [`crate::domain::events`]) and an item far under DynamoDB's 400 KB.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::etag::Versioned;
use super::validate::{self, Errors, Lines, null_as_default, timestamp};
use shop_domain::merge_patch::merge_patch;
use shop_domain::{BrandId, CategoryId, Currency, DomainError, Money, ProductId};

/// Longest product name, in characters after trimming.
pub const NAME_MAX_CHARS: usize = 200;
/// Longest product description, in characters after trimming.
pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
/// Highest price in minor units: 100 million in a two-decimal currency.
///
/// Far above any real catalog price, yet low enough that a cart line of a million units
/// (1e16) cannot overflow `i64` (9.2e18) in later arithmetic.
pub const PRICE_MAX_MINOR: i64 = 10_000_000_000;
/// Most variants per product.
pub const MAX_VARIANTS: usize = 100;
/// Longest SKU, in characters (`[A-Za-z0-9._-]`).
pub const SKU_MAX_CHARS: usize = 64;
/// Longest variant name, in characters.
pub const VARIANT_NAME_MAX_CHARS: usize = 200;
/// Most attributes on a product.
pub const MAX_ATTRIBUTES: usize = 50;
/// Most attributes on one variant (`size`, `color` …); variants differ in a few dimensions.
pub const MAX_VARIANT_ATTRIBUTES: usize = 10;
/// Longest attribute key, in characters.
pub const ATTRIBUTE_KEY_MAX_CHARS: usize = 64;
/// Longest attribute value, in characters.
pub const ATTRIBUTE_VALUE_MAX_CHARS: usize = 256;
/// Most image URLs per product.
pub const MAX_IMAGES: usize = 20;
/// Longest image URL, in characters.
pub const URL_MAX_CHARS: usize = 2_048;
/// Longest seller id (a JWT `sub`), in characters.
pub const SELLER_ID_MAX_CHARS: usize = 128;
/// Largest product, as the bytes of its JSON form ([`ProductView`]).
pub const MAX_PRODUCT_JSON_BYTES: usize = 100 * 1024;

/// The names of the fields a change can touch, as they appear in `changedFields`.
pub const PRODUCT_FIELDS: [&str; 10] = [
    "name",
    "description",
    "price",
    "currency",
    "categoryId",
    "brandId",
    "status",
    "attributes",
    "variants",
    "images",
];

/// Fields a client can read but never write.
const READ_ONLY: [&str; 4] = ["id", "version", "createdAt", "updatedAt"];
/// Fields a merge patch may not touch: the read-only ones plus the owner.
const NOT_PATCHABLE: [&str; 5] = ["id", "sellerId", "version", "createdAt", "updatedAt"];
/// Every key of [`ProductInput`]'s JSON form.
const INPUT_FIELDS: [&str; 11] = [
    "name",
    "description",
    "price",
    "currency",
    "categoryId",
    "brandId",
    "sellerId",
    "status",
    "attributes",
    "variants",
    "images",
];

/// Where a product is in its life; see the module docs for the allowed transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    /// Being prepared; visible only to its seller and admins.
    Draft,
    /// Listed publicly and purchasable.
    Active,
    /// Withdrawn from sale; kept for orders, reviews and links.
    Archived,
}

impl ProductStatus {
    /// The wire form: `draft`, `active`, `archived`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    /// Whether a product in this status may move to `next`.
    pub fn can_become(self, next: ProductStatus) -> bool {
        use ProductStatus::*;
        self == next
            || matches!(
                (self, next),
                (Draft, Active) | (Draft, Archived) | (Active, Archived) | (Archived, Active)
            )
    }
}

impl std::str::FromStr for ProductStatus {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(Self::Draft),
            "active" => Ok(Self::Active),
            "archived" => Ok(Self::Archived),
            _ => Err(DomainError::validation(
                "status",
                "must be one of `draft`, `active`, `archived`",
            )),
        }
    }
}

impl std::fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One purchasable variant of a product (a size, a color).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Stock-keeping unit, unique within the product (case-insensitively).
    pub sku: String,
    /// Display name, e.g. `Large / Blue`.
    pub name: String,
    /// What distinguishes this variant (`size` → `L`).
    pub attributes: BTreeMap<String, String>,
    /// Its own price, always in the product's currency; `None` means the product's price.
    pub price: Option<Money>,
}

impl Variant {
    /// The price a customer pays for this variant.
    pub fn effective_price(&self, product_price: Money) -> Money {
        self.price.unwrap_or(product_price)
    }
}

/// A product in the catalog. Serializes as (and only as) its [`ProductView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ProductView", from = "ProductView")]
pub struct Product {
    /// Its id, fixed at creation.
    pub id: ProductId,
    /// Display name, trimmed.
    pub name: String,
    /// Free text, possibly empty.
    pub description: String,
    /// The base price; variants may override it in the same currency.
    pub price: Money,
    /// The category it is listed under.
    pub category_id: CategoryId,
    /// Its brand.
    pub brand_id: BrandId,
    /// The owning seller: the JWT `sub` of a Seller, or the one an Admin named.
    pub seller_id: String,
    /// Where it is in its life.
    pub status: ProductStatus,
    /// Free-form specification (`material` → `cotton`).
    pub attributes: BTreeMap<String, String>,
    /// Purchasable variants; may be empty (the product itself is then the purchasable unit).
    pub variants: Vec<Variant>,
    /// Image URLs, first one is the main image.
    pub images: Vec<String>,
    /// Optimistic-concurrency version: 1 at creation, +1 per change.
    pub version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The JSON form of a [`Product`], as the API returns it and events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    /// Product id.
    pub id: ProductId,
    /// Display name.
    pub name: String,
    /// Description, possibly empty.
    pub description: String,
    /// Base price in minor units of `currency`.
    pub price: i64,
    /// ISO 4217 code of `price` and of every variant price.
    pub currency: Currency,
    /// Category id.
    pub category_id: CategoryId,
    /// Brand id.
    pub brand_id: BrandId,
    /// Owner's JWT `sub`.
    pub seller_id: String,
    /// `draft`, `active` or `archived`.
    pub status: ProductStatus,
    /// Free-form specification.
    pub attributes: BTreeMap<String, String>,
    /// Variants.
    pub variants: Vec<VariantView>,
    /// Image URLs.
    pub images: Vec<String>,
    /// The version, also the ETag.
    pub version: u64,
    /// Creation time, RFC 3339 UTC.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change, RFC 3339 UTC.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The JSON form of a [`Variant`]; `price` (minor units) is absent when it inherits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    /// SKU.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Distinguishing attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Own price in minor units of the product's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            price: p.price.amount_minor,
            currency: p.price.currency,
            category_id: p.category_id,
            brand_id: p.brand_id,
            seller_id: p.seller_id,
            status: p.status,
            attributes: p.attributes,
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantView {
                    sku: v.sku,
                    name: v.name,
                    attributes: v.attributes,
                    price: v.price.map(|m| m.amount_minor),
                })
                .collect(),
            images: p.images,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Reading back a stored or published product does not re-validate: limits may tighten
/// later, and an old item must still load (it is re-validated on its next change).
impl From<ProductView> for Product {
    fn from(v: ProductView) -> Self {
        let currency = v.currency;
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            price: Money::new(v.price, currency),
            category_id: v.category_id,
            brand_id: v.brand_id,
            seller_id: v.seller_id,
            status: v.status,
            attributes: v.attributes,
            variants: v
                .variants
                .into_iter()
                .map(|v| Variant {
                    sku: v.sku,
                    name: v.name,
                    attributes: v.attributes,
                    price: v.price.map(|amount| Money::new(amount, currency)),
                })
                .collect(),
            images: v.images,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// The body of `POST` and `PUT /api/products…`, and the document a merge patch edits.
///
/// Loosely typed on purpose (ids, currency and status as strings, required numbers as
/// `Option`): a bad currency, a bad status and a missing price are then all reported
/// together by validation instead of serde stopping at the first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ProductInput {
    /// Display name, 1–200 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Up to 5,000 characters; may be omitted.
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    /// Base price in minor units, > 0. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    /// ISO 4217 code. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Category id (ULID). Required; must exist (the handler checks, 422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    /// Brand id (ULID). Required; must exist (the handler checks, 422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    /// Owner; only an Admin may name someone else (see [`ProductInput::owner`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// `draft` (default on create), `active` or `archived`; omitted on PUT keeps the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Free-form specification.
    #[serde(deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
    /// Variants, replaced as a whole.
    #[serde(deserialize_with = "null_as_default")]
    pub variants: Vec<VariantInput>,
    /// Image URLs.
    #[serde(deserialize_with = "null_as_default")]
    pub images: Vec<String>,
}

/// One variant in a [`ProductInput`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VariantInput {
    /// SKU, 1–64 of `[A-Za-z0-9._-]`, unique within the product.
    #[serde(deserialize_with = "null_as_default")]
    pub sku: String,
    /// Display name, 1–200 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Distinguishing attributes.
    #[serde(deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
    /// Own price in minor units of the product's currency; omitted inherits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

impl ProductInput {
    /// Reads an input from a JSON document, reporting every unknown or read-only top-level
    /// key at once (`id` → "is read-only") and a wrong type under its path
    /// (`variants[1].price`).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        if validate::check_keys(&mut errors, value, &INPUT_FIELDS, &READ_ONLY) {
            // Type errors are reported only once the keys are right: serde would otherwise
            // just repeat the first unknown key.
            if errors.is_empty() {
                return validate::from_value(value);
            }
        }
        errors.finish(Self::default())
    }

    /// The seller who will own a new product.
    ///
    /// A Seller always owns what they create: naming anyone else is a 403. An Admin may name
    /// any seller, and owns the product themself when naming none.
    pub fn owner(&self, caller_sub: &str, caller_is_admin: bool) -> Result<String, DomainError> {
        match &self.seller_id {
            Some(named) if named != caller_sub && !caller_is_admin => Err(DomainError::Forbidden(
                "only an admin may create a product for another seller".to_owned(),
            )),
            Some(named) => Ok(named.clone()),
            None => Ok(caller_sub.to_owned()),
        }
    }
}

/// The validated, typed fields of an input.
struct Fields {
    name: String,
    description: String,
    price: Money,
    category_id: CategoryId,
    brand_id: BrandId,
    status: ProductStatus,
    attributes: BTreeMap<String, String>,
    variants: Vec<Variant>,
    images: Vec<String>,
}

impl Product {
    /// A new product from `input`, owned by `seller_id` (resolve it with
    /// [`ProductInput::owner`]), at version 1.
    ///
    /// Every field problem is reported at once as [`DomainError::Validation`]. That the
    /// category and brand exist is the handler's check (422), as it needs the stores.
    pub fn create(
        input: ProductInput,
        seller_id: &str,
        now: DateTime<Utc>,
        id: ProductId,
    ) -> Result<Product, DomainError> {
        let mut errors = Errors::default();
        let seller_id = errors.text("sellerId", seller_id, 1, SELLER_ID_MAX_CHARS, Lines::Single);
        let fields = validate_fields(&input, None, errors)?;
        let product = Product {
            id,
            seller_id,
            version: 1,
            created_at: now,
            updated_at: now,
            ..fields.into_product_parts()
        };
        check_size(&product)?;
        Ok(product)
    }

    /// This product with every writable field replaced by `input` (PUT), and the names of
    /// the fields that changed.
    ///
    /// When nothing changed, the product comes back as it is (same version, same
    /// `updatedAt`) with an empty list: the handler then writes nothing and emits no event,
    /// which makes a repeated PUT a true no-op. Otherwise the version is bumped.
    pub fn replace(
        &self,
        input: ProductInput,
        now: DateTime<Utc>,
    ) -> Result<(Product, Vec<&'static str>), DomainError> {
        let mut errors = Errors::default();
        if input
            .seller_id
            .as_ref()
            .is_some_and(|s| *s != self.seller_id)
        {
            errors.push("sellerId", "cannot be changed; a product keeps its seller");
        }
        let fields = validate_fields(&input, Some(self.status), errors)?;
        let candidate = Product {
            id: self.id,
            seller_id: self.seller_id.clone(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            ..fields.into_product_parts()
        };
        let changed = changed_fields(self, &candidate);
        if changed.is_empty() {
            return Ok((self.clone(), changed));
        }
        let next = Product {
            version: self.version + 1,
            updated_at: now,
            ..candidate
        };
        check_size(&next)?;
        Ok((next, changed))
    }

    /// This product with a JSON merge patch (RFC 7396) applied (PATCH), and the names of the
    /// fields that changed.
    ///
    /// The patch is applied to the product's input form ([`Product::to_input`]) and the
    /// result validated as a whole, exactly like a PUT. `id`, `sellerId`, `version`,
    /// `createdAt` and `updatedAt` cannot be patched (400 naming each). `null` removes: an
    /// attribute key, a variant's own price (it then inherits), the description (it becomes
    /// empty), or `status` (it is kept). Removing a required field (`"price": null`) is a
    /// 400 "is required". Arrays (`variants`, `images`) are replaced whole, as RFC 7396 says.
    pub fn patch(
        &self,
        patch: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(Product, Vec<&'static str>), DomainError> {
        let Some(object) = patch.as_object() else {
            return Err(DomainError::validation(
                "body",
                "a merge patch must be a JSON object",
            ));
        };
        let mut errors = Errors::default();
        for key in object.keys() {
            if NOT_PATCHABLE.contains(&key.as_str()) {
                errors.push(key.as_str(), "cannot be patched");
            }
        }
        errors.finish(())?;
        let mut document = serde_json::to_value(self.to_input())
            .map_err(|e| DomainError::Internal(format!("cannot serialize product input: {e}")))?;
        merge_patch(&mut document, patch);
        let input = ProductInput::from_json(&document)?;
        self.replace(input, now)
    }

    /// The product's writable fields as an input, the document a merge patch edits.
    /// `sellerId` is left out, as it cannot change.
    pub fn to_input(&self) -> ProductInput {
        ProductInput {
            name: self.name.clone(),
            description: self.description.clone(),
            price: Some(self.price.amount_minor),
            currency: Some(self.price.currency.code().to_owned()),
            category_id: Some(self.category_id.to_string()),
            brand_id: Some(self.brand_id.to_string()),
            seller_id: None,
            status: Some(self.status.as_str().to_owned()),
            attributes: self.attributes.clone(),
            variants: self
                .variants
                .iter()
                .map(|v| VariantInput {
                    sku: v.sku.clone(),
                    name: v.name.clone(),
                    attributes: v.attributes.clone(),
                    price: v.price.map(|m| m.amount_minor),
                })
                .collect(),
            images: self.images.clone(),
        }
    }

    /// The strong ETag of this version, `"7"`; see [`crate::domain::etag`].
    pub fn etag(&self) -> String {
        Versioned::etag(self)
    }

    /// Whether a Guest may see it: only active products are public.
    pub fn is_public(&self) -> bool {
        self.status == ProductStatus::Active
    }

    /// The product's JSON form.
    pub fn to_view(&self) -> ProductView {
        self.clone().into()
    }
}

impl Versioned for Product {
    fn version(&self) -> u64 {
        self.version
    }
}

impl Fields {
    /// A product with these fields and placeholder identity, to be completed with `..`.
    fn into_product_parts(self) -> Product {
        Product {
            id: ProductId::from_ulid(ulid::Ulid::nil()),
            name: self.name,
            description: self.description,
            price: self.price,
            category_id: self.category_id,
            brand_id: self.brand_id,
            seller_id: String::new(),
            status: self.status,
            attributes: self.attributes,
            variants: self.variants,
            images: self.images,
            version: 0,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// The names of the writable fields that differ between `old` and `new`, in
/// [`PRODUCT_FIELDS`] order.
pub fn changed_fields(old: &Product, new: &Product) -> Vec<&'static str> {
    let differs = [
        old.name != new.name,
        old.description != new.description,
        old.price.amount_minor != new.price.amount_minor,
        old.price.currency != new.price.currency,
        old.category_id != new.category_id,
        old.brand_id != new.brand_id,
        old.status != new.status,
        old.attributes != new.attributes,
        old.variants != new.variants,
        old.images != new.images,
    ];
    PRODUCT_FIELDS
        .iter()
        .zip(differs)
        .filter_map(|(name, d)| d.then_some(*name))
        .collect()
}

/// Validates every writable field of `input`, adding to the `errors` already collected.
/// `current` is the status before a replace, `None` on create.
fn validate_fields(
    input: &ProductInput,
    current: Option<ProductStatus>,
    mut e: Errors,
) -> Result<Fields, DomainError> {
    let name = e.text("name", &input.name, 1, NAME_MAX_CHARS, Lines::Single);
    let description = e.text(
        "description",
        &input.description,
        0,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
    );

    let currency = match input.currency.as_deref() {
        None => {
            e.push("currency", "is required");
            None
        }
        Some(code) => match code.parse::<Currency>() {
            Ok(c) => Some(c),
            Err(err) => {
                e.absorb(err);
                None
            }
        },
    };
    let price = match input.price {
        None => {
            e.push("price", "is required");
            None
        }
        Some(amount) => check_amount(&mut e, "price", amount),
    };
    let category_id =
        validate::parse_id::<CategoryId>(&mut e, "categoryId", input.category_id.as_deref());
    let brand_id = validate::parse_id::<BrandId>(&mut e, "brandId", input.brand_id.as_deref());
    let status = check_status(&mut e, input.status.as_deref(), current);

    check_attributes(&mut e, "attributes", &input.attributes, MAX_ATTRIBUTES);

    // A list over its limit is one error, and its elements are not checked: 300,000 empty
    // variants are one "at most 100", not 600,000 errors (see `validate`).
    let too_many_variants = input.variants.len() > MAX_VARIANTS;
    if too_many_variants {
        e.push(
            "variants",
            format!(
                "must have at most {MAX_VARIANTS} entries (got {})",
                input.variants.len()
            ),
        );
    }
    let checked_variants = if too_many_variants {
        &[][..]
    } else {
        &input.variants[..]
    };
    // SKUs are compared case-insensitively: warehouses and barcode scanners often do not
    // keep case, so `ab-1` and `AB-1` would be the same shelf.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut variants = Vec::with_capacity(checked_variants.len());
    for (i, v) in checked_variants.iter().enumerate() {
        let at = |field: &str| format!("variants[{i}].{field}");
        let sku_ok = !v.sku.is_empty()
            && v.sku.chars().count() <= SKU_MAX_CHARS
            && v.sku
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !sku_ok {
            e.push(
                at("sku"),
                format!("must be 1–{SKU_MAX_CHARS} characters of A–Z, a–z, 0–9, `.`, `_`, `-`"),
            );
        } else if let Some(first) = seen.insert(v.sku.to_ascii_lowercase(), i) {
            e.push(at("sku"), format!("duplicates variants[{first}].sku"));
        }
        let name = e.text(
            &at("name"),
            &v.name,
            1,
            VARIANT_NAME_MAX_CHARS,
            Lines::Single,
        );
        check_attributes(
            &mut e,
            &at("attributes"),
            &v.attributes,
            MAX_VARIANT_ATTRIBUTES,
        );
        let price = v
            .price
            .and_then(|amount| check_amount(&mut e, &at("price"), amount));
        variants.push((v.sku.clone(), name, v.attributes.clone(), price));
    }

    if input.images.len() > MAX_IMAGES {
        e.push(
            "images",
            format!(
                "must have at most {MAX_IMAGES} entries (got {})",
                input.images.len()
            ),
        );
    } else {
        for (i, url) in input.images.iter().enumerate() {
            e.http_url(&format!("images[{i}]"), url, URL_MAX_CHARS);
        }
    }

    match (currency, price, category_id, brand_id, status) {
        (Some(currency), Some(price), Some(category_id), Some(brand_id), Some(status))
            if e.is_empty() =>
        {
            Ok(Fields {
                name,
                description,
                price: Money::new(price, currency),
                category_id,
                brand_id,
                status,
                attributes: input.attributes.clone(),
                variants: variants
                    .into_iter()
                    .map(|(sku, name, attributes, price)| Variant {
                        sku,
                        name,
                        attributes,
                        // Variant prices carry no currency of their own: one product, one
                        // currency, so a cart never mixes them within a product.
                        price: price.map(|amount| Money::new(amount, currency)),
                    })
                    .collect(),
                images: input.images.clone(),
            })
        }
        _ => {
            // Every `None` above pushed its error, so this is never an empty 400.
            debug_assert!(!e.is_empty());
            Err(e.finish(()).unwrap_err())
        }
    }
}

fn check_amount(e: &mut Errors, field: &str, amount: i64) -> Option<i64> {
    if amount <= 0 {
        e.push(
            field,
            "must be greater than 0 (an integer in minor units, e.g. 1999 for 19.99)",
        );
        None
    } else if amount > PRICE_MAX_MINOR {
        e.push(
            field,
            format!("must be at most {PRICE_MAX_MINOR} minor units"),
        );
        None
    } else {
        Some(amount)
    }
}

fn check_status(
    e: &mut Errors,
    requested: Option<&str>,
    current: Option<ProductStatus>,
) -> Option<ProductStatus> {
    let requested = match requested.map(str::parse::<ProductStatus>) {
        None => return Some(current.unwrap_or(ProductStatus::Draft)),
        Some(Err(err)) => {
            e.absorb(err);
            return None;
        }
        Some(Ok(status)) => status,
    };
    match current {
        None if requested == ProductStatus::Archived => {
            e.push("status", "a new product must be `draft` or `active`");
            None
        }
        Some(from) if !from.can_become(requested) => {
            let hint = if requested == ProductStatus::Draft {
                "; a published product cannot return to draft, archive it instead"
            } else {
                ""
            };
            e.push(
                "status",
                format!("cannot change from `{from}` to `{requested}`{hint}"),
            );
            None
        }
        _ => Some(requested),
    }
}

fn check_attributes(
    e: &mut Errors,
    field: &str,
    attributes: &BTreeMap<String, String>,
    max: usize,
) {
    if attributes.len() > max {
        // One error for the map, none for its entries, as for the lists.
        e.push(
            field,
            format!("must have at most {max} entries (got {})", attributes.len()),
        );
        return;
    }
    for (key, value) in attributes {
        let at = format!("{field}.{key}");
        let key_chars = key.chars().count();
        if key.trim().is_empty() || key.trim() != key || key_chars > ATTRIBUTE_KEY_MAX_CHARS {
            e.push(
                at.clone(),
                format!(
                    "the key must be 1–{ATTRIBUTE_KEY_MAX_CHARS} characters without surrounding whitespace"
                ),
            );
        } else if key.chars().any(char::is_control) {
            e.push(at.clone(), "the key must not contain control characters");
        }
        if value.chars().count() > ATTRIBUTE_VALUE_MAX_CHARS {
            e.push(
                at.clone(),
                format!("must be at most {ATTRIBUTE_VALUE_MAX_CHARS} characters"),
            );
        } else if value.chars().any(char::is_control) {
            e.push(at, "must not contain control characters");
        }
    }
}

fn check_size(product: &Product) -> Result<(), DomainError> {
    let bytes = serde_json::to_vec(product)
        .map_err(|e| DomainError::Internal(format!("cannot serialize product: {e}")))?
        .len();
    if bytes > MAX_PRODUCT_JSON_BYTES {
        return Err(DomainError::validation(
            "body",
            format!(
                "the product is {bytes} bytes as JSON, more than the {MAX_PRODUCT_JSON_BYTES} allowed; \
                 shorten the description, attributes or variants"
            ),
        ));
    }
    Ok(())
}
