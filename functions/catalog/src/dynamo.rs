//! The catalog's DynamoDB adapter: one table for products, categories, brands and the outbox.
//!
//! # Items
//!
//! | item            | `pk`                    | `sk`                 | also                            |
//! |-----------------|-------------------------|----------------------|---------------------------------|
//! | product         | `PRODUCT#<id>`          | `PRODUCT`            | the product's JSON fields, `nameLower`, `sellerSort`, `listShard` (active only) |
//! | category        | `CATEGORIES`            | `CATEGORY#<id>`      | the category's JSON fields      |
//! | brand           | `BRANDS`                | `BRAND#<id>`         | the brand's JSON fields         |
//! | slug guard      | `CATEGORY_SLUG#<slug>` / `BRAND_SLUG#<slug>` | `SLUG` | `owner`: the id holding it |
//! | outbox event    | `OUTBOX#<eventId>`      | `OUTBOX`             | see `shop_adapters::outbox`     |
//!
//! # Indexes (all sparse: only products carry their keys)
//!
//! - `ActiveProducts`: `listShard` (`ACTIVE#0`…`ACTIVE#3`, only while active) + `id`,
//!   projecting just what the public list filters and sorts on (`name`, `nameLower`,
//!   `price`, `currency`, `categoryId`, `brandId`, `createdAt`): about 200 bytes a product.
//! - `BySeller`: `sellerId` + `sellerSort` (`<createdAt>#<id>`), all attributes: a seller's
//!   products newest first, paged by DynamoDB itself.
//! - `ByCategory`: `categoryId`, keys only; `ByBrand`: `brandId`, keys only: "is anything
//!   still in it" before a category or brand is deleted, one item read.
//!
//! # The public list
//!
//! `GET /api/products` mixes a category subtree, a brand, a price range, a case-insensitive
//! substring of the name and three sort orders. No key design serves every combination with
//! a `Query`, and `Scan` + `FilterExpression` yields short or empty pages. So [`list`]
//! reads the whole `ActiveProducts` projection (its four shards in parallel, brand, price
//! and name filters applied by DynamoDB), filters the category subtree, sorts and cuts the
//! page in memory, then fetches the page's full items with one `BatchGetItem`. Pages are
//! exact and full, and the signed cursor is the last item's (sort key, id). The cost grows
//! with the number of active products: see docs/decisions.md for the numbers and the path
//! beyond (a search index fed by the catalog's events).
//!
//! Every write is one `TransactWriteItems` with its outbox item, conditional on the version
//! the caller read.
//!
//! [`list`]: ProductStore::list

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, Select, TransactWriteItem,
};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::{Item, from_item, to_item};
use shop_adapters::outbox::{outbox_put_event, transact_error};
use shop_domain::catalog::{
    Brand, BrandStore, Category, CategoryStore, Page, Product, ProductQuery, ProductStatus,
    ProductStore, ProductView, SortOrder,
};
use shop_domain::{BrandId, CategoryId, DomainError, OutgoingEvent, ProductId};

use crate::cursor::{CursorKey, ListCursor, SortKey};

/// How many partitions the `ActiveProducts` index is spread over: read in parallel, and no
/// single index partition carries the whole list's read traffic.
pub const LIST_SHARDS: u32 = 4;

const ACTIVE_INDEX: &str = "ActiveProducts";
const SELLER_INDEX: &str = "BySeller";
const CATEGORY_INDEX: &str = "ByCategory";
const BRAND_INDEX: &str = "ByBrand";
const CATEGORIES_PK: &str = "CATEGORIES";
const BRANDS_PK: &str = "BRANDS";

/// The catalog table; implements [`ProductStore`], [`CategoryStore`] and [`BrandStore`].
#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
    cursor: CursorKey,
}

impl DynamoCatalog {
    /// The catalog in `table`, signing list cursors with `cursor`.
    pub fn new(client: Client, table: impl Into<String>, cursor: CursorKey) -> Self {
        Self {
            client,
            table: table.into(),
            cursor,
        }
    }

