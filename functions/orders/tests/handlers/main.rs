//! Handler tests for the orders routes and the saga's steps: the fixture events of
//! `events/<function>/`, the in-memory store, and fakes of the other services' functions
//! (the cart's `price-cart`, the users' `get-address`), of Step Functions and of the ops topic.

mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use orders::domain::{
    AddressBook, AddressLookup, CartPricing, OpsAlerts, OrderStatus, OrderStore, PricedCart, Saga,
    SagaStart, ShippingAddress,
};
use orders::memory::MemoryOrders;
use orders::{Deps, Settings};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_adapters::memory::{FixedClock, MemoryIdempotency};
use shop_domain::{AddressId, DomainError, OrderId};

/// The buyer of the fixtures.
const ANN: &str = "01JBQ00000000000000000AN01";
/// The product of the fixtures.
const MUG: &str = "01JBQ00000000000000000PR01";
/// The order id of the internal functions' fixtures.
const FIXTURE_ORDER: &str = "01JBQ00000000000000000RD01";
/// The saved address of `create-checkout/saved-address`.
const SAVED: &str = "01JBQ00000000000000000AD01";

/// The cart's `price-cart`: answers what the test set.
#[derive(Default)]
struct FakeCart {
    answer: Mutex<Option<Value>>,
    asked: Mutex<Vec<(String, Option<String>)>>,
}

#[async_trait]
impl CartPricing for FakeCart {
    async fn price(&self, user: &str, code: Option<&str>) -> Result<PricedCart, DomainError> {
        self.asked
            .lock()
            .unwrap()
            .push((user.to_owned(), code.map(str::to_owned)));
        let answer = self.answer.lock().unwrap().clone().unwrap_or_else(|| {
            json!({"currency": null, "items": [], "subtotal": 0, "discount": null,
                "applied": [], "discountCode": null, "code": null})
        });
        Ok(serde_json::from_value(answer).expect("a price-cart answer"))
    }
}

/// The users' `get-address`.
#[derive(Default)]
struct FakeAddresses(HashMap<(String, AddressId), ShippingAddress>);

#[async_trait]
impl AddressBook for FakeAddresses {
    async fn address(&self, user: &str, id: AddressId) -> Result<AddressLookup, DomainError> {
        Ok(match self.0.get(&(user.to_owned(), id)) {
            Some(a) => AddressLookup::Found(a.clone()),
            None => AddressLookup::NotFound,
        })
    }
}

