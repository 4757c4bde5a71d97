//! The inventory end to end: products made through the catalog's API reach the inventory
//! through the bus; stock is set through the gateway; the internal functions are invoked
//! through the edge's Invoke API, really concurrently (more at once than the local cloud runs
//! instances of a function), and the table is read back through the SDK.
//!
//! Every test makes its own products, so tests running at the same time never share a unit.

use std::time::Duration;

use futures::future::join_all;
use inventory::domain::{InventoryStore, ReservationStatus, UnitKey};
use inventory::dynamo::DynamoInventory;
use localcloud::LocalCloud;
use serde_json::{Value, json};
use shop_domain::ReservationId;
use shop_e2e::shop;

use crate::client::{BusTap, Client, anonymous, as_user, invoke, new_product, ok, suffix};

fn store(cloud: &LocalCloud) -> DynamoInventory {
    let table = &cloud.stack().resources["InventoryTable"].physical_id;
    DynamoInventory::new(aws_sdk_dynamodb::Client::new(&cloud.sdk_config()), table)
}

/// A seller's product with variants `skus`, made through the catalog, once the inventory has
/// heard of it (polled through the public route); its id.
async fn product(admin: &Client<'_>, seller: &Client<'_>, skus: &[&str]) -> String {
    let id = new_product(admin, seller, 1000, skus).await;
    let public = anonymous(admin.cloud);
    let path = format!("/api/inventory/{id}");
    // Seconds normally; a minute on a loaded machine.
    for _ in 0..240 {
        let answer = public.get(&path).await;
        if answer.status == 200 {
            return id;
        }
        assert_eq!(answer.status, 404, "{}", answer.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the inventory never heard of product {id}");
}

async fn set_stock(seller: &Client<'_>, product: &str, sku: &str, on_hand: u64, threshold: u64) {
    let answer = seller
        .put(
            &format!("/api/inventory/{product}/{sku}"),
            json!({"onHand": on_hand, "lowStockThreshold": threshold}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn reservation(id: ReservationId, lines: &[(&str, &str, u64)], hold: u64) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(product, sku, quantity)| {
            json!({"productId": product, "sku": sku, "quantity": quantity})
        })
        .collect();
    json!({"reservationId": id, "items": items, "holdSeconds": hold})
}

async fn available(cloud: &LocalCloud, product: &str, sku: &str) -> u64 {
    let answer = anonymous(cloud)
        .get(&format!("/api/inventory/{product}"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sku"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {}", answer.body))["available"]
        .as_u64()
        .unwrap()
}

/// `reserved` of the unit and the sum of `ids`' ACTIVE reservations of it, read from the table.
async fn reserved_and_active_sum(
    cloud: &LocalCloud,
    key: &UnitKey,
    ids: &[ReservationId],
) -> (u64, u64) {
    let store = store(cloud);
    let unit = store.unit(key).await.unwrap().expect("the unit");
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
    (unit.reserved, sum)
}

#[test]
fn fifty_simultaneous_reservations_of_ten_on_hand_win_exactly_ten() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("stock-{}", suffix())).await;
        let id = product(&admin, &seller, &["one-s", "one-m"]).await;
        set_stock(&seller, &id, "one-s", 10, 0).await;

        let ids: Vec<ReservationId> = (0..50).map(|_| ReservationId::new()).collect();
        let answers = join_all(ids.iter().map(|rid| {
            invoke(
                cloud,
                "ReserveStockFunction",
                reservation(*rid, &[(&id, "one-s", 1)], 600),
            )
        }))
        .await;
        let won = answers.iter().filter(|a| a.error.is_none()).count();
        assert_eq!(won, 10, "exactly the stock wins");
        for answer in answers.iter().filter(|a| a.error.is_some()) {
            assert_eq!(
                answer.error.as_deref(),
                Some("InsufficientStock"),
                "{}",
                answer.payload
            );
        }
        assert_eq!(available(cloud, &id, "one-s").await, 0);
        let key = UnitKey::new(id.parse().unwrap(), "one-s");
        let (reserved, sum) = reserved_and_active_sum(cloud, &key, &ids).await;
        assert_eq!((reserved, sum), (10, 10));
        let unit = store(cloud).unit(&key).await.unwrap().unwrap();
        assert_eq!((unit.on_hand, unit.available), (10, 0));

        // One order's two lines of one unit are checked against their sum.
        set_stock(&seller, &id, "one-m", 5, 0).await;
        let twice = invoke(
            cloud,
            "ReserveStockFunction",
            reservation(
                ReservationId::new(),
                &[(&id, "one-m", 3), (&id, "one-m", 3)],
                600,
            ),
        )
        .await;
        assert_eq!(twice.error.as_deref(), Some("InsufficientStock"));
        assert!(
            twice.payload["errorMessage"]
                .as_str()
                .unwrap()
                .contains("one-m: 6 wanted, 5 available"),
            "{}",
            twice.payload
        );
        assert_eq!(available(cloud, &id, "one-m").await, 5);
        let fits = ok(
            cloud,
            "ReserveStockFunction",
            reservation(
                ReservationId::new(),
                &[(&id, "one-m", 2), (&id, "one-m", 3)],
                600,
            ),
        )
        .await;
        assert_eq!(
            fits["items"],
            json!([{"productId": id, "sku": "one-m", "quantity": 5}])
        );
        assert_eq!(available(cloud, &id, "one-m").await, 0);

        // The cart's view of the same units.
        let levels = ok(
            cloud,
            "GetStockLevelsFunction",
            json!({"units": [{"productId": id, "sku": "one-m"}, {"productId": id, "sku": "nope"}]}),
        )
        .await;
        assert_eq!(
            levels,
            json!({"units": [
                {"productId": id, "sku": "one-m", "available": 0, "inStock": false, "known": true},
                {"productId": id, "sku": "nope", "available": 0, "inStock": false, "known": false}
            ]})
        );
        let unknown = invoke(
            cloud,
            "ReserveStockFunction",
            reservation(ReservationId::new(), &[(&id, "nope", 1)], 600),
        )
        .await;
        assert_eq!(unknown.error.as_deref(), Some("UnknownUnit"));
    });
}

