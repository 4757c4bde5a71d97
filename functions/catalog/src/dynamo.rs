//! The catalog's DynamoDB adapter: one table for products, categories, brands, the list's
//! projection and the outbox.
//!
//! # Items
//!
//! | item            | `pk`                    | `sk`                 | also                            |
//! |-----------------|-------------------------|----------------------|---------------------------------|
//! | product         | `PRODUCT#<id>`          | `PRODUCT`            | the product's JSON fields, `nameLower`, `sellerSort` |
//! | list bucket     | `LISTING`               | `BUCKET#000`…`#255`  | `entries`: the [`listing`](crate::listing) entries of its active products, `version` |
//! | category        | `CATEGORIES`            | `CATEGORY#<id>`      | the category's JSON fields      |
//! | brand           | `BRANDS`                | `BRAND#<id>`         | the brand's JSON fields         |
//! | slug guard      | `CATEGORY_SLUG#<slug>` / `BRAND_SLUG#<slug>` | `SLUG` | `owner`: the id holding it |
//! | outbox event    | `OUTBOX#<eventId>`      | `OUTBOX`             | see `shop_adapters::outbox`     |
//!
//! # Index (sparse: only products carry its keys)
//!
//! - `BySeller`: `sellerId` + `sellerSort` (`<createdAt>#<id>`), all attributes: a seller's
//!   products newest first, paged by DynamoDB itself.
//!
//! Categories and brands carry `productCount`, which every product write adjusts in its own
//! transaction (conditional on the category and brand existing), and categories carry
//! `childCount`, adjusted the same way by their sub-categories; a delete is conditional on both
//! being zero, so nothing can end up pointing at a deleted category or brand.
//!
//! # The public list
//!
//! `GET /api/products` mixes a category subtree, a brand, a price range, a case-insensitive
//! substring of the name and three sort orders. No key design serves every combination with
//! a `Query`, and `Scan` + `FilterExpression` yields short or empty pages. So the list reads
//! the `LISTING` partition (every active product's entry, in 256 bucket items), and
//! [`listing::page`] filters, sorts and cuts the page in memory; then one `BatchGetItem` fetches
//! the page's products. A product write rewrites its bucket in the same transaction,
//! conditional on the bucket's version, and retries when another write got there first.
//!
//! Every write is one `TransactWriteItems` with its outbox item, conditional on the version
//! of the item the caller read (`before`). Whatever else the write changes — the counts of
//! the category and brand a product leaves, a category's old parent, the slug guard a rename
//! or delete releases — is derived from that same `before`, never from a read of its own: a
//! `before` that is stale (an eventually consistent read that lagged, or a writer in between)
//! then fails the version condition and commits nothing, instead of moving another category's
//! count or deleting another resource's slug guard. Releasing a slug guard is also
//! conditional on its `owner`.

use std::collections::HashMap;
use std::time::Duration;

