//! Handler tests for the inventory: the fixture events of `events/<function>/`, the in-memory
//! store and a clock the tests move.

mod store;

use std::sync::Arc;
use std::time::Duration;

use inventory::Deps;
use inventory::domain::InventoryStore;
use inventory::memory::MemoryInventory;
use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::lambda::TaskError;
use shop_adapters::memory::FixedClock;

/// The products of the fixtures: one with variants `TRS-42` and `TRS-44`, one without.
const SHOE: &str = "01JBQ00000000000000000PR01";
const PLAIN: &str = "01JBQ00000000000000000PR02";
const ORDER: &str = "01JBQ00000000000000000RS01";

struct World {
    deps: Deps,
    store: Arc<MemoryInventory>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let store = Arc::new(MemoryInventory::new());
    let clock = Arc::new(FixedClock::default());
    World {
        deps: Deps {
            store: store.clone(),
            clock: clock.clone(),
        },
        store,
        clock,
    }
}

fn answer(response: Result<Response<Body>, Error>) -> (u16, Value) {
    let response = response.expect("no 5xx");
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
    )
}

/// The fixture with, when given, its body and sku replaced.
fn request(fixture: &str, body: Option<Value>, sku: Option<&str>) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    if let Some(sku) = sku {
        event["pathParameters"]["sku"] = json!(sku);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn invocation(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn fixture_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

async fn consume(world: &World, fixture: &str) -> usize {
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(fixture).unwrap();
    inventory::events::inventory_on_catalog_events(
        &world.deps,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
    .batch_item_failures
    .len()
}

/// The world after the catalog told about both fixture products.
async fn known() -> World {
    let world = world();
    assert_eq!(
        consume(
            &world,
            fixture!("inventory-on-catalog-events/product-created")
        )
        .await,
        0
    );
    assert_eq!(
        consume(
            &world,
            fixture!("inventory-on-catalog-events/plain-product-created")
        )
        .await,
        0
    );
    world
}

async fn put_stock(world: &World, sku: &str, on_hand: u64, threshold: u64) -> (u16, Value) {
    answer(
        inventory::stock::replace_stock(
            &world.deps,
            request(
                fixture!("replace-stock/ok"),
                Some(json!({"onHand": on_hand, "lowStockThreshold": threshold})),
                Some(sku),
            ),
        )
        .await,
    )
}

async fn public_stock(world: &World) -> (u16, Value) {
    answer(
        inventory::stock::get_stock(&world.deps, request(fixture!("get-stock/ok"), None, None))
            .await,
    )
}

fn named(result: Result<Value, TaskError>) -> &'static str {
    match result {
        Err(TaskError::Named { error_type, .. }) => error_type,
        other => panic!("expected a named failure, got {other:?}"),
    }
}

async fn reserve(world: &World, payload: Value) -> Result<Value, TaskError> {
    inventory::reservations::reserve_stock(&world.deps, invocation(payload)).await
}

fn order(id: &str, sku: &str, quantity: u64, hold: u64) -> Value {
    json!({"reservationId": id, "items": [{"productId": SHOE, "sku": sku, "quantity": quantity}], "holdSeconds": hold})
}

#[test]
fn the_consumer_fixtures_match_the_catalogs_schemas() {
    for text in [
        fixture!("inventory-on-catalog-events/product-created"),
        fixture!("inventory-on-catalog-events/plain-product-created"),
        fixture!("inventory-on-catalog-events/product-modified"),
        fixture!("inventory-on-catalog-events/product-deleted"),
    ] {
        let event = fixture_json(text);
        let body: Value =
            serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        shop_schemas::assert_valid(
            "shop.catalog",
            body["detail-type"].as_str().unwrap(),
            &body["detail"],
        );
    }
}

#[tokio::test]
async fn catalog_events_make_units_once_and_a_deleted_product_is_gone() {
    let world = world();
    assert_eq!(public_stock(&world).await.0, 404, "not heard of yet");
    for _ in 0..2 {
        assert_eq!(
            consume(
                &world,
                fixture!("inventory-on-catalog-events/product-created")
            )
            .await,
            0
        );
    }
    let (status, body) = public_stock(&world).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"productId": SHOE, "items": [
            {"sku": "TRS-42", "available": 0, "inStock": false},
            {"sku": "TRS-44", "available": 0, "inStock": false}
        ]})
    );
    assert_eq!(put_stock(&world, "TRS-44", 4, 0).await.0, 200);
    assert_eq!(
        consume(
            &world,
            fixture!("inventory-on-catalog-events/product-modified")
        )
        .await,
        0
    );
    let skus: Vec<Value> = public_stock(&world).await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].clone())
        .collect();
    assert_eq!(skus, [json!("TRS-42"), json!("TRS-46")]);
    // A removed variant cannot be reserved, nor written.
    assert_eq!(
        named(reserve(&world, order(ORDER, "TRS-44", 1, 60)).await),
        "UnknownUnit"
    );
    assert_eq!(put_stock(&world, "TRS-44", 4, 0).await.0, 404);
    // A late redelivery of the creation changes nothing.
    consume(
        &world,
        fixture!("inventory-on-catalog-events/product-created"),
    )
    .await;
    assert_eq!(public_stock(&world).await.1["items"][1]["sku"], "TRS-46");

    assert_eq!(
        consume(
            &world,
            fixture!("inventory-on-catalog-events/product-deleted")
        )
        .await,
        0
    );
    assert_eq!(public_stock(&world).await.0, 404);
    assert_eq!(
        named(reserve(&world, order(ORDER, "TRS-42", 1, 60)).await),
        "UnknownUnit"
    );
}

