//! The cart store contract: what every [`CartStore`] and [`ProductProjection`] adapter must
//! do, run against [`MemoryCarts`](crate::memory::MemoryCarts) (the handler tests' `store`
//! module) and the DynamoDB adapter on moto (the end-to-end `stores` module).
//!
//! Each check takes a fresh, empty store and panics on the first broken rule. The rules that
//! keep a cart whole — 99 of a unit, 50 lines, one currency, one merge — are checked the way
//! they would break: a writer acting on a read that is one change behind (deterministic), and
//! many writers at once (each must be counted exactly).

use chrono::{DateTime, TimeDelta, Utc};
use shop_domain::{CartId, Clock, Currency, OrderId, ProductId, SystemClock, UserId};

use crate::domain::{
    Cart, CartOwner, CartStore, Line, LineAdd, MAX_LINES, MAX_QUANTITY, ProductFacts,
    ProductProjection, ProductStatus, Refusal, Unit, VariantFacts, hash_token,
};

/// Whole milliseconds, as the table stores timestamps.
fn now() -> DateTime<Utc> {
    let now = SystemClock.now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn unit() -> Unit {
    Unit {
        product_id: ProductId::new(),
        sku: None,
    }
}

fn add(unit: &Unit, quantity: u32, price: i64) -> LineAdd {
    LineAdd {
        unit: unit.clone(),
        quantity,
        unit_price: price,
        currency: Currency::EUR,
        // Alternating hints: a store must be right whichever write it tries first.
        line_seen: quantity.is_multiple_of(2),
    }
}

async fn user_cart(store: &impl CartStore, at: DateTime<Utc>) -> CartOwner {
    let owner = CartOwner::User(UserId::new());
    assert!(
        store
            .start_cart(&Cart::new(owner, None, at), at)
            .await
            .unwrap()
    );
    owner
}

async fn quantity(store: &impl CartStore, owner: &CartOwner, unit: &Unit) -> u32 {
    let cart = store.cart(owner).await.unwrap().expect("the cart");
    cart.line(unit).map_or(0, |l| l.quantity)
}

/// A cart is started once; an expired one is no cart for writes and may be started afresh;
/// it reads back as stored.
pub async fn carts_start_once_and_expire(store: &impl CartStore) {
    let at = now();
    let owner = CartOwner::Guest(CartId::new());
    assert_eq!(store.cart(&owner).await.unwrap(), None);
    let cart = Cart::new(owner, Some(hash_token("secret")), at);
    assert!(store.start_cart(&cart, at).await.unwrap());
    assert!(
        !store
            .start_cart(&Cart::new(owner, None, at), at)
            .await
            .unwrap()
    );
    assert_eq!(store.cart(&owner).await.unwrap(), Some(cart.clone()));

    let mug = unit();
    store
        .add(&owner, &add(&mug, 2, 900), at)
        .await
        .unwrap()
        .unwrap();
    let stored = store.cart(&owner).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.currency, Some(Currency::EUR));
    assert_eq!(
        stored.lines,
        vec![Line {
            unit: mug.clone(),
            quantity: 2,
            added_price: 900,
            added_at: at,
            updated_at: at,
        }]
    );
    assert!(stored.opens_with("secret"));

    // Past its expiry (TTL not yet run) the cart takes no write, and a new one replaces it.
    let later = stored.expires_at + TimeDelta::seconds(1);
    assert_eq!(
        store.add(&owner, &add(&mug, 1, 900), later).await.unwrap(),
        Err(Refusal::NoCart)
    );
    assert_eq!(
        store.set_quantity(&owner, &mug, 5, later).await.unwrap(),
        Err(Refusal::NoCart)
    );
    let fresh = Cart::new(owner, Some(hash_token("other")), later);
    assert!(store.start_cart(&fresh, later).await.unwrap());
    assert_eq!(store.cart(&owner).await.unwrap(), Some(fresh));

    // A cart never started takes no write either.
    let nobody = CartOwner::User(UserId::new());
    assert_eq!(
        store.add(&nobody, &add(&mug, 1, 900), at).await.unwrap(),
        Err(Refusal::NoCart)
    );
    assert_eq!(store.cart(&nobody).await.unwrap(), None);
}

