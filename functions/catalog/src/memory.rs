//! [`MemoryCatalog`]: the catalog's three stores in memory, for the handler tests, with the
//! same rules as the DynamoDB adapter (the store contract in [`crate::contract`] runs against
//! both, so the two cannot drift):
//!
//! - Updates and deletes take the item the caller read (`before`) and check that it is still
//!   the stored version: [`DomainError::Conflict`] on a stale one (nothing changes, as the
//!   adapter's transaction commits nothing) and [`DomainError::NotFound`] when the item is
//!   gone.
//! - Slugs are unique per resource (a taken one is a conflict naming the slug).
//! - A product or sub-category can only enter a category or brand that exists (422), and a
//!   category or brand with products or sub-categories cannot be deleted (409), as the
//!   adapter's counters and their conditions enforce.
//! - Each write records the [`OutgoingEvent`] passed with it, in order, as the outbox item the
//!   real adapter commits in the same transaction ([`MemoryCatalog::events`]); a refused write
//!   records none.
//! - The lists are [`filter_and_sort`] (products) and name order (brands) plus a cursor
//!   holding the sort key and id of the last item returned, signed with a fixed key by
//!   [`crate::cursor`]: a walk over the pages stays exact when items are added or removed
//!   between pages, and an edited or foreign token is a validation error on `nextToken`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::{
    Brand, BrandStore, Category, CategoryStore, Page, Product, ProductQuery, ProductStore, SortBy,
    SortOrder, Versioned, filter_and_sort,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shop_domain::{BrandId, CategoryId, DomainError, OutgoingEvent, ProductId};

use crate::cursor::{ListCursor, Signer, SortKey};

/// Products, categories and brands in maps, with the outbox of every write: one value
/// implements all three ports, as the DynamoDB adapter does, so the rules that span them
/// (a product's category must exist, a category in use cannot go) hold here too.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    products: HashMap<ProductId, Product>,
    categories: HashMap<CategoryId, Category>,
    brands: HashMap<BrandId, Brand>,
    outbox: Vec<OutgoingEvent>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock should not cascade into unrelated asserts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `product` in place without an event or checks, as a test's starting state.
    pub fn insert_product(&self, product: Product) {
        self.lock().products.insert(product.id, product);
    }

    /// Puts `category` in place without an event or checks, as a test's starting state.
    pub fn insert_category(&self, category: Category) {
        self.lock().categories.insert(category.id, category);
    }

    /// Puts `brand` in place without an event or checks, as a test's starting state.
    pub fn insert_brand(&self, brand: Brand) {
        self.lock().brands.insert(brand.id, brand);
    }

    /// Every event recorded with a write, in order.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.lock().outbox.clone()
    }

    /// The detail-types of [`Self::events`], for short asserts.
    pub fn detail_types(&self) -> Vec<String> {
        self.lock()
            .outbox
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }

    /// How many products are stored.
    pub fn product_count(&self) -> usize {
        self.lock().products.len()
    }
}

impl State {
    fn category_exists(&self, id: CategoryId) -> Result<(), DomainError> {
        match self.categories.contains_key(&id) {
            true => Ok(()),
            false => Err(missing("category", id)),
        }
    }

    fn brand_exists(&self, id: BrandId) -> Result<(), DomainError> {
        match self.brands.contains_key(&id) {
            true => Ok(()),
            false => Err(missing("brand", id)),
        }
    }

    /// What a product entering its category and brand needs: both exist.
    fn product_may_enter(&self, product: &Product) -> Result<(), DomainError> {
        self.category_exists(product.category_id)?;
        self.brand_exists(product.brand_id)
    }

    /// What a category needs of its parent: it exists.
    fn parent_exists(&self, category: &Category) -> Result<(), DomainError> {
        category
            .parent_id
            .map_or(Ok(()), |parent| self.category_exists(parent))
    }
}

/// The 422 of something entering a category or brand that does not exist.
fn missing(kind: &str, id: impl std::fmt::Display) -> DomainError {
    DomainError::Unprocessable(format!("{kind} `{id}` does not exist"))
}