/// Step Functions: records each start; can fail.
#[derive(Default)]
struct FakeSaga {
    started: Mutex<Vec<(OrderId, Value)>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl Saga for FakeSaga {
    async fn start(&self, order: OrderId, input: &Value) -> Result<SagaStart, DomainError> {
        if *self.fail.lock().unwrap() {
            return Err(DomainError::Unavailable("states is down".into()));
        }
        let mut started = self.started.lock().unwrap();
        if started.iter().any(|(o, _)| *o == order) {
            return Ok(SagaStart::AlreadyStarted);
        }
        started.push((order, input.clone()));
        Ok(SagaStart::Started)
    }
}

/// The ops topic.
#[derive(Default)]
struct FakeOps(Mutex<Vec<(String, String)>>);

#[async_trait]
impl OpsAlerts for FakeOps {
    async fn alert(&self, subject: &str, message: &str) -> Result<(), DomainError> {
        self.0
            .lock()
            .unwrap()
            .push((subject.to_owned(), message.to_owned()));
        Ok(())
    }
}

struct World {
    deps: Deps,
    store: Arc<MemoryOrders>,
    cart: Arc<FakeCart>,
    saga: Arc<FakeSaga>,
    ops: Arc<FakeOps>,
    clock: Arc<FixedClock>,
}

fn saved_address() -> ShippingAddress {
    ShippingAddress {
        full_name: "Ann Buyer".into(),
        phone: None,
        line1: "2 Saved Road".into(),
        line2: None,
        city: "Galway".into(),
        region: None,
        postal_code: "H91".into(),
        country: "IE".into(),
    }
}

fn world() -> World {
    let store = Arc::new(MemoryOrders::new());
    let cart = Arc::new(FakeCart::default());
    let saga = Arc::new(FakeSaga::default());
    let ops = Arc::new(FakeOps::default());
    let clock = Arc::new(FixedClock::new("2026-12-03T12:00:00.000Z".parse().unwrap()));
    let addresses = FakeAddresses(HashMap::from([(
        (ANN.to_owned(), SAVED.parse().unwrap()),
        saved_address(),
    )]));
    World {
        deps: Deps {
            orders: store.clone(),
            requests: Arc::new(MemoryIdempotency::default()),
            pricing: cart.clone(),
            addresses: Arc::new(addresses),
            saga: saga.clone(),
            ops: ops.clone(),
            clock: clock.clone(),
            settings: Settings::default(),
        },
        store,
        cart,
        saga,
        ops,
        clock,
    }
}

/// A priced line of `price-cart`.
fn line(product: &str, sku: Option<&str>, price: i64, quantity: u32, seller: &str) -> Value {
    json!({"productId": product, "sku": sku, "inventorySku": sku.unwrap_or(product),
        "name": format!("Product {product}"), "unitPrice": price, "quantity": quantity,
        "lineTotal": price * i64::from(quantity), "sellerId": seller, "available": true})
}

/// A `price-cart` answer with `lines` and an optional discount `(id, code, amount)`.
fn priced(lines: Vec<Value>, discount: Option<(&str, &str, i64)>) -> Value {
    let subtotal: i64 = lines.iter().map(|l| l["lineTotal"].as_i64().unwrap()).sum();
    let taken = discount.map(
        |(id, code, amount)| json!({"id": id, "code": code, "name": "Ten off", "amount": amount}),
    );
    json!({"currency": "EUR", "items": lines, "subtotal": subtotal, "discount": taken,
        "applied": taken.iter().collect::<Vec<_>>(), "discountCode": discount.map(|d| d.1),
        "code": discount.map(|_| json!({"valid": true}))})
}

fn mugs(world: &World) {
    *world.cart.answer.lock().unwrap() = Some(priced(
        vec![line(MUG, Some("MUG-RED"), 1500, 2, "seller-1")],
        None,
    ));
}

fn answer(response: Result<Response<Body>, Error>) -> (u16, Value, HashMap<String, String>) {
    let response = response.expect("no 5xx");
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
        headers,
    )
}