/// Adds of one unit sum on its line, which never passes 99 — not from a stale read, not under
/// concurrent adds (of 40 adds of 3 at once exactly 33 succeed) — and remembers the price of
/// the latest add.
pub async fn one_units_adds_sum_and_never_pass_99(store: &impl CartStore) {
    let at = now();
    let owner = user_cart(store, at).await;
    let mug = unit();
    store
        .add(&owner, &add(&mug, 60, 500), at)
        .await
        .unwrap()
        .unwrap();
    store
        .add(&owner, &add(&mug, 30, 550), at)
        .await
        .unwrap()
        .unwrap();
    let cart = store.cart(&owner).await.unwrap().unwrap();
    assert_eq!(cart.lines.len(), 1, "one line per unit");
    assert_eq!(
        (cart.lines[0].quantity, cart.lines[0].added_price),
        (90, 550)
    );

    // A writer read 90 and decides 5 more fit; meanwhile another adds 9.
    let stale = store.cart(&owner).await.unwrap().unwrap();
    assert!(stale.line(&mug).unwrap().quantity + 5 <= MAX_QUANTITY);
    store
        .add(&owner, &add(&mug, 9, 550), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.add(&owner, &add(&mug, 5, 550), at).await.unwrap(),
        Err(Refusal::TooMany { has: 99 }),
        "the condition refuses what the stale read allowed"
    );
    assert_eq!(quantity(store, &owner, &mug).await, 99);

    let tea = unit();
    let three = add(&tea, 3, 300);
    let adds: Vec<_> = (0..40).map(|_| store.add(&owner, &three, at)).collect();
    let results = futures::future::join_all(adds).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    for result in &results {
        assert!(
            matches!(result, Ok(Ok(())) | Ok(Err(Refusal::TooMany { .. }))),
            "{result:?}"
        );
    }
    assert_eq!(won, 33, "99 / 3");
    assert_eq!(quantity(store, &owner, &tea).await, 99);
}

/// A cart has at most 50 lines, all in one currency — again whatever the writer read — and
/// an emptied cart takes any currency. Setting and removing need the line.
pub async fn a_cart_holds_50_lines_in_one_currency(store: &impl CartStore) {
    let at = now();
    let owner = user_cart(store, at).await;
    for _ in 0..MAX_LINES - 2 {
        store
            .add(&owner, &add(&unit(), 1, 100), at)
            .await
            .unwrap()
            .unwrap();
    }
    // Two more fit; of five new units added at once exactly two get in.
    let units: Vec<Unit> = (0..5).map(|_| unit()).collect();
    let each: Vec<LineAdd> = units.iter().map(|u| add(u, 1, 100)).collect();
    let adds: Vec<_> = each.iter().map(|a| store.add(&owner, a, at)).collect();
    let results = futures::future::join_all(adds).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    assert_eq!(won, 2, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Ok(())) | Ok(Err(Refusal::TooManyLines))))
    );
    let full = store.cart(&owner).await.unwrap().unwrap();
    assert_eq!(full.lines.len() as u32, MAX_LINES);

    // Removing one makes room; a writer that read the room adds after another took it.
    let first = full.lines[0].unit.clone();
    store
        .remove_line(&owner, &first, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.remove_line(&owner, &first, at).await.unwrap(),
        Err(Refusal::NoLine)
    );
    let stale = store.cart(&owner).await.unwrap().unwrap();
    assert_eq!(stale.lines.len() as u32, MAX_LINES - 1);
    store
        .add(&owner, &add(&unit(), 1, 100), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.add(&owner, &add(&unit(), 1, 100), at).await.unwrap(),
        Err(Refusal::TooManyLines)
    );
    // Adding to an existing line is no new line.
    store
        .add(&owner, &add(&full.lines[1].unit, 1, 100), at)
        .await
        .unwrap()
        .unwrap();

    // One currency; an emptied cart takes another.
    let small = user_cart(store, at).await;
    let mug = unit();
    store
        .add(&small, &add(&mug, 1, 100), at)
        .await
        .unwrap()
        .unwrap();
    let usd = LineAdd {
        currency: Currency::USD,
        ..add(&unit(), 1, 100)
    };
    assert_eq!(
        store.add(&small, &usd, at).await.unwrap(),
        Err(Refusal::OtherCurrency(Currency::EUR))
    );
    let usd_mug = LineAdd {
        currency: Currency::USD,
        ..add(&mug, 1, 100)
    };
    assert_eq!(
        store.add(&small, &usd_mug, at).await.unwrap(),
        Err(Refusal::OtherCurrency(Currency::EUR))
    );
    assert_eq!(
        store.set_quantity(&small, &unit(), 3, at).await.unwrap(),
        Err(Refusal::NoLine)
    );
    store
        .set_quantity(&small, &mug, 7, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(quantity(store, &small, &mug).await, 7);
    store.remove_line(&small, &mug, at).await.unwrap().unwrap();
    store.add(&small, &usd, at).await.unwrap().unwrap();
    let cart = store.cart(&small).await.unwrap().unwrap();
    assert_eq!((cart.currency, cart.lines.len()), (Some(Currency::USD), 1));

    // The discount code is stored and cleared; deleting the cart removes it all.
    store
        .set_discount_code(&small, Some("WELCOME10"), at)
        .await
        .unwrap()
        .unwrap();
    let cart = store.cart(&small).await.unwrap().unwrap();
    assert_eq!(cart.discount_code.as_deref(), Some("WELCOME10"));
    store
        .set_discount_code(&small, None, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.cart(&small).await.unwrap().unwrap().discount_code,
        None
    );
    store.delete_cart(&small).await.unwrap();
    assert_eq!(store.cart(&small).await.unwrap(), None);
    assert_eq!(
        store
            .set_discount_code(&small, Some("X"), at)
            .await
            .unwrap(),
        Err(Refusal::NoCart)
    );
}