use crate::domain::{
    Brand, BrandStore, Category, CategoryStore, Page, Product, ProductQuery, ProductStore,
    ProductView, Versioned,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{built, n, s};
use shop_adapters::dynamo::{Item, batch_get, from_item, to_item};
use shop_adapters::outbox::{failed_condition, outbox_put_event, transact_error};
use shop_domain::{BrandId, CategoryId, DomainError, OutgoingEvent, ProductId};

use crate::cursor::{CursorKey, ListCursor, SortKey};
use crate::listing::{self, Bucket, Entry, bucket_of};

/// How often a product write is retried when a concurrent write changed its list bucket.
const BUCKET_RETRIES: u32 = 8;

const LISTING_PK: &str = "LISTING";
const SELLER_INDEX: &str = "BySeller";
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

    /// The item at (`pk`, `sk`), read strongly consistent when `consistent` (what a write
    /// decides on), eventually consistent otherwise (half the read units).
    async fn get_item<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> Result<Option<T>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, sk, consistent).await
    }

    /// Runs a transaction whose item 0 is the entity write and maps its cancellation: a
    /// failed condition on item 0 as `first` says, one on a later item as `later` lists it
    /// (by index), anything else as [`transact_error`] does.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        first: FirstItem<'_>,
        later: Vec<(usize, DomainError)>,
    ) -> Result<(), DomainError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        if let Some(index) = failed_condition(&err).filter(|i| *i > 0)
            && let Some((_, mapped)) = later.into_iter().find(|(i, _)| *i == index)
        {
            return Err(mapped);
        }
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
                    match self.get_item::<serde::de::IgnoredAny>(pk, sk, true).await? {
                        None => Err(DomainError::not_found(kind, id)),
                        Some(_) => Err(e),
                    }
                }
            },
            other => Err(other),
        }
    }

    /// Every item of the partition `pk`, paging through `Query`.
    async fn query_all(&self, pk: &str) -> Result<Vec<Item>, DomainError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
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

    /// The bucket `sk` as stored (consistent read): its version (0 when it does not exist
    /// yet) and its entries.
    async fn read_bucket(&self, sk: &str) -> Result<(u64, Bucket), DomainError> {
        let item: Option<BucketItem> = self.get_item(LISTING_PK.to_owned(), sk, true).await?;
        item.map_or(Ok((0, Bucket::new())), BucketItem::decode)
    }

    /// Every entry of the list.
    async fn read_listing(&self) -> Result<Vec<(ProductId, Entry)>, DomainError> {
        let mut entries = Vec::new();
        for item in self.query_all(LISTING_PK).await? {
            let (_, bucket) = from_item::<BucketItem>(item)?.decode()?;
            entries.extend(bucket);
        }
        Ok(entries)
    }

    /// Writes a product change (`first`, conditional) with its outbox item, the product
    /// counts of the categories and brands it enters or leaves (`counts`, each conditional on
    /// the category or brand existing, with the error to answer when it does not), and, when
    /// the product's list entry changes, its bucket, conditional on the bucket's version. A
    /// concurrent write to the same bucket, or a transaction conflict on a shared category or
    /// brand item, is retried with the bucket read again. `entry` is the product's entry after
    /// the change (`None`: not listed).
    async fn write_product(
        &self,
        id: ProductId,
        first: TransactWriteItem,
        on_first: FirstItem<'_>,
        counts: Vec<(TransactWriteItem, DomainError)>,
        entry: Option<Entry>,
        event: &OutgoingEvent,
    ) -> Result<(), DomainError> {
        let sk = bucket_of(id);
        let bucket_moved = DomainError::Unavailable(format!(
            "the list bucket {sk} kept changing under concurrent writes"
        ));
        let mut attempt = 0;
        loop {
            let (version, mut bucket) = self.read_bucket(&sk).await?;
            let changed = match &entry {
                Some(entry) => bucket.insert(id, entry.clone()).as_ref() != Some(entry),
                None => bucket.remove(&id).is_some(),
            };
            let mut items = vec![first.clone()];
            let mut later = Vec::new();
            for (count, missing) in &counts {
                later.push((items.len(), missing.clone()));
                items.push(count.clone());
            }
            if changed {
                later.push((items.len(), bucket_moved.clone()));
                items.push(bucket_put(&self.table, &sk, version, &bucket)?);
            }
            items.push(outbox_put_event(&self.table, event)?);
            match self.transact(items, on_first.clone(), later).await {
                // Lost a race on the bucket, or a TransactionConflict / throttle: try again.
                Err(DomainError::Unavailable(_)) if attempt < BUCKET_RETRIES => {
                    attempt += 1;
                    // Jittered backoff, so two writers of one bucket do not collide again.
                    let jitter = u64::from(id.ulid().random() as u8 % 16);
                    tokio::time::sleep(Duration::from_millis((5 << attempt) + jitter)).await;
                }
                other => return other,
            }
        }
    }

    /// The product and sub-category counts of the category or brand `T` `id`, from its item
    /// (zeros when it does not exist): what a delete must find at zero.
    async fn counts<T: Slugged>(&self, id: String) -> Result<(u64, u64), DomainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Counted {
            #[serde(default)]
            product_count: u64,
            #[serde(default)]
            child_count: u64,
        }
        let item: Option<Counted> = self
            .get_item(T::PK.to_owned(), &sk_of::<T>(&id), true)
            .await?;
        Ok(item.map_or((0, 0), |c| (c.product_count, c.child_count)))
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
                    let put = built(
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
        // Then the product counts of their categories and brands.
        let mut counts: HashMap<(&str, String), i64> = HashMap::new();
        for product in products {
            *counts
                .entry(("category", product.category_id.to_string()))
                .or_default() += 1;
            *counts
                .entry(("brand", product.brand_id.to_string()))
                .or_default() += 1;
        }
        for ((kind, id), delta) in counts {
            let (change, _) = if kind == "category" {
                count_change::<Category>(&self.table, id, PRODUCT_COUNT, delta)?
            } else {
                count_change::<Brand>(&self.table, id, PRODUCT_COUNT, delta)?
            };
            let update = change.update.expect("count_change builds an Update");
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(update.key))
                .update_expression(update.update_expression)
                .set_condition_expression(update.condition_expression)
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB UpdateItem", e))?;
        }
        // Then the list entries, bucket by bucket.
        let mut by_bucket: HashMap<String, Vec<(ProductId, Entry)>> = HashMap::new();
        for product in products {
            if let Some(entry) = Entry::of(product) {
                by_bucket
                    .entry(bucket_of(product.id))
                    .or_default()
                    .push((product.id, entry));
            }
        }
        for (sk, entries) in by_bucket {
            loop {
                let (version, mut bucket) = self.read_bucket(&sk).await?;
                bucket.extend(entries.iter().cloned());
                let put = bucket_put(&self.table, &sk, version, &bucket)?;
                let put = put.put.expect("bucket_put builds a Put");
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(put.item))
                    .set_condition_expression(put.condition_expression)
                    .set_expression_attribute_names(put.expression_attribute_names)
                    .set_expression_attribute_values(put.expression_attribute_values)
                    .send()
                    .await;
                match result {
                    Ok(_) => break,
                    Err(e) if shop_adapters::dynamo::is_condition_failed(&e) => {}
                    Err(e) => return Err(sdk_error("DynamoDB PutItem", e)),
                }
            }
        }
        Ok(())
    }

    /// The full products of `ids`, in that order, skipping any deleted meanwhile.
    async fn batch_get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>, DomainError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (product_pk(*id), PRODUCT_SK.to_owned()))
            .collect();
        let items: Vec<ProductItem> = batch_get(&self.client, &self.table, &keys, false).await?;
        let mut found: HashMap<ProductId, Product> = items
            .into_iter()
            .map(|item| {
                let product = item.into_product();
                (product.id, product)
            })
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