#[tokio::test]
async fn a_seller_sets_and_adjusts_stock_with_movements_and_events() {
    let world = known().await;
    let (status, body) = put_stock(&world, "TRS-42", 10, 3).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["onHand"],
            &body["reserved"],
            &body["available"],
            &body["lowStockThreshold"],
            &body["inStock"]
        ),
        (&json!(10), &json!(0), &json!(10), &json!(3), &json!(true))
    );
    assert_eq!(world.store.event_types(), ["StockAdjusted", "BackInStock"]);

    let adjust = |body: Value| {
        inventory::stock::create_stock_adjustment(
            &world.deps,
            request(fixture!("create-stock-adjustment/ok"), Some(body), None),
        )
    };
    let (status, body) = answer(adjust(json!({"delta": -2, "reason": "damaged"})).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["onHand"], 8);
    // Below the threshold once: one alert, however often it stays below.
    let (status, _) = answer(adjust(json!({"delta": -6, "reason": "recount"})).await);
    assert_eq!(status, 200);
    answer(adjust(json!({"delta": -1, "reason": "recount"})).await);
    let low = world
        .store
        .event_types()
        .iter()
        .filter(|t| *t == "LowStockDetected")
        .count();
    assert_eq!(low, 1);
    for event in world.store.events() {
        shop_domain::testing::assert_matches_its_schema(&event);
    }
    // Not below zero, not below what is reserved.
    let (status, body) = answer(adjust(json!({"delta": -2, "reason": "recount"})).await);
    assert_eq!(status, 422, "{body}");
    reserve(&world, order(ORDER, "TRS-42", 1, 60))
        .await
        .unwrap();
    assert_eq!(put_stock(&world, "TRS-42", 0, 0).await.0, 422);
    // Bad input is a 400 naming the field.
    let (status, body) = answer(adjust(json!({"delta": 0, "reason": ""})).await);
    assert_eq!(status, 400);
    assert_eq!(body["details"].as_array().unwrap().len(), 2);
    let (status, _) = answer(adjust(json!({"delta": "many", "reason": "x"})).await);
    assert_eq!(status, 400);

    let (status, body) = answer(
        inventory::stock::list_stock_movements(
            &world.deps,
            request(fixture!("list-stock-movements/ok"), None, None),
        )
        .await,
    );
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{body}");
    let deltas: Vec<(i64, i64)> = items
        .iter()
        .map(|m| {
            (
                m["onHandDelta"].as_i64().unwrap(),
                m["reservedDelta"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = deltas.clone();
    sorted.sort();
    assert_eq!(sorted, [(-6, 0), (-2, 0), (-1, 0), (0, 1), (10, 0)]);
    assert!(
        items
            .iter()
            .any(|m| m["actor"] == "seller-1" && m["reason"] == "damaged")
    );
    assert_eq!(body["nextToken"], Value::Null);
}

#[tokio::test]
async fn only_the_products_seller_or_an_admin_may_change_its_stock() {
    let world = known().await;
    let (status, _) = answer(
        inventory::stock::replace_stock(
            &world.deps,
            request(fixture!("replace-stock/other-seller"), None, None),
        )
        .await,
    );
    assert_eq!(status, 403);
    let (status, _) = answer(
        inventory::stock::replace_stock(
            &world.deps,
            request(fixture!("replace-stock/plain-user"), None, None),
        )
        .await,
    );
    assert_eq!(status, 403);
    let mut admin: Value = fixture_json(fixture!("replace-stock/other-seller"));
    admin["requestContext"]["authorizer"]["jwt"]["scopes"] = json!(["shop/user", "shop/admin"]);
    let admin = lambda_http::request::from_str(&admin.to_string()).unwrap();
    let (status, body) = answer(inventory::stock::replace_stock(&world.deps, admin).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(put_stock(&world, "NOPE", 1, 0).await.0, 404);
    assert_eq!(put_stock(&world, "bad sku", 1, 0).await.0, 400);
    let (status, _) = answer(
        inventory::stock::list_stock_movements(
            &world.deps,
            request(fixture!("replace-stock/other-seller"), None, None),
        )
        .await,
    );
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_reservation_sums_its_lines_and_is_all_or_nothing_and_idempotent() {
    let world = known().await;
    put_stock(&world, "TRS-42", 3, 0).await;
    let plain = |on_hand: u64| {
        let mut req: Value = fixture_json(fixture!("replace-stock/ok"));
        req["pathParameters"] = json!({"productId": PLAIN, "sku": PLAIN});
        req["body"] = json!(json!({"onHand": on_hand, "lowStockThreshold": 0}).to_string());
        lambda_http::request::from_str(&req.to_string()).unwrap()
    };
    assert_eq!(
        answer(inventory::stock::replace_stock(&world.deps, plain(1)).await).0,
        200
    );

    let fixture = fixture_json(fixture!("reserve-stock/ok"));
    let made = reserve(&world, fixture.clone()).await.unwrap();
    assert_eq!(made["status"], "ACTIVE");
    assert_eq!(
        made["items"],
        json!([{"productId": SHOE, "sku": "TRS-42", "quantity": 3}, {"productId": PLAIN, "sku": PLAIN, "quantity": 1}])
    );
    assert_eq!(made["expiresAt"], "2026-01-01T00:15:00.000Z");
    // The same id again: the same reservation, nothing more taken.
    assert_eq!(reserve(&world, fixture).await.unwrap(), made);
    let levels = inventory::reservations::get_stock_levels(
        &world.deps,
        invocation(fixture_json(fixture!("get-stock-levels/ok"))),
    )
    .await
    .unwrap();
    assert_eq!(
        levels,
        json!({"units": [
            {"productId": SHOE, "sku": "TRS-42", "available": 0, "inStock": false, "known": true},
            {"productId": PLAIN, "sku": PLAIN, "available": 0, "inStock": false, "known": true},
            {"productId": SHOE, "sku": "NOPE", "available": 0, "inStock": false, "known": false}
        ]})
    );
    let other = "01JBQ00000000000000000RS02";
    put_stock(&world, "TRS-44", 2, 0).await;
    let both = json!({"reservationId": other, "items": [
        {"productId": SHOE, "sku": "TRS-44", "quantity": 1},
        {"productId": SHOE, "sku": "TRS-44", "quantity": 2},
        {"productId": SHOE, "sku": "TRS-42", "quantity": 1}
    ], "holdSeconds": 60});
    assert_eq!(named(reserve(&world, both).await), "InsufficientStock");
    let (_, stock) = public_stock(&world).await;
    assert_eq!(stock["items"][1]["available"], 2, "nothing taken");
    assert_eq!(
        named(reserve(&world, order(other, "TRS-44", 3, 60)).await),
        "InsufficientStock"
    );
    assert!(matches!(
        reserve(&world, json!({"reservationId": other, "items": []})).await,
        Err(TaskError::Domain(shop_domain::DomainError::Validation(_)))
    ));
    let reserved = world
        .store
        .event_types()
        .iter()
        .filter(|t| *t == "StockReserved")
        .count();
    assert_eq!(reserved, 1);
}

#[tokio::test]
async fn commit_and_release_have_one_effect_however_often_called() {
    let world = known().await;
    put_stock(&world, "TRS-42", 5, 0).await;
    let id = fixture_json(fixture!("commit-stock/ok"));
    let release = || {
        inventory::reservations::release_stock(
            &world.deps,
            invocation(fixture_json(fixture!("release-stock/ok"))),
        )
    };
    let unknown = release().await.unwrap();
    assert_eq!(unknown["changed"], false);
    reserve(&world, order(ORDER, "TRS-42", 2, 60))
        .await
        .unwrap();
    assert_eq!(release().await.unwrap()["changed"], true);
    assert_eq!(release().await.unwrap()["changed"], false);
    assert_eq!(public_stock(&world).await.1["items"][0]["available"], 5);
    // A released reservation cannot be committed.
    let commit =
        |payload: Value| inventory::reservations::commit_stock(&world.deps, invocation(payload));
    assert_eq!(named(commit(id.clone()).await), "ReservationNotFound");

    let sold = "01JBQ00000000000000000RS03";
    reserve(&world, order(sold, "TRS-42", 2, 60)).await.unwrap();
    let first = commit(json!({"reservationId": sold})).await.unwrap();
    assert_eq!(
        (&first["status"], &first["changed"]),
        (&json!("COMMITTED"), &json!(true))
    );
    assert_eq!(
        commit(json!({"reservationId": sold})).await.unwrap()["changed"],
        false
    );
    let after_commit = release_of(&world, sold).await;
    assert_eq!(
        after_commit["changed"], false,
        "a sold reservation is not given back"
    );
    let unit = world
        .store
        .unit(&inventory::domain::UnitKey::new(
            SHOE.parse().unwrap(),
            "TRS-42",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((unit.on_hand, unit.reserved, unit.available), (3, 0, 3));
    assert_eq!(
        named(commit(json!({"reservationId": "01JBQ00000000000000000RS09"})).await),
        "ReservationNotFound"
    );
    let types = world.store.event_types();
    for (kind, count) in [
        ("StockReserved", 2),
        ("StockReleased", 1),
        ("StockCommitted", 1),
    ] {
        assert_eq!(
            types.iter().filter(|t| *t == kind).count(),
            count,
            "{kind}: {types:?}"
        );
    }
}

async fn release_of(world: &World, id: &str) -> Value {
    inventory::reservations::release_stock(&world.deps, invocation(json!({"reservationId": id})))
        .await
        .unwrap()
}

async fn sweep(world: &World) -> Value {
    inventory::reservations::release_expired_stock(
        &world.deps,
        invocation(fixture_json(fixture!("release-expired-stock/scheduled"))),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sweeper_releases_lapsed_reservations_and_a_late_commit_needs_the_stock() {
    let world = known().await;
    put_stock(&world, "TRS-42", 2, 0).await;
    reserve(&world, order(ORDER, "TRS-42", 1, 60))
        .await
        .unwrap();
    let gone = "01JBQ00000000000000000RS04";
    reserve(&world, order(gone, "TRS-42", 1, 600))
        .await
        .unwrap();
    assert_eq!(
        sweep(&world).await,
        json!({"released": 0}),
        "none lapsed yet"
    );
    world.clock.advance(Duration::from_secs(61));
    assert_eq!(sweep(&world).await, json!({"released": 1}));
    assert_eq!(sweep(&world).await, json!({"released": 0}));
    assert_eq!(public_stock(&world).await.1["items"][0]["available"], 1);
    // The stock is still there: a late commit takes it again.
    let late = inventory::reservations::commit_stock(
        &world.deps,
        invocation(json!({"reservationId": ORDER})),
    )
    .await
    .unwrap();
    assert_eq!(late["status"], "COMMITTED");
    assert_eq!(public_stock(&world).await.1["items"][0]["available"], 0);

    // Lapsed, and someone else took the stock meanwhile: ReservationExpired.
    world.clock.advance(Duration::from_secs(600));
    assert_eq!(sweep(&world).await, json!({"released": 1}));
    reserve(
        &world,
        order("01JBQ00000000000000000RS05", "TRS-42", 1, 600),
    )
    .await
    .unwrap();
    let refused = inventory::reservations::commit_stock(
        &world.deps,
        invocation(json!({"reservationId": gone})),
    )
    .await;
    assert_eq!(named(refused), "ReservationExpired");
    let unit = world
        .store
        .unit(&inventory::domain::UnitKey::new(
            SHOE.parse().unwrap(),
            "TRS-42",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((unit.on_hand, unit.reserved, unit.available), (1, 1, 0));
}

#[tokio::test]
async fn the_public_route_refuses_a_bad_id_and_any_query_parameter() {
    let world = known().await;
    let mut event = fixture_json(fixture!("get-stock/ok"));
    event["pathParameters"]["productId"] = json!("not-a-ulid");
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = answer(inventory::stock::get_stock(&world.deps, req).await);
    assert_eq!(
        (status, &body["details"][0]["field"]),
        (400, &json!("productId"))
    );
    let mut event = fixture_json(fixture!("get-stock/ok"));
    event["rawQueryString"] = json!("sku=TRS-42");
    event["queryStringParameters"] = json!({"sku": "TRS-42"});
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = answer(inventory::stock::get_stock(&world.deps, req).await);
    assert_eq!((status, &body["details"][0]["field"]), (400, &json!("sku")));
}