    async fn get_item<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, DomainError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem", e))?;
        output.item.map(from_item).transpose()
    }

    /// Runs a transaction whose item 0 is the entity write and maps its cancellation: a
    /// failed condition on item 0 as `first` says, one on a later item (a slug guard) as
    /// `later` when given, anything else as [`transact_error`] does.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        first: FirstItem<'_>,
        later: Option<DomainError>,
    ) -> Result<(), DomainError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        let on_first = match &first {
            FirstItem::New(exists) => exists.clone(),
            FirstItem::Versioned { kind, id, .. } => DomainError::Conflict(format!(
                "{kind} `{id}` was changed or deleted by someone else; read it again"
            )),
        };
        match transact_error(err, on_first.clone()) {
            e if e == on_first => match first {
                FirstItem::New(_) => Err(e),
                // Gone, or at another version?
                FirstItem::Versioned { pk, sk, kind, id } => {
                    match self.get_item::<serde::de::IgnoredAny>(pk, sk).await? {
                        None => Err(DomainError::not_found(kind, id)),
                        Some(_) => Err(e),
                    }
                }
            },
            DomainError::Conflict(_) if later.is_some() => Err(later.expect("checked")),
            other => Err(other),
        }
    }

    /// Pages through a `Query` of one partition key value, collecting every item.
    async fn query_all(
        &self,
        index: Option<&str>,
        key_name: &str,
        key_value: String,
        filter: &Filter,
    ) -> Result<Vec<Item>, DomainError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut names = filter.names.clone();
            names.insert("#k".to_owned(), key_name.to_owned());
            let mut values = filter.values.clone();
            values.insert(":k".to_owned(), s(key_value.clone()));
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#k = :k")
                .set_filter_expression(filter.expression())
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Whether any item of `index` has `key_name = value`: one item read.
    async fn any(&self, index: &str, key_name: &str, value: String) -> Result<bool, DomainError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", key_name)
            .expression_attribute_values(":k", s(value))
            .select(Select::Count)
            .limit(1)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        Ok(output.count > 0)
    }

    /// Writes `products` as they are, without events: a bulk import (`make seed N=…` for
    /// scale runs), not a shop operation. `BatchWriteItem` in chunks of 25, resending what
    /// DynamoDB left unprocessed.
    pub async fn import(&self, products: &[Product]) -> Result<(), DomainError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in products.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|p| {
                    let put = build(
                        PutRequest::builder()
                            .set_item(Some(to_item(&ProductItem::new(p))?))
                            .build(),
                    )?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, DomainError>>()?;
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DynamoDB BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 5 {
                    return Err(DomainError::Unavailable(
                        "DynamoDB BatchWriteItem left items unprocessed after 5 retries".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
        }
        Ok(())
    }

    /// The full products of `ids`, in that order, skipping any deleted meanwhile.
    async fn batch_get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>, DomainError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| {
                HashMap::from([
                    ("pk".into(), s(product_pk(*id))),
                    ("sk".into(), s(PRODUCT_SK)),
                ])
            })
            .collect();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| DomainError::Internal(format!("cannot build BatchGetItem: {e}")))?,
        );
        let mut found: HashMap<ProductId, Product> = HashMap::new();
        let mut attempt = 0;
        while let Some(request) = pending.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB BatchGetItem", e))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let product = from_item::<ProductItem>(item)?.into_product();
                found.insert(product.id, product);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                attempt += 1;
                if attempt > 5 {
                    return Err(DomainError::Unavailable(
                        "DynamoDB BatchGetItem left keys unprocessed after 5 retries".into(),
                    ));
                }
                // Unprocessed keys mean throttling: back off before asking again.
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, DomainError> {
    result.map_err(|e| DomainError::Internal(format!("cannot build a DynamoDB request: {e}")))
}

/// What a failed condition on a transaction's first item means.
enum FirstItem<'a> {
    /// A create: the id is taken (this error).
    New(DomainError),
    /// A versioned put or delete of the item at (`pk`, `sk`): stale, or gone.
    Versioned {
        pk: String,
        sk: &'a str,
        kind: &'a str,
        id: String,
    },
}

/// A `FilterExpression` under construction.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Filter {
    fn expression(&self) -> Option<String> {
        (!self.clauses.is_empty()).then(|| self.clauses.join(" AND "))
    }

    /// The filters of `query` DynamoDB can apply itself; the category subtree is applied in
    /// memory, as `IN` takes at most 100 values.
    fn for_query(query: &ProductQuery) -> Self {
        let mut f = Filter::default();
        if let Some(brand) = query.brand {
            f.names.insert("#brand".into(), "brandId".into());
            f.values.insert(":brand".into(), s(brand.to_string()));
            f.clauses.push("#brand = :brand".into());
        }
        if query.min_price.is_some() || query.max_price.is_some() {
            f.names.insert("#price".into(), "price".into());
        }
        if let Some(min) = query.min_price {
            f.values.insert(":min".into(), n(min));
            f.clauses.push("#price >= :min".into());
        }
        if let Some(max) = query.max_price {
            f.values.insert(":max".into(), n(max));
            f.clauses.push("#price <= :max".into());
        }
        if let Some(term) = &query.search {
            f.names.insert("#nameLower".into(), "nameLower".into());
            f.values.insert(":search".into(), s(term.to_lowercase()));
            f.clauses.push("contains(#nameLower, :search)".into());
        }
        f
    }
}