/// The fixture with, when given, its body, its `Idempotency-Key` (`None` removes it) and
/// its path's order id replaced.
fn request(
    fixture: &str,
    body: Option<Value>,
    key: Option<Option<&str>>,
    id: Option<&str>,
) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    match key {
        Some(Some(key)) => event["headers"]["idempotency-key"] = json!(key),
        Some(None) => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("idempotency-key");
        }
        None => {}
    }
    if let Some(id) = id {
        event["pathParameters"]["orderId"] = json!(id);
        event["rawPath"] = json!(format!("/api/orders/{id}"));
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// The fixture with another caller (`sub`, scopes) and query.
fn as_caller(
    fixture: &str,
    sub: &str,
    scopes: &[&str],
    query: &[(&str, &str)],
    id: Option<&str>,
) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(sub);
    event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] = json!(scopes.join(" "));
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = json!(scopes);
    let q: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    event["queryStringParameters"] = Value::Object(q);
    event["rawQueryString"] = json!(
        query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    if let Some(id) = id {
        event["pathParameters"]["orderId"] = json!(id);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn checkout(
    world: &World,
    body: Option<Value>,
    key: &str,
) -> (u16, Value, HashMap<String, String>) {
    answer(
        orders::checkout::create_checkout(
            &world.deps,
            request(fixture!("create-checkout/ok"), body, Some(Some(key)), None),
        )
        .await,
    )
}

fn address() -> Value {
    json!({"fullName": "Ann Buyer", "line1": "1 Main Street", "city": "Cork",
        "postalCode": "T12", "country": "ie"})
}

/// Runs a saga step's handler on `payload`; its output or its Lambda diagnostic.
macro_rules! invoke {
    ($world:expr, $handler:path, $payload:expr $(,)?) => {
        $handler(&$world.deps, LambdaEvent::new($payload, Context::default()))
            .await
            .map_err(Diagnostic::from)
    };
}

/// A placed order (checked out with the mugs): its id.
async fn placed(world: &World) -> OrderId {
    mugs(world);
    let (status, body, _) = checkout(world, None, &OrderId::new().to_string()).await;
    assert_eq!(status, 202, "{body}");
    body["orderId"].as_str().unwrap().parse().unwrap()
}

/// A placed order moved on to `PENDING_PAYMENT` (the saga's step after the reservations).
async fn awaiting_payment(world: &World) -> OrderId {
    let id = placed(world).await;
    invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        step(fixture!("mark-order-pending-payment/ok"), id)
    )
    .unwrap();
    id
}

/// A fixture payload with its order id replaced by `id`.
fn step(fixture: &str, id: OrderId) -> Value {
    let mut payload: Value = serde_json::from_str(fixture).unwrap();
    payload["orderId"] = json!(id.to_string());
    payload
}

fn events_match_their_schemas(world: &World) {
    for event in world.store.outbox() {
        shop_schemas::assert_valid(&event.source, &event.detail_type, &event.detail);
    }
}

// ------------------------------------------------------------------ checkout

#[tokio::test]
async fn checkout_places_a_pending_order_and_starts_the_saga_with_everything_it_reads() {
    let world = world();
    *world.cart.answer.lock().unwrap() = Some(priced(
        vec![
            line(MUG, Some("MUG-RED"), 1500, 2, "seller-1"),
            line("01JBQ00000000000000000PR02", None, 1200, 1, "seller-2"),
            line(MUG, Some("MUG-RED"), 1500, 1, "seller-1"),
        ],
        Some(("01JBQ00000000000000000DS01", "WELCOME10", 570)),
    ));
    let (status, body, headers) = checkout(
        &world,
        Some(json!({"shippingAddress": address(), "discountCode": " WELCOME10 "})),
        "k1",
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id: OrderId = body["orderId"].as_str().unwrap().parse().unwrap();
    assert_eq!(body["status"], "PENDING");
    assert!(
        body["orderNumber"]
            .as_str()
            .unwrap()
            .starts_with("ORD-20261203-")
    );
    assert_eq!(headers["location"], format!("/api/orders/{id}"));
    assert_eq!(
        world.cart.asked.lock().unwrap().as_slice(),
        [(ANN.to_owned(), Some("WELCOME10".to_owned()))]
    );

    let order = world.store.get(id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!((order.subtotal, order.discount_amount), (5700, 570));
    assert_eq!(order.shipping_fee, 0, "5130 after the discount ships free");
    assert_eq!(order.total, 5130);
    assert_eq!(order.discount_code.as_deref(), Some("WELCOME10"));
    assert_eq!(order.shipping_address.country, "IE");
    let ids: Vec<&str> = order.items.iter().map(|l| l.line_id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(world.store.lock_of(ANN).await.unwrap().unwrap().0, id);

    let started = world.saga.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    let (name, input) = &started[0];
    assert_eq!(*name, id);
    assert_eq!(
        input,
        &json!({"orderId": id.to_string(), "userId": ANN, "currency": "EUR",
            "items": [{"productId": MUG, "sku": "MUG-RED", "quantity": 3},
                      {"productId": "01JBQ00000000000000000PR02", "sku": "01JBQ00000000000000000PR02", "quantity": 1}],
            "cartItems": [{"productId": MUG, "sku": "MUG-RED"},
                          {"productId": "01JBQ00000000000000000PR02", "sku": null},
                          {"productId": MUG, "sku": "MUG-RED"}],
            "discountIds": ["01JBQ00000000000000000DS01"],
            "total": 5130, "holdSeconds": 1200, "paymentTimeoutSeconds": 900})
    );
}

#[tokio::test]
async fn checkout_charges_the_flat_fee_below_the_threshold_and_checks_the_expected_total() {
    let world = world();
    mugs(&world);
    let (status, body, _) = answer(
        orders::checkout::create_checkout(
            &world.deps,
            request(fixture!("create-checkout/ok"), None, None, None),
        )
        .await,
    );
    assert_eq!(status, 202, "{body}");
    let order = world
        .store
        .get(body["orderId"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((order.shipping_fee, order.total), (499, 3499));
    assert_eq!(
        order.shipping_address.phone.as_deref(),
        Some("+353861234567")
    );
}

#[tokio::test]
async fn a_changed_price_under_expected_total_is_409_and_writes_nothing() {
    let world = world();
    mugs(&world);
    let (status, body, _) = checkout(
        &world,
        Some(json!({"shippingAddress": address(), "expectedTotal": 3000})),
        "k1",
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("the total is now 3499"),
        "{body}"
    );
    assert_eq!(world.store.count(), 0);
    assert!(world.saga.started.lock().unwrap().is_empty());
    assert_eq!(world.store.lock_of(ANN).await.unwrap(), None);
}

#[tokio::test]
async fn checkout_needs_an_idempotency_key_and_answers_a_repeat_the_same() {
    let world = world();
    mugs(&world);
    let (status, body, _) = answer(
        orders::checkout::create_checkout(
            &world.deps,
            request(fixture!("create-checkout/ok"), None, Some(None), None),
        )
        .await,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "Idempotency-Key", "{body}");

    let first = checkout(&world, None, "same").await;
    assert_eq!(first.0, 202);
    let again = checkout(&world, None, "same").await;
    assert_eq!((again.0, &again.1), (202, &first.1));
    assert_eq!(
        again.2.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    let other_body = checkout(&world, Some(json!({"shippingAddress": address()})), "same").await;
    assert_eq!(other_body.0, 422, "{}", other_body.1);
    assert_eq!(world.store.count(), 1);
    assert_eq!(world.saga.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_second_checkout_while_one_is_in_progress_is_409_until_it_ends() {
    let world = world();
    let id = placed(&world).await;
    let (status, body, _) = checkout(&world, None, "another").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(&id.to_string()),
        "{body}"
    );

    invoke!(
        world,
        orders::internal::close_order,
        step(fixture!("close-order/insufficient-stock"), id)
    )
    .unwrap();
    let (status, body, _) = checkout(&world, None, "a fresh key").await;
    assert_eq!(status, 202, "a failed checkout can be tried again: {body}");
}

#[tokio::test]
async fn a_lapsed_checkout_lock_is_taken_over() {
    let world = world();
    placed(&world).await;
    world
        .clock
        .advance(std::time::Duration::from_secs(900 + 900 + 1));
    let (status, body, _) = checkout(&world, None, "later").await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn checkout_refuses_an_empty_cart_an_unavailable_line_and_a_refused_code() {
    let world = world();
    let (status, body, _) = checkout(&world, None, "k1").await;
    assert_eq!(status, 422);
    assert_eq!(
        body["message"], "unprocessable: your cart is empty",
        "{body}"
    );

    let mut gone = line(MUG, Some("MUG-RED"), 1500, 1, "seller-1");
    gone["available"] = json!(false);
    gone["unavailableReason"] = json!("the product is not for sale");
    *world.cart.answer.lock().unwrap() = Some(priced(vec![gone], None));
    let (status, body, _) = checkout(&world, None, "k2").await;
    assert_eq!(status, 422);
    assert!(
        body["message"].as_str().unwrap().contains("MUG-RED"),
        "{body}"
    );

    let mut refused = priced(vec![line(MUG, None, 1500, 1, "seller-1")], None);
    refused["discountCode"] = json!("OLD");
    refused["code"] = json!({"valid": false, "reason": "the discount has expired"});
    *world.cart.answer.lock().unwrap() = Some(refused);
    let (status, body, _) = checkout(&world, None, "k3").await;
    assert_eq!(status, 422);
    assert!(
        body["message"].as_str().unwrap().contains("has expired"),
        "{body}"
    );
    assert_eq!(world.store.count(), 0);
}

#[tokio::test]
async fn checkout_takes_exactly_one_valid_address() {
    let world = world();
    mugs(&world);
    for (i, body) in [
        json!({}),
        json!({"shippingAddress": address(), "shippingAddressId": SAVED}),
        json!({"shippingAddress": {"fullName": "", "line1": "x", "city": "c", "postalCode": "1", "country": "Ireland"}}),
        json!({"shippingAddress": address(), "coupon": "X"}),
        json!({"shippingAddressId": "not-an-id"}),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, answer, _) = checkout(&world, Some(body.clone()), &format!("k{i}")).await;
        assert_eq!(status, 400, "{body} → {answer}");
    }
    let unknown = AddressId::new().to_string();
    let (status, body, _) =
        checkout(&world, Some(json!({"shippingAddressId": unknown})), "u").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(world.store.count(), 0);

    let (status, body, _) = answer(
        orders::checkout::create_checkout(
            &world.deps,
            request(fixture!("create-checkout/saved-address"), None, None, None),
        )
        .await,
    );
    assert_eq!(status, 202, "{body}");
    let order = world
        .store
        .get(body["orderId"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.shipping_address, saved_address());
}

#[tokio::test]
async fn a_saga_that_cannot_start_fails_the_order_releases_the_lock_and_answers_503() {
    let world = world();
    mugs(&world);
    *world.saga.fail.lock().unwrap() = true;
    let (status, body, _) = checkout(&world, None, "k1").await;
    assert_eq!(status, 503, "{body}");
    let (orders, _) = world.store.list_by_user(ANN, 10, None).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert_eq!(orders[0].reason(), Some("checkout could not start"));
    assert_eq!(world.store.lock_of(ANN).await.unwrap(), None);
    assert_eq!(world.store.detail_types(), ["OrderFailed"]);
    events_match_their_schemas(&world);

    *world.saga.fail.lock().unwrap() = false;
    let (status, _, _) = checkout(&world, None, "k1").await;
    assert_eq!(status, 202, "a 503 is not remembered under its key");
}

// ------------------------------------------------------------------ reads

#[tokio::test]
async fn an_order_is_seen_whole_by_its_buyer_and_admins_in_part_by_its_sellers_and_not_by_others() {
    let world = world();
    *world.cart.answer.lock().unwrap() = Some(priced(
        vec![
            line(MUG, Some("MUG-RED"), 1500, 2, "seller-1"),
            line("01JBQ00000000000000000PR02", None, 1200, 1, "seller-2"),
        ],
        None,
    ));
    let (_, body, _) = checkout(&world, Some(json!({"shippingAddress": address()})), "k1").await;
    let id = body["orderId"].as_str().unwrap();
    let get = |sub: &str, scopes: &[&str]| {
        orders::orders::get_order(
            &world.deps,
            as_caller(fixture!("get-order/ok"), sub, scopes, &[], Some(id)),
        )
    };
    let (status, mine, _) = answer(get(ANN, &["shop/user"]).await);
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert_eq!(mine["status"], "PENDING");
    assert_eq!(mine["paymentStatus"], Value::Null);
    assert_eq!(mine["payment"], Value::Null);
    assert_eq!(mine["total"], 3000 + 1200 + 499);
    assert_eq!(
        mine["history"],
        json!([{"status": "PENDING", "at": "2026-12-03T12:00:00.000Z"}])
    );
    assert_eq!(mine["items"][1]["sku"], Value::Null);

    let (_, all, _) = answer(get("admin-1", &["shop/user", "shop/seller", "shop/admin"]).await);
    assert_eq!(all, mine);
    let (status, theirs, _) = answer(get("seller-2", &["shop/user", "shop/seller"]).await);
    assert_eq!(status, 200);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["items"][0]["sellerId"], "seller-2");
    assert_eq!(theirs["subtotal"], 4200, "the totals as stored");
    for (sub, scopes) in [
        ("stranger", &["shop/user"][..]),
        ("seller-3", &["shop/user", "shop/seller"][..]),
        ("seller-2", &["shop/user"][..]),
    ] {
        assert_eq!(answer(get(sub, scopes).await).0, 404, "{sub}");
    }
    let (status, _, _) = answer(
        orders::orders::get_order(
            &world.deps,
            as_caller(
                fixture!("get-order/ok"),
                ANN,
                &["shop/user"],
                &[],
                Some(&OrderId::new().to_string()),
            ),
        )
        .await,
    );
    assert_eq!(status, 404);
    let (status, _, _) = answer(
        orders::orders::get_order(
            &world.deps,
            as_caller(
                fixture!("get-order/ok"),
                ANN,
                &["shop/user"],
                &[],
                Some("nope"),
            ),
        )
        .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn lists_are_newest_first_paged_and_filtered() {
    let world = world();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = placed(&world).await;
        invoke!(
            world,
            orders::internal::close_order,
            step(fixture!("close-order/insufficient-stock"), id)
        )
        .unwrap();
        world.clock.advance(std::time::Duration::from_secs(1 + i));
        ids.push(id.to_string());
    }
    ids.sort();
    ids.reverse();

    let (status, page, _) = answer(
        orders::orders::list_orders(
            &world.deps,
            request(fixture!("list-orders/ok"), None, None, None),
        )
        .await,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["pageSize"], 2);
    let first: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(first, ids[..2]);
    let token = page["nextToken"].as_str().unwrap();
    let (_, rest, _) = answer(
        orders::orders::list_orders(
            &world.deps,
            as_caller(
                fixture!("list-orders/ok"),
                ANN,
                &["shop/user"],
                &[("pageSize", "2"), ("nextToken", token)],
                None,
            ),
        )
        .await,
    );
    assert_eq!(rest["items"][0]["orderId"], ids[2].as_str());
    assert_eq!(rest["nextToken"], Value::Null);
    let (status, _, _) = answer(
        orders::orders::list_orders(
            &world.deps,
            as_caller(
                fixture!("list-orders/ok"),
                ANN,
                &["shop/user"],
                &[("nextToken", "garbage")],
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 400);
    let (_, theirs, _) = answer(
        orders::orders::list_orders(
            &world.deps,
            as_caller(
                fixture!("list-orders/ok"),
                "someone-else",
                &["shop/user"],
                &[],
                None,
            ),
        )
        .await,
    );
    assert_eq!(theirs["items"], json!([]));

    let (status, sold, _) = answer(
        orders::orders::list_seller_orders(
            &world.deps,
            request(fixture!("list-seller-orders/ok"), None, None, None),
        )
        .await,
    );
    assert_eq!(status, 200, "{sold}");
    assert_eq!(sold["items"].as_array().unwrap().len(), 2);
    let (status, _, _) = answer(
        orders::orders::list_seller_orders(
            &world.deps,
            as_caller(
                fixture!("list-seller-orders/ok"),
                ANN,
                &["shop/user"],
                &[],
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 403);

    let admin = |query: &[(&str, &str)]| {
        orders::orders::list_admin_orders(
            &world.deps,
            as_caller(
                fixture!("list-admin-orders/ok"),
                "admin-1",
                &["shop/user", "shop/admin"],
                query,
                None,
            ),
        )
    };
    let (status, confirmed, _) = answer(
        orders::orders::list_admin_orders(
            &world.deps,
            request(fixture!("list-admin-orders/ok"), None, None, None),
        )
        .await,
    );
    assert_eq!(status, 200);
    assert_eq!(confirmed["items"], json!([]));
    let (_, failed, _) = answer(admin(&[("status", "FAILED")]).await);
    assert_eq!(failed["items"].as_array().unwrap().len(), 3);
    let (_, everything, _) = answer(admin(&[]).await);
    assert_eq!(everything["items"].as_array().unwrap().len(), 3);
    let (status, bad, _) = answer(admin(&[("status", "LOST"), ("sort", "x")]).await);
    assert_eq!(status, 400);
    let fields: Vec<&str> = bad["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["status", "sort"]);
    let (status, _, _) = answer(
        orders::orders::list_admin_orders(
            &world.deps,
            as_caller(
                fixture!("list-admin-orders/ok"),
                ANN,
                &["shop/user"],
                &[],
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 403);
}

// ------------------------------------------------------------------ the saga's steps

#[tokio::test]
async fn the_happy_path_moves_the_order_to_confirmed_once_and_releases_the_lock() {
    let world = world();
    let id = placed(&world).await;
    let marked = invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        step(fixture!("mark-order-pending-payment/ok"), id)
    )
    .unwrap();
    assert_eq!(marked["status"], "PENDING_PAYMENT");
    assert_eq!(marked["paymentStatus"], "PENDING");
    let again = invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        step(fixture!("mark-order-pending-payment/ok"), id)
    )
    .unwrap();
    assert_eq!(again, marked, "a repeat is a success");
    let order = world.store.get(id).await.unwrap().unwrap();
    assert!(
        order
            .payment
            .as_ref()
            .unwrap()
            .payment_url
            .contains("/mock-gateway/payments/")
    );
    assert_eq!(order.history.len(), 2);

    let confirmed = invoke!(
        world,
        orders::internal::confirm_order,
        step(fixture!("confirm-order/ok"), id)
    )
    .unwrap();
    assert_eq!(confirmed["status"], "CONFIRMED");
    assert_eq!(confirmed["paymentStatus"], "SUCCEEDED");
    let again = invoke!(
        world,
        orders::internal::confirm_order,
        step(fixture!("confirm-order/ok"), id)
    )
    .unwrap();
    assert_eq!(again, confirmed);
    assert_eq!(world.store.detail_types(), ["OrderConfirmed"]);
    assert_eq!(world.store.lock_of(ANN).await.unwrap(), None);
    let order = world.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        order.payment.unwrap().status,
        orders::domain::PaymentStatus::Succeeded
    );
    let statuses: Vec<OrderStatus> = order.history.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Pending,
            OrderStatus::PendingPayment,
            OrderStatus::Confirmed
        ]
    );
    events_match_their_schemas(&world);

    let late = invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        step(fixture!("mark-order-pending-payment/ok"), id)
    )
    .unwrap_err();
    assert_eq!(late.error_type, "IllegalTransition", "{late:?}");
}

#[tokio::test]
async fn a_decline_cancels_the_order_with_its_reason_and_payment_status() {
    let world = world();
    let id = awaiting_payment(&world).await;
    let closed = invoke!(
        world,
        orders::internal::close_order,
        step(fixture!("close-order/declined"), id)
    )
    .unwrap();
    assert_eq!(closed["status"], "CANCELLED");
    assert_eq!(closed["paymentStatus"], "FAILED");
    let again = invoke!(
        world,
        orders::internal::close_order,
        step(fixture!("close-order/declined"), id)
    )
    .unwrap();
    assert_eq!(again, closed);
    let order = world.store.get(id).await.unwrap().unwrap();
    assert_eq!(order.reason(), Some("payment declined"));
    assert_eq!(
        order.payment.unwrap().status,
        orders::domain::PaymentStatus::Failed
    );
    assert_eq!(world.store.detail_types(), ["OrderCancelled"]);
    assert_eq!(world.store.lock_of(ANN).await.unwrap(), None);
    events_match_their_schemas(&world);
    let confirm = invoke!(
        world,
        orders::internal::confirm_order,
        step(fixture!("confirm-order/ok"), id)
    )
    .unwrap_err();
    assert_eq!(confirm.error_type, "IllegalTransition");
}

#[tokio::test]
async fn insufficient_stock_fails_the_order_before_any_payment() {
    let world = world();
    let id = placed(&world).await;
    let closed = invoke!(
        world,
        orders::internal::close_order,
        step(fixture!("close-order/insufficient-stock"), id)
    )
    .unwrap();
    assert_eq!(closed["status"], "FAILED");
    assert_eq!(closed["paymentStatus"], Value::Null);
    let order = world.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        order.reason(),
        Some("insufficient stock: 01JBQ00000000000000000PR01/MUG-RED: 2 wanted, 0 available")
    );
    assert_eq!(world.store.detail_types(), ["OrderFailed"]);
    events_match_their_schemas(&world);
    let mark = invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        step(fixture!("mark-order-pending-payment/ok"), id)
    )
    .unwrap_err();
    assert_eq!(mark.error_type, "IllegalTransition");
}

#[tokio::test]
async fn a_step_that_failed_for_good_flags_the_order_and_tells_ops_once() {
    let world = world();
    let id = awaiting_payment(&world).await;
    let flagged = invoke!(
        world,
        orders::internal::flag_order,
        step(fixture!("flag-order/ok"), id)
    )
    .unwrap();
    assert_eq!(flagged["status"], "NEEDS_ATTENTION");
    let again = invoke!(
        world,
        orders::internal::flag_order,
        step(fixture!("flag-order/ok"), id)
    )
    .unwrap();
    assert_eq!(again, flagged);
    let messages = world.ops.0.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].0.contains("needs attention"), "{messages:?}");
    assert!(messages[0].1.contains("Lambda.Unknown"), "{messages:?}");
    assert_eq!(world.store.detail_types(), ["OrderNeedsAttention"]);
    assert_eq!(world.store.lock_of(ANN).await.unwrap(), None);
    events_match_their_schemas(&world);
    let close = invoke!(
        world,
        orders::internal::close_order,
        step(fixture!("close-order/declined"), id)
    )
    .unwrap_err();
    assert_eq!(close.error_type, "IllegalTransition");
}

#[tokio::test]
async fn steps_name_an_unknown_order_and_refuse_bad_input() {
    let world = world();
    let unknown: OrderId = FIXTURE_ORDER.parse().unwrap();
    let err = invoke!(
        world,
        orders::internal::confirm_order,
        step(fixture!("confirm-order/ok"), unknown)
    )
    .unwrap_err();
    assert_eq!(err.error_type, "OrderNotFound");
    let err = invoke!(
        world,
        orders::internal::mark_order_pending_payment,
        json!({"orderId": "x"})
    )
    .unwrap_err();
    assert_eq!(err.error_type, "NonRetryable");
}
