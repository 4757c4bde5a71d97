//! The cart end to end: products made and changed through the catalog's API reach the cart's
//! projection through the bus (each test measures how long that takes and prints it), stock
//! is set through inventory's API, discounts through the admin API, and the cart is used
//! through the gateway — the concurrent adds really concurrently (more at once than the local
//! cloud runs instances of a function).
//!
//! Every test makes its own products, users and coupon, so tests running at the same time
//! never share a cart or a unit.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use shop_domain::UserId;
use shop_e2e::accounts::{Shop, login, register_verified};
use shop_e2e::{http, shop};

use crate::client::{Answer, Client, anonymous, as_user, bearer, new_product, suffix};

/// How long a catalog change may take to reach the cart (the bus, a queue, the consumer).
const PROPAGATION: Duration = Duration::from_secs(30);

/// A seller's product (without variants when `skus` is empty) with `stock` of each unit,
/// made through the catalog and stocked through inventory; its id and the seconds it took to
/// reach the cart (polled with a guest add of nothing: 404 until the cart knows it).
pub(crate) async fn product(
    admin: &Client<'_>,
    seller: &Client<'_>,
    price: i64,
    skus: &[&str],
    stock: i64,
) -> (String, f64) {
    let id = new_product(admin, seller, price, skus).await;
    let made = Instant::now();
    let units: Vec<String> = if skus.is_empty() {
        vec![id.clone()]
    } else {
        skus.iter().map(|s| (*s).to_owned()).collect()
    };
    let known = reached_cart(admin, &id, made).await;
    // Inventory learns the product from the same events; stock it once it has.
    for sku in &units {
        let path = format!("/api/inventory/{id}/{sku}");
        let body = json!({"onHand": stock, "lowStockThreshold": 0});
        let deadline = Instant::now() + PROPAGATION;
        loop {
            let answer = seller.put(&path, body.clone()).await;
            if answer.status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "PUT {path}: {} {}",
                answer.status,
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    (id, known)
}

/// Seconds from `since` until the cart's projection knows product `id`.
async fn reached_cart(client: &Client<'_>, id: &str, since: Instant) -> f64 {
    let probe = anonymous(client.cloud)
        .create("/api/guest-carts", json!({}))
        .await;
    let path = format!(
        "/api/guest-carts/{}/items",
        probe["cartId"].as_str().unwrap()
    );
    let token = probe["cartToken"].as_str().unwrap().to_owned();
    loop {
        // Quantity 0 is refused before the product is looked up; 1 with a SKU that no
        // variant-less product has tells "unknown product" (404) from "known" (anything else).
        let answer = anonymous(client.cloud)
            .send(
                Method::POST,
                &path,
                Some(json!({"productId": id, "quantity": 1})),
                &[("x-cart-token", &token)],
            )
            .await;
        let unknown = answer.status == 404
            && answer.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("product");
        if !unknown {
            return since.elapsed().as_secs_f64();
        }
        assert!(
            since.elapsed() < PROPAGATION,
            "product {id} never reached the cart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn guest(cloud: &localcloud::LocalCloud) -> (String, String) {
    let created = anonymous(cloud).create("/api/guest-carts", json!({})).await;
    (
        created["cartId"].as_str().unwrap().to_owned(),
        created["cartToken"].as_str().unwrap().to_owned(),
    )
}

async fn guest_send(
    cloud: &localcloud::LocalCloud,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    anonymous(cloud)
        .send(method, path, body, &[("x-cart-token", token)])
        .await
}

/// Each line's item id and quantity, by item id.
fn quantities(cart: &Value) -> Vec<(String, i64)> {
    let mut lines: Vec<(String, i64)> = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["itemId"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    lines.sort();
    lines
}

/// A signed-in user with a fresh account (registered, verified, logged in).
async fn signed_in(cloud: &localcloud::LocalCloud) -> Client<'_> {
    let shop = Shop {
        api_url: cloud.api_url().to_owned(),
        edge_url: cloud.edge_url().to_owned(),
        http: http(),
    };
    let email = format!("cart-{}@example.com", suffix());
    let password = "cart-test-password-1";
    register_verified(&shop, &email, "Cart Tester", password)
        .await
        .unwrap();
    let pair = login(&shop, &email, password).await.unwrap();
    bearer(cloud, pair["accessToken"].as_str().unwrap())
}

#[test]
fn a_guest_cart_merges_into_the_users_cart_after_login_once() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("cart-seller-{}", suffix())).await;
        let (shoe, seconds) = product(&admin, &seller, 5000, &["M", "L"], 4).await;
        println!("cart: a created product reached the cart in {seconds:.2} s");
        let (mug, _) = product(&admin, &seller, 800, &[], 10).await;

        let (cart_id, token) = guest(cloud).await;
        let items = format!("/api/guest-carts/{cart_id}/items");
        for body in [
            json!({"productId": shoe, "sku": "M", "quantity": 3}),
            json!({"productId": mug, "quantity": 2}),
        ] {
            let added = guest_send(cloud, Method::POST, &items, &token, Some(body)).await;
            assert_eq!(added.status, 200, "{}", added.body);
        }
        let wrong = guest_send(
            cloud,
            Method::GET,
            &format!("/api/guest-carts/{cart_id}"),
            "guess",
            None,
        )
        .await;
        assert_eq!(wrong.status, 404, "a wrong token looks like no cart");

        // Log in; the user already has 2 of the shoe.
        let user = signed_in(cloud).await;
        let mine = user
            .post(
                "/api/cart/items",
                json!({"productId": shoe, "sku": "M", "quantity": 2}),
            )
            .await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        let merge = json!({"cartId": cart_id, "cartToken": token});
        let merged = user.post("/api/cart/merge", merge.clone()).await;
        assert_eq!(merged.status, 200, "{}", merged.body);
        let mut expected = vec![(format!("{shoe}~M"), 4), (mug.clone(), 2)];
        expected.sort();
        assert_eq!(
            quantities(&merged.body),
            expected,
            "2 + 3 of the shoe, capped at the 4 in stock"
        );
        assert_eq!(merged.body["subtotal"], 4 * 5000 + 2 * 800);
        let gone = guest_send(
            cloud,
            Method::GET,
            &format!("/api/guest-carts/{cart_id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(gone.status, 404, "the guest cart is gone");

        // The same merge again changes nothing.
        let again = user.post("/api/cart/merge", merge.clone()).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(quantities(&again.body), quantities(&merged.body));
        let read = user.get("/api/cart").await;
        assert_eq!(quantities(&read.body), quantities(&merged.body));
        // Someone else cannot take it.
        let other = as_user(cloud, "User", &UserId::new().to_string()).await;
        assert_eq!(other.post("/api/cart/merge", merge).await.status, 404);
    });
}

#[test]
fn a_sellers_new_price_marks_the_line_and_archiving_makes_it_unavailable() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("cart-seller-{}", suffix())).await;
        let (mug, _) = product(&admin, &seller, 1000, &[], 10).await;
        let (tea, _) = product(&admin, &seller, 300, &[], 10).await;
        let user = as_user(cloud, "User", &UserId::new().to_string()).await;
        for (id, quantity) in [(&mug, 2), (&tea, 1)] {
            let added = user
                .post(
                    "/api/cart/items",
                    json!({"productId": id, "quantity": quantity}),
                )
                .await;
            assert_eq!(added.status, 200, "{}", added.body);
        }

        let path = format!("/api/products/{mug}");
        let repriced = seller
            .send(
                Method::PATCH,
                &path,
                Some(json!({"price": 1200})),
                &[("if-match", "\"1\"")],
            )
            .await;
        assert_eq!(repriced.status, 200, "{}", repriced.body);
        let since = Instant::now();
        let cart = until(&user, |cart| !cart["items"][0]["priceChanged"].is_null()).await;
        println!(
            "cart: a new price reached the cart in {:.2} s",
            since.elapsed().as_secs_f64()
        );
        let line = &cart["items"][0];
        assert_eq!(line["priceChanged"], json!({"from": 1000, "to": 1200}));
        assert_eq!(
            (line["unitPrice"].clone(), line["lineTotal"].clone()),
            (json!(1200), json!(2400))
        );
        assert_eq!(cart["subtotal"], 2400 + 300);

        let archived = seller
            .send(
                Method::PATCH,
                &path,
                Some(json!({"status": "archived"})),
                &[("if-match", "\"2\"")],
            )
            .await;
        assert_eq!(archived.status, 200, "{}", archived.body);
        let cart = until(&user, |cart| cart["items"][0]["available"] == false).await;
        assert_eq!(cart["items"][0]["unavailableReason"], "not_active");
        assert_eq!(
            cart["items"].as_array().unwrap().len(),
            2,
            "the line stays, marked"
        );
        assert_eq!(
            (cart["subtotal"].clone(), cart["itemCount"].clone()),
            (json!(300), json!(1))
        );
        let refused = user
            .post("/api/cart/items", json!({"productId": mug, "quantity": 1}))
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
    });
}