// ------------------------------------------------------------------------------- products

const PRODUCT_SK: &str = "PRODUCT";

fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

fn product_item(id: ProductId) -> FirstItem<'static> {
    FirstItem::Versioned {
        pk: product_pk(id),
        sk: PRODUCT_SK,
        kind: "product",
        id: id.to_string(),
    }
}

/// The shard of the `ActiveProducts` index a product lives in: from the random end of its
/// ULID, so products spread evenly.
fn list_shard(id: ProductId) -> String {
    let random = id.ulid().random();
    format!("ACTIVE#{}", (random % u128::from(LIST_SHARDS)))
}

/// A product as stored: its API JSON plus the keys of the table and its indexes.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    product: ProductView,
    name_lower: String,
    seller_sort: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_shard: Option<String>,
}

impl ProductItem {
    fn new(product: &Product) -> Self {
        Self {
            pk: product_pk(product.id),
            sk: PRODUCT_SK.to_owned(),
            r#type: "product".to_owned(),
            product: product.to_view(),
            name_lower: product.name.to_lowercase(),
            seller_sort: seller_sort(product.created_at, product.id),
            list_shard: (product.status == ProductStatus::Active).then(|| list_shard(product.id)),
        }
    }

    fn into_product(self) -> Product {
        self.product.into()
    }
}

