//! The store contract: what every [`OrderStore`] adapter must do, one check per rule, each
//! panicking on a broken rule. `tests/handlers/store.rs` runs them on [`crate::memory`],
//! `tests/tests/e2e/stores.rs` on [`crate::dynamo`] against a fresh copy of the table.
//! Checks that write events return how many, so each side can count its outbox.

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;
use shop_domain::{CorrelationId, Currency, OrderId};

use crate::domain::{
    HistoryEntry, Order, OrderLine, OrderNumber, OrderStatus, OrderStore, PlaceRefusal,
    ShippingAddress,
};

fn now() -> DateTime<Utc> {
    "2026-12-03T10:00:00.123Z".parse().unwrap()
}

/// A fresh PENDING order of `user` with one line per seller of `sellers`.
pub fn order_of(user: &str, sellers: &[&str]) -> Order {
    let items = sellers
        .iter()
        .enumerate()
        .map(|(i, seller)| OrderLine {
            line_id: (i + 1).to_string(),
            product_id: shop_domain::ProductId::new(),
            sku: None,
            inventory_sku: "SKU".into(),
            name: format!("Product {i}"),
            unit_price: 1000,
            quantity: 1,
            line_total: 1000,
            seller_id: Some((*seller).to_owned()),
        })
        .collect::<Vec<_>>();
    let subtotal = 1000 * items.len() as i64;
    Order {
        order_id: OrderId::new(),
        order_number: OrderNumber::draw(now()),
        user_id: user.to_owned(),
        status: OrderStatus::Pending,
        payment_status: None,
        items,
        subtotal,
        discount_amount: 0,
        discount_code: None,
        discount_ids: vec![],
        shipping_fee: 499,
        total: subtotal + 499,
        currency: Currency::EUR,
        shipping_address: ShippingAddress {
            full_name: "Ann".into(),
            phone: None,
            line1: "1 Main St".into(),
            line2: None,
            city: "Cork".into(),
            region: None,
            postal_code: "T12".into(),
            country: "IE".into(),
        },
        payment: None,
        history: vec![HistoryEntry {
            status: OrderStatus::Pending,
            at: now(),
            reason: None,
        }],
        created_at: now(),
        updated_at: now(),
        version: 1,
        correlation_id: CorrelationId::new(),
    }
}

fn user() -> String {
    shop_domain::UserId::new().to_string()
}

fn lock_until() -> DateTime<Utc> {
    now() + TimeDelta::seconds(1800)
}

/// One checkout lock per user: of 12 concurrent placements by one user exactly one
/// succeeds and the rest are `LockTaken`; only the holder's release frees it; a lapsed lock
/// is taken over. Answers how many orders were placed.
pub async fn one_checkout_lock_per_user_under_concurrency(store: &impl OrderStore) -> usize {
    let buyer = user();
    let tries: Vec<Order> = (0..12).map(|_| order_of(&buyer, &["S1"])).collect();
    let results = join_all(tries.iter().map(|o| store.place(o, lock_until(), now()))).await;
    let winners: Vec<&Order> = tries
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(o, _)| o)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(()) | Err(PlaceRefusal::LockTaken(_))),
            "{result:?}"
        );
    }
    let winner = winners[0];
    let (holder, _) = store.lock_of(&buyer).await.unwrap().expect("a lock");
    assert_eq!(holder, winner.order_id);
    for loser in tries.iter().filter(|o| o.order_id != winner.order_id) {
        assert_eq!(store.get(loser.order_id).await.unwrap(), None);
    }

    let other = tries
        .iter()
        .find(|o| o.order_id != winner.order_id)
        .unwrap();
    store.release_lock(&buyer, other.order_id).await.unwrap();
    assert!(matches!(
        store
            .place(&order_of(&buyer, &[]), lock_until(), now())
            .await,
        Err(PlaceRefusal::LockTaken(_))
    ));
    store.release_lock(&buyer, winner.order_id).await.unwrap();
    store.release_lock(&buyer, winner.order_id).await.unwrap();
    assert_eq!(store.lock_of(&buyer).await.unwrap(), None);
    let second = order_of(&buyer, &[]);
    store
        .place(&second, now() + TimeDelta::seconds(60), now())
        .await
        .unwrap();
    let later = now() + TimeDelta::seconds(120);
    let third = order_of(&buyer, &[]);
    store
        .place(&third, later + TimeDelta::seconds(60), later)
        .await
        .expect("a lapsed lock is taken over");
    assert_eq!(
        store.lock_of(&buyer).await.unwrap().unwrap().0,
        third.order_id
    );
    3
}

