//! [`DynamoCarts`]: the [`CartStore`] and the [`ProductProjection`] on the cart's table.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | a user's cart | `USER#<userId>` | `CART` |
//! | a guest cart | `GUEST#<cartId>` | `CART` (`type` `cart`, or `merged` once merged) |
//! | a product | `PRODUCT#<productId>` | `PRODUCT` |
//!
//! A cart is one item: its lines are the map `cartLines` keyed by item id, with `lineCount`
//! beside it, so every rule is the condition of one `UpdateItem` and no transaction is
//! needed except the merge's:
//!
//! - add to a line: `cartLines.#u.quantity <= 99 − q` (and the cart's currency);
//! - a new line: `attribute_not_exists(cartLines.#u) AND lineCount < 50 AND (currency = :c OR
//!   lineCount = 0 OR attribute_not_exists(currency))`;
//! - every write: `#type = cart AND expiresAt > now` (TTL deletion lags; an expired cart is
//!   no cart);
//! - the merge: the guest cart becomes `merged` on its version read, and the user's cart is
//!   put on its version read, in one `TransactWriteItems`.
//!
//! `expiresAt` is epoch seconds (the table's TTL attribute). TTL deletes the whole cart at
//! once, lines and all, because they are one item.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{n, s, timestamp};
use shop_adapters::dynamo::{Item, batch_get, is_condition_failed, put_if_newer, to_item};
use shop_domain::{CartId, Currency, DomainError, OrderId, ProductId, UserId};

use crate::domain::{
    Cart, CartOwner, CartStore, Cleared, GUEST_CART_DAYS, Line, LineAdd, MAX_LINES, MAX_QUANTITY,
    MergedGuest, ProductFacts, ProductProjection, Refusal, Sku, Unit, expiry,
};

/// The cart's table.
#[derive(Debug, Clone)]
pub struct DynamoCarts {
    client: Client,
    table: String,
}

const CART_SK: &str = "CART";
const PRODUCT_SK: &str = "PRODUCT";
/// How often a write whose condition failed because of a race is tried again.
const ATTEMPTS: usize = 5;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<Sku>,
    quantity: u32,
    added_price: i64,
    #[serde(with = "shop_domain::timestamp")]
    added_at: DateTime<Utc>,
    #[serde(with = "shop_domain::timestamp")]
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    currency: Option<Currency>,
    #[serde(default)]
    line_count: u32,
    #[serde(default)]
    cart_lines: BTreeMap<String, LineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    discount_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merged_into: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cleared: Option<Cleared>,
    #[serde(default)]
    version: u64,
    #[serde(default, with = "optional_timestamp")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, with = "optional_timestamp")]
    updated_at: Option<DateTime<Utc>>,
    /// Epoch seconds: the TTL attribute.
    expires_at: i64,
}

mod optional_timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|at| at.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    facts: ProductFacts,
}

fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

fn parse_owner(pk: &str) -> Result<CartOwner, DomainError> {
    let bad = || DomainError::Internal(format!("`{pk}` is not a cart key"));
    if let Some(id) = pk.strip_prefix("USER#") {
        id.parse().map(CartOwner::User).map_err(|_| bad())
    } else if let Some(id) = pk.strip_prefix("GUEST#") {
        id.parse().map(CartOwner::Guest).map_err(|_| bad())
    } else {
        Err(bad())
    }
}

impl CartItem {
    fn from_cart(cart: &Cart) -> Self {
        Self {
            pk: cart.owner.to_string(),
            sk: CART_SK.to_owned(),
            r#type: "cart".to_owned(),
            currency: cart.currency,
            line_count: cart.lines.len() as u32,
            cart_lines: cart
                .lines
                .iter()
                .map(|l| (l.unit.item_id().to_string(), LineItem::from_line(l)))
                .collect(),
            discount_code: cart.discount_code.clone(),
            token_hash: cart.token_hash.clone(),
            merged_into: None,
            cleared: cart.cleared,
            version: cart.version,
            created_at: Some(cart.created_at),
            updated_at: Some(cart.updated_at),
            expires_at: cart.expires_at.timestamp(),
        }
    }

    fn into_cart(self) -> Result<Cart, DomainError> {
        let owner = parse_owner(&self.pk)?;
        let mut lines: Vec<Line> = self
            .cart_lines
            .into_values()
            .map(|l| Line {
                unit: Unit {
                    product_id: l.product_id,
                    sku: l.sku,
                },
                quantity: l.quantity,
                added_price: l.added_price,
                added_at: l.added_at,
                updated_at: l.updated_at,
            })
            .collect();
        lines.sort_by_key(|l| (l.added_at, l.unit.item_id()));
        let missing = || DomainError::Internal(format!("cart {} has no timestamps", self.pk));
        Ok(Cart {
            owner,
            currency: self.currency,
            lines,
            discount_code: self.discount_code,
            token_hash: self.token_hash,
            cleared: self.cleared,
            version: self.version,
            created_at: self.created_at.ok_or_else(missing)?,
            updated_at: self.updated_at.ok_or_else(missing)?,
            expires_at: DateTime::from_timestamp(self.expires_at, 0).ok_or_else(missing)?,
        })
    }
}