/// An update's `before` and `after` must be the same item: the write goes to `after`'s key
/// but is conditioned on, and counted from, `before`.
fn same_id<I: PartialEq + std::fmt::Display>(
    kind: &str,
    before: I,
    after: I,
) -> Result<(), DomainError> {
    if before == after {
        Ok(())
    } else {
        Err(DomainError::Internal(format!(
            "an update of {kind} `{before}` was handed {kind} `{after}` as its new state"
        )))
    }
}

/// What a failed condition on a transaction's first item means.
#[derive(Clone)]
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

/// A bucket of list entries as stored.
#[derive(Serialize, Deserialize)]
struct BucketItem {
    pk: String,
    sk: String,
    r#type: String,
    version: u64,
    /// The [`Bucket`] as JSON text: one attribute, not thousands of nested ones.
    entries: String,
}

impl BucketItem {
    fn decode(self) -> Result<(u64, Bucket), DomainError> {
        let bucket = serde_json::from_str(&self.entries).map_err(|e| {
            DomainError::Internal(format!("list bucket {} is not readable: {e}", self.sk))
        })?;
        Ok((self.version, bucket))
    }
}

/// The put of bucket `sk` holding `bucket`, conditional on it still being at `version`.
fn bucket_put(
    table: &str,
    sk: &str,
    version: u64,
    bucket: &Bucket,
) -> Result<TransactWriteItem, DomainError> {
    let entries = serde_json::to_string(bucket)
        .map_err(|e| DomainError::Internal(format!("cannot serialize a list bucket: {e}")))?;
    let item = to_item(&BucketItem {
        pk: LISTING_PK.to_owned(),
        sk: sk.to_owned(),
        r#type: "listing".to_owned(),
        version: version + 1,
        entries,
    })?;
    if version == 0 {
        new_put(item, table)
    } else {
        version_put(item, table, version)
    }
}