#[test]
fn every_reserve_commit_and_release_called_twice_has_one_effect() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("stock-{}", suffix())).await;
        let tap = BusTap::new(cloud, "shop.inventory").await;
        let id = product(&admin, &seller, &["two"]).await;
        set_stock(&seller, &id, "two", 6, 0).await;
        let key = UnitKey::new(id.parse().unwrap(), "two");

        // Reserve twice (at once, then again): one hold.
        let held = ReservationId::new();
        let request = reservation(held, &[(&id, "two", 2)], 600);
        let (a, b) = tokio::join!(
            invoke(cloud, "ReserveStockFunction", request.clone()),
            invoke(cloud, "ReserveStockFunction", request.clone()),
        );
        assert_eq!((a.error.as_deref(), b.error.as_deref()), (None, None));
        assert_eq!(a.payload, b.payload);
        assert_eq!(a.payload["status"], "ACTIVE");
        assert_eq!(ok(cloud, "ReserveStockFunction", request).await, a.payload);
        assert_eq!(available(cloud, &id, "two").await, 4);

        // Release twice at once, and again: the stock comes back once.
        let release = json!({"reservationId": held});
        let (a, b) = tokio::join!(
            ok(cloud, "ReleaseStockFunction", release.clone()),
            ok(cloud, "ReleaseStockFunction", release.clone()),
        );
        let changed = [&a, &b].iter().filter(|r| r["changed"] == true).count();
        assert_eq!(changed, 1, "{a} {b}");
        let again = ok(cloud, "ReleaseStockFunction", release).await;
        assert_eq!(
            (&again["status"], &again["changed"]),
            (&json!("RELEASED"), &json!(false))
        );
        assert_eq!(available(cloud, &id, "two").await, 6);
        let unknown = ok(
            cloud,
            "ReleaseStockFunction",
            json!({"reservationId": ReservationId::new()}),
        )
        .await;
        assert_eq!(unknown["changed"], false);

        // Commit twice at once, and again: sold once.
        let sold = ReservationId::new();
        ok(
            cloud,
            "ReserveStockFunction",
            reservation(sold, &[(&id, "two", 3)], 600),
        )
        .await;
        let commit = json!({"reservationId": sold});
        let (a, b) = tokio::join!(
            ok(cloud, "CommitStockFunction", commit.clone()),
            ok(cloud, "CommitStockFunction", commit.clone()),
        );
        assert_eq!([&a, &b].iter().filter(|r| r["changed"] == true).count(), 1);
        assert_eq!(
            ok(cloud, "CommitStockFunction", commit).await["changed"],
            false
        );
        let unit = store(cloud).unit(&key).await.unwrap().unwrap();
        assert_eq!((unit.on_hand, unit.reserved, unit.available), (3, 0, 3));
        let missing = invoke(
            cloud,
            "CommitStockFunction",
            json!({"reservationId": ReservationId::new()}),
        )
        .await;
        assert_eq!(missing.error.as_deref(), Some("ReservationNotFound"));

        // On the bus, each transition once (the relay delivers at least once: counted by
        // event id), each matching its schema.
        let ours = |events: &[Value], t: &str| {
            let ids: std::collections::BTreeSet<String> = events
                .iter()
                .filter(|e| {
                    let r = &e["detail"]["data"]["reservationId"];
                    e["detail-type"] == t && (*r == json!(held) || *r == json!(sold))
                })
                .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
                .collect();
            ids.len()
        };
        let events = tap
            .collect(|events| {
                ours(events, "StockReserved") >= 2
                    && ours(events, "StockReleased") >= 1
                    && ours(events, "StockCommitted") >= 1
            })
            .await;
        let count = |t: &str| ours(&events, t);
        assert_eq!(
            (
                count("StockReserved"),
                count("StockReleased"),
                count("StockCommitted")
            ),
            (2, 1, 1)
        );
        for event in &events {
            shop_schemas::assert_valid(
                "shop.inventory",
                event["detail-type"].as_str().unwrap(),
                &event["detail"],
            );
        }
    });
}

