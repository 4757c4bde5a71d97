//! The inventory store contract: what every [`InventoryStore`] adapter must do, written once
//! and run against both [`MemoryInventory`](crate::memory::MemoryInventory) (the handler
//! tests' `store` module) and the DynamoDB adapter against moto (the end-to-end tests'
//! `stores` module), so the fake the handler tests trust cannot drift from the table.
//!
//! Each check takes a fresh, empty store and panics, like an assert, on the first broken rule.
//! The races run their writes concurrently; each must have exactly one winner (or exactly as
//! many as the stock allows).

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;
use shop_domain::testing::{assert_conflict, contract_event};
use shop_domain::{Clock, DomainError, OutgoingEvent, ProductId, ReservationId, SystemClock};

use crate::domain::{
    Deltas, Finish, InventoryStore, Movement, ProductFacts, Reservation, ReservationStatus,
    ReserveInput, ReserveLine, ReserveRequest, Unit, UnitKey,
};

fn event(n: usize) -> OutgoingEvent {
    contract_event("shop.inventory", n)
}

/// Whole milliseconds, as the table stores timestamps.
fn now() -> DateTime<Utc> {
    let now = SystemClock.now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn facts(product_id: ProductId, skus: &[&str], version: u64) -> ProductFacts {
    ProductFacts {
        product_id,
        seller_id: "seller-1".into(),
        status: "active".into(),
        skus: skus.iter().map(|s| (*s).to_owned()).collect(),
        version,
    }
}

async fn unit(store: &impl InventoryStore, key: &UnitKey) -> Unit {
    store.unit(key).await.unwrap().expect("the unit exists")
}

/// A product with `skus`, each with `on_hand` on hand; their keys.
async fn stocked(store: &impl InventoryStore, skus: &[&str], on_hand: u64) -> Vec<UnitKey> {
    let product = ProductId::new();
    assert!(
        store
            .apply_product(&facts(product, skus, 1), now())
            .await
            .unwrap()
    );
    let mut keys = Vec::new();
    for sku in skus {
        let key = UnitKey::new(product, *sku);
        set_on_hand(store, &key, on_hand, 0).await.unwrap();
        keys.push(key);
    }
    keys
}

async fn set_on_hand(
    store: &impl InventoryStore,
    key: &UnitKey,
    on_hand: u64,
    threshold: u64,
) -> Result<(), DomainError> {
    let read = unit(store, key).await;
    let next = read.with_stock(on_hand, threshold, now())?;
    let delta = on_hand as i64 - read.on_hand as i64;
    let movement = Movement::new(key, delta, 0, "set", "contract", next.updated_at);
    store.write_unit(&next, &movement, Vec::new()).await
}

fn reservation(lines: &[(&UnitKey, u64)], hold: i64) -> Reservation {
    let request = ReserveRequest::parse(ReserveInput {
        reservation_id: ReservationId::new(),
        items: lines
            .iter()
            .map(|(key, quantity)| ReserveLine {
                product_id: key.product_id,
                sku: key.sku.clone(),
                quantity: *quantity,
            })
            .collect(),
        hold_seconds: 60,
    })
    .unwrap();
    let mut reservation = Reservation::new(&request, now());
    reservation.expires_at = reservation.created_at + TimeDelta::seconds(hold);
    reservation
}

async fn reserve(
    store: &impl InventoryStore,
    r: &Reservation,
    n: usize,
) -> Result<(), DomainError> {
    let movements = Movement::of_reservation(r, "reserved", Deltas::RESERVE, r.created_at);
    store.reserve(r, movements, vec![event(n)]).await
}

/// The sum of `key`'s quantities over `reservations` that are ACTIVE in the store.
async fn active_sum(store: &impl InventoryStore, key: &UnitKey, ids: &[ReservationId]) -> u64 {
    let mut sum = 0;
    for id in ids {
        if let Some(r) = store.reservation(*id).await.unwrap()
            && r.status == ReservationStatus::Active
        {
            sum += r
                .items
                .iter()
                .filter(|i| &i.key() == key)
                .map(|i| i.quantity)
                .sum::<u64>();
        }
    }
    sum
}

/// Reservations: of 25 concurrent reservations of 1 against 10 on hand exactly 10 win; the
/// unit ends at 0 available with `reserved` the sum of the active reservations; one
/// reservation's lines of one unit count together (5 on hand: 3 + 3 refused, 2 + 3 taken); a
/// unit too short refuses the whole reservation (nothing of the other units is taken); a
/// second reservation with a taken id is refused and changes nothing.
///
/// Returns how many writes succeeded, each with one event: the store must hold exactly that
/// many outbox items.
#[must_use = "the caller checks the outbox holds exactly this many items"]
pub async fn reservations_never_oversell(store: &impl InventoryStore) -> usize {
    let keys = stocked(store, &["tee-s", "tee-m"], 10).await;
    let (small, medium) = (&keys[0], &keys[1]);
    let many: Vec<Reservation> = (0..25).map(|_| reservation(&[(small, 1)], 60)).collect();
    let results = join_all(many.iter().enumerate().map(|(i, r)| reserve(store, r, i))).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 10, "exactly the stock wins: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(DomainError::Unprocessable(_)))),
        "{results:?}"
    );
    let ids: Vec<ReservationId> = many.iter().map(|r| r.reservation_id).collect();
    let stored = unit(store, small).await;
    assert_eq!(
        (stored.on_hand, stored.available, stored.reserved),
        (10, 0, 10)
    );
    assert_eq!(stored.reserved, active_sum(store, small, &ids).await);
    assert_eq!(stored.version, 1 + 10, "one set, ten reservations");

    // Two lines of one unit are one quantity: 3 + 3 of 5 is refused, whole.
    set_on_hand(store, medium, 5, 0).await.unwrap();
    let both = reservation(&[(medium, 3), (medium, 3)], 60);
    assert_eq!(both.items.len(), 1);
    assert_eq!(both.items[0].quantity, 6);
    assert!(matches!(
        reserve(store, &both, 100).await,
        Err(DomainError::Unprocessable(_))
    ));
    let fits = reservation(&[(medium, 2), (medium, 3)], 60);
    reserve(store, &fits, 101).await.unwrap();
    assert_eq!(unit(store, medium).await.available, 0);

    // All or nothing: the short unit refuses the line that would fit.
    set_on_hand(store, medium, 7, 0).await.unwrap();
    let mixed = reservation(&[(medium, 1), (small, 1)], 60);
    assert!(matches!(
        reserve(store, &mixed, 102).await,
        Err(DomainError::Unprocessable(_))
    ));
    assert_eq!(unit(store, medium).await.available, 2);
    assert_eq!(store.reservation(mixed.reservation_id).await.unwrap(), None);

    // The same id again: refused, nothing taken.
    let again = Reservation {
        items: fits.items.clone(),
        ..reservation(&[(medium, 1)], 60)
    };
    let again = Reservation {
        reservation_id: fits.reservation_id,
        ..again
    };
    assert_conflict(reserve(store, &again, 103).await);
    assert_eq!(unit(store, medium).await.available, 2);
    // An unknown unit refuses too.
    let unknown = UnitKey::new(ProductId::new(), "nope");
    assert!(matches!(
        reserve(store, &reservation(&[(&unknown, 1)], 60), 104).await,
        Err(DomainError::Unprocessable(_))
    ));
    10 + 1
}