fn version_put(item: Item, table: &str, expected: u64) -> Result<TransactWriteItem, DomainError> {
    let put = built(
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
    let put = built(
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
    let delete = built(
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
        let item: Option<ProductItem> = self.get_item(product_pk(id), PRODUCT_SK, false).await?;
        Ok(item.map(ProductItem::into_product))
    }

    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let first = new_put(to_item(&ProductItem::new(product))?, &self.table)?;
        let exists = DomainError::Conflict(format!("product `{}` already exists", product.id));
        let counts = self.count_changes(None, Some(product))?;
        let entry = Entry::of(product);
        self.write_product(
            product.id,
            first,
            FirstItem::New(exists),
            counts,
            entry,
            &event,
        )
        .await
    }

    /// Conditional on `before.version`, so the counts taken off `before`'s category and brand
    /// are those of the product as stored.
    async fn update(
        &self,
        before: &Product,
        after: &Product,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        same_id("product", before.id, after.id)?;
        let item = to_item(&ProductItem::new(after))?;
        let first = version_put(item, &self.table, before.version)?;
        let counts = self.count_changes(Some(before), Some(after))?;
        let entry = Entry::of(after);
        let on_first = product_item(after.id);
        self.write_product(after.id, first, on_first, counts, entry, &event)
            .await
    }

    /// Conditional on `before.version`, as [`ProductStore::update`] is.
    async fn delete(&self, before: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let id = before.id;
        let first = version_delete(&self.table, product_pk(id), PRODUCT_SK, before.version)?;
        let counts = self.count_changes(Some(before), None)?;
        self.write_product(id, first, product_item(id), counts, None, &event)
            .await
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
        let entries = self.read_listing().await?;
        let (ids, next) = listing::page(entries, query, categories, after.as_ref());
        let items: Vec<Product> = self
            .batch_get_products(&ids)
            .await?
            .into_iter()
            // Between the two reads a product may have been archived or deleted.
            .filter(Product::is_public)
            .collect();
        let next_token = next.map(|cursor| signer.encode(&scope, &cursor));
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
        Ok(self.counts::<Category>(id.to_string()).await?.0 > 0)
    }

    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError> {
        Ok(self.counts::<Brand>(id.to_string()).await?.0 > 0)
    }
}

impl DynamoCatalog {
    /// The product-count updates of a product going from `before` to `after` (either may be
    /// absent): -1 on the category and brand it leaves, +1 on those it enters, each with the
    /// 422 to answer when the one it enters no longer exists.
    fn count_changes(
        &self,
        before: Option<&Product>,
        after: Option<&Product>,
    ) -> Result<Vec<(TransactWriteItem, DomainError)>, DomainError> {
        let category = |p: &Product| p.category_id.to_string();
        let brand = |p: &Product| p.brand_id.to_string();
        let mut changes = moves::<Category>(
            &self.table,
            PRODUCT_COUNT,
            before.map(category),
            after.map(category),
        )?;
        changes.extend(moves::<Brand>(
            &self.table,
            PRODUCT_COUNT,
            before.map(brand),
            after.map(brand),
        )?);
        Ok(changes)
    }
}

/// The `counter` updates of something moving from the category or brand `before` to `after`
/// (either may be absent; nothing when they are the same): -1 on the one it leaves, +1 on the
/// one it enters.
fn moves<T: Slugged>(
    table: &str,
    counter: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<Vec<(TransactWriteItem, DomainError)>, DomainError> {
    if before == after {
        return Ok(Vec::new());
    }
    let leave = before.map(|id| count_change::<T>(table, id, counter, -1));
    let enter = after.map(|id| count_change::<T>(table, id, counter, 1));
    leave.into_iter().chain(enter).collect()
}

/// The attribute counting a category's or brand's products.
const PRODUCT_COUNT: &str = "productCount";
/// The attribute counting a category's sub-categories.
const CHILD_COUNT: &str = "childCount";

/// `ADD <counter> delta` on category or brand `id`, conditional on it existing: a product (or
/// sub-category) cannot enter one deleted a moment ago, and a delete (conditional on zero
/// counts) cannot remove one something entered a moment ago. With the 422 for a missing one.
fn count_change<T: Slugged>(
    table: &str,
    id: String,
    counter: &str,
    delta: i64,
) -> Result<(TransactWriteItem, DomainError), DomainError> {
    let update = built(
        Update::builder()
            .table_name(table)
            .key("pk", s(T::PK))
            .key("sk", s(sk_of::<T>(&id)))
            .update_expression("ADD #count :delta")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#count", counter)
            .expression_attribute_values(":delta", n(delta))
            .build(),
    )?;
    let missing = DomainError::Unprocessable(format!("{} `{id}` does not exist", T::KIND));
    Ok((TransactWriteItem::builder().update(update).build(), missing))
}

/// The sub-category count updates of a category moving from parent `before` to `after`.
fn parent_changes(
    table: &str,
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> Result<Vec<(TransactWriteItem, DomainError)>, DomainError> {
    let id = |c: CategoryId| c.to_string();
    moves::<Category>(table, CHILD_COUNT, before.map(id), after.map(id))
}

// ------------------------------------------------------------------ categories and brands

/// What categories and brands share in storage: one partition each, unique slugs, versions.
trait Slugged: Versioned + Serialize + DeserializeOwned + Clone + Send + Sync {
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

/// The delete of `value`'s slug guard, conditional on `value` owning it (or on there being
/// none to release): a rename or delete can never remove a guard another category or brand
/// holds, whatever slug the caller's copy names.
fn slug_release<T: Slugged>(table: &str, value: &T) -> Result<TransactWriteItem, DomainError> {
    let delete = built(
        Delete::builder()
            .table_name(table)
            .key("pk", s(format!("{}{}", T::SLUG_PREFIX, value.slug())))
            .key("sk", s("SLUG"))
            .condition_expression("attribute_not_exists(pk) OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(value.id_string()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// What a failed [`slug_release`] means once the item's own version held: the stored slug's
/// guard names someone else, which only a bug or a hand edit of the table can cause.
fn slug_held_by_another<T: Slugged>(value: &T) -> DomainError {
    DomainError::Internal(format!(
        "the guard of slug `{}` is not held by {} `{}`, whose slug it is",
        value.slug(),
        T::KIND,
        value.id_string()
    ))
}

impl DynamoCatalog {
    async fn slugged_get<T: Slugged>(&self, id: String) -> Result<Option<T>, DomainError> {
        let item: Option<SluggedItem<T>> = self
            .get_item(T::PK.to_owned(), &sk_of::<T>(&id), false)
            .await?;
        Ok(item.map(|i| i.value))
    }

    async fn slugged_all<T: Slugged>(&self) -> Result<Vec<T>, DomainError> {
        self.query_all(T::PK)
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
        extra: Vec<(TransactWriteItem, DomainError)>,
    ) -> Result<(), DomainError> {
        let mut items = vec![
            new_put(Self::slugged_item(value)?, &self.table)?,
            slug_guard(&self.table, value)?,
        ];
        let taken = slug_taken::<T>(value.slug());
        let mut later = vec![(1, taken)];
        for (item, missing) in extra {
            later.push((items.len(), missing));
            items.push(item);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        let exists = DomainError::Conflict(format!(
            "{} `{}` already exists",
            T::KIND,
            value.id_string()
        ));
        self.transact(items, FirstItem::New(exists), later).await
    }

    /// Replaces `before` (as the caller read it) with `after`, conditional on `before`'s
    /// version; a changed slug releases `before`'s guard (conditional on its owner) and takes
    /// `after`'s.
    async fn slugged_update<T: Slugged>(
        &self,
        before: &T,
        after: &T,
        event: OutgoingEvent,
        extra: Vec<(TransactWriteItem, DomainError)>,
    ) -> Result<(), DomainError> {
        let id = after.id_string();
        same_id(T::KIND, before.id_string(), id.clone())?;
        let mut items = vec![slugged_update_item(&self.table, after, before.version())?];
        let mut later = Vec::new();
        if before.slug() != after.slug() {
            later.push((items.len(), slug_held_by_another(before)));
            items.push(slug_release(&self.table, before)?);
            later.push((items.len(), slug_taken::<T>(after.slug())));
            items.push(slug_guard(&self.table, after)?);
        }
        for (item, missing) in extra {
            later.push((items.len(), missing));
            items.push(item);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        let sk = sk_of::<T>(&id);
        self.transact(items, versioned::<T>(&sk, id), later).await
    }

    /// Deletes `before` (as the caller read it), conditional on its version, and releases its
    /// slug guard (conditional on its owner).
    async fn slugged_delete<T: Slugged>(
        &self,
        before: &T,
        event: OutgoingEvent,
        extra: Vec<(TransactWriteItem, DomainError)>,
    ) -> Result<(), DomainError> {
        let id = before.id_string();
        let sk = sk_of::<T>(&id);
        // Conditional on the version the caller read and on nothing being in it: a product or
        // sub-category entering it meanwhile (which adds to its count in its own transaction)
        // makes this delete fail rather than leave it pointing at nothing.
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key("pk", s(T::PK))
                .key("sk", s(&sk))
                .condition_expression(
                    "#version = :expected \
                     AND (attribute_not_exists(#products) OR #products = :zero) \
                     AND (attribute_not_exists(#children) OR #children = :zero)",
                )
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#products", PRODUCT_COUNT)
                .expression_attribute_names("#children", CHILD_COUNT)
                .expression_attribute_values(":expected", n(before.version()))
                .expression_attribute_values(":zero", n(0))
                .build(),
        )?;
        let mut items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            slug_release(&self.table, before)?,
        ];
        let mut later = vec![(1, slug_held_by_another(before))];
        for (item, missing) in extra {
            later.push((items.len(), missing));
            items.push(item);
        }
        items.push(outbox_put_event(&self.table, &event)?);
        match self
            .transact(items, versioned::<T>(&sk, id.clone()), later)
            .await
        {
            Err(DomainError::Conflict(stale)) => {
                let kind = T::KIND;
                Err(DomainError::Conflict(
                    match self.counts::<T>(id.clone()).await? {
                        (products, _) if products > 0 => {
                            format!("{kind} `{id}` still has products; move them first")
                        }
                        (_, children) if children > 0 => {
                            format!("{kind} `{id}` has sub-categories; delete or move them first")
                        }
                        _ => stale,
                    },
                ))
            }
            other => other,
        }
    }
}

/// The update of a category or brand to `value`, conditional on `expected` version: every
/// field is SET, and `productCount`, which product writes maintain, is left as it is (a `Put`
/// would reset it).
fn slugged_update_item<T: Slugged>(
    table: &str,
    value: &T,
    expected: u64,
) -> Result<TransactWriteItem, DomainError> {
    let fields = to_item(value)?;
    let mut names = HashMap::from([("#version".to_owned(), "version".to_owned())]);
    let mut values = HashMap::from([(":expected".to_owned(), n(expected))]);
    let mut sets = Vec::new();
    for (i, (name, value)) in fields.into_iter().enumerate() {
        names.insert(format!("#f{i}"), name);
        values.insert(format!(":f{i}"), value);
        sets.push(format!("#f{i} = :f{i}"));
    }
    let update = built(
        Update::builder()
            .table_name(table)
            .key("pk", s(T::PK))
            .key("sk", s(sk_of::<T>(&value.id_string())))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("#version = :expected")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
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
        let parent = parent_changes(&self.table, None, category.parent_id)?;
        self.slugged_create(category, event, parent).await
    }

    async fn update(
        &self,
        before: &Category,
        after: &Category,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let parents = parent_changes(&self.table, before.parent_id, after.parent_id)?;
        self.slugged_update(before, after, event, parents).await
    }

    async fn delete(&self, before: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        let parent = parent_changes(&self.table, before.parent_id, None)?;
        self.slugged_delete(before, event, parent).await
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
        self.slugged_create(brand, event, Vec::new()).await
    }

    async fn update(
        &self,
        before: &Brand,
        after: &Brand,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        self.slugged_update(before, after, event, Vec::new()).await
    }

    async fn delete(&self, before: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        self.slugged_delete(before, event, Vec::new()).await
    }
}

#[cfg(test)]
mod tests {
    use shop_domain::Clock;

    use super::*;

    #[test]
    fn a_product_item_roundtrips_with_its_index_keys() {
        let input = crate::domain::ProductInput::from_json(&serde_json::json!({
            "name": "Mug", "price": 1999, "currency": "EUR", "status": "draft",
            "categoryId": CategoryId::new().to_string(), "brandId": BrandId::new().to_string(),
        }))
        .unwrap();
        let now = shop_domain::SystemClock.now();
        let product = Product::create(input, "s-1", now, ProductId::new()).unwrap();
        let item = to_item(&ProductItem::new(&product)).unwrap();
        assert_eq!(item["nameLower"], s("mug"));
        assert_eq!(item["categoryId"], s(product.category_id.to_string()));
        assert_eq!(item["sellerId"], s("s-1"));
        assert_eq!(item["sellerSort"], s(seller_sort(now, product.id)));
        let back = from_item::<ProductItem>(item).unwrap().into_product();
        assert_eq!(back, product);
    }
}