#[test]
fn a_lapsed_reservation_is_swept_and_a_late_commit_needs_the_stock() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("stock-{}", suffix())).await;
        let id = product(&admin, &seller, &["three"]).await;
        set_stock(&seller, &id, "three", 2, 0).await;
        let key = UnitKey::new(id.parse().unwrap(), "three");

        let (first, second) = (ReservationId::new(), ReservationId::new());
        for rid in [first, second] {
            ok(
                cloud,
                "ReserveStockFunction",
                reservation(rid, &[(&id, "three", 1)], 1),
            )
            .await;
        }
        assert_eq!(available(cloud, &id, "three").await, 0);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // The schedule may have swept already; either way both are released, once.
        let swept = ok(cloud, "ReleaseExpiredStockFunction", json!({})).await;
        assert!(swept["released"].as_u64().unwrap() <= 2, "{swept}");
        assert_eq!(available(cloud, &id, "three").await, 2);
        let (reserved, sum) = reserved_and_active_sum(cloud, &key, &[first, second]).await;
        assert_eq!((reserved, sum), (0, 0));
        for rid in [first, second] {
            let stored = store(cloud).reservation(rid).await.unwrap().unwrap();
            assert_eq!(
                (stored.status, stored.expired),
                (ReservationStatus::Released, true)
            );
        }

        // The stock is still there: a late commit takes it.
        let late = ok(
            cloud,
            "CommitStockFunction",
            json!({"reservationId": first}),
        )
        .await;
        assert_eq!(late["status"], "COMMITTED");
        assert_eq!(available(cloud, &id, "three").await, 1);
        // Someone else takes the rest: the other late commit finds it gone.
        ok(
            cloud,
            "ReserveStockFunction",
            reservation(ReservationId::new(), &[(&id, "three", 1)], 600),
        )
        .await;
        let gone = invoke(
            cloud,
            "CommitStockFunction",
            json!({"reservationId": second}),
        )
        .await;
        assert_eq!(
            gone.error.as_deref(),
            Some("ReservationExpired"),
            "{}",
            gone.payload
        );
        let unit = store(cloud).unit(&key).await.unwrap().unwrap();
        assert_eq!((unit.on_hand, unit.reserved, unit.available), (1, 1, 0));
    });
}

