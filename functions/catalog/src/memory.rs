//! In-memory catalog stores, for the handler tests: the ports exactly as documented, without
//! a table.
//!
//! - Writes check the version the caller read and answer [`DomainError::Conflict`] on a
//!   stale one and [`DomainError::NotFound`] when the item is gone, like the conditional
//!   `TransactWriteItems` of the DynamoDB adapter.
//! - Each write records the [`OutgoingEvent`] passed with it, in order, as the outbox item
//!   the real adapter would commit in the same transaction ([`MemoryProductStore::events`]).
//! - `list` is [`filter_and_sort`] plus a cursor holding the sort key and id of the last item
//!   returned, so a walk over the pages stays exact when items are added or removed between
//!   pages. The cursor is signed with a fixed key by [`crate::cursor`], exactly as the
//!   DynamoDB adapter signs it: an edited or foreign token is a validation error on
//!   `nextToken`, as the port requires.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::{
    Brand, BrandStore, Category, CategoryStore, Page, Product, ProductQuery, ProductStore, SortBy,
    SortOrder, filter_and_sort,
};
use async_trait::async_trait;
use shop_domain::{BrandId, CategoryId, DomainError, OutgoingEvent, ProductId};

use crate::cursor::{ListCursor, Signer, SortKey};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock should not cascade into unrelated asserts.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Products in a map, with the outbox of every write.
#[derive(Debug, Default)]
pub struct MemoryProductStore {
    products: Mutex<HashMap<ProductId, Product>>,
    outbox: Mutex<Vec<OutgoingEvent>>,
}