/// A status change is conditional on the status and version read: of 12 concurrent changes
/// from one read exactly one wins, and a change from a stale read is a conflict. Answers
/// how many events were committed (one per winning change).
pub async fn status_transitions_have_one_winner(store: &impl OrderStore) -> usize {
    let placed = order_of(&user(), &["S1"]);
    store.place(&placed, lock_until(), now()).await.unwrap();
    let at = now() + TimeDelta::seconds(1);
    let changes: Vec<Order> = (0..12)
        .map(|i| {
            let to = if i % 2 == 0 {
                OrderStatus::PendingPayment
            } else {
                OrderStatus::Failed
            };
            placed
                .moved(to, Some(format!("try {i}")), at)
                .unwrap()
                .unwrap()
        })
        .collect();
    let results = join_all(changes.iter().enumerate().map(|(i, after)| {
        store.update(
            &placed,
            after,
            Some(shop_domain::testing::contract_event("shop.orders", i)),
        )
    }))
    .await;
    let won: Vec<&Order> = changes
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(o, _)| o)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(()) | Err(shop_domain::DomainError::Conflict(_))),
            "{result:?}"
        );
    }
    let stored = store.get(placed.order_id).await.unwrap().unwrap();
    assert_eq!(&stored, won[0]);
    assert_eq!(stored.history.len(), 2);

    let stale = placed
        .moved(OrderStatus::NeedsAttention, None, at)
        .unwrap()
        .unwrap();
    shop_domain::testing::assert_conflict(store.update(&placed, &stale, None).await);
    assert_eq!(store.get(placed.order_id).await.unwrap().unwrap(), stored);
    1
}

/// Order numbers are unique: a second order with a taken number is `NumberTaken` and
/// leaves nothing behind (no order, no lock).
pub async fn order_numbers_are_unique(store: &impl OrderStore) {
    let first = order_of(&user(), &["S1"]);
    store.place(&first, lock_until(), now()).await.unwrap();
    let mut second = order_of(&user(), &["S2"]);
    second.order_number = first.order_number.clone();
    assert!(matches!(
        store.place(&second, lock_until(), now()).await,
        Err(PlaceRefusal::NumberTaken)
    ));
    assert_eq!(store.get(second.order_id).await.unwrap(), None);
    assert_eq!(store.lock_of(&second.user_id).await.unwrap(), None);
    let (sold, _) = store.list_by_seller("S2", 10, None).await.unwrap();
    assert!(sold.is_empty(), "{sold:?}");
    second.order_number = OrderNumber("ORD-20261203-ZZZZZZ".into());
    if second.order_number == first.order_number {
        second.order_number = OrderNumber("ORD-20261203-YYYYYY".into());
    }
    store.place(&second, lock_until(), now()).await.unwrap();
}

async fn walk<F, Fut>(page_size: u32, mut list: F) -> Vec<OrderId>
where
    F: FnMut(u32, Option<OrderId>) -> Fut,
    Fut: std::future::Future<Output = (Vec<Order>, Option<OrderId>)>,
{
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..50 {
        let (orders, next) = list(page_size, after).await;
        assert!(orders.len() <= page_size as usize);
        seen.extend(orders.iter().map(|o| o.order_id));
        match next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
    panic!("the list never ended");
}

/// Lists cover everything once, newest first, through their cursors: a buyer's orders, a
/// seller's, every order and those of one status.
pub async fn lists_cover_everything_once(store: &impl OrderStore) {
    let buyer = user();
    let seller = user();
    let mut placed = Vec::new();
    for i in 0..5 {
        let sellers: &[&str] = if i % 2 == 0 {
            &[&seller, "OTHER"]
        } else {
            &["OTHER"]
        };
        let order = order_of(&buyer, sellers);
        store.place(&order, lock_until(), now()).await.unwrap();
        store.release_lock(&buyer, order.order_id).await.unwrap();
        placed.push(order);
    }
    let mut newest_first: Vec<OrderId> = placed.iter().map(|o| o.order_id).collect();
    newest_first.sort_by(|a, b| b.cmp(a));

    let mine = walk(2, |size, after| {
        let buyer = buyer.clone();
        async move { store.list_by_user(&buyer, size, after).await.unwrap() }
    })
    .await;
    assert_eq!(mine, newest_first);

    let sold = walk(2, |size, after| {
        let seller = seller.clone();
        async move { store.list_by_seller(&seller, size, after).await.unwrap() }
    })
    .await;
    let expected: Vec<OrderId> = newest_first
        .iter()
        .filter(|id| {
            placed
                .iter()
                .any(|o| o.order_id == **id && o.sellers().contains(&seller))
        })
        .copied()
        .collect();
    assert_eq!(sold, expected);
    assert_eq!(expected.len(), 3);

    let failed = placed[1]
        .moved(OrderStatus::Failed, Some("x".into()), now())
        .unwrap()
        .unwrap();
    store.update(&placed[1], &failed, None).await.unwrap();
    let all = walk(3, |size, after| async move {
        store.list_all(None, size, after).await.unwrap()
    })
    .await;
    let ours: Vec<OrderId> = all
        .iter()
        .filter(|id| newest_first.contains(id))
        .copied()
        .collect();
    assert_eq!(ours, newest_first);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "listed twice: {all:?}");

    let failed_ones = walk(2, |size, after| async move {
        store
            .list_all(Some(OrderStatus::Failed), size, after)
            .await
            .unwrap()
    })
    .await;
    assert!(failed_ones.contains(&failed.order_id));
    let pending = walk(2, |size, after| async move {
        store
            .list_all(Some(OrderStatus::Pending), size, after)
            .await
            .unwrap()
    })
    .await;
    assert!(!pending.contains(&failed.order_id));
    assert_eq!(
        pending
            .iter()
            .filter(|id| newest_first.contains(id))
            .count(),
        4
    );
    let (page, _) = store
        .list_all(Some(OrderStatus::Failed), 10, None)
        .await
        .unwrap();
    assert!(page.iter().all(|o| o.status == OrderStatus::Failed));
}
