//! Handler tests for the cart routes and the catalog-event consumer: the fixture events of
//! `events/<function>/`, the in-memory store and projection, fakes of inventory and
//! discounts, and a clock the tests move.

mod store;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use cart::Deps;
use cart::domain::{Cart, CartOwner, CartStore, Unit, hash_token};
use cart::memory::{MemoryCarts, MemoryDiscounts, MemoryStock};
use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::memory::FixedClock;
use shop_domain::{CartId, Clock, ProductId, UserId};

/// The user of the fixtures.
const ANN: &str = "01JBQ00000000000000000AN01";
/// The product of the fixtures (variants `TRS-42` at 12999, `TRS-44` at 13499).
const SHOE: &str = "01JBQ00000000000000000PR01";
/// The guest cart of the fixtures and its token.
const GUEST: &str = "01JBQ00000000000000000GC01";
const TOKEN: &str = "fixture-cart-token";

struct World {
    deps: Deps,
    carts: Arc<MemoryCarts>,
    stock: Arc<MemoryStock>,
    discounts: Arc<MemoryDiscounts>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let carts = Arc::new(MemoryCarts::new());
    let stock = Arc::new(MemoryStock::default());
    let discounts = Arc::new(MemoryDiscounts::default());
    let clock = Arc::new(FixedClock::default());
    let deps = Deps {
        carts: carts.clone(),
        products: carts.clone(),
        stock: stock.clone(),
        discounts: discounts.clone(),
        clock: clock.clone(),
    };
    World {
        deps,
        carts,
        stock,
        discounts,
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

/// Runs `handler` on `req`; status and JSON body.
macro_rules! call {
    ($world:expr, $handler:path, $req:expr $(,)?) => {
        answer($handler(&$world.deps, $req).await)
    };
}

/// The fixture with its body, path parameters and headers edited.
fn request(fixture: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn with_body(body: Value) -> impl FnOnce(&mut Value) {
    move |event| event["body"] = json!(body.to_string())
}

fn unit(product: &str, sku: Option<&str>) -> Unit {
    Unit {
        product_id: product.parse().unwrap(),
        sku: sku.map(|s| s.parse().unwrap()),
    }
}

fn sqs(fixture: &str, edit: impl FnOnce(&mut Value)) -> SqsEvent {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    let mut body: Value =
        serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
    edit(&mut body["detail"]);
    shop_schemas::assert_valid(
        "shop.catalog",
        body["detail-type"].as_str().unwrap(),
        &body["detail"],
    );
    event["Records"][0]["body"] = json!(body.to_string());
    serde_json::from_value(event).unwrap()
}

async fn consume(world: &World, event: SqsEvent) -> usize {
    cart::events::cart_on_catalog_events(&world.deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap()
        .batch_item_failures
        .len()
}

/// The fixture shoe is known (with stock of each variant), as a product created and then
/// whatever `edit` makes of its `ProductCreated`.
async fn shoe_known(world: &World, stock: i64) {
    assert_eq!(
        consume(
            world,
            sqs(fixture!("cart-on-catalog-events/product-created"), |_| {})
        )
        .await,
        0
    );
    world.stock.set(&unit(SHOE, Some("TRS-42")), stock);
    world.stock.set(&unit(SHOE, Some("TRS-44")), stock);
}

/// A product without variants, at `price` in `currency`, `status`, known to the cart.
async fn plain_product(world: &World, price: i64, currency: &str, status: &str) -> String {
    let id = ProductId::new().to_string();
    let product_id = id.clone();
    let status = status.to_owned();
    let currency = currency.to_owned();
    let event = sqs(
        fixture!("cart-on-catalog-events/product-created"),
        move |detail| {
            let product = &mut detail["data"]["product"];
            product["id"] = json!(product_id);
            product["variants"] = json!([]);
            product["price"] = json!(price);
            product["currency"] = json!(currency);
            product["status"] = json!(status);
        },
    );
    assert_eq!(consume(world, event).await, 0);
    world.stock.set(&unit(&id, None), 50);
    id
}

async fn add_for_ann(world: &World, body: Value) -> (u16, Value) {
    call!(
        world,
        cart::items::create_cart_item,
        request(fixture!("create-cart-item/ok"), with_body(body))
    )
}

async fn ann_cart(world: &World) -> Value {
    let (status, body) = call!(
        world,
        cart::carts::get_cart,
        request(fixture!("get-cart/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    body
}

async fn guest_cart_exists(world: &World) {
    let now = world.clock.now();
    let cart = Cart::new(
        CartOwner::Guest(GUEST.parse().unwrap()),
        Some(hash_token(TOKEN)),
        now,
    );
    assert!(world.carts.start_cart(&cart, now).await.unwrap());
}

#[tokio::test]
async fn a_cart_before_anything_was_added_is_empty() {
    let world = world();
    let body = ann_cart(&world).await;
    assert_eq!(body["items"], json!([]));
    assert_eq!(
        (
            body["itemCount"].clone(),
            body["subtotal"].clone(),
            body["total"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(body["discount"], Value::Null);
    assert_eq!(body["warnings"], json!([]));
    assert!(world.discounts.queries().is_empty(), "nothing to ask about");
    // A token whose subject is no user id has no cart.
    let (status, _) = call!(
        world,
        cart::carts::get_cart,
        request(fixture!("get-cart/ok"), |e| {
            e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!("admin-cli");
        })
    );
    assert_eq!(status, 403);
}

#[tokio::test]
async fn catalog_events_feed_the_projection_once_and_in_order() {
    let world = world();
    shoe_known(&world, 10).await;
    let (status, body) = add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-44", "quantity": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["unitPrice"], 13499);
    assert_eq!(body["items"][0]["name"], "Trail Running Shoe (EU 44)");
    assert_eq!(
        body["items"][0]["image"],
        "https://cdn.example.com/trs/main.jpg"
    );

    // Repriced (version 2), redelivered, and the old creation arriving late: one change.
    let repriced = || {
        sqs(fixture!("cart-on-catalog-events/product-modified"), |d| {
            d["data"]["new"]["variants"][1]["price"] = json!(12499);
        })
    };
    assert_eq!(consume(&world, repriced()).await, 0);
    assert_eq!(consume(&world, repriced()).await, 0);
    assert_eq!(
        consume(
            &world,
            sqs(fixture!("cart-on-catalog-events/product-created"), |_| {})
        )
        .await,
        0
    );
    let line = &ann_cart(&world).await["items"][0];
    assert_eq!(line["unitPrice"], 12499);
    assert_eq!(line["priceChanged"], json!({"from": 13499, "to": 12499}));
    assert_eq!(line["available"], true);

    // Deleted: the line stays, unavailable, at the price it was added at, in no total.
    assert_eq!(
        consume(
            &world,
            sqs(fixture!("cart-on-catalog-events/product-deleted"), |_| {})
        )
        .await,
        0
    );
    assert_eq!(
        consume(&world, repriced()).await,
        0,
        "a late modification after the deletion"
    );
    let cart = ann_cart(&world).await;
    assert_eq!(cart["items"][0]["available"], false);
    assert_eq!(cart["items"][0]["unavailableReason"], "product_deleted");
    assert_eq!(cart["items"][0]["unitPrice"], 13499);
    assert_eq!(
        (cart["subtotal"].clone(), cart["itemCount"].clone()),
        (json!(0), json!(0))
    );

    // An event this consumer does not handle is reported, not swallowed.
    let mut other: Value =
        serde_json::from_str(fixture!("cart-on-catalog-events/product-created")).unwrap();
    let mut body: Value =
        serde_json::from_str(other["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["detail"]["type"] = json!("BrandCreated");
    other["Records"][0]["body"] = json!(body.to_string());
    assert_eq!(
        consume(&world, serde_json::from_value(other).unwrap()).await,
        1
    );
}

#[tokio::test]
async fn adding_a_unit_twice_adds_to_its_line_checked_against_the_sum() {
    let world = world();
    shoe_known(&world, 5).await;
    let add = |q: i64| json!({"productId": SHOE, "sku": "TRS-42", "quantity": q});
    let (status, body) = add_for_ann(&world, add(2)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = add_for_ann(&world, add(3)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        1,
        "one line per unit"
    );
    let line = &body["items"][0];
    assert_eq!(line["itemId"], format!("{SHOE}~TRS-42"));
    assert_eq!(
        (line["quantity"].clone(), line["lineTotal"].clone()),
        (json!(5), json!(5 * 12999))
    );
    assert_eq!(line["sku"], "TRS-42");
    assert_eq!(line["currency"], "EUR");
    assert_eq!(
        (body["itemCount"].clone(), body["subtotal"].clone()),
        (json!(5), json!(5 * 12999))
    );
    assert_eq!(body["currency"], "EUR");
    // 5 in stock, 5 in the line: one more is checked against 6.
    let (status, body) = add_for_ann(&world, add(1)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("only 5"),
        "{body}"
    );
    // Out of range is a 400, 0 included.
    for bad in [json!(0), json!(100), json!(-1), json!(2.5), json!("1")] {
        let (status, body) = add_for_ann(
            &world,
            json!({"productId": SHOE, "sku": "TRS-42", "quantity": bad}),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["details"][0]["field"], "quantity", "{body}");
    }
    let (status, _) = add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 1, "price": 1}),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");
    // Past 99 on one line.
    world.stock.set(&unit(SHOE, Some("TRS-42")), 500);
    let (status, _) = add_for_ann(&world, add(94)).await;
    assert_eq!(status, 200);
    let (status, body) = add_for_ann(&world, add(1)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("99"), "{body}");
}

#[tokio::test]
async fn what_cannot_be_added_is_named() {
    let world = world();
    shoe_known(&world, 5).await;
    let status_of = |body: Value| {
        let world = &world;
        async move { add_for_ann(world, body).await }
    };
    let (status, _) =
        status_of(json!({"productId": ProductId::new().to_string(), "quantity": 1})).await;
    assert_eq!(status, 404, "unknown product");
    let (status, body) =
        status_of(json!({"productId": SHOE, "sku": "TRS-99", "quantity": 1})).await;
    assert_eq!(status, 404, "unknown SKU: {body}");
    let (status, _) = status_of(json!({"productId": SHOE, "quantity": 1})).await;
    assert_eq!(status, 422, "a product with variants needs one");
    let (status, _) =
        status_of(json!({"productId": SHOE, "sku": "no spaces", "quantity": 1})).await;
    assert_eq!(status, 400, "a malformed SKU");
    let draft = plain_product(&world, 500, "EUR", "draft").await;
    let (status, _) = status_of(json!({"productId": draft, "quantity": 1})).await;
    assert_eq!(status, 422, "not active");
    let (status, _) = status_of(json!({"productId": draft, "sku": "X", "quantity": 1})).await;
    assert_eq!(status, 404, "a SKU of a product without variants");
    let empty = plain_product(&world, 500, "EUR", "active").await;
    world.stock.set(&unit(&empty, None), 0);
    let (status, body) = status_of(json!({"productId": empty, "quantity": 1})).await;
    assert_eq!(status, 422, "no stock: {body}");
    // The cart is in EUR once it has a line; a USD product cannot join it.
    let mug = plain_product(&world, 500, "EUR", "active").await;
    let (status, body) = status_of(json!({"productId": mug, "sku": null, "quantity": 1})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["sku"], Value::Null);
    assert_eq!(body["items"][0]["itemId"], mug);
    let dollar = plain_product(&world, 500, "USD", "active").await;
    let (status, body) = status_of(json!({"productId": dollar, "quantity": 1})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("EUR"), "{body}");
}

#[tokio::test]
async fn a_cart_holds_at_most_50_lines() {
    let world = world();
    for _ in 0..50 {
        let id = plain_product(&world, 100, "EUR", "active").await;
        let (status, body) = add_for_ann(&world, json!({"productId": id, "quantity": 1})).await;
        assert_eq!(status, 200, "{body}");
    }
    let id = plain_product(&world, 100, "EUR", "active").await;
    let (status, body) = add_for_ann(&world, json!({"productId": id, "quantity": 1})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("50"), "{body}");
}

#[tokio::test]
async fn repriced_archived_and_short_lines_are_marked_and_count_in_no_total() {
    let world = world();
    shoe_known(&world, 5).await;
    let mug = plain_product(&world, 800, "EUR", "active").await;
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 2}),
    )
    .await;
    add_for_ann(&world, json!({"productId": mug, "quantity": 3})).await;
    // The shoe is repriced and then archived; the mug's stock falls to 1.
    let modified = sqs(fixture!("cart-on-catalog-events/product-modified"), |_| {});
    assert_eq!(consume(&world, modified).await, 0);
    let cart = ann_cart(&world).await;
    let shoe = &cart["items"][0];
    assert_eq!(shoe["priceChanged"], json!({"from": 12999, "to": 11999}));
    assert_eq!(shoe["lineTotal"], 2 * 11999);
    assert_eq!(cart["subtotal"], 2 * 11999 + 3 * 800);
    let archived = sqs(fixture!("cart-on-catalog-events/product-modified"), |d| {
        d["aggregateVersion"] = json!(3);
        d["data"]["new"]["version"] = json!(3);
        d["data"]["new"]["status"] = json!("archived");
        d["data"]["changedFields"] = json!(["status"]);
    });
    assert_eq!(consume(&world, archived).await, 0);
    world.stock.set(&unit(&mug, None), 1);
    let cart = ann_cart(&world).await;
    assert_eq!(cart["items"][0]["available"], false);
    assert_eq!(cart["items"][0]["unavailableReason"], "not_active");
    assert_eq!(cart["items"][1]["unavailableReason"], "insufficient_stock");
    assert_eq!(cart["items"][1]["availableQuantity"], 1);
    assert_eq!(
        cart["items"].as_array().unwrap().len(),
        2,
        "nothing disappears"
    );
    assert_eq!(
        (
            cart["subtotal"].clone(),
            cart["total"].clone(),
            cart["itemCount"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    // Lowering the mug's line to what is there makes it buyable again.
    let (status, body) = call!(
        world,
        cart::items::patch_cart_item,
        request(fixture!("patch-cart-item/ok"), |e| {
            e["pathParameters"]["itemId"] = json!(mug);
            e["body"] = json!(json!({"quantity": 1}).to_string());
        })
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subtotal"], 800);
}

#[tokio::test]
async fn lines_are_patched_and_deleted_only_if_there() {
    let world = world();
    shoe_known(&world, 5).await;
    let patch = |quantity: i64| {
        request(fixture!("patch-cart-item/ok"), move |e| {
            e["body"] = json!(json!({"quantity": quantity}).to_string());
        })
    };
    let (status, _) = call!(world, cart::items::patch_cart_item, patch(3));
    assert_eq!(status, 404, "no line yet");
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 1}),
    )
    .await;
    let (status, body) = call!(world, cart::items::patch_cart_item, patch(3));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["quantity"], 3);
    let (status, _) = call!(world, cart::items::patch_cart_item, patch(6));
    assert_eq!(status, 422, "more than in stock");
    let (status, _) = call!(world, cart::items::patch_cart_item, patch(0));
    assert_eq!(status, 400);
    let (status, _) = call!(
        world,
        cart::items::patch_cart_item,
        request(
            fixture!("patch-cart-item/ok"),
            |e| e["pathParameters"]["itemId"] = json!("nope")
        )
    );
    assert_eq!(status, 400, "a malformed item id");
    let (status, body) = call!(
        world,
        cart::items::delete_cart_item,
        request(fixture!("delete-cart-item/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]));
    let (status, _) = call!(
        world,
        cart::items::delete_cart_item,
        request(fixture!("delete-cart-item/ok"), |_| {})
    );
    assert_eq!(status, 404);
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-44", "quantity": 1}),
    )
    .await;
    let (status, _) = call!(
        world,
        cart::carts::delete_cart,
        request(fixture!("delete-cart/ok"), |_| {})
    );
    assert_eq!(status, 204);
    assert_eq!(ann_cart(&world).await["items"], json!([]));
}

#[tokio::test]
async fn guest_carts_open_only_with_their_token() {
    let world = world();
    shoe_known(&world, 5).await;
    let (status, created) = call!(
        world,
        cart::carts::create_guest_cart,
        request(fixture!("create-guest-cart/ok"), |_| {})
    );
    assert_eq!(status, 201, "{created}");
    let id: CartId = created["cartId"].as_str().unwrap().parse().unwrap();
    let token = created["cartToken"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "32 random bytes");
    let stored = world
        .carts
        .cart(&CartOwner::Guest(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.token_hash.as_deref(),
        Some(hash_token(&token).as_str())
    );
    assert!(
        !format!("{stored:?}").contains(&token),
        "only the hash is stored"
    );

    let open = |token: Option<&str>| {
        let token = token.map(str::to_owned);
        request(fixture!("get-guest-cart/ok"), move |e| {
            e["pathParameters"]["cartId"] = json!(id.to_string());
            match token {
                Some(t) => e["headers"]["x-cart-token"] = json!(t),
                None => {
                    e["headers"].as_object_mut().unwrap().remove("x-cart-token");
                }
            }
        })
    };
    let (status, body) = call!(world, cart::carts::get_guest_cart, open(Some(&token)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["cartId"], id.to_string());
    for wrong in [None, Some("wrong"), Some("")] {
        let (status, _) = call!(world, cart::carts::get_guest_cart, open(wrong));
        assert_eq!(status, 404, "{wrong:?}");
    }
    let (status, _) = call!(
        world,
        cart::carts::get_guest_cart,
        request(fixture!("get-guest-cart/ok"), |_| {})
    );
    assert_eq!(status, 404, "a cart that does not exist looks the same");

    // The fixture guest cart: items under its path, with its token.
    guest_cart_exists(&world).await;
    let (status, body) = call!(
        world,
        cart::items::create_guest_cart_item,
        request(fixture!("create-guest-cart-item/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["quantity"], 2);
    let (status, _) = call!(
        world,
        cart::items::create_guest_cart_item,
        request(
            fixture!("create-guest-cart-item/ok"),
            |e| e["headers"]["x-cart-token"] = json!("guess")
        )
    );
    assert_eq!(status, 404);
    let (status, body) = call!(
        world,
        cart::items::patch_guest_cart_item,
        request(fixture!("patch-guest-cart-item/ok"), |_| {})
    );
    assert_eq!(
        (status, body["items"][0]["quantity"].clone()),
        (200, json!(3))
    );
    let (status, body) = call!(
        world,
        cart::items::delete_guest_cart_item,
        request(fixture!("delete-guest-cart-item/ok"), |_| {})
    );
    assert_eq!((status, body["items"].clone()), (200, json!([])));

    // Seven days after its last change a guest cart is gone, whatever TTL has done.
    world.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let (status, _) = call!(
        world,
        cart::carts::get_guest_cart,
        request(fixture!("get-guest-cart/ok"), |_| {})
    );
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_user_cart_expires_after_30_days_without_a_change() {
    let world = world();
    shoe_known(&world, 5).await;
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 1}),
    )
    .await;
    world.clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert_eq!(ann_cart(&world).await["items"].as_array().unwrap().len(), 1);
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-44", "quantity": 1}),
    )
    .await;
    world.clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert_eq!(
        ann_cart(&world).await["items"].as_array().unwrap().len(),
        2,
        "the change renewed it"
    );
    world.clock.advance(Duration::from_secs(2 * 24 * 3600));
    assert_eq!(ann_cart(&world).await["items"], json!([]));
    // The next add starts afresh.
    let (status, body) = add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_merge_adds_quantities_capped_and_happens_once() {
    let world = world();
    shoe_known(&world, 4).await;
    let mug = plain_product(&world, 800, "EUR", "active").await;
    guest_cart_exists(&world).await;
    // The guest has 3 of TRS-42 and 2 mugs; Ann has 2 of TRS-42.
    let guest_add = |body: Value| request(fixture!("create-guest-cart-item/ok"), with_body(body));
    call!(
        world,
        cart::items::create_guest_cart_item,
        guest_add(json!({"productId": SHOE, "sku": "TRS-42", "quantity": 3}))
    );
    call!(
        world,
        cart::items::create_guest_cart_item,
        guest_add(json!({"productId": mug, "quantity": 2}))
    );
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 2}),
    )
    .await;

    let merge = || request(fixture!("merge-cart/ok"), |_| {});
    let (status, body) = call!(world, cart::carts::merge_cart, merge());
    assert_eq!(status, 200, "{body}");
    let quantities: Vec<(Value, Value)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["itemId"].clone(), l["quantity"].clone()))
        .collect();
    assert_eq!(
        quantities,
        [
            (json!(format!("{SHOE}~TRS-42")), json!(4)),
            (json!(mug), json!(2))
        ],
        "2 + 3 capped at the 4 available"
    );
    assert_eq!(
        world
            .carts
            .cart(&CartOwner::Guest(GUEST.parse().unwrap()))
            .await
            .unwrap(),
        None,
        "the guest cart is gone"
    );
    // Again: the same cart, nothing added.
    let (status, again) = call!(world, cart::carts::merge_cart, merge());
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["items"], body["items"]);
    // Another user, or a wrong token, finds nothing.
    let (status, _) = call!(
        world,
        cart::carts::merge_cart,
        request(fixture!("merge-cart/ok"), |e| {
            e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] =
                json!(UserId::new().to_string());
        })
    );
    assert_eq!(status, 404);
    let (status, _) = call!(
        world,
        cart::carts::merge_cart,
        request(
            fixture!("merge-cart/ok"),
            with_body(json!({"cartId": GUEST, "cartToken": "guess"}))
        )
    );
    assert_eq!(status, 404);
    let (status, _) = call!(
        world,
        cart::carts::merge_cart,
        request(
            fixture!("merge-cart/ok"),
            with_body(json!({"cartId": GUEST}))
        )
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_merge_into_a_user_without_a_cart_moves_the_guest_cart() {
    let world = world();
    shoe_known(&world, 10).await;
    guest_cart_exists(&world).await;
    call!(
        world,
        cart::items::create_guest_cart_item,
        request(fixture!("create-guest-cart-item/ok"), |_| {})
    );
    let (status, body) = call!(
        world,
        cart::carts::merge_cart,
        request(fixture!("merge-cart/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["quantity"], 2);
    assert_eq!(ann_cart(&world).await["items"], body["items"]);
}

#[tokio::test]
async fn the_discount_code_is_checked_stored_and_removed() {
    let world = world();
    shoe_known(&world, 10).await;
    world.discounts.code("WELCOME10", 10);
    let put = |code: &str| {
        request(
            fixture!("replace-cart-discount/ok"),
            with_body(json!({"code": code})),
        )
    };
    let (status, body) = call!(
        world,
        cart::discount::replace_cart_discount,
        put("WELCOME10")
    );
    assert_eq!(status, 422, "an empty cart: {body}");
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 2}),
    )
    .await;
    let (status, body) = call!(world, cart::discount::replace_cart_discount, put("NOPE"));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "Unprocessable");
    assert_eq!(
        body["details"][0],
        json!({"field": "code", "message": "unknown_code"})
    );
    let (status, _) = call!(world, cart::discount::replace_cart_discount, put("  "));
    assert_eq!(status, 400);
    let (status, body) = call!(
        world,
        cart::discount::replace_cart_discount,
        request(fixture!("replace-cart-discount/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["discountCode"], "WELCOME10");
    assert_eq!(body["discount"]["amount"], 2 * 12999 / 10);
    assert_eq!(body["total"], 2 * 12999 - 2 * 12999 / 10);
    let asked = world.discounts.queries().pop().unwrap();
    assert_eq!(asked.user_id, Some(ANN.parse().unwrap()));
    assert_eq!(asked.items[0].unit_price, 12999);
    // Stored: every GET applies it.
    assert_eq!(ann_cart(&world).await["discount"]["code"], "WELCOME10");
    // An automatic campaign appears without a code; removing the code leaves it.
    world.discounts.automatic(Some(5));
    let (status, body) = call!(
        world,
        cart::discount::delete_cart_discount,
        request(fixture!("delete-cart-discount/ok"), |_| {})
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["discountCode"], Value::Null);
    assert_eq!(body["discount"]["code"], Value::Null);
    assert_eq!(body["discount"]["amount"], 2 * 12999 * 5 / 100);
}

#[tokio::test]
async fn when_inventory_or_discounts_fail_get_still_answers_and_says_so() {
    let world = world();
    shoe_known(&world, 10).await;
    add_for_ann(
        &world,
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 2}),
    )
    .await;
    world.stock.fail(true);
    world.discounts.fail(true);
    let cart = ann_cart(&world).await;
    assert_eq!(cart["items"][0]["available"], true);
    assert_eq!(cart["subtotal"], 2 * 12999);
    let codes: Vec<&str> = cart["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["stock_unavailable", "discounts_unavailable"]);
    // Adding needs the stock check: 503, not a guess.
    let response = cart::items::create_cart_item(
        &world.deps,
        request(fixture!("create-cart-item/ok"), |_| {}),
    )
    .await;
    assert!(response.is_err(), "a 5xx is an Err for Lambda to count");
}

#[tokio::test]
async fn every_fixture_event_of_the_consumer_matches_the_catalog_schema() {
    for fixture in [
        fixture!("cart-on-catalog-events/product-created"),
        fixture!("cart-on-catalog-events/product-modified"),
        fixture!("cart-on-catalog-events/product-deleted"),
    ] {
        sqs(fixture, |_| {});
    }
}

/// Runs an internal function on `payload`: its answer, or the failure's `errorType`.
macro_rules! invoke {
    ($world:expr, $handler:path, $payload:expr $(,)?) => {
        $handler(&$world.deps, LambdaEvent::new($payload, Context::default()))
            .await
            .map_err(|e| lambda_runtime::Diagnostic::from(e).error_type)
    };
}

fn payload(fixture: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut value: Value = serde_json::from_str(fixture).unwrap();
    edit(&mut value);
    value
}

#[tokio::test]
async fn price_cart_prices_the_live_cart_with_sellers_and_asks_no_stock() {
    let world = world();
    shoe_known(&world, 10).await;
    let mug = plain_product(&world, 800, "EUR", "active").await;
    for body in [
        json!({"productId": SHOE, "sku": "TRS-44", "quantity": 2}),
        json!({"productId": mug, "quantity": 1}),
    ] {
        assert_eq!(add_for_ann(&world, body).await.0, 200);
    }
    // The reservation decides on stock: none in inventory, or inventory down, changes nothing.
    world.stock.set(&unit(SHOE, Some("TRS-44")), 0);
    world.stock.fail(true);
    let priced = invoke!(
        world,
        cart::internal::price_cart,
        payload(fixture!("price-cart/ok"), |_| {})
    )
    .unwrap();
    assert_eq!(priced["currency"], "EUR");
    let shoe = &priced["items"][0];
    assert_eq!(
        (
            &shoe["productId"],
            &shoe["sku"],
            &shoe["inventorySku"],
            &shoe["name"]
        ),
        (
            &json!(SHOE),
            &json!("TRS-44"),
            &json!("TRS-44"),
            &json!("Trail Running Shoe (EU 44)")
        )
    );
    assert_eq!(
        (
            &shoe["unitPrice"],
            &shoe["quantity"],
            &shoe["lineTotal"],
            &shoe["sellerId"],
            &shoe["available"]
        ),
        (
            &json!(13499),
            &json!(2),
            &json!(26998),
            &json!("seller-1"),
            &json!(true)
        )
    );
    assert!(shoe.get("unavailableReason").is_none());
    let plain = &priced["items"][1];
    assert_eq!(plain["sku"], Value::Null);
    assert_eq!(
        plain["inventorySku"],
        json!(mug),
        "a product is its own SKU"
    );
    assert_eq!(priced["subtotal"], 26998 + 800);
    assert_eq!(
        (&priced["discount"], &priced["applied"], &priced["code"]),
        (&Value::Null, &json!([]), &Value::Null)
    );

    // The checkout's code replaces the cart's; an invalid one is a verdict, not a failure.
    world.discounts.code("WELCOME10", 10);
    let priced = invoke!(
        world,
        cart::internal::price_cart,
        payload(fixture!("price-cart/with-code"), |_| {})
    )
    .unwrap();
    assert_eq!(priced["discountCode"], "WELCOME10");
    assert_eq!(priced["code"], json!({"valid": true}));
    assert_eq!(priced["discount"]["amount"], (26998 + 800) / 10);
    assert_eq!(priced["applied"][0]["id"], priced["discount"]["id"]);
    let priced = invoke!(
        world,
        cart::internal::price_cart,
        payload(fixture!("price-cart/with-code"), |p| p["discountCode"] =
            json!("NOPE"))
    )
    .unwrap();
    assert_eq!(priced["code"]["valid"], false);
    assert_eq!(priced["discount"], Value::Null);
    assert_eq!(
        ann_cart(&world).await["discountCode"],
        Value::Null,
        "pricing stores nothing"
    );

    // Discounts down: retry, never a total without its discount.
    world.discounts.fail(true);
    assert_eq!(
        invoke!(
            world,
            cart::internal::price_cart,
            payload(fixture!("price-cart/ok"), |_| {})
        )
        .unwrap_err(),
        "Retryable"
    );

    // A product withdrawn since it was added: the line is unavailable, in no total.
    world.discounts.fail(false);
    assert_eq!(
        consume(
            &world,
            sqs(fixture!("cart-on-catalog-events/product-deleted"), |_| {})
        )
        .await,
        0
    );
    let priced = invoke!(
        world,
        cart::internal::price_cart,
        payload(fixture!("price-cart/ok"), |_| {})
    )
    .unwrap();
    assert_eq!(priced["items"][0]["available"], false);
    assert_eq!(priced["items"][0]["unavailableReason"], "product_deleted");
    assert_eq!(priced["subtotal"], 800);

    // Someone without a cart: empty.
    let empty = invoke!(
        world,
        cart::internal::price_cart,
        payload(fixture!("price-cart/with-code"), |p| p["userId"] =
            json!(UserId::new().to_string()))
    )
    .unwrap();
    assert_eq!(
        (
            &empty["items"],
            &empty["currency"],
            &empty["subtotal"],
            &empty["code"]
        ),
        (&json!([]), &Value::Null, &json!(0), &Value::Null)
    );
}

#[tokio::test]
async fn clear_cart_removes_the_orders_lines_and_code_once() {
    let world = world();
    shoe_known(&world, 10).await;
    let mug = plain_product(&world, 800, "EUR", "active").await;
    for body in [
        json!({"productId": SHOE, "sku": "TRS-44", "quantity": 2}),
        json!({"productId": SHOE, "sku": "TRS-42", "quantity": 1}),
        json!({"productId": mug, "quantity": 3}),
    ] {
        assert_eq!(add_for_ann(&world, body).await.0, 200);
    }
    let ann = CartOwner::User(ANN.parse().unwrap());
    world
        .carts
        .set_discount_code(&ann, Some("WELCOME10"), world.clock.now())
        .await
        .unwrap()
        .unwrap();
    let order = payload(fixture!("clear-cart/ok"), |p| {
        p["items"] = json!([
            {"productId": SHOE, "sku": "TRS-44"},
            {"productId": mug, "sku": null},
        ]);
    });
    let cleared = invoke!(world, cart::internal::clear_cart, order.clone()).unwrap();
    assert_eq!(cleared, json!({"removed": 2}));
    let cart = ann_cart(&world).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart["items"][0]["sku"], "TRS-42");
    assert_eq!(cart["discountCode"], Value::Null);

    // The step retried after the customer added the mug again: nothing more goes.
    assert_eq!(
        add_for_ann(&world, json!({"productId": mug, "quantity": 1}))
            .await
            .0,
        200
    );
    let again = invoke!(world, cart::internal::clear_cart, order).unwrap();
    assert_eq!(again, json!({"removed": 2}), "the same answer");
    assert_eq!(ann_cart(&world).await["items"].as_array().unwrap().len(), 2);

    let nobody = invoke!(
        world,
        cart::internal::clear_cart,
        payload(fixture!("clear-cart/ok"), |p| p["userId"] =
            json!(UserId::new().to_string()))
    )
    .unwrap();
    assert_eq!(nobody, json!({"removed": 0}));
    assert_eq!(
        invoke!(
            world,
            cart::internal::clear_cart,
            json!({"userId": ANN, "items": []})
        )
        .unwrap_err(),
        "NonRetryable"
    );
}
