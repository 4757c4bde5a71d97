//! The discounts store contract: what every [`DiscountStore`] and [`CatalogProjection`]
//! adapter must do, written once and run against [`MemoryDiscounts`](crate::memory) (the
//! handler tests' `store` module) and the DynamoDB adapter on moto (the end-to-end `stores`
//! module). Each check takes a fresh, empty store and panics on the first broken rule.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;
use shop_domain::testing::{assert_conflict, contract_event};
use shop_domain::{
    BrandId, CategoryId, Clock, Currency, DiscountId, OrderId, ProductId, SystemClock,
};

use crate::domain::{
    CatalogEvent, CatalogProjection, CategoryFacts, Discount, DiscountInput, DiscountStore,
    ProductFacts, Redemption, RedemptionStatus, ReserveRefusal, Usage,
};

/// Whole milliseconds, as the table stores timestamps.
fn event() -> shop_domain::OutgoingEvent {
    contract_event("shop.discounts", 0)
}

fn now() -> DateTime<Utc> {
    let now = SystemClock.now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn discount(body: serde_json::Value) -> Discount {
    let input = DiscountInput::from_json(&body).expect("a valid discount");
    Discount::create(input, DiscountId::new(), now())
}

fn coupon(code: &str, extra: serde_json::Value) -> Discount {
    let mut body = json!({"code": code, "name": format!("Coupon {code}"),
        "type": "percentage", "value": 10});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    discount(body)
}

fn renamed(d: &Discount, code: Option<&str>, name: &str) -> Discount {
    Discount {
        code: code.map(str::to_owned),
        name: name.to_owned(),
        version: d.version + 1,
        ..d.clone()
    }
}

fn order(user: &str, discounts: &[&Discount]) -> Redemption {
    Redemption::reserve(
        OrderId::new(),
        user.to_owned(),
        discounts.iter().map(|d| d.id).collect(),
        now(),
    )
}

/// Codes are unique ignoring case (the guard is written with the discount); replace and
/// delete are conditional on the version read; of two concurrent creates of one code in two
/// cases exactly one wins; a renamed discount frees its old code.
pub async fn codes_are_unique_ignoring_case_and_writes_conditional(store: &impl DiscountStore) {
    let spring = coupon("Spring5", json!({}));
    store.create(&spring, event()).await.unwrap();
    assert_conflict(store.create(&spring, event()).await);
    assert_conflict(store.create(&coupon("SPRING5", json!({})), event()).await);
    let found = store.by_code("spring5").await.unwrap();
    assert_eq!(found.as_ref(), Some(&spring));
    assert_eq!(store.get(spring.id).await.unwrap().as_ref(), Some(&spring));
    assert_eq!(store.by_code("AUTUMN").await.unwrap(), None);

    // Renamed: the old code is free, the new one taken; a case-only change keeps its guard.
    let summer = renamed(&spring, Some("Summer5"), "Summer");
    store.update(&spring, &summer, event()).await.unwrap();
    let other = coupon("spring5", json!({}));
    store.create(&other, event()).await.unwrap();
    assert_conflict(store.create(&coupon("SUMMER5", json!({})), event()).await);
    let upper = renamed(&summer, Some("SUMMER5"), "Summer");
    store.update(&summer, &upper, event()).await.unwrap();
    assert_eq!(
        store.by_code("summer5").await.unwrap().map(|d| d.id),
        Some(spring.id)
    );
    // Onto a code another holds: refused, nothing changes.
    let clash = renamed(&upper, Some("SPRING5"), "Clash");
    assert_conflict(store.update(&upper, &clash, event()).await);
    assert_eq!(store.get(spring.id).await.unwrap().as_ref(), Some(&upper));

    // Delete frees the code; a deleted discount cannot be replaced or deleted again.
    store.delete(&upper, event()).await.unwrap();
    assert_eq!(store.get(spring.id).await.unwrap(), None);
    assert_eq!(store.by_code("SUMMER5").await.unwrap(), None);
    assert!(store.delete(&upper, event()).await.is_err());
    let again = renamed(&upper, Some("SUMMER5"), "Again");
    assert!(store.update(&upper, &again, event()).await.is_err());
    store
        .create(&coupon("summer5", json!({})), event())
        .await
        .unwrap();

    // One code, two cases, at once: one winner.
    let (a, b) = (coupon("Twice", json!({})), coupon("TWICE", json!({})));
    let (ra, rb) = tokio::join!(store.create(&a, event()), store.create(&b, event()));
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one may win: {ra:?} {rb:?}"
    );

    // Automatic campaigns have no code and are listed as such.
    let campaign = discount(json!({"name": "Campaign", "type": "percentage", "value": 5,
        "automatic": true}));
    store.create(&campaign, event()).await.unwrap();
    let automatic: Vec<DiscountId> = store
        .automatic()
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(automatic, [campaign.id]);
}

