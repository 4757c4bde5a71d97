//! Handler tests for the discounts routes, internal functions and catalog consumer: the
//! fixture events of `events/<function>/`, the in-memory store and a clock the tests move.

mod store;

use std::sync::Arc;

use discounts::Deps;
use discounts::memory::MemoryDiscounts;
use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::memory::FixedClock;

/// The product and variant of the fixtures.
const PRODUCT: &str = "01JBQ00000000000000000PR01";
/// The user of the fixtures.
const ANN: &str = "01JBQ00000000000000000AN01";

struct World {
    deps: Deps,
    store: Arc<MemoryDiscounts>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let store = Arc::new(MemoryDiscounts::new());
    let clock = Arc::new(FixedClock::new("2026-12-01T12:00:00Z".parse().unwrap()));
    World {
        deps: Deps {
            discounts: store.clone(),
            catalog: store.clone(),
            clock: clock.clone(),
        },
        store,
        clock,
    }
}

fn answer(response: Result<Response<Body>, Error>) -> (u16, Value, String) {
    let response = response.expect("no 5xx");
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
        etag,
    )
}

/// The fixture with, when given, its body, path id and extra headers replaced.
fn request(
    fixture: &str,
    body: Option<Value>,
    id: Option<&str>,
    headers: &[(&str, &str)],
) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
        event["headers"]["content-type"] = json!("application/json");
    }
    if let Some(id) = id {
        event["pathParameters"]["id"] = json!(id);
    }
    for (name, value) in headers {
        event["headers"][*name] = json!(value);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn create(world: &World, body: Value) -> Value {
    let (status, created, _) = answer(
        discounts::admin::create_discount(
            &world.deps,
            request(fixture!("create-discount/ok"), Some(body), None, &[]),
        )
        .await,
    );
    assert_eq!(status, 201, "{created}");
    created
}

/// Feeds a consumer fixture; the number of failed records.
async fn consume(world: &World, fixture: &str) -> usize {
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(fixture).unwrap();
    for record in &event.records {
        let bus: Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
        shop_schemas::assert_valid(
            "shop.catalog",
            bus["detail-type"].as_str().unwrap(),
            &bus["detail"],
        );
    }
    discounts::events::discounts_on_catalog_events(
        &world.deps,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
    .batch_item_failures
    .len()
}

async fn shop_knows_the_trail_runner(world: &World) {
    assert_eq!(
        consume(
            world,
            fixture!("discounts-on-catalog-events/categories-created")
        )
        .await,
        0
    );
    assert_eq!(
        consume(
            world,
            fixture!("discounts-on-catalog-events/product-created")
        )
        .await,
        0
    );
}

/// Runs an internal function's handler on `payload`; its output or its Lambda diagnostic.
macro_rules! invoke {
    ($world:expr, $handler:path, $payload:expr $(,)?) => {
        $handler(&$world.deps, LambdaEvent::new($payload, Context::default()))
            .await
            .map_err(Diagnostic::from)
    };
}

async fn validate(world: &World, body: Value) -> (u16, Value) {
    let (status, body, _) = answer(
        discounts::validate::validate_discount(
            &world.deps,
            request(fixture!("validate-discount/ok"), Some(body), None, &[]),
        )
        .await,
    );
    (status, body)
}

fn line(quantity: u32) -> Value {
    json!({"productId": PRODUCT, "sku": "TR-L", "quantity": quantity})
}

#[tokio::test]
async fn an_admin_creates_a_coupon_whose_code_is_unique_in_any_case() {
    let world = world();
    let (status, created, etag) = answer(
        discounts::admin::create_discount(
            &world.deps,
            request(fixture!("create-discount/ok"), None, None, &[]),
        )
        .await,
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(etag, "\"1\"");
    assert_eq!(created["code"], "Welcome10");
    assert_eq!(
        (created["active"].clone(), created["automatic"].clone()),
        (json!(true), json!(false))
    );
    let duplicate = request(
        fixture!("create-discount/ok"),
        Some(json!({"code": "WELCOME10",
        "name": "Other", "type": "fixed", "value": 100, "currency": "EUR"})),
        None,
        &[],
    );
    let (status, body, _) = answer(discounts::admin::create_discount(&world.deps, duplicate).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("Conflict")),
        "{body}"
    );

    let (status, body, _) = answer(
        discounts::admin::create_discount(
            &world.deps,
            request(fixture!("create-discount/invalid"), None, None, &[]),
        )
        .await,
    );
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for field in ["automatic", "code", "name", "value", "usageLimit"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let (status, _, _) = answer(
        discounts::admin::create_discount(
            &world.deps,
            request(fixture!("create-discount/not-admin"), None, None, &[]),
        )
        .await,
    );
    assert_eq!(status, 403);
}

#[tokio::test]
async fn replace_and_delete_are_conditional_on_the_version() {
    let world = world();
    let created = create(
        &world,
        json!({"code": "EDIT", "name": "Edit", "type": "percentage", "value": 5}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, got, etag) = answer(
        discounts::admin::get_discount(
            &world.deps,
            request(fixture!("get-discount/ok"), None, Some(id), &[]),
        )
        .await,
    );
    assert_eq!((status, etag.as_str()), (200, "\"1\""));
    assert_eq!(got, created);

    let put = |headers: &[(&str, &str)]| {
        request(fixture!("replace-discount/ok"), None, Some(id), headers)
    };
    let (status, replaced, etag) = answer(
        discounts::admin::replace_discount(&world.deps, put(&[("if-match", "\"1\"")])).await,
    );
    assert_eq!((status, etag.as_str()), (200, "\"2\""), "{replaced}");
    assert_eq!(replaced["code"], "WELCOME15");
    let (status, body, _) = answer(
        discounts::admin::replace_discount(&world.deps, put(&[("if-match", "\"1\"")])).await,
    );
    assert_eq!(status, 412, "{body}");
    // The same fields again: nothing changes.
    let (status, same, _) = answer(discounts::admin::replace_discount(&world.deps, put(&[])).await);
    assert_eq!((status, same["version"].as_u64()), (200, Some(2)));

    let delete =
        |headers: &[(&str, &str)]| request(fixture!("delete-discount/ok"), None, Some(id), headers);
    let (status, _, _) = answer(
        discounts::admin::delete_discount(&world.deps, delete(&[("if-match", "\"1\"")])).await,
    );
    assert_eq!(status, 412);
    let (status, _, _) = answer(
        discounts::admin::delete_discount(&world.deps, delete(&[("if-match", "\"2\"")])).await,
    );
    assert_eq!(status, 204);
    let (status, _, _) = answer(
        discounts::admin::get_discount(
            &world.deps,
            request(fixture!("get-discount/ok"), None, Some(id), &[]),
        )
        .await,
    );
    assert_eq!(status, 404);
    // The code is free again.
    create(
        &world,
        json!({"code": "welcome15", "name": "Again", "type": "percentage", "value": 15}),
    )
    .await;
    // Each write committed its event; the refused ones and the no-op PUT none.
    let events = world.store.events();
    let types: Vec<&str> = events.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "DiscountCreated",
            "DiscountModified",
            "DiscountDeleted",
            "DiscountCreated"
        ]
    );
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e.detail["aggregateVersion"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 1]);
    for event in &events {
        shop_schemas::assert_valid(&event.source, &event.detail_type, &event.detail);
    }
}

#[tokio::test]
async fn the_admin_list_pages_through_every_discount() {
    let world = world();
    for i in 0..3 {
        create(
            &world,
            json!({"code": format!("PAGE{i}"), "name": "P", "type": "percentage", "value": 5}),
        )
        .await;
    }
    let (status, first, _) = answer(
        discounts::admin::list_discounts(
            &world.deps,
            request(fixture!("list-discounts/ok"), None, None, &[]),
        )
        .await,
    );
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["pageSize"], 2);
    let token = first["nextToken"].as_str().unwrap();
    let mut next: Value = serde_json::from_str(fixture!("list-discounts/ok")).unwrap();
    next["queryStringParameters"]["nextToken"] = json!(token);
    next["rawQueryString"] = json!(format!("pageSize=2&nextToken={token}"));
    let req = lambda_http::request::from_str(&next.to_string()).unwrap();
    let (_, second, _) = answer(discounts::admin::list_discounts(&world.deps, req).await);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["nextToken"], Value::Null);
    next["queryStringParameters"]["nextToken"] = json!("garbage");
    next["rawQueryString"] = json!("pageSize=2&nextToken=garbage");
    let req = lambda_http::request::from_str(&next.to_string()).unwrap();
    let (status, _, _) = answer(discounts::admin::list_discounts(&world.deps, req).await);
    assert_eq!(status, 400);
}