impl MemoryProductStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `product` in place without an event, as a test's starting state.
    pub fn insert(&self, product: Product) {
        lock(&self.products).insert(product.id, product);
    }

    /// Every event recorded with a write, in order.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        lock(&self.outbox).clone()
    }

    /// The detail-types of [`Self::events`], for short asserts.
    pub fn detail_types(&self) -> Vec<String> {
        lock(&self.outbox)
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }

    /// How many products are stored.
    pub fn len(&self) -> usize {
        lock(&self.products).len()
    }

    /// Whether no product is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ProductStore for MemoryProductStore {
    async fn get(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        Ok(lock(&self.products).get(&id).cloned())
    }

    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut products = lock(&self.products);
        if products.contains_key(&product.id) {
            return Err(DomainError::Conflict(format!(
                "product `{}` already exists",
                product.id
            )));
        }
        products.insert(product.id, product.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut products = lock(&self.products);
        let stored = products
            .get(&product.id)
            .ok_or_else(|| DomainError::not_found("product", product.id))?;
        check_version("product", product.id, stored.version, expected_version)?;
        products.insert(product.id, product.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn delete(
        &self,
        id: ProductId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut products = lock(&self.products);
        let stored = products
            .get(&id)
            .ok_or_else(|| DomainError::not_found("product", id))?;
        check_version("product", id, stored.version, expected_version)?;
        products.remove(&id);
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn list(
        &self,
        query: &ProductQuery,
        categories: Option<&[CategoryId]>,
    ) -> Result<Page<Product>, DomainError> {
        let all: Vec<Product> = lock(&self.products).values().cloned().collect();
        let matching = filter_and_sort(&all, query, categories);
        page(matching, query, &query.cursor_scope())
    }

    async fn list_by_seller(
        &self,
        seller_id: &str,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Product>, DomainError> {
        let query = ProductQuery {
            sort_by: SortBy::CreatedAt,
            sort_order: SortOrder::Desc,
            page_size,
            next_token: next_token.map(str::to_owned),
            ..ProductQuery::default()
        };
        let mut mine: Vec<Product> = lock(&self.products)
            .values()
            .filter(|p| p.seller_id == seller_id)
            .cloned()
            .collect();
        mine.sort_by(|a, b| query.compare(a, b));
        let scope = format!("seller|{seller_id}");
        page(mine.iter().collect(), &query, &scope)
    }

    async fn any_in_category(&self, id: CategoryId) -> Result<bool, DomainError> {
        Ok(lock(&self.products).values().any(|p| p.category_id == id))
    }

    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError> {
        Ok(lock(&self.products).values().any(|p| p.brand_id == id))
    }
}

fn check_version(
    resource: &str,
    id: impl std::fmt::Display,
    stored: u64,
    expected: u64,
) -> Result<(), DomainError> {
    if stored == expected {
        Ok(())
    } else {
        Err(DomainError::Conflict(format!(
            "{resource} `{id}` is at version {stored}, not {expected}"
        )))
    }
}

/// Not a secret in tests; the DynamoDB adapter's key comes from Secrets Manager.
fn signer() -> Signer {
    Signer::new("memory-store-cursor-key")
}

/// The page of `sorted` after the query's cursor.
fn page(
    sorted: Vec<&Product>,
    query: &ProductQuery,
    scope: &str,
) -> Result<Page<Product>, DomainError> {
    let start = match query.next_token.as_deref() {
        None => 0,
        Some(token) => {
            let cursor: ListCursor = signer().decode(scope, token)?;
            sorted
                .iter()
                .position(|p| after(query, p, &cursor))
                .unwrap_or(sorted.len())
        }
    };
    let size = query.page_size as usize;
    let items: Vec<Product> = sorted
        .iter()
        .skip(start)
        .take(size)
        .map(|p| (*p).clone())
        .collect();
    let next_token = match items.last() {
        Some(last) if start + size < sorted.len() => Some(signer().encode(
            scope,
            &ListCursor {
                key: SortKey::of_product(query, last),
                id: last.id,
            },
        )),
        _ => None,
    };
    Ok(Page { items, next_token })
}

/// Whether `p` comes strictly after the cursor in the query's order.
fn after(query: &ProductQuery, p: &Product, cursor: &ListCursor) -> bool {
    let ordering = SortKey::of_product(query, p)
        .cmp(&cursor.key)
        .then(p.id.cmp(&cursor.id));
    let ordering = match query.sort_order {
        SortOrder::Asc => ordering,
        SortOrder::Desc => ordering.reverse(),
    };
    ordering == Ordering::Greater
}

/// Categories in a map, with unique slugs and the outbox of every write.
#[derive(Debug, Default)]
pub struct MemoryCategoryStore {
    categories: Mutex<HashMap<CategoryId, Category>>,
    outbox: Mutex<Vec<OutgoingEvent>>,
}

impl MemoryCategoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `category` in place without an event, as a test's starting state.
    pub fn insert(&self, category: Category) {
        lock(&self.categories).insert(category.id, category);
    }

    /// Every event recorded with a write, in order.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        lock(&self.outbox).clone()
    }
}

#[async_trait]
impl CategoryStore for MemoryCategoryStore {
    async fn get(&self, id: CategoryId) -> Result<Option<Category>, DomainError> {
        Ok(lock(&self.categories).get(&id).cloned())
    }

    async fn all(&self) -> Result<Vec<Category>, DomainError> {
        let mut all: Vec<Category> = lock(&self.categories).values().cloned().collect();
        all.sort_by_key(|c| c.id);
        Ok(all)
    }

    async fn create(&self, category: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut categories = lock(&self.categories);
        if categories.contains_key(&category.id) {
            return Err(DomainError::Conflict(format!(
                "category `{}` already exists",
                category.id
            )));
        }
        slug_free(
            categories.values().map(|c| (c.id, &c.slug)),
            category.id,
            &category.slug,
        )?;
        categories.insert(category.id, category.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn update(
        &self,
        category: &Category,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut categories = lock(&self.categories);
        let stored = categories
            .get(&category.id)
            .ok_or_else(|| DomainError::not_found("category", category.id))?;
        check_version("category", category.id, stored.version, expected_version)?;
        slug_free(
            categories.values().map(|c| (c.id, &c.slug)),
            category.id,
            &category.slug,
        )?;
        categories.insert(category.id, category.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn delete(
        &self,
        id: CategoryId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut categories = lock(&self.categories);
        let stored = categories
            .get(&id)
            .ok_or_else(|| DomainError::not_found("category", id))?;
        check_version("category", id, stored.version, expected_version)?;
        categories.remove(&id);
        lock(&self.outbox).push(event);
        Ok(())
    }
}

/// Brands in a map, with unique slugs and the outbox of every write.
#[derive(Debug, Default)]
pub struct MemoryBrandStore {
    brands: Mutex<HashMap<BrandId, Brand>>,
    outbox: Mutex<Vec<OutgoingEvent>>,
}

impl MemoryBrandStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `brand` in place without an event, as a test's starting state.
    pub fn insert(&self, brand: Brand) {
        lock(&self.brands).insert(brand.id, brand);
    }

    /// Every event recorded with a write, in order.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        lock(&self.outbox).clone()
    }
}

#[async_trait]
impl BrandStore for MemoryBrandStore {
    async fn get(&self, id: BrandId) -> Result<Option<Brand>, DomainError> {
        Ok(lock(&self.brands).get(&id).cloned())
    }

    /// Sorted by name (case-insensitively), then id; the cursor is the offset, signed, which
    /// is enough for a test double of a list this small.
    async fn list(
        &self,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Brand>, DomainError> {
        let mut all: Vec<Brand> = lock(&self.brands).values().cloned().collect();
        all.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let start = match next_token {
            None => 0,
            Some(token) => decode_offset(token)?,
        };
        let size = page_size.max(1) as usize;
        let items: Vec<Brand> = all.iter().skip(start).take(size).cloned().collect();
        let end = start + items.len();
        let next_token = (end < all.len()).then(|| encode_offset(end));
        Ok(Page { items, next_token })
    }

    async fn create(&self, brand: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut brands = lock(&self.brands);
        if brands.contains_key(&brand.id) {
            return Err(DomainError::Conflict(format!(
                "brand `{}` already exists",
                brand.id
            )));
        }
        slug_free(
            brands.values().map(|b| (b.id, &b.slug)),
            brand.id,
            &brand.slug,
        )?;
        brands.insert(brand.id, brand.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn update(
        &self,
        brand: &Brand,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut brands = lock(&self.brands);
        let stored = brands
            .get(&brand.id)
            .ok_or_else(|| DomainError::not_found("brand", brand.id))?;
        check_version("brand", brand.id, stored.version, expected_version)?;
        slug_free(
            brands.values().map(|b| (b.id, &b.slug)),
            brand.id,
            &brand.slug,
        )?;
        brands.insert(brand.id, brand.clone());
        lock(&self.outbox).push(event);
        Ok(())
    }

    async fn delete(
        &self,
        id: BrandId,
        expected_version: u64,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut brands = lock(&self.brands);
        let stored = brands
            .get(&id)
            .ok_or_else(|| DomainError::not_found("brand", id))?;
        check_version("brand", id, stored.version, expected_version)?;
        brands.remove(&id);
        lock(&self.outbox).push(event);
        Ok(())
    }
}

/// [`DomainError::Conflict`] when another item than `id` already has `slug`.
fn slug_free<'a, I: PartialEq + std::fmt::Display + 'a>(
    existing: impl Iterator<Item = (I, &'a String)>,
    id: I,
    slug: &str,
) -> Result<(), DomainError> {
    for (other, taken) in existing {
        if other != id && taken == slug {
            return Err(DomainError::Conflict(format!(
                "slug `{slug}` is taken by `{other}`"
            )));
        }
    }
    Ok(())
}

fn encode_offset(offset: usize) -> String {
    signer().encode("brands", &offset)
}

fn decode_offset(token: &str) -> Result<usize, DomainError> {
    signer().decode("brands", token)
}

#[cfg(test)]
mod tests {
    use crate::domain::ProductInput;
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn event() -> OutgoingEvent {
        OutgoingEvent {
            source: "shop.catalog".into(),
            detail_type: "ProductModified".into(),
            detail: json!({}),
        }
    }

    fn product() -> Product {
        let input = ProductInput::from_json(&json!({
            "name": "Mug", "price": 1999, "currency": "EUR",
            "categoryId": CategoryId::new().to_string(), "brandId": BrandId::new().to_string(),
        }))
        .unwrap();
        Product::create(input, "seller-1", Utc::now(), ProductId::new()).unwrap()
    }

    #[tokio::test]
    async fn a_write_at_a_stale_version_is_a_conflict_and_records_no_event() {
        let store = MemoryProductStore::new();
        let p = product();
        store.create(&p, event()).await.unwrap();
        let next = Product {
            version: 2,
            ..p.clone()
        };
        let err = store.update(&next, 7, event()).await.unwrap_err();
        assert_eq!(err.status(), 409);
        let err = store.delete(p.id, 7, event()).await.unwrap_err();
        assert_eq!(err.status(), 409);
        assert!(store.create(&p, event()).await.is_err());
        assert_eq!(store.events().len(), 1);

        store.update(&next, 1, event()).await.unwrap();
        store.delete(p.id, 2, event()).await.unwrap();
        let err = store.delete(p.id, 2, event()).await.unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(store.events().len(), 3);
    }

    #[tokio::test]
    async fn brand_pages_cover_every_brand_and_refuse_altered_tokens() {
        let store = MemoryBrandStore::new();
        for name in ["Zeta", "alpha", "Beta", "gamma", "Delta"] {
            let input = crate::domain::BrandInput {
                name: name.into(),
                ..Default::default()
            };
            store.insert(Brand::create(input, Utc::now(), BrandId::new()).unwrap());
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = store.list(2, token.as_deref()).await.unwrap();
            names.extend(page.items.into_iter().map(|b| b.name));
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(names, ["alpha", "Beta", "Delta", "gamma", "Zeta"]);
        let forged = Signer::new("another key").encode("brands", &2_usize);
        assert_eq!(
            store.list(2, Some(&forged)).await.unwrap_err().status(),
            400
        );
    }

    #[tokio::test]
    async fn slugs_are_unique_per_store() {
        let store = MemoryBrandStore::new();
        let make = |name: &str| {
            let input = crate::domain::BrandInput {
                name: name.into(),
                ..Default::default()
            };
            Brand::create(input, Utc::now(), BrandId::new()).unwrap()
        };
        store.create(&make("Acme"), event()).await.unwrap();
        let err = store.create(&make("acme"), event()).await.unwrap_err();
        assert_eq!(err.status(), 409);
    }
}