fn exists(kind: &str, id: impl std::fmt::Display) -> DomainError {
    DomainError::Conflict(format!("{kind} `{id}` already exists"))
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

/// What the three resources share here: an id, a version and (categories, brands) a slug.
trait Stored: Versioned + Clone {
    type Id: Copy + Eq + std::hash::Hash + std::fmt::Display;
    /// `product`, `category` or `brand`, for the messages.
    const KIND: &'static str;
    fn id(&self) -> Self::Id;
    /// The unique slug, when the resource has one.
    fn slug(&self) -> Option<&str>;
}

impl Stored for Product {
    type Id = ProductId;
    const KIND: &'static str = "product";
    fn id(&self) -> ProductId {
        self.id
    }
    fn slug(&self) -> Option<&str> {
        None
    }
}

impl Stored for Category {
    type Id = CategoryId;
    const KIND: &'static str = "category";
    fn id(&self) -> CategoryId {
        self.id
    }
    fn slug(&self) -> Option<&str> {
        Some(&self.slug)
    }
}

impl Stored for Brand {
    type Id = BrandId;
    const KIND: &'static str = "brand";
    fn id(&self) -> BrandId {
        self.id
    }
    fn slug(&self) -> Option<&str> {
        Some(&self.slug)
    }
}

/// The conditions of writing `value` into `map`, as the adapter's conditional writes check
/// them: a create (`before` `None`) needs a free id, a replace the stored version to be that
/// of `before`, the item the caller read; either needs a slug no other item has.
fn check_write<T: Stored>(
    map: &HashMap<T::Id, T>,
    value: &T,
    before: Option<&T>,
) -> Result<(), DomainError> {
    let id = value.id();
    match (map.get(&id), before) {
        (Some(_), None) => return Err(exists(T::KIND, id)),
        (_, Some(before)) if before.id() != id => {
            return Err(DomainError::Internal(format!(
                "an update of {kind} `{}` was handed {kind} `{id}` as its new state",
                before.id(),
                kind = T::KIND
            )));
        }
        (None, Some(_)) => return Err(DomainError::not_found(T::KIND, id)),
        (Some(stored), Some(before)) => {
            check_version(T::KIND, id, stored.version(), before.version())?;
        }
        (None, None) => {}
    }
    match value.slug() {
        Some(slug) if map.values().any(|o| o.id() != id && o.slug() == Some(slug)) => Err(
            DomainError::Conflict(format!("the slug `{slug}` is taken by another {}", T::KIND)),
        ),
        _ => Ok(()),
    }
}

/// The conditions of deleting `before`, the item of `map` the caller read: it is still the
/// stored version.
fn check_delete<T: Stored>(map: &HashMap<T::Id, T>, before: &T) -> Result<(), DomainError> {
    let id = before.id();
    let stored = map
        .get(&id)
        .ok_or_else(|| DomainError::not_found(T::KIND, id))?;
    check_version(T::KIND, id, stored.version(), before.version())
}

#[async_trait]
impl ProductStore for MemoryCatalog {
    async fn get(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        Ok(self.lock().products.get(&id).cloned())
    }

    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.products, product, None)?;
        state.product_may_enter(product)?;
        state.products.insert(product.id, product.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn update(
        &self,
        before: &Product,
        after: &Product,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.products, after, Some(before))?;
        state.product_may_enter(after)?;
        state.products.insert(after.id, after.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn delete(&self, before: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        let id = before.id;
        let mut state = self.lock();
        check_delete(&state.products, before)?;
        state.products.remove(&id);
        state.outbox.push(event);
        Ok(())
    }

    async fn list(
        &self,
        query: &ProductQuery,
        categories: Option<&[CategoryId]>,
    ) -> Result<Page<Product>, DomainError> {
        let all: Vec<Product> = self.lock().products.values().cloned().collect();
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
        let mut mine: Vec<Product> = self
            .lock()
            .products
            .values()
            .filter(|p| p.seller_id == seller_id)
            .cloned()
            .collect();
        mine.sort_by(|a, b| query.compare(a, b));
        let scope = format!("seller|{seller_id}");
        page(mine.iter().collect(), &query, &scope)
    }

    async fn any_in_category(&self, id: CategoryId) -> Result<bool, DomainError> {
        Ok(self.lock().products.values().any(|p| p.category_id == id))
    }

    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError> {
        Ok(self.lock().products.values().any(|p| p.brand_id == id))
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

#[async_trait]
impl CategoryStore for MemoryCatalog {
    async fn get(&self, id: CategoryId) -> Result<Option<Category>, DomainError> {
        Ok(self.lock().categories.get(&id).cloned())
    }

    async fn all(&self) -> Result<Vec<Category>, DomainError> {
        let mut all: Vec<Category> = self.lock().categories.values().cloned().collect();
        all.sort_by_key(|c| c.id);
        Ok(all)
    }

    async fn create(&self, category: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.categories, category, None)?;
        state.parent_exists(category)?;
        state.categories.insert(category.id, category.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn update(
        &self,
        before: &Category,
        after: &Category,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.categories, after, Some(before))?;
        state.parent_exists(after)?;
        state.categories.insert(after.id, after.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn delete(&self, before: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        let id = before.id;
        let mut state = self.lock();
        check_delete(&state.categories, before)?;
        if state.products.values().any(|p| p.category_id == id) {
            return Err(DomainError::Conflict(format!(
                "category `{id}` still has products; move them first"
            )));
        }
        if state.categories.values().any(|c| c.parent_id == Some(id)) {
            return Err(DomainError::Conflict(format!(
                "category `{id}` has sub-categories; delete or move them first"
            )));
        }
        state.categories.remove(&id);
        state.outbox.push(event);
        Ok(())
    }
}

/// The brand list's cursor, as the DynamoDB adapter's: the last brand's lower-cased name and
/// id.
#[derive(Serialize, Deserialize)]
struct BrandCursor {
    name: String,
    id: BrandId,
}

#[async_trait]
impl BrandStore for MemoryCatalog {
    async fn get(&self, id: BrandId) -> Result<Option<Brand>, DomainError> {
        Ok(self.lock().brands.get(&id).cloned())
    }

    /// Sorted by name (case-insensitively), then id; the page starts after the cursor's brand.
    async fn list(
        &self,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Brand>, DomainError> {
        let after: Option<BrandCursor> = next_token
            .map(|token| signer().decode("brands", token))
            .transpose()?;
        let mut all: Vec<(String, Brand)> = self
            .lock()
            .brands
            .values()
            .map(|b| (b.name.to_lowercase(), b.clone()))
            .collect();
        all.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.id.cmp(&y.id)));
        let rest: Vec<(String, Brand)> = match after {
            None => all,
            Some(c) => all
                .into_iter()
                .filter(|(name, b)| (name, b.id) > (&c.name, c.id))
                .collect(),
        };
        let size = page_size as usize;
        let items: Vec<Brand> = rest.iter().take(size).map(|(_, b)| b.clone()).collect();
        let next_token = match items.last() {
            Some(last) if rest.len() > size => Some(signer().encode(
                "brands",
                &BrandCursor {
                    name: last.name.to_lowercase(),
                    id: last.id,
                },
            )),
            _ => None,
        };
        Ok(Page { items, next_token })
    }

    async fn create(&self, brand: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.brands, brand, None)?;
        state.brands.insert(brand.id, brand.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn update(
        &self,
        before: &Brand,
        after: &Brand,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        check_write(&state.brands, after, Some(before))?;
        state.brands.insert(after.id, after.clone());
        state.outbox.push(event);
        Ok(())
    }

    async fn delete(&self, before: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        let id = before.id;
        let mut state = self.lock();
        check_delete(&state.brands, before)?;
        if state.products.values().any(|p| p.brand_id == id) {
            return Err(DomainError::Conflict(format!(
                "brand `{id}` still has products; move them first"
            )));
        }
        state.brands.remove(&id);
        state.outbox.push(event);
        Ok(())
    }
}
