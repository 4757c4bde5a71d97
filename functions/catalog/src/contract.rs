//! The catalog's store contract: what every adapter of [`ProductStore`], [`CategoryStore`] and
//! [`BrandStore`] must do, written once and run against both the in-memory catalog (the
//! handler tests' `store` module) and the DynamoDB adapter against moto (the end-to-end
//! tests' `stores` module), so the fake the handler tests trust cannot drift from the table.
//!
//! Each check takes a fresh, empty store and panics, like an assert, on the first broken rule.

use std::collections::BTreeMap;

use crate::domain::{
    Brand, BrandInput, BrandStore, Category, CategoryInput, CategoryStore, CategoryTree, Product,
    ProductInput, ProductQuery, ProductStore, filter_and_sort,
};
use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;
use shop_domain::testing::contract_event;
use shop_domain::{BrandId, CategoryId, Clock, DomainError, OutgoingEvent, ProductId, SystemClock};

/// All three ports in one value, as both adapters are.
pub trait Catalog: ProductStore + CategoryStore + BrandStore {}
impl<T: ProductStore + CategoryStore + BrandStore> Catalog for T {}

fn event(n: usize) -> OutgoingEvent {
    contract_event("shop.catalog", n)
}

const NAMES: [&str; 6] = [
    "Trail Runner",
    "trail shoe",
    "Canvas Bag",
    "Rain Jacket",
    "Wool Socks",
    "Road RUNNER",
];

/// 120 products over 3 categories (one a child), 2 brands, 3 sellers, every status, with
/// repeated prices, names and creation times, so every tie-breaker matters.
fn products(categories: &[CategoryId], brands: &[BrandId]) -> Vec<Product> {
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    (0..120)
        .map(|i| {
            let status = ["active", "active", "active", "draft", "archived"][i % 5];
            let input = ProductInput::from_json(&json!({
                "name": format!("{} {}", NAMES[i % NAMES.len()], i % 7),
                "price": 500 + (i % 13) * 250,
                "currency": "EUR",
                "categoryId": categories[i % categories.len()].to_string(),
                "brandId": brands[i % brands.len()].to_string(),
                "status": if status == "archived" { "active" } else { status },
            }))
            .unwrap();
            let created = base + TimeDelta::minutes((i / 3) as i64);
            let mut p = Product::create(
                input,
                &format!("seller-{}", i % 3),
                created,
                ProductId::new(),
            )
            .unwrap();
            if status == "archived" {
                p.status = crate::domain::ProductStatus::Archived;
            }
            p
        })
        .collect()
}

async fn walk(
    store: &impl ProductStore,
    query: &ProductQuery,
    categories: Option<&[CategoryId]>,
) -> Vec<ProductId> {
    let mut ids = Vec::new();
    let mut query = query.clone();
    loop {
        let page = ProductStore::list(store, &query, categories).await.unwrap();
        let full = page.items.len() == query.page_size as usize;
        ids.extend(page.items.iter().map(|p| p.id));
        match page.next_token {
            Some(token) => {
                assert!(full, "only the last page may be short");
                query.next_token = Some(token);
            }
            None => return ids,
        }
    }
}