/// Transitions: of two releases from one read (a release racing the sweeper) exactly one
/// wins and the stock comes back once; a commit takes on-hand and reserved down together;
/// a transition from a reservation no longer ACTIVE is refused; a commit of an expired
/// reservation takes the stock again only while it is available, once.
pub async fn transitions_happen_once(store: &impl InventoryStore) {
    let keys = stocked(store, &["mug"], 5).await;
    let key = &keys[0];
    let at = now();

    let first = reservation(&[(key, 2)], 60);
    reserve(store, &first, 1).await.unwrap();
    let released = first.moved(ReservationStatus::Released, false, at);
    let expired = first.moved(ReservationStatus::Released, true, at);
    let movements = |how: Deltas| Movement::of_reservation(&first, "x", how, at);
    let (a, b) = tokio::join!(
        store.finish(
            &first,
            &released,
            Finish::Release,
            movements(Deltas::RELEASE),
            vec![event(2)]
        ),
        store.finish(
            &first,
            &expired,
            Finish::Expire,
            movements(Deltas::RELEASE),
            vec![event(3)]
        ),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (5, 0, 5)
    );
    assert_conflict(
        store
            .finish(
                &first,
                &released,
                Finish::Release,
                movements(Deltas::RELEASE),
                vec![event(4)],
            )
            .await,
    );
    assert_eq!(unit(store, key).await.available, 5, "released once");

    // A commit: sold stock leaves on-hand and reserved; a second commit is refused.
    let sold = reservation(&[(key, 3)], 60);
    reserve(store, &sold, 5).await.unwrap();
    let committed = sold.moved(ReservationStatus::Committed, false, at);
    let commit_moves = Movement::of_reservation(&sold, "committed", Deltas::COMMIT, at);
    store
        .finish(
            &sold,
            &committed,
            Finish::Commit,
            commit_moves.clone(),
            vec![event(6)],
        )
        .await
        .unwrap();
    assert_conflict(
        store
            .finish(
                &sold,
                &committed,
                Finish::Commit,
                commit_moves,
                vec![event(7)],
            )
            .await,
    );
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (2, 0, 2)
    );
    assert_eq!(
        store.reservation(sold.reservation_id).await.unwrap(),
        Some(committed)
    );

    // Expired, then committed while the stock is still there: taken again, once.
    let late = reservation(&[(key, 2)], -1);
    reserve(store, &late, 8).await.unwrap();
    let lapsed = late.moved(ReservationStatus::Released, true, at);
    let moves = Movement::of_reservation(&late, "expired", Deltas::RELEASE, at);
    store
        .finish(&late, &lapsed, Finish::Expire, moves, vec![event(9)])
        .await
        .unwrap();
    let retaken = lapsed.moved(ReservationStatus::Committed, true, at);
    let retake = Movement::of_reservation(&late, "committed", Deltas::RETAKE, at);
    let (a, b) = tokio::join!(
        store.commit_expired(&lapsed, &retaken, retake.clone(), vec![event(10)]),
        store.commit_expired(&lapsed, &retaken, retake.clone(), vec![event(11)]),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (0, 0, 0)
    );

    // Expired, and the stock went meanwhile: refused as gone, nothing changes.
    set_on_hand(store, key, 1, 0).await.unwrap();
    let gone = reservation(&[(key, 1)], -1);
    reserve(store, &gone, 12).await.unwrap();
    let lapsed = gone.moved(ReservationStatus::Released, true, at);
    let moves = Movement::of_reservation(&gone, "expired", Deltas::RELEASE, at);
    store
        .finish(&gone, &lapsed, Finish::Expire, moves, vec![event(13)])
        .await
        .unwrap();
    let other = reservation(&[(key, 1)], 60);
    reserve(store, &other, 14).await.unwrap();
    let retaken = lapsed.moved(ReservationStatus::Committed, true, at);
    let retake = Movement::of_reservation(&gone, "committed", Deltas::RETAKE, at);
    assert!(matches!(
        store
            .commit_expired(&lapsed, &retaken, retake, vec![event(15)])
            .await,
        Err(DomainError::Unprocessable(_))
    ));
    assert_eq!(
        store.reservation(gone.reservation_id).await.unwrap(),
        Some(lapsed)
    );
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (1, 1, 0)
    );
}