/// A merge writes the user's cart and retires the guest cart in one step, each on the
/// version read: repeating it from the same reads changes nothing, and a merge computed
/// from a read one change behind is refused without touching either cart.
pub async fn a_merge_happens_once(store: &impl CartStore) {
    let at = now();
    let guest = CartOwner::Guest(CartId::new());
    let guest_id = match guest {
        CartOwner::Guest(id) => id,
        CartOwner::User(_) => unreachable!(),
    };
    assert!(
        store
            .start_cart(&Cart::new(guest, Some(hash_token("g")), at), at)
            .await
            .unwrap()
    );
    let mug = unit();
    store
        .add(&guest, &add(&mug, 2, 500), at)
        .await
        .unwrap()
        .unwrap();
    let user = user_cart(store, at).await;
    store
        .add(&user, &add(&mug, 1, 500), at)
        .await
        .unwrap()
        .unwrap();

    let guest_read = store.cart(&guest).await.unwrap().unwrap();
    let user_read = store.cart(&user).await.unwrap().unwrap();
    let mut merged = user_read.clone();
    merged.lines[0].quantity = 3;
    merged.version += 1;
    merged.updated_at = at;

    // The user's cart changes after it was read: the merge is refused, nothing moves.
    store
        .add(&user, &add(&unit(), 1, 100), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.merge(&guest_read, &merged, at).await.unwrap(),
        Err(Refusal::Changed)
    );
    assert_eq!(store.cart(&guest).await.unwrap(), Some(guest_read.clone()));
    assert_eq!(store.merged_guest(guest_id).await.unwrap(), None);

    // From fresh reads it goes through, once.
    let user_read = store.cart(&user).await.unwrap().unwrap();
    let mut merged = user_read.clone();
    merged.lines[0].quantity = 3;
    merged.version += 1;
    store
        .merge(&guest_read, &merged, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.cart(&user).await.unwrap(), Some(merged.clone()));
    assert_eq!(
        store.cart(&guest).await.unwrap(),
        None,
        "the guest cart is gone"
    );
    let left = store.merged_guest(guest_id).await.unwrap().unwrap();
    assert_eq!(left.token_hash, hash_token("g"));
    assert_eq!(Some(left.user_id), user.user());
    let mut again = merged.clone();
    again.lines[0].quantity = 5;
    again.version += 1;
    assert_eq!(
        store.merge(&guest_read, &again, at).await.unwrap(),
        Err(Refusal::Changed),
        "the same merge twice"
    );
    assert_eq!(store.cart(&user).await.unwrap(), Some(merged));

    // Into a user who has no cart yet: the merged cart is its first version.
    let other = CartOwner::Guest(CartId::new());
    assert!(
        store
            .start_cart(&Cart::new(other, Some(hash_token("h")), at), at)
            .await
            .unwrap()
    );
    store
        .add(&other, &add(&mug, 4, 500), at)
        .await
        .unwrap()
        .unwrap();
    let other_read = store.cart(&other).await.unwrap().unwrap();
    let newcomer = CartOwner::User(UserId::new());
    let mut first = Cart::new(newcomer, None, at);
    first.currency = other_read.currency;
    first.lines = other_read.lines.clone();
    store.merge(&other_read, &first, at).await.unwrap().unwrap();
    assert_eq!(store.cart(&newcomer).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.merge(&other_read, &first, at).await.unwrap(),
        Err(Refusal::Changed)
    );
}