/// The lists walked page by page equal the reference semantics ([`filter_and_sort`]) for
/// every filter and order, only the last page is short, a cursor works only for its own
/// query and key, and a seller's list holds their products in every status, newest first.
pub async fn lists_exactly_what_the_reference_lists(store: &impl Catalog) {
    let now = SystemClock.now();

    let root = Category::create(
        CategoryInput {
            name: "Shoes".into(),
            ..Default::default()
        },
        now,
        CategoryId::new(),
    )
    .unwrap();
    let child = Category::create(
        CategoryInput {
            name: "Running".into(),
            parent_id: Some(root.id.to_string()),
            ..Default::default()
        },
        now,
        CategoryId::new(),
    )
    .unwrap();
    let other = Category::create(
        CategoryInput {
            name: "Bags".into(),
            ..Default::default()
        },
        now,
        CategoryId::new(),
    )
    .unwrap();
    for c in [&root, &child, &other] {
        CategoryStore::create(store, c, event(0)).await.unwrap();
    }
    let brands: Vec<Brand> = ["Acme", "Globex"]
        .iter()
        .map(|name| {
            Brand::create(
                BrandInput {
                    name: (*name).into(),
                    ..Default::default()
                },
                now,
                BrandId::new(),
            )
            .unwrap()
        })
        .collect();
    for b in &brands {
        BrandStore::create(store, b, event(0)).await.unwrap();
    }
    let all = products(
        &[root.id, child.id, other.id],
        &brands.iter().map(|b| b.id).collect::<Vec<_>>(),
    );
    let writes = all
        .iter()
        .enumerate()
        .map(|(i, p)| async move { ProductStore::create(store, p, event(i)).await });
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }

    let tree = CategoryTree::new(CategoryStore::all(store).await.unwrap());
    let queries: Vec<BTreeMap<&str, String>> = vec![
        BTreeMap::new(),
        BTreeMap::from([("sortBy", "price".into()), ("pageSize", "7".into())]),
        BTreeMap::from([
            ("sortBy", "price".into()),
            ("sortOrder", "desc".into()),
            ("pageSize", "1".into()),
        ]),
        BTreeMap::from([("sortBy", "name".into()), ("pageSize", "9".into())]),
        BTreeMap::from([
            ("sortBy", "name".into()),
            ("sortOrder", "desc".into()),
            ("pageSize", "100".into()),
        ]),
        BTreeMap::from([
            ("sortBy", "createdAt".into()),
            ("sortOrder", "asc".into()),
            ("pageSize", "11".into()),
        ]),
        BTreeMap::from([("category", root.id.to_string()), ("pageSize", "5".into())]),
        BTreeMap::from([
            ("category", child.id.to_string()),
            ("sortBy", "price".into()),
        ]),
        BTreeMap::from([
            ("brand", brands[1].id.to_string()),
            ("sortBy", "name".into()),
            ("pageSize", "4".into()),
        ]),
        BTreeMap::from([
            ("minPrice", "1000".into()),
            ("maxPrice", "2000".into()),
            ("pageSize", "6".into()),
        ]),
        BTreeMap::from([
            ("search", "RUNNER".into()),
            ("sortBy", "price".into()),
            ("pageSize", "3".into()),
        ]),
        BTreeMap::from([
            ("search", "trail".into()),
            ("category", root.id.to_string()),
            ("brand", brands[0].id.to_string()),
            ("maxPrice", "3000".into()),
            ("pageSize", "2".into()),
        ]),
        BTreeMap::from([("search", "no such product".into())]),
    ];
    for params in &queries {
        let query =
            ProductQuery::from_params(params.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        let expanded = query.category.map(|c| tree.descendants_of(c));
        let expected: Vec<ProductId> = filter_and_sort(&all, &query, expanded.as_deref())
            .into_iter()
            .map(|p| p.id)
            .collect();
        let got = walk(store, &query, expanded.as_deref()).await;
        assert_eq!(got, expected, "query {params:?}");
    }

    // A cursor is bound to its query and its key.
    let first = ProductQuery::from_params([("pageSize", "2")]).unwrap();
    let token = ProductStore::list(store, &first, None)
        .await
        .unwrap()
        .next_token
        .unwrap();
    let other_query = ProductQuery {
        sort_by: crate::domain::SortBy::Price,
        next_token: Some(token.clone()),
        ..first.clone()
    };
    assert_eq!(
        ProductStore::list(store, &other_query, None)
            .await
            .unwrap_err()
            .status(),
        400
    );
    let mut forged = token.into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = ProductQuery {
        next_token: Some(String::from_utf8(forged).unwrap()),
        ..first
    };
    assert_eq!(
        ProductStore::list(store, &forged, None)
            .await
            .unwrap_err()
            .status(),
        400
    );

    // A seller's list: theirs only, every status, newest first, in full pages.
    let mut mine: Vec<&Product> = all.iter().filter(|p| p.seller_id == "seller-1").collect();
    mine.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .list_by_seller("seller-1", 6, token.as_deref())
            .await
            .unwrap();
        got.extend(page.items.iter().map(|p| p.id));
        match page.next_token {
            Some(next) => {
                assert_eq!(page.items.len(), 6);
                token = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(got, mine.iter().map(|p| p.id).collect::<Vec<_>>());

    assert!(store.any_in_category(child.id).await.unwrap());
    assert!(store.any_of_brand(brands[0].id).await.unwrap());
    assert!(!store.any_in_category(CategoryId::new()).await.unwrap());
}

/// Writes are conditional on the version read, ids and slugs are unique, a product cannot
/// enter a category that does not exist, and a category or brand in use cannot be deleted.
///
/// Returns how many writes succeeded: the store must now hold exactly that many outbox items
/// (one per successful write, none per refused one), which the caller counts its own way.
#[must_use = "the caller checks the outbox holds exactly this many items"]
pub async fn writes_are_conditional_and_slugs_unique(store: &impl Catalog) -> usize {
    let now = SystemClock.now();

    let acme = Brand::create(
        BrandInput {
            name: "Acme".into(),
            ..Default::default()
        },
        now,
        BrandId::new(),
    )
    .unwrap();
    BrandStore::create(store, &acme, event(1)).await.unwrap();
    let again = BrandStore::create(store, &acme, event(2))
        .await
        .unwrap_err();
    assert!(matches!(again, DomainError::Conflict(_)), "{again:?}");
    let twin = Brand::create(
        BrandInput {
            name: "ACME".into(),
            ..Default::default()
        },
        now,
        BrandId::new(),
    )
    .unwrap();
    let taken = BrandStore::create(store, &twin, event(3))
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, DomainError::Conflict(m) if m.contains("slug")),
        "{taken:?}"
    );

    // Renaming frees the old slug for someone else.
    let (renamed, _) = acme
        .replace(
            BrandInput {
                name: "Acme Corp".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    BrandStore::update(store, &renamed, 1, event(4))
        .await
        .unwrap();
    BrandStore::create(store, &twin, event(5)).await.unwrap();
    let stale = BrandStore::update(store, &renamed, 1, event(6))
        .await
        .unwrap_err();
    assert!(matches!(stale, DomainError::Conflict(_)), "{stale:?}");
    BrandStore::delete(store, renamed.id, 2, event(7))
        .await
        .unwrap();
    let gone = BrandStore::delete(store, renamed.id, 2, event(8))
        .await
        .unwrap_err();
    assert_eq!(gone.status(), 404, "{gone:?}");
    assert_eq!(BrandStore::get(store, renamed.id).await.unwrap(), None);

    let cups = Category::create(
        CategoryInput {
            name: "Cups".into(),
            ..Default::default()
        },
        now,
        CategoryId::new(),
    )
    .unwrap();
    CategoryStore::create(store, &cups, event(90))
        .await
        .unwrap();
    let mug_in = |category: CategoryId| {
        let input = ProductInput::from_json(&json!({
            "name": "Mug", "price": 1200, "currency": "EUR",
            "categoryId": category.to_string(), "brandId": twin.id.to_string(),
        }))
        .unwrap();
        Product::create(input, "seller-9", now, ProductId::new()).unwrap()
    };
    // A product cannot enter a category that does not exist (any more).
    let orphan = ProductStore::create(store, &mug_in(CategoryId::new()), event(91))
        .await
        .unwrap_err();
    assert_eq!(orphan.status(), 422, "{orphan:?}");
    let mug = mug_in(cups.id);
    ProductStore::create(store, &mug, event(9)).await.unwrap();
    // …and a category or brand with a product in it cannot be deleted, whatever the
    // caller checked before.
    let in_use = CategoryStore::delete(store, cups.id, 1, event(92))
        .await
        .unwrap_err();
    assert!(
        matches!(&in_use, DomainError::Conflict(m) if m.contains("still has products")),
        "{in_use:?}"
    );
    assert!(store.any_in_category(cups.id).await.unwrap());
    assert!(store.any_of_brand(twin.id).await.unwrap());
    assert_eq!(
        ProductStore::get(store, mug.id).await.unwrap(),
        Some(mug.clone())
    );
    let next = Product {
        version: 2,
        name: "Big Mug".into(),
        ..mug.clone()
    };
    ProductStore::update(store, &next, 1, event(10))
        .await
        .unwrap();
    let lost = ProductStore::update(store, &next, 1, event(11))
        .await
        .unwrap_err();
    assert!(matches!(lost, DomainError::Conflict(_)), "{lost:?}");
    ProductStore::delete(store, mug.id, 2, event(12))
        .await
        .unwrap();
    let missing = ProductStore::update(store, &next, 2, event(13))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{missing:?}");

    // Empty again: the counts went back to zero, so the category can go.
    assert!(!store.any_in_category(cups.id).await.unwrap());
    CategoryStore::delete(store, cups.id, 1, event(93))
        .await
        .unwrap();

    // Every successful write left exactly one outbox item, every refused one none: brands
    // create, update, create, delete; the category create and delete; the product
    // create, update, delete.
    9
}

/// A product created while its brand is deleted, or a sub-category created while its parent
/// is deleted: exactly one of the two wins, run concurrently twelve times.
pub async fn an_insert_and_the_delete_of_what_it_points_at_never_both_win(store: &impl Catalog) {
    let now = SystemClock.now();
    let category = Category::create(
        CategoryInput {
            name: "Racing".into(),
            ..Default::default()
        },
        now,
        CategoryId::new(),
    )
    .unwrap();
    CategoryStore::create(store, &category, event(0))
        .await
        .unwrap();
    for round in 0..12 {
        let brand = Brand::create(
            BrandInput {
                name: format!("Racer {round}"),
                ..Default::default()
            },
            now,
            BrandId::new(),
        )
        .unwrap();
        BrandStore::create(store, &brand, event(round))
            .await
            .unwrap();
        let input = ProductInput::from_json(&json!({
            "name": "Racer", "price": 100, "currency": "EUR",
            "categoryId": category.id.to_string(), "brandId": brand.id.to_string(),
        }))
        .unwrap();
        let product = Product::create(input, "s", now, ProductId::new()).unwrap();
        let (created, deleted) = tokio::join!(
            ProductStore::create(store, &product, event(round)),
            BrandStore::delete(store, brand.id, 1, event(round)),
        );
        assert!(
            created.is_ok() != deleted.is_ok(),
            "round {round}: exactly one may win: {created:?} {deleted:?}"
        );
        let stored = BrandStore::get(store, brand.id).await.unwrap();
        assert_eq!(stored.is_some(), created.is_ok(), "round {round}");

        // The same for a sub-category and the delete of its parent.
        let parent = Category::create(
            CategoryInput {
                name: format!("Parent {round}"),
                ..Default::default()
            },
            now,
            CategoryId::new(),
        )
        .unwrap();
        CategoryStore::create(store, &parent, event(round))
            .await
            .unwrap();
        let child = Category::create(
            CategoryInput {
                name: format!("Child {round}"),
                parent_id: Some(parent.id.to_string()),
                ..Default::default()
            },
            now,
            CategoryId::new(),
        )
        .unwrap();
        let (created, deleted) = tokio::join!(
            CategoryStore::create(store, &child, event(round)),
            CategoryStore::delete(store, parent.id, 1, event(round)),
        );
        assert!(
            created.is_ok() != deleted.is_ok(),
            "round {round}: exactly one may win: {created:?} {deleted:?}"
        );
        if let Err(refused) = &deleted {
            assert!(
                matches!(refused, DomainError::Conflict(m) if m.contains("sub-categories")),
                "{refused:?}"
            );
        }
    }
}