#[test]
fn the_seller_routes_need_the_products_seller_and_keep_every_movement() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("stock-{}", suffix())).await;
        let rival = as_user(cloud, "Seller", &format!("rival-{}", suffix())).await;
        let user = as_user(cloud, "User", "e2e-user").await;
        let tap = BusTap::new(cloud, "shop.inventory").await;
        let id = product(&admin, &seller, &["four"]).await;
        let path = format!("/api/inventory/{id}/four");
        let body = json!({"onHand": 5, "lowStockThreshold": 2});

        let theirs = rival.put(&path, body.clone()).await;
        assert_eq!(theirs.status, 403, "{}", theirs.body);
        assert_eq!(user.put(&path, body.clone()).await.status, 403);
        assert_eq!(anonymous(cloud).put(&path, body.clone()).await.status, 401);
        let unknown = seller
            .put(
                &format!("/api/inventory/{}/four", ReservationId::new()),
                body.clone(),
            )
            .await;
        assert_eq!(unknown.status, 404);
        assert_eq!(
            seller
                .put(&format!("/api/inventory/{id}/nope"), body.clone())
                .await
                .status,
            404
        );
        let invalid = seller
            .put(&path, json!({"onHand": -1, "lowStockThreshold": 2}))
            .await;
        assert_eq!(invalid.status, 400);
        assert_eq!(invalid.body["error"], "ValidationError");

        let set = seller.put(&path, body).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!(
            (&set.body["onHand"], &set.body["available"]),
            (&json!(5), &json!(5))
        );
        let adjustments = format!("{path}/adjustments");
        let adjust =
            |delta: i64| seller.post(&adjustments, json!({"delta": delta, "reason": "recount"}));
        let down = adjust(-4).await;
        assert_eq!(down.status, 200, "{}", down.body);
        assert_eq!(down.body["onHand"], 1);
        ok(
            cloud,
            "ReserveStockFunction",
            reservation(ReservationId::new(), &[(&id, "four", 1)], 600),
        )
        .await;
        let below = adjust(-1).await;
        assert_eq!(below.status, 422, "{}", below.body);
        let by_admin = admin
            .post(
                &format!("{path}/adjustments"),
                json!({"delta": 3, "reason": "delivery"}),
            )
            .await;
        assert_eq!(by_admin.status, 200, "{}", by_admin.body);
        assert_eq!(rival.get(&format!("{path}/movements")).await.status, 403);

        // set +5, -4, reserved +1, +3: newest first, two to a page.
        let first = seller.get(&format!("{path}/movements?pageSize=2")).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
        let token = first.body["nextToken"]
            .as_str()
            .expect("a second page")
            .to_owned();
        let second = seller
            .get(&format!("{path}/movements?pageSize=2&nextToken={token}"))
            .await;
        assert_eq!(second.status, 200);
        assert_eq!(second.body["nextToken"], Value::Null);
        let all: Vec<&Value> = first.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second.body["items"].as_array().unwrap())
            .collect();
        let mut deltas: Vec<(i64, i64)> = all
            .iter()
            .map(|m| {
                (
                    m["onHandDelta"].as_i64().unwrap(),
                    m["reservedDelta"].as_i64().unwrap(),
                )
            })
            .collect();
        deltas.sort();
        assert_eq!(deltas, [(-4, 0), (0, 1), (3, 0), (5, 0)]);
        let bad = seller
            .get(&format!("{path}/movements?nextToken=forged"))
            .await;
        assert_eq!(bad.status, 400);

        // Below the threshold once, out of stock once, back in stock (twice); counted by
        // event id, since the relay delivers at least once.
        let count = |events: &[Value], t: &str| {
            let ids: std::collections::BTreeSet<String> = events
                .iter()
                .filter(|e| e["detail-type"] == t && e["detail"]["data"]["productId"] == json!(id))
                .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
                .collect();
            ids.len()
        };
        let events = tap
            .collect(|events| {
                count(events, "LowStockDetected") >= 1
                    && count(events, "OutOfStock") >= 1
                    && count(events, "BackInStock") >= 2
                    && count(events, "StockAdjusted") >= 3
            })
            .await;
        let count = |t: &str| count(&events, t);
        assert_eq!(count("LowStockDetected"), 1);
        assert_eq!(count("OutOfStock"), 1);
        assert_eq!((count("BackInStock"), count("StockAdjusted")), (2, 3));
        for event in &events {
            shop_schemas::assert_valid(
                "shop.inventory",
                event["detail-type"].as_str().unwrap(),
                &event["detail"],
            );
        }
    });
}