impl LineItem {
    fn from_line(line: &Line) -> Self {
        Self {
            product_id: line.unit.product_id,
            sku: line.unit.sku.clone(),
            quantity: line.quantity,
            added_price: line.added_price,
            added_at: line.added_at,
            updated_at: line.updated_at,
        }
    }
}

/// The two writes of an add.
#[derive(Clone, Copy)]
enum Attempt {
    /// Onto the unit's line.
    Onto,
    /// As a new line.
    New,
}

/// What a failed single-item write means.
enum Written {
    Yes,
    ConditionFailed,
}

impl DynamoCarts {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn item(&self, pk: String) -> Result<Option<CartItem>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, CART_SK, true).await
    }

    /// An `UpdateItem` of `owner`'s live cart that also moves its expiry and version:
    /// `update` is the rest of the SET clause (or empty), `extra` more conditions.
    #[allow(clippy::too_many_arguments)]
    async fn update_live(
        &self,
        owner: &CartOwner,
        set: &str,
        remove: Option<&str>,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        now: DateTime<Utc>,
    ) -> Result<Written, DomainError> {
        let mut expression = format!(
            "SET updatedAt = :at, expiresAt = :exp, version = version + :one{}{set}",
            if set.is_empty() { "" } else { ", " }
        );
        if let Some(remove) = remove {
            expression.push_str(" REMOVE ");
            expression.push_str(remove);
        }
        let mut condition_expression = "#type = :cart AND expiresAt > :now".to_owned();
        if !condition.is_empty() {
            condition_expression.push_str(" AND ");
            condition_expression.push_str(condition);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(owner.to_string()))
            .key("sk", s(CART_SK))
            .update_expression(expression)
            .condition_expression(condition_expression)
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":cart", s("cart"))
            .expression_attribute_values(":at", timestamp(now))
            .expression_attribute_values(":exp", n(expiry(*owner, now).timestamp()))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":one", n(1));
        for (name, value) in names {
            request = request.expression_attribute_names(*name, *value);
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(Written::Yes),
            Err(err) if is_condition_failed(&err) => Ok(Written::ConditionFailed),
            Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
        }
    }

    /// The live cart of `owner`, read after a refused write to say why.
    async fn live(
        &self,
        owner: &CartOwner,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, DomainError> {
        Ok(self.cart(owner).await?.filter(|c| !c.is_expired(now)))
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains("#type") {
            put = put.expression_attribute_names("#type", "type");
        }
        for (name, value) in values {
            put = put.expression_attribute_values(name, value);
        }
        let put = put
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a Put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl CartStore for DynamoCarts {
    async fn cart(&self, owner: &CartOwner) -> Result<Option<Cart>, DomainError> {
        match self.item(owner.to_string()).await? {
            Some(item) if item.r#type == "cart" => item.into_cart().map(Some),
            _ => Ok(None),
        }
    }

    async fn start_cart(&self, cart: &Cart, now: DateTime<Utc>) -> Result<bool, DomainError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&CartItem::from_cart(cart))?))
            .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
        }
    }

    async fn add(
        &self,
        owner: &CartOwner,
        add: &LineAdd,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let item_id = add.unit.item_id().to_string();
        let names = [("#u", item_id.as_str())];
        let line: AttributeValue = serde_dynamo::to_attribute_value(LineItem {
            product_id: add.unit.product_id,
            sku: add.unit.sku.clone(),
            quantity: add.quantity,
            added_price: add.unit_price,
            added_at: now,
            updated_at: now,
        })
        .map_err(|e| DomainError::Internal(format!("cannot map a cart line: {e}")))?;
        for _ in 0..ATTEMPTS {
            let order = if add.line_seen {
                [Attempt::Onto, Attempt::New]
            } else {
                [Attempt::New, Attempt::Onto]
            };
            let mut written = false;
            for attempt in order {
                let result = match attempt {
                    // Onto the unit's line, never past 99.
                    Attempt::Onto => {
                        self.update_live(
                            owner,
                            "cartLines.#u.quantity = cartLines.#u.quantity + :q, \
                             cartLines.#u.addedPrice = :p, cartLines.#u.updatedAt = :at",
                            None,
                            "attribute_exists(cartLines.#u) AND cartLines.#u.quantity <= :limit \
                             AND currency = :c",
                            &names,
                            vec![
                                (":q", n(add.quantity)),
                                (":p", n(add.unit_price)),
                                (":limit", n(MAX_QUANTITY.saturating_sub(add.quantity))),
                                (":c", s(add.currency.code())),
                            ],
                            now,
                        )
                        .await?
                    }
                    // A new line, never the 51st, never in a second currency.
                    Attempt::New => {
                        self.update_live(
                            owner,
                            "cartLines.#u = :line, lineCount = lineCount + :one, currency = :c",
                            None,
                            "attribute_not_exists(cartLines.#u) AND lineCount < :max \
                             AND (attribute_not_exists(currency) OR currency = :c \
                             OR lineCount = :zero)",
                            &names,
                            vec![
                                (":line", line.clone()),
                                (":max", n(MAX_LINES)),
                                (":zero", n(0)),
                                (":c", s(add.currency.code())),
                            ],
                            now,
                        )
                        .await?
                    }
                };
                if let Written::Yes = result {
                    written = true;
                    break;
                }
            }
            if written {
                return Ok(Ok(()));
            }
            // Both refused: read why. A race (the line appeared or went meanwhile) tries again.
            let Some(cart) = self.live(owner, now).await? else {
                return Ok(Err(Refusal::NoCart));
            };
            match cart.line(&add.unit) {
                Some(_) if cart.currency.is_some_and(|c| c != add.currency) => {
                    return Ok(Err(Refusal::OtherCurrency(
                        cart.currency.unwrap_or(add.currency),
                    )));
                }
                Some(line) if line.quantity + add.quantity > MAX_QUANTITY => {
                    return Ok(Err(Refusal::TooMany { has: line.quantity }));
                }
                None if cart.lines.len() as u32 >= MAX_LINES => {
                    return Ok(Err(Refusal::TooManyLines));
                }
                None => match cart.currency {
                    Some(currency) if !cart.lines.is_empty() && currency != add.currency => {
                        return Ok(Err(Refusal::OtherCurrency(currency)));
                    }
                    _ => {}
                },
                Some(_) => {}
            }
        }
        Err(DomainError::Conflict(
            "the cart kept changing while adding; retry".to_owned(),
        ))
    }

    async fn set_quantity(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let item_id = unit.item_id().to_string();
        let written = self
            .update_live(
                owner,
                "cartLines.#u.quantity = :q, cartLines.#u.updatedAt = :at",
                None,
                "attribute_exists(cartLines.#u)",
                &[("#u", item_id.as_str())],
                vec![(":q", n(quantity))],
                now,
            )
            .await?;
        self.explain(owner, written, now).await
    }

    async fn remove_line(
        &self,
        owner: &CartOwner,
        unit: &Unit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let item_id = unit.item_id().to_string();
        let written = self
            .update_live(
                owner,
                "lineCount = lineCount - :one",
                Some("cartLines.#u"),
                "attribute_exists(cartLines.#u)",
                &[("#u", item_id.as_str())],
                Vec::new(),
                now,
            )
            .await?;
        self.explain(owner, written, now).await
    }

    async fn set_discount_code(
        &self,
        owner: &CartOwner,
        code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let written = match code {
            Some(code) => {
                self.update_live(
                    owner,
                    "discountCode = :code",
                    None,
                    "",
                    &[],
                    vec![(":code", s(code))],
                    now,
                )
                .await?
            }
            None => {
                self.update_live(owner, "", Some("discountCode"), "", &[], Vec::new(), now)
                    .await?
            }
        };
        match written {
            Written::Yes => Ok(Ok(())),
            Written::ConditionFailed => Ok(Err(Refusal::NoCart)),
        }
    }

    async fn clear_order_lines(
        &self,
        owner: &CartOwner,
        order: OrderId,
        units: &[Unit],
        now: DateTime<Utc>,
    ) -> Result<u32, DomainError> {
        for _ in 0..ATTEMPTS {
            let Some(cart) = self.live(owner, now).await? else {
                return Ok(0);
            };
            if let Some(cleared) = cart.cleared.filter(|c| c.order_id == order) {
                return Ok(cleared.removed);
            }
            let mut present: Vec<String> = units
                .iter()
                .filter(|u| cart.line(u).is_some())
                .map(|u| u.item_id().to_string())
                .collect();
            present.sort();
            present.dedup();
            let removed = present.len() as u32;
            let names: Vec<(String, &str)> = present
                .iter()
                .enumerate()
                .map(|(i, id)| (format!("#u{i}"), id.as_str()))
                .collect();
            let mut remove: Vec<String> = names
                .iter()
                .map(|(name, _)| format!("cartLines.{name}"))
                .collect();
            remove.push("discountCode".to_owned());
            let cleared = AttributeValue::M(
                [
                    ("orderId".to_owned(), s(order.to_string())),
                    ("removed".to_owned(), n(removed)),
                ]
                .into(),
            );
            let names: Vec<(&str, &str)> = names.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            // On the version read: a line added or removed meanwhile makes it read again.
            let written = self
                .update_live(
                    owner,
                    "lineCount = lineCount - :removed, cleared = :cleared",
                    Some(&remove.join(", ")),
                    "version = :read",
                    &names,
                    vec![
                        (":removed", n(removed)),
                        (":cleared", cleared),
                        (":read", n(cart.version)),
                    ],
                    now,
                )
                .await?;
            if let Written::Yes = written {
                return Ok(removed);
            }
        }
        Err(DomainError::Unavailable(
            "the cart kept changing while its order's lines were cleared; retry".to_owned(),
        ))
    }

    async fn delete_cart(&self, owner: &CartOwner) -> Result<(), DomainError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(owner.to_string()))
            .key("sk", s(CART_SK))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB DeleteItem", e))?;
        Ok(())
    }

    async fn merge(
        &self,
        guest: &Cart,
        merged: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        let CartOwner::User(user_id) = merged.owner else {
            return Err(DomainError::Internal("merge into a guest cart".into()));
        };
        let tombstone = CartItem {
            pk: guest.owner.to_string(),
            sk: CART_SK.to_owned(),
            r#type: "merged".to_owned(),
            currency: None,
            line_count: 0,
            cart_lines: BTreeMap::new(),
            discount_code: None,
            token_hash: guest.token_hash.clone(),
            merged_into: Some(user_id),
            cleared: None,
            version: guest.version + 1,
            created_at: Some(guest.created_at),
            updated_at: Some(now),
            expires_at: (now + chrono::TimeDelta::days(GUEST_CART_DAYS)).timestamp(),
        };
        let guest_put = self.put(
            to_item(&tombstone)?,
            "#type = :cart AND version = :gv",
            vec![(":cart", s("cart")), (":gv", n(guest.version))],
        )?;
        let user_put = if merged.version <= 1 {
            self.put(
                to_item(&CartItem::from_cart(merged))?,
                "attribute_not_exists(pk) OR expiresAt <= :now",
                vec![(":now", n(now.timestamp()))],
            )?
        } else {
            self.put(
                to_item(&CartItem::from_cart(merged))?,
                "#type = :cart AND version = :uv AND expiresAt > :now",
                vec![
                    (":cart", s("cart")),
                    (":uv", n(merged.version - 1)),
                    (":now", n(now.timestamp())),
                ],
            )?
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(guest_put)
            .transact_items(user_put)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            // Either cart changed since it was read, or the guest cart is gone.
            Err(err) if shop_adapters::outbox::failed_condition(&err).is_some() => {
                Ok(Err(Refusal::Changed))
            }
            Err(err) => Err(shop_adapters::outbox::transact_error(
                err,
                DomainError::Conflict("the carts changed meanwhile; retry".to_owned()),
            )),
        }
    }

    async fn merged_guest(&self, cart_id: CartId) -> Result<Option<MergedGuest>, DomainError> {
        let item = self.item(CartOwner::Guest(cart_id).to_string()).await?;
        Ok(
            item.and_then(|item| match (item.r#type.as_str(), item.merged_into) {
                ("merged", Some(user_id)) => Some(MergedGuest {
                    user_id,
                    token_hash: item.token_hash.unwrap_or_default(),
                }),
                _ => None,
            }),
        )
    }
}

impl DynamoCarts {
    /// A refused line write: no live cart, or no such line.
    async fn explain(
        &self,
        owner: &CartOwner,
        written: Written,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, DomainError> {
        match written {
            Written::Yes => Ok(Ok(())),
            Written::ConditionFailed => match self.live(owner, now).await? {
                None => Ok(Err(Refusal::NoCart)),
                Some(_) => Ok(Err(Refusal::NoLine)),
            },
        }
    }
}

#[async_trait]
impl ProductProjection for DynamoCarts {
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<ProductFacts>, DomainError> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (product_pk(*id), PRODUCT_SK.to_owned()))
            .collect();
        let items: Vec<ProductItem> = batch_get(&self.client, &self.table, &keys, false).await?;
        Ok(items.into_iter().map(|i| i.facts).collect())
    }

    async fn apply(&self, facts: &ProductFacts) -> Result<bool, DomainError> {
        let item = to_item(&ProductItem {
            pk: product_pk(facts.product_id),
            sk: PRODUCT_SK.to_owned(),
            r#type: "product".to_owned(),
            facts: facts.clone(),
        })?;
        put_if_newer(&self.client, &self.table, item, facts.version).await
    }
}
