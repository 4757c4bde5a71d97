//! The catalog's storage ports: one narrow trait per resource.
//!
//! Every write takes the [`OutgoingEvent`] that describes it, because the adapter must
//! commit the change and its outbox item in one `TransactWriteItems`: either both happen or
//! neither, and the event's id is fixed before the write (a retried request that finds its
//! write already done does not mint a second event). The stream relay publishes the outbox.
//!
//! Optimistic concurrency: `update` and `delete` take `before`, the item as the caller read
//! it. The adapter makes the write conditional on `before.version` and derives from `before`
//! everything else the write touches (the product counts of the category and brand a product
//! leaves, the child count of a category's old parent, the slug guard a rename or delete
//! releases), so the two cannot disagree: a `before` that is stale — another writer got there
//! first, or the read was eventually consistent and behind — commits nothing and is
//! [`DomainError::Conflict`]. The handler turns that into 412 when the client sent `If-Match`
//! (its version is stale) and 409 otherwise.

use std::sync::Arc;

use async_trait::async_trait;

use super::brand::Brand;
use super::category::Category;
use super::product::Product;
use super::query::ProductQuery;
use shop_domain::ports::OutgoingEvent;
use shop_domain::{BrandId, CategoryId, DomainError, ProductId};

/// One page of a list: the items and the cursor of the next page, `None` on the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, at most the page size; only the last page may be shorter.
    pub items: Vec<T>,
    /// Opaque, signed cursor for the next page; `None` when this is the last page.
    pub next_token: Option<String>,
}

/// Products: reads, transactional writes with their events, and the lists.
#[async_trait]
pub trait ProductStore: Send + Sync {
    /// The product with `id`, in any status; `None` when there is none.
    async fn get(&self, id: ProductId) -> Result<Option<Product>, DomainError>;

    /// Stores a new product and its `ProductCreated` outbox item;
    /// [`DomainError::Conflict`] if the id is taken.
    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError>;

    /// Replaces `before` (the product as the caller read it) with `after` (the same product
    /// at a higher version) and stores its `ProductModified` outbox item, moving the product
    /// counts from `before`'s category and brand to `after`'s. [`DomainError::Conflict`] when
    /// the stored version is not `before.version`; [`DomainError::NotFound`] when it is gone.
    async fn update(
        &self,
        before: &Product,
        after: &Product,
        event: OutgoingEvent,
    ) -> Result<(), DomainError>;

    /// Deletes `before` (the product as the caller read it) if it is still at
    /// `before.version`, with its `ProductDeleted` outbox item; errors as for
    /// [`ProductStore::update`].
    async fn delete(&self, before: &Product, event: OutgoingEvent) -> Result<(), DomainError>;

    /// One page of the public list: active products matching `query`, in its order, as
    /// [`filter_and_sort`](super::filter_and_sort) defines. `categories` is the `category`
    /// filter expanded to its descendants. A forged or altered `nextToken`, or one issued
    /// for a different query, is a validation error on `nextToken` (400).
    async fn list(
        &self,
        query: &ProductQuery,
        categories: Option<&[CategoryId]>,
    ) -> Result<Page<Product>, DomainError>;

    /// One page of a seller's own products in every status, newest first.
    async fn list_by_seller(
        &self,
        seller_id: &str,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Product>, DomainError>;

    /// Whether any product (in any status) is in category `id`: deleting it is then a 409.
    ///
    /// A yes/no rather than a count on purpose: the delete check needs only one item, which
    /// a `Query` with `Limit = 1` answers, while a count would read every product in it.
    async fn any_in_category(&self, id: CategoryId) -> Result<bool, DomainError>;

    /// Whether any product (in any status) has brand `id`: deleting it is then a 409.
    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError>;
}

/// Categories: few enough to be read whole for the tree.
#[async_trait]
pub trait CategoryStore: Send + Sync {
    /// The category with `id`; `None` when there is none.
    async fn get(&self, id: CategoryId) -> Result<Option<Category>, DomainError>;

    /// Every category, for [`CategoryTree`](super::CategoryTree), the list and the parent
    /// checks. Shops have hundreds of categories, so one paged-through read is fine.
    async fn all(&self) -> Result<Vec<Category>, DomainError>;

    /// Stores a new category and its outbox item; [`DomainError::Conflict`] if the id or
    /// the slug is taken (the adapter keeps slugs unique, e.g. with a slug item in the same
    /// transaction).
    async fn create(&self, category: &Category, event: OutgoingEvent) -> Result<(), DomainError>;

