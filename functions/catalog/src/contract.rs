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
use shop_domain::testing::{assert_conflict, contract_event};
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
    BrandStore::update(store, &acme, &renamed, event(4))
        .await
        .unwrap();
    BrandStore::create(store, &twin, event(5)).await.unwrap();
    let stale = BrandStore::update(store, &acme, &renamed, event(6))
        .await
        .unwrap_err();
    assert!(matches!(stale, DomainError::Conflict(_)), "{stale:?}");
    BrandStore::delete(store, &renamed, event(7)).await.unwrap();
    let gone = BrandStore::delete(store, &renamed, event(8))
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
    let in_use = CategoryStore::delete(store, &cups, event(92))
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
    ProductStore::update(store, &mug, &next, event(10))
        .await
        .unwrap();
    let lost = ProductStore::update(store, &mug, &next, event(11))
        .await
        .unwrap_err();
    assert!(matches!(lost, DomainError::Conflict(_)), "{lost:?}");
    ProductStore::delete(store, &next, event(12)).await.unwrap();
    let later = Product {
        version: 3,
        ..next.clone()
    };
    let missing = ProductStore::update(store, &next, &later, event(13))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{missing:?}");

    // Empty again: the counts went back to zero, so the category can go.
    assert!(!store.any_in_category(cups.id).await.unwrap());
    CategoryStore::delete(store, &cups, event(93))
        .await
        .unwrap();

    // Every successful write left exactly one outbox item, every refused one none: brands
    // create, update, create, delete; the category create and delete; the product
    // create, update, delete. Then the same rules for a writer holding a stale copy.
    9 + a_write_from_a_stale_read_changes_nothing(store).await
}