/// The user's cart once `done` holds for it (polled for up to [`PROPAGATION`]).
async fn until(user: &Client<'_>, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PROPAGATION;
    loop {
        let cart = user.get("/api/cart").await;
        assert_eq!(cart.status, 200, "{}", cart.body);
        if done(&cart.body) {
            return cart.body;
        }
        assert!(Instant::now() < deadline, "never: {}", cart.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn two_adds_of_one_unit_are_checked_against_their_sum() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("cart-seller-{}", suffix())).await;
        let (shoe, _) = product(&admin, &seller, 5000, &["M"], 5).await;
        let user = as_user(cloud, "User", &UserId::new().to_string()).await;
        let empty = user.get("/api/cart").await;
        assert_eq!(
            (empty.status.as_u16(), empty.body["items"].clone()),
            (200, json!([]))
        );
        let add = json!({"productId": shoe, "sku": "M", "quantity": 3});
        assert_eq!(user.post("/api/cart/items", add.clone()).await.status, 200);
        let second = user.post("/api/cart/items", add).await;
        assert_eq!(second.status, 422, "3 + 3 > 5: {}", second.body);
        assert_eq!(
            quantities(&user.get("/api/cart").await.body),
            [(format!("{shoe}~M"), 3)]
        );

        // The rest of the add route's refusals, through the gateway.
        for (body, status) in [
            (json!({"productId": shoe, "sku": "M", "quantity": 0}), 400),
            (json!({"productId": shoe, "sku": "M", "quantity": 100}), 400),
            (json!({"productId": shoe, "sku": "XL", "quantity": 1}), 404),
            (
                json!({"productId": UserId::new().to_string(), "quantity": 1}),
                404,
            ),
        ] {
            let answer = user.post("/api/cart/items", body.clone()).await;
            assert_eq!(answer.status, status, "{body}: {}", answer.body);
        }
        let patched = user
            .patch(&format!("/api/cart/items/{shoe}~M"), json!({"quantity": 5}))
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        let deleted = user.delete(&format!("/api/cart/items/{shoe}~M")).await;
        assert_eq!(
            (deleted.status.as_u16(), deleted.body["items"].clone()),
            (200, json!([]))
        );
        assert_eq!(user.delete("/api/cart").await.status, 204);
    });
}