/// The deterministic stale read: a writer holding a copy one version behind (someone replaced
/// the discount after it read) is refused by the version condition — a replace, a delete and a
/// reservation alike — and nothing it would have written is there.
pub async fn a_write_from_a_stale_read_changes_nothing(store: &impl DiscountStore) {
    let v1 = coupon("STALE", json!({"usageLimit": 10}));
    store.create(&v1, event()).await.unwrap();
    let v2 = Discount {
        usage_limit: Some(1),
        ..renamed(&v1, Some("STALE"), "Lowered limit")
    };
    store.update(&v1, &v2, event()).await.unwrap();

    // The stale copy still says 10 uses; the store says 1.
    let stale_edit = renamed(&v1, Some("STALE"), "From a stale read");
    assert_conflict(store.update(&v1, &stale_edit, event()).await);
    assert_conflict(store.delete(&v1, event()).await);
    assert_eq!(store.get(v1.id).await.unwrap().as_ref(), Some(&v2));

    let first = order("u-1", &[&v2]);
    store
        .reserve(&first, std::slice::from_ref(&v2))
        .await
        .unwrap();
    let from_stale = order("u-2", &[&v1]);
    let refused = store.reserve(&from_stale, std::slice::from_ref(&v1)).await;
    assert_eq!(refused, Err(ReserveRefusal::Stale(v1.id)));
    assert_eq!(store.redemption(from_stale.order_id).await.unwrap(), None);
    assert_eq!(
        store.usage(v1.id, Some("u-2")).await.unwrap(),
        Usage {
            total: 1,
            by_user: 0
        }
    );
    // Read again, the limit is the stored one.
    let fresh = store.get(v1.id).await.unwrap().unwrap();
    assert_eq!(
        store
            .reserve(&from_stale, std::slice::from_ref(&fresh))
            .await,
        Err(ReserveRefusal::UsageLimitReached(v1.id))
    );
}

/// A reservation counts against `usageLimit` and `perUserLimit` at once, all or nothing: a
/// second discount over its limit leaves the first one's counters as they were.
pub async fn reservations_hold_both_limits_at_once(store: &impl DiscountStore) {
    let three = coupon("THREE", json!({"usageLimit": 3, "perUserLimit": 2}));
    let open = coupon("OPEN", json!({}));
    store.create(&three, event()).await.unwrap();
    store.create(&open, event()).await.unwrap();

    store
        .reserve(&order("ann", &[&three]), std::slice::from_ref(&three))
        .await
        .unwrap();
    store
        .reserve(&order("ann", &[&three]), std::slice::from_ref(&three))
        .await
        .unwrap();
    assert_eq!(
        store
            .reserve(&order("ann", &[&three]), std::slice::from_ref(&three))
            .await,
        Err(ReserveRefusal::PerUserLimitReached(three.id))
    );
    store
        .reserve(&order("bo", &[&three]), std::slice::from_ref(&three))
        .await
        .unwrap();
    let both = [open.clone(), three.clone()];
    let refused = order("cy", &[&open, &three]);
    assert_eq!(
        store.reserve(&refused, &both).await,
        Err(ReserveRefusal::UsageLimitReached(three.id))
    );
    assert_eq!(store.redemption(refused.order_id).await.unwrap(), None);
    assert_eq!(
        store.usage(open.id, Some("cy")).await.unwrap(),
        Usage::default(),
        "all or nothing"
    );
    assert_eq!(
        store.usage(three.id, Some("ann")).await.unwrap(),
        Usage {
            total: 3,
            by_user: 2
        }
    );

    // One user, a limit of one, two orders at once: one of them.
    let once = coupon("ONCE", json!({"perUserLimit": 1}));
    store.create(&once, event()).await.unwrap();
    let (a, b) = (order("dee", &[&once]), order("dee", &[&once]));
    let (ra, rb) = tokio::join!(
        store.reserve(&a, std::slice::from_ref(&once)),
        store.reserve(&b, std::slice::from_ref(&once)),
    );
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one may win: {ra:?} {rb:?}"
    );
    assert_eq!(store.usage(once.id, Some("dee")).await.unwrap().by_user, 1);
}