fn seller_sort(created_at: DateTime<Utc>, id: ProductId) -> String {
    format!(
        "{}#{id}",
        created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// What the `ActiveProducts` index projects: enough to filter, sort and cut a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListEntry {
    id: ProductId,
    name_lower: String,
    price: i64,
    category_id: CategoryId,
    created_at: String,
}

impl ListEntry {
    fn created_at(&self) -> Result<DateTime<Utc>, DomainError> {
        DateTime::parse_from_rfc3339(&self.created_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| DomainError::Internal(format!("stored createdAt is not RFC 3339: {e}")))
    }
}

fn version_put(item: Item, table: &str, expected: u64) -> Result<TransactWriteItem, DomainError> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn new_put(item: Item, table: &str) -> Result<TransactWriteItem, DomainError> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn version_delete(
    table: &str,
    pk: String,
    sk: &str,
    expected: u64,
) -> Result<TransactWriteItem, DomainError> {
    let delete = build(
        Delete::builder()
            .table_name(table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

#[async_trait]
impl ProductStore for DynamoCatalog {
    async fn get(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        let item: Option<ProductItem> = self.get_item(product_pk(id), PRODUCT_SK).await?;
        Ok(item.map(ProductItem::into_product))
    }

    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let items = vec![
            new_put(to_item(&ProductItem::new(product))?, &self.table)?,
            outbox_put_event(&self.table, &event)?,
        ];
        let exists = DomainError::Conflict(format!("product `{}` already exists", product.id));
        self.transact(items, FirstItem::New(exists), None).await
    }

    async fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let items = vec![
            version_put(
                to_item(&ProductItem::new(product))?,
                &self.table,
                expected_version,
            )?,
            outbox_put_event(&self.table, &event)?,
        ];
        self.transact(items, product_item(product.id), None).await
    }

    async fn delete(
        &self,
        id: ProductId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let items = vec![
            version_delete(&self.table, product_pk(id), PRODUCT_SK, expected_version)?,
            outbox_put_event(&self.table, &event)?,
        ];
        self.transact(items, product_item(id), None).await
    }

    async fn list(
        &self,
        query: &ProductQuery,
        categories: Option<&[CategoryId]>,
    ) -> Result<Page<Product>, DomainError> {
        let scope = query.cursor_scope();
        let signer = self.cursor.signer().await?;
        let after: Option<ListCursor> = query
            .next_token
            .as_deref()
            .map(|token| signer.decode(&scope, token))
            .transpose()?;

        let filter = Filter::for_query(query);
        let shards = (0..LIST_SHARDS).map(|shard| {
            self.query_all(
                Some(ACTIVE_INDEX),
                "listShard",
                format!("ACTIVE#{shard}"),
                &filter,
            )
        });
        let own: Vec<CategoryId> = query.category.into_iter().collect();
        let in_categories = categories.unwrap_or(&own);
        let mut entries: Vec<(SortKey, ProductId)> = Vec::new();
        for item in try_join_all(shards).await?.into_iter().flatten() {
            let entry: ListEntry = from_item(item)?;
            if query.category.is_some() && !in_categories.contains(&entry.category_id) {
                continue;
            }
            let key = SortKey::of(
                query.sort_by,
                entry.price,
                entry.created_at()?,
                &entry.name_lower,
            );
            entries.push((key, entry.id));
        }
        let ordered = |a: &(SortKey, ProductId), b: &(SortKey, ProductId)| {
            let ordering = a.cmp(b);
            match query.sort_order {
                SortOrder::Asc => ordering,
                SortOrder::Desc => ordering.reverse(),
            }
        };
        entries.sort_by(ordered);
        let start = match &after {
            None => 0,
            Some(cursor) => {
                let last = (cursor.key.clone(), cursor.id);
                entries.partition_point(|e| ordered(e, &last).is_le())
            }
        };
        let size = query.page_size as usize;
        let page = &entries[start.min(entries.len())..];
        let ids: Vec<ProductId> = page.iter().take(size).map(|(_, id)| *id).collect();
        let more = page.len() > size;
        let items: Vec<Product> = self
            .batch_get_products(&ids)
            .await?
            .into_iter()
            // Between the index read and this one a product may have been archived.
            .filter(Product::is_public)
            .collect();
        let next_token = match page.get(size.saturating_sub(1)) {
            Some((key, id)) if more => Some(signer.encode(
                &scope,
                &ListCursor {
                    key: key.clone(),
                    id: *id,
                },
            )),
            _ => None,
        };
        Ok(Page { items, next_token })
    }

    async fn list_by_seller(
        &self,
        seller_id: &str,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Product>, DomainError> {
        let scope = format!("seller|{seller_id}");
        let signer = self.cursor.signer().await?;
        let start: Option<ListCursor> = next_token
            .map(|token| signer.decode(&scope, token))
            .transpose()?;
        let start_key = match &start {
            None => None,
            Some(ListCursor {
                key: SortKey::CreatedAt(at),
                id,
            }) => Some(HashMap::from([
                ("pk".to_owned(), s(product_pk(*id))),
                ("sk".to_owned(), s(PRODUCT_SK)),
                ("sellerId".to_owned(), s(seller_id)),
                ("sellerSort".to_owned(), s(seller_sort(*at, *id))),
            ])),
            Some(_) => return Err(crate::cursor::bad_token()),
        };
        // One more than a page, to know whether another page follows without ever ending
        // on an empty one.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SELLER_INDEX)
            .key_condition_expression("sellerId = :seller")
            .expression_attribute_values(":seller", s(seller_id))
            .scan_index_forward(false)
            .limit(page_size as i32 + 1)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        let mut items: Vec<Product> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<ProductItem>(item).map(ProductItem::into_product))
            .collect::<Result<_, _>>()?;
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let next_token = match items.last() {
            Some(last) if more => Some(signer.encode(
                &scope,
                &ListCursor {
                    key: SortKey::CreatedAt(last.created_at),
                    id: last.id,
                },
            )),
            _ => None,
        };
        Ok(Page { items, next_token })
    }

    async fn any_in_category(&self, id: CategoryId) -> Result<bool, DomainError> {
        self.any(CATEGORY_INDEX, "categoryId", id.to_string()).await
    }

    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError> {
        self.any(BRAND_INDEX, "brandId", id.to_string()).await
    }
}

// ------------------------------------------------------------------ categories and brands

/// What categories and brands share in storage: one partition each, unique slugs.
trait Slugged: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// `category` or `brand`.
    const KIND: &'static str;
    /// The partition holding them all.
    const PK: &'static str;
    /// The sort key prefix.
    const SK_PREFIX: &'static str;
    /// The partition-key prefix of slug guards.
    const SLUG_PREFIX: &'static str;
    fn id_string(&self) -> String;
    fn slug(&self) -> &str;
}

impl Slugged for Category {
    const KIND: &'static str = "category";
    const PK: &'static str = CATEGORIES_PK;
    const SK_PREFIX: &'static str = "CATEGORY#";
    const SLUG_PREFIX: &'static str = "CATEGORY_SLUG#";
    fn id_string(&self) -> String {
        self.id.to_string()
    }
    fn slug(&self) -> &str {
        &self.slug
    }
}

impl Slugged for Brand {
    const KIND: &'static str = "brand";
    const PK: &'static str = BRANDS_PK;
    const SK_PREFIX: &'static str = "BRAND#";
    const SLUG_PREFIX: &'static str = "BRAND_SLUG#";
    fn id_string(&self) -> String {
        self.id.to_string()
    }
    fn slug(&self) -> &str {
        &self.slug
    }
}

/// A category or brand as stored.
#[derive(Serialize, Deserialize)]
struct SluggedItem<T> {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    value: T,
}

fn sk_of<T: Slugged>(id: &str) -> String {
    format!("{}{id}", T::SK_PREFIX)
}

fn slug_guard<T: Slugged>(table: &str, value: &T) -> Result<TransactWriteItem, DomainError> {
    let item = HashMap::from([
        (
            "pk".to_owned(),
            s(format!("{}{}", T::SLUG_PREFIX, value.slug())),
        ),
        ("sk".to_owned(), s("SLUG")),
        ("type".to_owned(), s("slug")),
        ("owner".to_owned(), s(value.id_string())),
    ]);
    new_put(item, table)
}

fn slug_release<T: Slugged>(table: &str, value: &T) -> Result<TransactWriteItem, DomainError> {
    let delete = build(
        Delete::builder()
            .table_name(table)
            .key("pk", s(format!("{}{}", T::SLUG_PREFIX, value.slug())))
            .key("sk", s("SLUG"))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl DynamoCatalog {
    async fn slugged_get<T: Slugged>(&self, id: String) -> Result<Option<T>, DomainError> {
        let item: Option<SluggedItem<T>> =
            self.get_item(T::PK.to_owned(), &sk_of::<T>(&id)).await?;
        Ok(item.map(|i| i.value))
    }

    async fn slugged_all<T: Slugged>(&self) -> Result<Vec<T>, DomainError> {
        self.query_all(None, "pk", T::PK.to_owned(), &Filter::default())
            .await?
            .into_iter()
            .map(|item| from_item::<SluggedItem<T>>(item).map(|i| i.value))
            .collect()
    }

    fn slugged_item<T: Slugged>(value: &T) -> Result<Item, DomainError> {
        to_item(&SluggedItem {
            pk: T::PK.to_owned(),
            sk: sk_of::<T>(&value.id_string()),
            r#type: T::KIND.to_owned(),
            value: value.clone(),
        })
    }

    async fn slugged_create<T: Slugged>(
        &self,
        value: &T,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let items = vec![
            new_put(Self::slugged_item(value)?, &self.table)?,
            slug_guard(&self.table, value)?,
            outbox_put_event(&self.table, &event)?,
        ];
        let exists = DomainError::Conflict(format!(
            "{} `{}` already exists",
            T::KIND,
            value.id_string()
        ));
        let taken = slug_taken::<T>(value.slug());
        self.transact(items, FirstItem::New(exists), Some(taken))
            .await
    }

    async fn slugged_update<T: Slugged>(
        &self,
        value: &T,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let id = value.id_string();
        let stored: Option<T> = self.slugged_get(id.clone()).await?;
        let Some(stored) = stored else {
            return Err(DomainError::not_found(T::KIND, id));
        };
        let mut items = vec![version_put(
            Self::slugged_item(value)?,
            &self.table,
            expected_version,
        )?];
        let slug_changed = stored.slug() != value.slug();
        if slug_changed {
            items.push(slug_release(&self.table, &stored)?);
            items.push(slug_guard(&self.table, value)?);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        let sk = sk_of::<T>(&id);
        let taken = slug_changed.then(|| slug_taken::<T>(value.slug()));
        self.transact(items, versioned::<T>(&sk, id), taken).await
    }

    async fn slugged_delete<T: Slugged>(
        &self,
        id: String,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let Some(stored) = self.slugged_get::<T>(id.clone()).await? else {
            return Err(DomainError::not_found(T::KIND, id));
        };
        let sk = sk_of::<T>(&id);
        let items = vec![
            version_delete(&self.table, T::PK.to_owned(), &sk, expected_version)?,
            slug_release(&self.table, &stored)?,
            outbox_put_event(&self.table, &event)?,
        ];
        self.transact(items, versioned::<T>(&sk, id), None).await
    }
}

fn versioned<T: Slugged>(sk: &str, id: String) -> FirstItem<'_> {
    FirstItem::Versioned {
        pk: T::PK.to_owned(),
        sk,
        kind: T::KIND,
        id,
    }
}

fn slug_taken<T: Slugged>(slug: &str) -> DomainError {
    DomainError::Conflict(format!("the slug `{slug}` is taken by another {}", T::KIND))
}

#[async_trait]
impl CategoryStore for DynamoCatalog {
    async fn get(&self, id: CategoryId) -> Result<Option<Category>, DomainError> {
        self.slugged_get(id.to_string()).await
    }

    async fn all(&self) -> Result<Vec<Category>, DomainError> {
        self.slugged_all().await
    }

    async fn create(&self, category: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        self.slugged_create(category, event).await
    }

    async fn update(
        &self,
        category: &Category,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        self.slugged_update(category, expected_version, event).await
    }

    async fn delete(
        &self,
        id: CategoryId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        self.slugged_delete::<Category>(id.to_string(), expected_version, event)
            .await
    }
}

/// The brand list's cursor: the last brand's lower-cased name and id.
#[derive(Serialize, Deserialize)]
struct BrandCursor {
    name: String,
    id: BrandId,
}

#[async_trait]
impl BrandStore for DynamoCatalog {
    async fn get(&self, id: BrandId) -> Result<Option<Brand>, DomainError> {
        self.slugged_get(id.to_string()).await
    }

    /// Brands number in the hundreds: read the partition, sort by name, cut the page.
    async fn list(
        &self,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Brand>, DomainError> {
        let signer = self.cursor.signer().await?;
        let after: Option<BrandCursor> = next_token
            .map(|token| signer.decode("brands", token))
            .transpose()?;
        let mut all: Vec<(String, Brand)> = self
            .slugged_all::<Brand>()
            .await?
            .into_iter()
            .map(|b| (b.name.to_lowercase(), b))
            .collect();
        all.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.id.cmp(&y.id)));
        let start = match &after {
            None => 0,
            Some(c) => all.partition_point(|(name, b)| (name, b.id) <= (&c.name, c.id)),
        };
        let size = page_size as usize;
        let rest = &all[start..];
        let items: Vec<Brand> = rest.iter().take(size).map(|(_, b)| b.clone()).collect();
        let next_token = match rest.get(size.saturating_sub(1)) {
            Some((name, last)) if rest.len() > size => Some(signer.encode(
                "brands",
                &BrandCursor {
                    name: name.clone(),
                    id: last.id,
                },
            )),
            _ => None,
        };
        Ok(Page { items, next_token })
    }

    async fn create(&self, brand: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        self.slugged_create(brand, event).await
    }

    async fn update(
        &self,
        brand: &Brand,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        self.slugged_update(brand, expected_version, event).await
    }

    async fn delete(
        &self,
        id: BrandId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        self.slugged_delete::<Brand>(id.to_string(), expected_version, event)
            .await
    }
}

#[cfg(test)]
mod tests {
    use shop_domain::Clock;

    use super::*;

    #[test]
    fn products_spread_over_every_list_shard() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(list_shard(ProductId::new()));
        }
        assert_eq!(seen.len(), LIST_SHARDS as usize, "{seen:?}");
    }

    #[test]
    fn only_an_active_product_is_in_the_list_index() {
        let input = shop_domain::catalog::ProductInput::from_json(&serde_json::json!({
            "name": "Mug", "price": 1999, "currency": "EUR", "status": "draft",
            "categoryId": CategoryId::new().to_string(), "brandId": BrandId::new().to_string(),
        }))
        .unwrap();
        let now = shop_domain::SystemClock.now();
        let mut product = Product::create(input, "s-1", now, ProductId::new()).unwrap();
        let item = to_item(&ProductItem::new(&product)).unwrap();
        assert!(!item.contains_key("listShard"));
        assert_eq!(item["nameLower"], s("mug"));
        assert_eq!(item["categoryId"], s(product.category_id.to_string()));

        product.status = ProductStatus::Active;
        let item = to_item(&ProductItem::new(&product)).unwrap();
        assert_eq!(item["listShard"], s(list_shard(product.id)));
        let back = from_item::<ProductItem>(item).unwrap().into_product();
        assert_eq!(back, product);
    }
}