#[test]
fn concurrent_adds_of_one_unit_never_pass_99() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("cart-seller-{}", suffix())).await;
        let (mug, _) = product(&admin, &seller, 700, &[], 1000).await;
        let user = as_user(cloud, "User", &UserId::new().to_string()).await;
        let add = json!({"productId": mug, "quantity": 3});
        // 50 at once, into a cart that does not exist yet.
        let answers = join_all((0..50).map(|_| user.post("/api/cart/items", add.clone()))).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        let added = statuses.iter().filter(|s| **s == 200).count();
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 422),
            "every add is added or refused: {statuses:?}"
        );
        assert_eq!(added, 33, "99 / 3: {statuses:?}");
        assert_eq!(quantities(&user.get("/api/cart").await.body), [(mug, 99)]);
    });
}

#[test]
fn a_discount_code_is_applied_stored_and_removed() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("cart-seller-{}", suffix())).await;
        let (mug, _) = product(&admin, &seller, 1999, &[], 10).await;
        let code = format!("CART{}", &suffix()[..10]).to_uppercase();
        let coupon = admin
            .post(
                "/api/admin/discounts",
                json!({"code": code, "name": "Cart test 30 %", "type": "percentage", "value": 30,
                    "appliesTo": {"productIds": [mug]}, "automatic": false, "stackable": false,
                    "active": true}),
            )
            .await;
        assert_eq!(coupon.status, 201, "{}", coupon.body);
        let user = as_user(cloud, "User", &UserId::new().to_string()).await;
        let added = user
            .post("/api/cart/items", json!({"productId": mug, "quantity": 3}))
            .await;
        assert_eq!(added.status, 200, "{}", added.body);

        let unknown = user
            .put("/api/cart/discount", json!({"code": "NO-SUCH-CODE"}))
            .await;
        assert_eq!(unknown.status, 422, "{}", unknown.body);
        assert_eq!(unknown.body["details"][0]["message"], "unknown_code");
        let applied = user
            .put("/api/cart/discount", json!({"code": code.to_lowercase()}))
            .await;
        assert_eq!(applied.status, 200, "{}", applied.body);
        let cart = &applied.body;
        let subtotal = 3 * 1999;
        assert_eq!(cart["subtotal"], subtotal);
        assert_eq!(cart["discount"]["amount"], subtotal * 30 / 100, "{cart}");
        assert_eq!(cart["total"], subtotal - subtotal * 30 / 100);
        // Stored: the next read applies it too.
        let read = user.get("/api/cart").await;
        assert_eq!(read.body["discount"], cart["discount"]);
        let removed = user.delete("/api/cart/discount").await;
        assert_eq!(removed.status, 200, "{}", removed.body);
        assert_eq!(removed.body["discountCode"], Value::Null);
        assert!(
            removed.body["discount"].is_null() || removed.body["discount"]["code"].is_null(),
            "only an automatic campaign may remain: {}",
            removed.body
        );
    });
}