/// Many reservations at once, each of its own order and user: exactly `usageLimit` succeed
/// and the counter says so.
pub async fn concurrent_reservations_never_pass_the_limit(store: &impl DiscountStore) {
    let five = coupon("FIVE", json!({"usageLimit": 5}));
    store.create(&five, event()).await.unwrap();
    let orders: Vec<Redemption> = (0..20)
        .map(|i| order(&format!("user-{i}"), &[&five]))
        .collect();
    let results = join_all(
        orders
            .iter()
            .map(|o| store.reserve(o, std::slice::from_ref(&five))),
    )
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 5, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| *e == ReserveRefusal::UsageLimitReached(five.id)),
        "{results:?}"
    );
    assert_eq!(store.usage(five.id, None).await.unwrap().total, 5);
}

/// Reserve, redeem and release are idempotent by order id: twice is once. A release gives
/// each use back exactly once; a redeemed order stays redeemed; an unknown order is `None`.
pub async fn redemptions_move_once_per_order(store: &impl DiscountStore) {
    let limited = coupon("TWICE-SAFE", json!({"usageLimit": 2, "perUserLimit": 2}));
    store.create(&limited, event()).await.unwrap();
    let first = order("eve", &[&limited]);
    let stored = store
        .reserve(&first, std::slice::from_ref(&limited))
        .await
        .unwrap();
    assert_eq!(stored, first);
    let again = store
        .reserve(&first, std::slice::from_ref(&limited))
        .await
        .unwrap();
    assert_eq!(again, first, "the same order twice is one reservation");
    assert_eq!(
        store.usage(limited.id, Some("eve")).await.unwrap(),
        Usage {
            total: 1,
            by_user: 1
        }
    );

    let at = now();
    let redeemed = store.redeem(first.order_id, at).await.unwrap().unwrap();
    assert_eq!(redeemed.status, RedemptionStatus::Redeemed);
    let twice = store.redeem(first.order_id, at).await.unwrap().unwrap();
    assert_eq!(twice.status, RedemptionStatus::Redeemed);
    let not_released = store.release(first.order_id, at).await.unwrap().unwrap();
    assert_eq!(not_released.status, RedemptionStatus::Redeemed);
    assert_eq!(store.usage(limited.id, None).await.unwrap().total, 1);

    let second = order("eve", &[&limited]);
    store
        .reserve(&second, std::slice::from_ref(&limited))
        .await
        .unwrap();
    assert_eq!(
        store.usage(limited.id, Some("eve")).await.unwrap(),
        Usage {
            total: 2,
            by_user: 2
        }
    );
    let (ra, rb) = tokio::join!(
        store.release(second.order_id, at),
        store.release(second.order_id, at)
    );
    for released in [ra, rb] {
        assert_eq!(
            released.unwrap().unwrap().status,
            RedemptionStatus::Released
        );
    }
    assert_eq!(
        store.usage(limited.id, Some("eve")).await.unwrap(),
        Usage {
            total: 1,
            by_user: 1
        },
        "released once"
    );
    assert_eq!(
        store
            .redeem(second.order_id, at)
            .await
            .unwrap()
            .unwrap()
            .status,
        RedemptionStatus::Released
    );
    // Reserving a released order again holds nothing new.
    let replay = store
        .reserve(&second, std::slice::from_ref(&limited))
        .await
        .unwrap();
    assert_eq!(replay.status, RedemptionStatus::Released);
    assert_eq!(store.usage(limited.id, None).await.unwrap().total, 1);

    let unknown = OrderId::new();
    assert_eq!(store.release(unknown, at).await.unwrap(), None);
    assert_eq!(store.redeem(unknown, at).await.unwrap(), None);
}