/// The stale read: a seller's write computed from a unit one version behind (a reservation
/// came in between) is refused and changes nothing; read again, it succeeds. Flags: of two
/// settles from one read one wins, and a settle from a stale read is refused.
pub async fn writes_from_a_stale_read_are_refused(store: &impl InventoryStore) {
    let keys = stocked(store, &["cap"], 4).await;
    let key = &keys[0];
    let read = unit(store, key).await;
    reserve(store, &reservation(&[(key, 1)], 60), 1)
        .await
        .unwrap();
    let stale = read.with_stock(10, 2, now()).unwrap();
    let movement = Movement::new(key, 6, 0, "set", "contract", now());
    assert_conflict(store.write_unit(&stale, &movement, vec![event(2)]).await);
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (4, 1, 3)
    );

    let fresh = stored.with_stock(10, 2, now()).unwrap();
    store
        .write_unit(&fresh, &movement, vec![event(3)])
        .await
        .unwrap();
    let stored = unit(store, key).await;
    assert_eq!(
        (stored.on_hand, stored.reserved, stored.available),
        (10, 1, 9)
    );
    assert_eq!(stored.low_stock_threshold, 2);
    assert!(
        stored.with_stock(0, 0, now()).is_err(),
        "below reserved is refused"
    );

    // Flags: out of stock was announced at creation; now back in stock, once.
    let crossings = stored.crossings();
    assert!(crossings.back_in_stock && !crossings.out_flag);
    let (a, b) = tokio::join!(
        store.settle_flags(&stored, crossings, vec![event(4)]),
        store.settle_flags(&stored, crossings, vec![event(5)]),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let settled = unit(store, key).await;
    assert!(!settled.out_flag);
    assert_eq!(
        settled.version, stored.version,
        "flags do not move the version"
    );
    assert!(!settled.crossings().changes(&settled));
    reserve(store, &reservation(&[(key, 1)], 60), 6)
        .await
        .unwrap();
    assert_conflict(
        store
            .settle_flags(&settled, crossings, vec![event(7)])
            .await,
    );
}