/// An update or delete handed a stale `before` — the caller loaded the item, someone else
/// changed it since (or the read lagged behind), and the caller still passes what it loaded —
/// is refused as a conflict and changes nothing the store would derive from that `before`: the
/// product counts of the category and brand the old copy names stay exact (so a category that
/// still has products never reaches zero and is deleted), as does the sub-category count of
/// its old parent, and no slug guard is released (the old copy's slug may be someone else's
/// by now).
///
/// Part of [`writes_are_conditional_and_slugs_unique`], which runs it on the same store so
/// that both adapters' runs include it. Returns how many of its writes succeeded.
#[must_use = "the caller checks the outbox holds exactly this many items"]
pub async fn a_write_from_a_stale_read_changes_nothing(store: &impl Catalog) -> usize {
    let now = SystemClock.now();
    let category = |name: &str, parent: Option<CategoryId>| {
        let input = CategoryInput {
            name: name.into(),
            parent_id: parent.map(|p| p.to_string()),
            ..Default::default()
        };
        Category::create(input, now, CategoryId::new()).unwrap()
    };
    let brand = |name: &str| {
        let input = BrandInput {
            name: name.into(),
            ..Default::default()
        };
        Brand::create(input, now, BrandId::new()).unwrap()
    };
    let product = |name: &str, category: &Category, brand: &Brand| {
        let input = ProductInput::from_json(&json!({
            "name": name, "price": 3500, "currency": "EUR",
            "categoryId": category.id.to_string(), "brandId": brand.id.to_string(),
        }))
        .unwrap();
        Product::create(input, "seller-8", now, ProductId::new()).unwrap()
    };
    let mut written = 0;

    // Products: two kettles of one brand; someone else moves the first to the teapots of
    // another brand, while a writer still holds it as it was.
    let kettles = category("Kettles", None);
    let teapots = category("Teapots", None);
    let jugs = category("Jugs", None);
    for c in [&kettles, &teapots, &jugs] {
        CategoryStore::create(store, c, event(20)).await.unwrap();
    }
    let kettle_works = brand("Kettle Works");
    let teapot_works = brand("Teapot Works");
    for b in [&kettle_works, &teapot_works] {
        BrandStore::create(store, b, event(21)).await.unwrap();
    }
    let loaded = product("Steel Kettle", &kettles, &kettle_works);
    let other = product("Copper Kettle", &kettles, &kettle_works);
    for p in [&loaded, &other] {
        ProductStore::create(store, p, event(22)).await.unwrap();
    }
    let moved = Product {
        version: 2,
        category_id: teapots.id,
        brand_id: teapot_works.id,
        ..loaded.clone()
    };
    ProductStore::update(store, &loaded, &moved, event(23))
        .await
        .unwrap();
    written += 8;
    let into_jugs = Product {
        version: 2,
        name: "Stale Kettle".into(),
        category_id: jugs.id,
        ..loaded.clone()
    };
    assert_conflict(ProductStore::update(store, &loaded, &into_jugs, event(24)).await);
    assert_conflict(ProductStore::delete(store, &loaded, event(25)).await);
    assert_eq!(
        ProductStore::get(store, loaded.id).await.unwrap(),
        Some(moved.clone())
    );
    // The kettles and their brand still count the other kettle: neither may go…
    let in_use = [
        CategoryStore::delete(store, &kettles, event(26)).await,
        BrandStore::delete(store, &kettle_works, event(27)).await,
    ];
    for refused in in_use {
        assert!(
            matches!(&refused, Err(DomainError::Conflict(m)) if m.contains("still has products")),
            "{refused:?}"
        );
    }
    assert!(store.any_in_category(teapots.id).await.unwrap());
    assert!(store.any_of_brand(teapot_works.id).await.unwrap());
    assert!(!store.any_in_category(jugs.id).await.unwrap());
    // …and once it moves out too they are at exactly zero (a count the refused writes had
    // taken down would be below zero and refuse the delete), as the jugs, which the refused
    // update would have entered, still are.
    let other_moved = Product {
        version: 2,
        category_id: teapots.id,
        brand_id: teapot_works.id,
        ..other.clone()
    };
    ProductStore::update(store, &other, &other_moved, event(28))
        .await
        .unwrap();
    CategoryStore::delete(store, &kettles, event(29))
        .await
        .unwrap();
    BrandStore::delete(store, &kettle_works, event(30))
        .await
        .unwrap();
    CategoryStore::delete(store, &jugs, event(31))
        .await
        .unwrap();
    written += 4;

    // Brands: renamed by someone else, and a newcomer took the old name's slug; the stale copy
    // still names that slug.
    let named = brand("Old Name Works");
    BrandStore::create(store, &named, event(40)).await.unwrap();
    let rename = |name: &str| {
        let input = BrandInput {
            name: name.into(),
            ..Default::default()
        };
        named.replace(input, now).unwrap().0
    };
    let renamed = rename("New Name Works");
    BrandStore::update(store, &named, &renamed, event(41))
        .await
        .unwrap();
    let newcomer = brand("Old Name Works");
    BrandStore::create(store, &newcomer, event(42))
        .await
        .unwrap();
    written += 3;
    let stale_rename = rename("Third Name Works");
    assert_conflict(BrandStore::update(store, &named, &stale_rename, event(43)).await);
    assert_conflict(BrandStore::delete(store, &named, event(44)).await);
    assert_eq!(
        BrandStore::get(store, named.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(
        BrandStore::get(store, newcomer.id).await.unwrap(),
        Some(newcomer.clone())
    );
    // Both guards stand, the newcomer's and the renamed brand's; the slug the refused rename
    // asked for was never taken.
    for name in ["Old Name Works", "New Name Works"] {
        let taken = BrandStore::create(store, &brand(name), event(45)).await;
        assert!(
            matches!(&taken, Err(DomainError::Conflict(m)) if m.contains("slug")),
            "{name}: {taken:?}"
        );
    }
    BrandStore::create(store, &brand("Third Name Works"), event(46))
        .await
        .unwrap();
    written += 1;

    // Categories: a sub-category moved to another parent and renamed by someone else, and a
    // newcomer took its old slug; the stale copy names the old parent and the old slug.
    let old_parent = category("Old Parent", None);
    let new_parent = category("New Parent", None);
    let child = category("Old Child", Some(old_parent.id));
    for c in [&old_parent, &new_parent, &child] {
        CategoryStore::create(store, c, event(50)).await.unwrap();
    }
    let change = |name: &str, parent: Option<CategoryId>| {
        let input = CategoryInput {
            name: name.into(),
            parent_id: parent.map(|p| p.to_string()),
            ..Default::default()
        };
        child.replace(input, now).unwrap().0
    };
    let moved_child = change("New Child", Some(new_parent.id));
    CategoryStore::update(store, &child, &moved_child, event(51))
        .await
        .unwrap();
    let squatter = category("Old Child", None);
    CategoryStore::create(store, &squatter, event(52))
        .await
        .unwrap();
    written += 5;
    let stale_move = change("Third Child", None);
    assert_conflict(CategoryStore::update(store, &child, &stale_move, event(53)).await);
    assert_conflict(CategoryStore::delete(store, &child, event(54)).await);
    assert_eq!(
        CategoryStore::get(store, child.id).await.unwrap(),
        Some(moved_child.clone())
    );
    for name in ["Old Child", "New Child"] {
        let taken = CategoryStore::create(store, &category(name, None), event(55)).await;
        assert!(
            matches!(&taken, Err(DomainError::Conflict(m)) if m.contains("slug")),
            "{name}: {taken:?}"
        );
    }
    // The old parent's sub-category count is exactly zero, the new parent's is not.
    let has_child = CategoryStore::delete(store, &new_parent, event(56)).await;
    assert!(
        matches!(&has_child, Err(DomainError::Conflict(m)) if m.contains("sub-categories")),
        "{has_child:?}"
    );
    CategoryStore::delete(store, &old_parent, event(57))
        .await
        .unwrap();
    written += 1;

    written
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
            BrandStore::delete(store, &brand, event(round)),
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
            CategoryStore::delete(store, &parent, event(round)),
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