    /// Replaces `before` (the category as the caller read it) with `after`, with its outbox
    /// item; [`DomainError::Conflict`] when the stored version is not `before.version` or
    /// `after`'s slug is taken, [`DomainError::NotFound`] when it is gone.
    async fn update(
        &self,
        before: &Category,
        after: &Category,
        event: OutgoingEvent,
    ) -> Result<(), DomainError>;

    /// Deletes `before` (the category as the caller read it) if it is still at
    /// `before.version`, with its outbox item. The caller has checked it has no children and
    /// no products; the store refuses it (409) if it has them by now.
    async fn delete(&self, before: &Category, event: OutgoingEvent) -> Result<(), DomainError>;
}

/// Brands.
#[async_trait]
pub trait BrandStore: Send + Sync {
    /// The brand with `id`; `None` when there is none.
    async fn get(&self, id: BrandId) -> Result<Option<Brand>, DomainError>;

    /// One page of brands, sorted by name.
    async fn list(
        &self,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Brand>, DomainError>;

    /// Stores a new brand and its outbox item; [`DomainError::Conflict`] if the id or the
    /// slug is taken.
    async fn create(&self, brand: &Brand, event: OutgoingEvent) -> Result<(), DomainError>;

    /// Replaces `before` (the brand as the caller read it) with `after`, with its outbox
    /// item; [`DomainError::Conflict`] when the stored version is not `before.version` or
    /// `after`'s slug is taken, [`DomainError::NotFound`] when it is gone.
    async fn update(
        &self,
        before: &Brand,
        after: &Brand,
        event: OutgoingEvent,
    ) -> Result<(), DomainError>;

    /// Deletes `before` (the brand as the caller read it) if it is still at `before.version`,
    /// with its outbox item. The caller has checked that no product has it; the store refuses
    /// it (409) if one has it by now.
    async fn delete(&self, before: &Brand, event: OutgoingEvent) -> Result<(), DomainError>;
}

// As in `shop_domain::ports`: a shared handle can be passed wherever the port is expected.

#[async_trait]
impl<T: ProductStore + ?Sized> ProductStore for Arc<T> {
    async fn get(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        (**self).get(id).await
    }
    async fn create(&self, product: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).create(product, event).await
    }
    async fn update(
        &self,
        before: &Product,
        after: &Product,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        (**self).update(before, after, event).await
    }
    async fn delete(&self, before: &Product, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).delete(before, event).await
    }
    async fn list(
        &self,
        query: &ProductQuery,
        categories: Option<&[CategoryId]>,
    ) -> Result<Page<Product>, DomainError> {
        (**self).list(query, categories).await
    }
    async fn list_by_seller(
        &self,
        seller_id: &str,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Product>, DomainError> {
        (**self)
            .list_by_seller(seller_id, page_size, next_token)
            .await
    }
    async fn any_in_category(&self, id: CategoryId) -> Result<bool, DomainError> {
        (**self).any_in_category(id).await
    }
    async fn any_of_brand(&self, id: BrandId) -> Result<bool, DomainError> {
        (**self).any_of_brand(id).await
    }
}

#[async_trait]
impl<T: CategoryStore + ?Sized> CategoryStore for Arc<T> {
    async fn get(&self, id: CategoryId) -> Result<Option<Category>, DomainError> {
        (**self).get(id).await
    }
    async fn all(&self) -> Result<Vec<Category>, DomainError> {
        (**self).all().await
    }
    async fn create(&self, category: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).create(category, event).await
    }
    async fn update(
        &self,
        before: &Category,
        after: &Category,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        (**self).update(before, after, event).await
    }
    async fn delete(&self, before: &Category, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).delete(before, event).await
    }
}

#[async_trait]
impl<T: BrandStore + ?Sized> BrandStore for Arc<T> {
    async fn get(&self, id: BrandId) -> Result<Option<Brand>, DomainError> {
        (**self).get(id).await
    }
    async fn list(
        &self,
        page_size: u32,
        next_token: Option<&str>,
    ) -> Result<Page<Brand>, DomainError> {
        (**self).list(page_size, next_token).await
    }
    async fn create(&self, brand: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).create(brand, event).await
    }
    async fn update(
        &self,
        before: &Brand,
        after: &Brand,
        event: OutgoingEvent,
    ) -> Result<(), DomainError> {
        (**self).update(before, after, event).await
    }
    async fn delete(&self, before: &Brand, event: OutgoingEvent) -> Result<(), DomainError> {
        (**self).delete(before, event).await
    }
}