/// Products: the catalog's facts make units (0 on hand, sellable), apply only when newer, mark
/// the units of removed variants and of a deleted product unsellable (and keep their stock),
/// and an unsellable unit cannot be reserved.
pub async fn product_facts_apply_once_and_in_order(store: &impl InventoryStore) {
    let product = ProductId::new();
    let at = now();
    assert!(
        store
            .apply_product(&facts(product, &["a", "b"], 1), at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_product(&facts(product, &["a", "b"], 1), at)
            .await
            .unwrap()
    );
    let a = UnitKey::new(product, "a");
    let made = unit(store, &a).await;
    assert_eq!((made.on_hand, made.available, made.version), (0, 0, 0));
    assert!(made.sellable && made.out_flag && !made.low_flag);
    assert_eq!(made.seller_id, "seller-1");
    set_on_hand(store, &a, 3, 0).await.unwrap();

    assert!(
        store
            .apply_product(&facts(product, &["b", "c"], 3), at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_product(&facts(product, &["a"], 2), at)
            .await
            .unwrap()
    );
    let units = store.units(product).await.unwrap();
    let sellable: Vec<&str> = units
        .iter()
        .filter(|u| u.sellable)
        .map(|u| u.sku.as_str())
        .collect();
    assert_eq!(sellable, ["b", "c"]);
    let removed = unit(store, &a).await;
    assert!(!removed.sellable);
    assert_eq!(removed.on_hand, 3, "stock is kept");
    assert_eq!(store.product(product).await.unwrap().unwrap().version, 3);
    assert!(matches!(
        reserve(store, &reservation(&[(&a, 1)], 60), 1).await,
        Err(DomainError::Unprocessable(_))
    ));

    let mut deleted = facts(product, &[], 4);
    deleted.status = "deleted".into();
    assert!(store.apply_product(&deleted, at).await.unwrap());
    assert!(store.product(product).await.unwrap().unwrap().is_deleted());
    assert!(
        store
            .units(product)
            .await
            .unwrap()
            .iter()
            .all(|u| !u.sellable)
    );
    let levels = store
        .stock_levels(&[
            UnitKey::new(product, "c"),
            UnitKey::new(ProductId::new(), "x"),
            UnitKey::new(product, "c"),
        ])
        .await
        .unwrap();
    assert_eq!(levels.len(), 3);
    assert!(levels[0].as_ref().is_some_and(|u| !u.sellable));
    assert!(levels[1].is_none());
    assert_eq!(levels[0], levels[2]);
}

/// The sweeper's index finds exactly the ACTIVE reservations past expiry, oldest first; a
/// unit's movements page newest first, each once, full pages until the last.
pub async fn expiries_are_found_and_movements_paged(store: &impl InventoryStore) {
    let keys = stocked(store, &["pen"], 20).await;
    let key = &keys[0];
    let lapsed = reservation(&[(key, 1)], -30);
    let older = reservation(&[(key, 1)], -60);
    let running = reservation(&[(key, 1)], 600);
    for (i, r) in [&lapsed, &older, &running].into_iter().enumerate() {
        reserve(store, r, i).await.unwrap();
    }
    let found = store.expired_reservations(now(), 100).await.unwrap();
    let ours: Vec<ReservationId> = found
        .into_iter()
        .filter(|id| {
            [
                lapsed.reservation_id,
                older.reservation_id,
                running.reservation_id,
            ]
            .contains(id)
        })
        .collect();
    assert_eq!(ours, [older.reservation_id, lapsed.reservation_id]);
    let at = now();
    let moves = Movement::of_reservation(&older, "expired", Deltas::RELEASE, at);
    store
        .finish(
            &older,
            &older.moved(ReservationStatus::Released, true, at),
            Finish::Expire,
            moves,
            vec![event(3)],
        )
        .await
        .unwrap();
    let found = store.expired_reservations(now(), 100).await.unwrap();
    assert!(found.contains(&lapsed.reservation_id));
    assert!(!found.contains(&older.reservation_id));
    assert!(!found.contains(&running.reservation_id));

    // Movements: 1 set + 3 reserved + 1 expired, and 4 more sets.
    for on_hand in [21, 22, 23, 24] {
        set_on_hand(store, key, on_hand, 0).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.movements(key, 4, after).await.unwrap();
        seen.extend(page.iter().cloned());
        match next {
            Some(last) => {
                assert_eq!(page.len(), 4, "only the last page may be short");
                assert_eq!(page.last().map(|m| m.movement_id), Some(last));
                after = Some(last);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 9);
    let mut ids: Vec<_> = seen.iter().map(|m| m.movement_id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    ids.dedup();
    assert_eq!(ids.len(), 9);
    assert_eq!(seen.iter().filter(|m| m.reason == "reserved").count(), 3);
    assert_eq!(seen.iter().map(|m| m.reserved_delta).sum::<i64>(), 2);
    let (none, next) = store
        .movements(&UnitKey::new(ProductId::new(), "x"), 4, None)
        .await
        .unwrap();
    assert!(none.is_empty() && next.is_none());
}