#[tokio::test]
async fn validate_prices_from_the_projection_and_names_every_reason() {
    let world = world();
    let (status, body) = validate(&world, json!({"code": "WELCOME10", "items": [line(2)]})).await;
    assert_eq!(status, 422, "an unknown product is not for sale: {body}");
    shop_knows_the_trail_runner(&world).await;
    let (status, body) = validate(&world, json!({"code": "WELCOME10", "items": [line(2)]})).await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"valid": false, "reason": "unknown_code"}))
    );

    create(
        &world,
        json!({"code": "Welcome10", "name": "Welcome", "type": "percentage", "value": 10,
        "perUserLimit": 1}),
    )
    .await;
    let (status, body) = validate(&world, json!({"code": "welcome10", "items": [line(2)]})).await;
    assert_eq!(status, 200, "{body}");
    // 10 % of 2 × 94.99 (the variant's own price, not the client's) = 18.998 → 18.99.
    assert_eq!(body["valid"], true);
    assert_eq!(body["discountAmount"], 1899);
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["discount"]["code"], "Welcome10");

    let reason = |extra: Value| {
        let mut body = json!({"name": "R", "type": "percentage", "value": 10});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        ("OFF", json!({"active": false}), "inactive"),
        (
            "LATER",
            json!({"startsAt": "2026-12-24T00:00:00Z"}),
            "not_started",
        ),
        ("GONE", json!({"endsAt": "2026-11-30T00:00:00Z"}), "expired"),
        (
            "BIG",
            json!({"minSubtotal": 50_000, "currency": "EUR"}),
            "minimum_not_met",
        ),
        (
            "HATS",
            json!({"appliesTo": {"categoryIds": ["01JBQ00000000000000000CA09"]}}),
            "not_applicable",
        ),
        ("DOLLAR", json!({"currency": "USD"}), "not_applicable"),
        (
            "RUNNING",
            json!({"appliesTo": {"categoryIds": ["01JBQ00000000000000000CA01"]}}),
            "",
        ),
    ];
    for (code, extra, expected) in cases {
        let mut body = reason(extra);
        body["code"] = json!(code);
        create(&world, body).await;
        let (status, verdict) = validate(&world, json!({"code": code, "items": [line(1)]})).await;
        assert_eq!(status, 200);
        if expected.is_empty() {
            assert_eq!(
                verdict["discountAmount"], 949,
                "the root category covers its child: {verdict}"
            );
        } else {
            assert_eq!(
                verdict,
                json!({"valid": false, "reason": expected}),
                "{code}"
            );
        }
    }

    // Used up, for this user and then for everyone.
    let welcome = world
        .deps
        .discounts
        .by_code("WELCOME10")
        .await
        .unwrap()
        .unwrap();
    let reserved = invoke!(
        world,
        discounts::internal::reserve_discount,
        json!({"orderId": "01JBQ00000000000000000RD01", "userId": ANN, "discountIds": [welcome.id]})
    );
    assert_eq!(reserved.unwrap()["status"], "RESERVED");
    let (_, verdict) = validate(&world, json!({"code": "WELCOME10", "items": [line(1)]})).await;
    assert_eq!(verdict["reason"], "per_user_limit_reached");
    create(
        &world,
        json!({"code": "ONE", "name": "One", "type": "fixed", "value": 100, "currency": "EUR",
        "usageLimit": 1}),
    )
    .await;
    let one = world.deps.discounts.by_code("ONE").await.unwrap().unwrap();
    invoke!(world, discounts::internal::reserve_discount,
        json!({"orderId": "01JBQ00000000000000000RD02", "userId": "someone-else", "discountIds": [one.id]}))
        .unwrap();
    let (_, verdict) = validate(&world, json!({"code": "ONE", "items": [line(1)]})).await;
    assert_eq!(verdict["reason"], "usage_limit_reached");

    // Bad input, an unknown SKU, an archived product.
    let (status, body) = validate(
        &world,
        json!({"code": "", "items": [{"productId": PRODUCT, "quantity": 0}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["details"].as_array().unwrap().len(), 2, "{body}");
    let (status, _) = validate(
        &world,
        json!({"code": "ONE", "items": [{"productId": PRODUCT, "sku": "XL", "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        consume(
            &world,
            fixture!("discounts-on-catalog-events/product-modified")
        )
        .await,
        0
    );
    let (status, _) = validate(&world, json!({"code": "ONE", "items": [line(1)]})).await;
    assert_eq!(status, 422, "archived");
}

#[tokio::test]
async fn catalog_events_apply_once_and_in_order() {
    let world = world();
    shop_knows_the_trail_runner(&world).await;
    assert_eq!(
        consume(
            &world,
            fixture!("discounts-on-catalog-events/product-deleted")
        )
        .await,
        0
    );
    // Late and repeated: the product stays deleted.
    assert_eq!(
        consume(
            &world,
            fixture!("discounts-on-catalog-events/product-modified")
        )
        .await,
        0
    );
    assert_eq!(
        consume(
            &world,
            fixture!("discounts-on-catalog-events/product-created")
        )
        .await,
        0
    );
    let facts = world
        .deps
        .catalog
        .products(&[PRODUCT.parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(facts[0].status, "deleted");
    assert_eq!(facts[0].version, 3);
    let mut broken: Value =
        serde_json::from_str(fixture!("discounts-on-catalog-events/product-created")).unwrap();
    broken["Records"][0]["body"] = json!("not an event");
    assert_eq!(consume_unchecked(&world, broken).await, 1);
}

async fn consume_unchecked(world: &World, event: Value) -> usize {
    let event = serde_json::from_value(event).unwrap();
    discounts::events::discounts_on_catalog_events(
        &world.deps,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
    .batch_item_failures
    .len()
}

#[tokio::test]
async fn evaluate_picks_the_best_discount_or_the_stack() {
    let world = world();
    shop_knows_the_trail_runner(&world).await;
    let payload: Value = serde_json::from_str(fixture!("evaluate-discounts/ok")).unwrap();
    let nothing = invoke!(
        world,
        discounts::internal::evaluate_discounts,
        payload.clone()
    )
    .unwrap();
    assert_eq!(
        nothing,
        json!({"code": {"valid": false, "reason": "unknown_code"}, "discount": null, "applied": []})
    );

    let welcome = create(
        &world,
        json!({"code": "WELCOME10", "name": "Welcome", "type": "percentage", "value": 10}),
    )
    .await;
    let campaign = create(
        &world,
        json!({"name": "Running week", "type": "fixed", "value": 2500, "currency": "EUR",
        "automatic": true, "appliesTo": {"categoryIds": ["01JBQ00000000000000000CA01"]}}),
    )
    .await;
    let best = invoke!(
        world,
        discounts::internal::evaluate_discounts,
        payload.clone()
    )
    .unwrap();
    assert_eq!(best["code"], json!({"valid": true}));
    // 10 % of 2 × 94.99 = 18.99 against 25.00 off running shoes: the campaign.
    assert_eq!(
        best["discount"],
        json!({"id": campaign["id"], "code": null, "name": "Running week", "amount": 2500})
    );
    assert_eq!(best["applied"].as_array().unwrap().len(), 1);

    // Both stackable: the sum, named after the larger.
    for (d, code) in [(&welcome, Some("WELCOME10")), (&campaign, None)] {
        let mut body = d.clone();
        for key in ["id", "version", "createdAt", "updatedAt"] {
            body.as_object_mut().unwrap().remove(key);
        }
        body["stackable"] = json!(true);
        if code.is_none() {
            body.as_object_mut().unwrap().remove("code");
        }
        let req = request(
            fixture!("replace-discount/ok"),
            Some(body),
            d["id"].as_str(),
            &[],
        );
        let (status, replaced, _) =
            answer(discounts::admin::replace_discount(&world.deps, req).await);
        assert_eq!(status, 200, "{replaced}");
    }
    let stacked = invoke!(
        world,
        discounts::internal::evaluate_discounts,
        payload.clone()
    )
    .unwrap();
    assert_eq!(stacked["discount"]["amount"], 4399);
    assert_eq!(stacked["discount"]["id"], campaign["id"]);
    let amounts: Vec<i64> = stacked["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [2500, 1899]);

    // Out of time: the campaign ended.
    world.clock.set("2030-01-01T00:00:00Z".parse().unwrap());
    let mut guest = payload;
    guest["userId"] = Value::Null;
    guest["code"] = Value::Null;
    let later = invoke!(world, discounts::internal::evaluate_discounts, guest).unwrap();
    assert_eq!(later["code"], Value::Null);
    assert_eq!(later["discount"]["amount"], 2500, "no end date: still on");
    let bad = invoke!(
        world,
        discounts::internal::evaluate_discounts,
        json!({"currency": "EUR"})
    );
    assert_eq!(bad.unwrap_err().error_type, "NonRetryable");
}

#[tokio::test]
async fn reserve_redeem_and_release_are_named_and_idempotent() {
    let world = world();
    let limited = create(
        &world,
        json!({"code": "LIMITED", "name": "Limited", "type": "percentage", "value": 10,
        "usageLimit": 1}),
    )
    .await;
    let mut reserve: Value = serde_json::from_str(fixture!("reserve-discount/ok")).unwrap();
    reserve["discountIds"] = json!([limited["id"]]);
    let first = invoke!(
        world,
        discounts::internal::reserve_discount,
        reserve.clone()
    )
    .unwrap();
    assert_eq!(first["status"], "RESERVED");
    let again = invoke!(
        world,
        discounts::internal::reserve_discount,
        reserve.clone()
    )
    .unwrap();
    assert_eq!(again, first, "the same order twice: one use");
    let mut other = reserve.clone();
    other["orderId"] = json!("01JBQ00000000000000000RD09");
    let full = invoke!(world, discounts::internal::reserve_discount, other.clone()).unwrap_err();
    assert_eq!(full.error_type, "UsageLimitReached");

    let redeem: Value = serde_json::from_str(fixture!("redeem-discount/ok")).unwrap();
    for _ in 0..2 {
        let redeemed =
            invoke!(world, discounts::internal::redeem_discount, redeem.clone()).unwrap();
        assert_eq!(redeemed["status"], "REDEEMED");
    }
    let unknown = invoke!(
        world,
        discounts::internal::redeem_discount,
        json!({"orderId": "01JBQ00000000000000000RD08"})
    );
    assert_eq!(unknown.unwrap_err().error_type, "RedemptionNotFound");
    let release: Value = serde_json::from_str(fixture!("release-discount/ok")).unwrap();
    let kept = invoke!(world, discounts::internal::release_discount, release).unwrap();
    assert_eq!(
        kept["status"], "REDEEMED",
        "a redeemed use is not given back"
    );
    let nothing = invoke!(
        world,
        discounts::internal::release_discount,
        json!({"orderId": "01JBQ00000000000000000RD08"})
    );
    assert_eq!(nothing.unwrap()["status"], Value::Null);

    // Another coupon: reserved, released twice (given back once), reserved by a new order.
    let once = create(
        &world,
        json!({"code": "ONCE", "name": "Once", "type": "fixed", "value": 100, "currency": "EUR",
        "usageLimit": 1, "perUserLimit": 1}),
    )
    .await;
    other["discountIds"] = json!([once["id"]]);
    invoke!(world, discounts::internal::reserve_discount, other.clone()).unwrap();
    for _ in 0..2 {
        let released = invoke!(
            world,
            discounts::internal::release_discount,
            json!({"orderId": other["orderId"]})
        )
        .unwrap();
        assert_eq!(released["status"], "RELEASED");
    }
    let redeem_released = invoke!(
        world,
        discounts::internal::redeem_discount,
        json!({"orderId": other["orderId"]})
    );
    assert_eq!(
        redeem_released.unwrap_err().error_type,
        "RedemptionReleased"
    );
    let mut fresh = other.clone();
    fresh["orderId"] = json!("01JBQ00000000000000000RD07");
    assert_eq!(
        invoke!(world, discounts::internal::reserve_discount, fresh.clone()).unwrap()["status"],
        "RESERVED"
    );
    let mut twice = fresh.clone();
    twice["orderId"] = json!("01JBQ00000000000000000RD06");
    let per_user = invoke!(world, discounts::internal::reserve_discount, twice).unwrap_err();
    assert_eq!(per_user.error_type, "UsageLimitReached");

    // Not applicable: unknown, inactive.
    let mut ghost = reserve.clone();
    ghost["orderId"] = json!("01JBQ00000000000000000RD05");
    ghost["discountIds"] = json!(["01JBQ00000000000000000DS99"]);
    assert_eq!(
        invoke!(world, discounts::internal::reserve_discount, ghost.clone())
            .unwrap_err()
            .error_type,
        "DiscountNotApplicable"
    );
    let off = create(&world, json!({"code": "OFFNOW", "name": "Off", "type": "percentage", "value": 10, "active": false})).await;
    ghost["discountIds"] = json!([off["id"]]);
    assert_eq!(
        invoke!(world, discounts::internal::reserve_discount, ghost)
            .unwrap_err()
            .error_type,
        "DiscountNotApplicable"
    );

    // The admin sees the order holding the use.
    let (status, listed, _) = answer(
        discounts::admin::list_discount_redemptions(
            &world.deps,
            request(
                fixture!("list-discount-redemptions/ok"),
                None,
                limited["id"].as_str(),
                &[],
            ),
        )
        .await,
    );
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["orderId"], reserve["orderId"]);
    assert_eq!(listed["items"][0]["status"], "REDEEMED");
}