/// An order's lines leave the cart once, with the discount code: whatever their quantity,
/// other lines stay, a repeat for the same order changes nothing (even after the customer
/// adds the unit again) and answers the first count, and no cart answers 0.
pub async fn an_orders_lines_are_cleared_once(store: &impl CartStore) {
    let at = now();
    let owner = user_cart(store, at).await;
    let (bought, other, absent) = (unit(), unit(), unit());
    for (u, q) in [(&bought, 3), (&other, 1)] {
        store
            .add(&owner, &add(u, q, 500), at)
            .await
            .unwrap()
            .unwrap();
    }
    store
        .set_discount_code(&owner, Some("WELCOME10"), at)
        .await
        .unwrap()
        .unwrap();
    let order = OrderId::new();
    let units = [bought.clone(), absent.clone(), bought.clone()];
    assert_eq!(
        store
            .clear_order_lines(&owner, order, &units, at)
            .await
            .unwrap(),
        1
    );
    let cart = store.cart(&owner).await.unwrap().expect("the cart");
    assert!(cart.line(&bought).is_none());
    assert_eq!(cart.line(&other).map(|l| l.quantity), Some(1));
    assert_eq!(cart.discount_code, None);
    store
        .add(&owner, &add(&bought, 2, 500), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .clear_order_lines(&owner, order, &units, at)
            .await
            .unwrap(),
        1,
        "a repeat answers the first count"
    );
    assert_eq!(
        quantity(store, &owner, &bought).await,
        2,
        "and removes nothing"
    );
    assert_eq!(
        store
            .clear_order_lines(&owner, OrderId::new(), std::slice::from_ref(&bought), at)
            .await
            .unwrap(),
        1,
        "another order clears afresh"
    );
    let nobody = CartOwner::User(UserId::new());
    assert_eq!(
        store
            .clear_order_lines(&nobody, order, &units, at)
            .await
            .unwrap(),
        0
    );
    assert!(
        store.cart(&nobody).await.unwrap().is_none(),
        "and starts none"
    );
}

fn facts(id: ProductId, version: u64, price: i64) -> ProductFacts {
    ProductFacts {
        product_id: id,
        version,
        deleted: false,
        name: format!("Mug v{version}"),
        price,
        currency: Some(Currency::EUR),
        status: Some(ProductStatus::Active),
        image: Some("https://cdn.example.com/mug.png".into()),
        variants: vec![VariantFacts {
            sku: "MUG-L".parse().unwrap(),
            name: "Large".into(),
            price: Some(price + 100),
        }],
        seller_id: Some("01JBQ00000000000000000SE01".into()),
    }
}

/// The product projection keeps the newest version: an older or repeated event changes
/// nothing, a deletion is a version too, and lookups return only what is known.
pub async fn products_apply_in_version_order(store: &impl ProductProjection) {
    let id = ProductId::new();
    assert!(store.apply(&facts(id, 2, 1000)).await.unwrap());
    assert!(
        !store.apply(&facts(id, 2, 1234)).await.unwrap(),
        "the same version"
    );
    assert!(
        !store.apply(&facts(id, 1, 900)).await.unwrap(),
        "an older version"
    );
    let unknown = ProductId::new();
    assert_eq!(
        store.products(&[id, unknown, id]).await.unwrap(),
        vec![facts(id, 2, 1000)]
    );
    assert!(store.apply(&facts(id, 3, 1100)).await.unwrap());
    let deleted = ProductFacts {
        deleted: true,
        ..facts(id, 4, 0)
    };
    assert!(store.apply(&deleted).await.unwrap());
    assert!(
        !store.apply(&facts(id, 3, 1100)).await.unwrap(),
        "late modification"
    );
    assert_eq!(store.products(&[id]).await.unwrap(), vec![deleted]);
    let many: Vec<ProductId> = (0..120).map(|_| ProductId::new()).collect();
    for (i, id) in many.iter().enumerate().take(3) {
        store
            .apply(&facts(*id, 1, 100 * i as i64 + 100))
            .await
            .unwrap();
    }
    assert_eq!(store.products(&many).await.unwrap().len(), 3);
}