/// Walked page by page, the lists return everything exactly once, full pages until the last,
/// no cursor after the last.
pub async fn lists_cover_everything_once(store: &impl DiscountStore) {
    let mut made = BTreeSet::new();
    for i in 0..7 {
        let d = coupon(&format!("LIST{i}"), json!({}));
        store.create(&d, event()).await.unwrap();
        made.insert(d.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.list(3, after).await.unwrap();
        seen.extend(page.iter().map(|d| d.id));
        match next {
            Some(last) => {
                assert_eq!(page.len(), 3);
                after = Some(last);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), made);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "oldest first");

    let popular = coupon("POPULAR", json!({}));
    store.create(&popular, event()).await.unwrap();
    let mut orders = BTreeSet::new();
    for i in 0..5 {
        let o = order(&format!("fan-{i}"), &[&popular]);
        store
            .reserve(&o, std::slice::from_ref(&popular))
            .await
            .unwrap();
        orders.insert(o.order_id);
    }
    let (first, next) = store.redemptions_of(popular.id, 4, None).await.unwrap();
    assert_eq!(first.len(), 4);
    let (rest, end) = store.redemptions_of(popular.id, 4, next).await.unwrap();
    assert_eq!(end, None);
    let listed: BTreeSet<OrderId> = first.iter().chain(&rest).map(|e| e.order_id).collect();
    assert_eq!(listed, orders);
    assert!(first.iter().all(|e| e.status == RedemptionStatus::Reserved));
}

/// The projection applies each aggregate's events in version order, once: an older or
/// repeated event changes nothing, a deletion stays deleted even when the creation arrives
/// after it.
pub async fn the_projection_keeps_the_newest_version(store: &impl CatalogProjection) {
    let product = |version: u64, price: i64, status: &str, id: ProductId| ProductFacts {
        product_id: id,
        category_id: CategoryId::from_ulid(Default::default()),
        brand_id: BrandId::from_ulid(Default::default()),
        price,
        currency: Currency::EUR,
        status: status.to_owned(),
        variants: BTreeMap::from([("S".to_owned(), None), ("L".to_owned(), Some(price + 100))]),
        version,
    };
    let id = ProductId::new();
    let v2 = product(2, 900, "active", id);
    store
        .apply(&CatalogEvent::Product(product(1, 1000, "draft", id)))
        .await
        .unwrap();
    store
        .apply(&CatalogEvent::Product(v2.clone()))
        .await
        .unwrap();
    store
        .apply(&CatalogEvent::Product(product(1, 1000, "draft", id)))
        .await
        .unwrap();
    store
        .apply(&CatalogEvent::Product(v2.clone()))
        .await
        .unwrap();
    assert_eq!(store.products(&[id]).await.unwrap(), vec![v2]);

    store
        .apply(&CatalogEvent::ProductDeleted {
            product_id: id,
            version: 3,
        })
        .await
        .unwrap();
    let deleted = store.products(&[id]).await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        (deleted[0].status.as_str(), deleted[0].version),
        ("deleted", 3)
    );
    store
        .apply(&CatalogEvent::Product(product(2, 900, "active", id)))
        .await
        .unwrap();
    assert_eq!(store.products(&[id]).await.unwrap()[0].status, "deleted");

    // Deleted before it was ever seen: its creation, arriving late, does not bring it back.
    let ghost = ProductId::new();
    store
        .apply(&CatalogEvent::ProductDeleted {
            product_id: ghost,
            version: 2,
        })
        .await
        .unwrap();
    store
        .apply(&CatalogEvent::Product(product(1, 500, "active", ghost)))
        .await
        .unwrap();
    assert!(
        store
            .products(&[ghost])
            .await
            .unwrap()
            .iter()
            .all(|p| !p.is_active()),
        "a deleted product is never for sale"
    );
    assert_eq!(
        store.products(&[ProductId::new()]).await.unwrap(),
        Vec::new()
    );

    let (root, child) = (CategoryId::new(), CategoryId::new());
    let category = |id, parent, version, deleted| {
        CatalogEvent::Category(CategoryFacts {
            category_id: id,
            parent_id: parent,
            version,
            deleted,
        })
    };
    store.apply(&category(root, None, 1, false)).await.unwrap();
    store
        .apply(&category(child, Some(root), 2, false))
        .await
        .unwrap();
    store.apply(&category(child, None, 1, false)).await.unwrap();
    assert_eq!(
        store.categories().await.unwrap().lineage(child),
        [child, root]
    );
    store.apply(&category(root, None, 2, true)).await.unwrap();
    assert_eq!(store.categories().await.unwrap().lineage(child), [child]);
}
