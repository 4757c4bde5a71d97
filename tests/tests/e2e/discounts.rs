//! The discounts end to end: discounts managed through the gateway, products made through the
//! catalog's API reaching the discounts' projection through the bus, and the internal
//! functions invoked through the edge's Invoke API — the reservations really concurrently,
//! more at once than the local cloud runs instances of a function.
//!
//! Every test makes its own discounts (codes with a fresh suffix) and products.

use std::time::Duration;

use discounts::domain::DiscountStore;
use discounts::dynamo::DynamoDiscounts;
use futures::future::join_all;
use localcloud::LocalCloud;
use reqwest::Method;
use serde_json::{Value, json};
use shop_domain::{DiscountId, OrderId};
use shop_e2e::shop;

use crate::client::{BusTap, Client, as_user, invoke, ok, suffix};

fn store(cloud: &LocalCloud) -> DynamoDiscounts {
    let table = &cloud.stack().resources["DiscountsTable"].physical_id;
    DynamoDiscounts::new(aws_sdk_dynamodb::Client::new(&cloud.sdk_config()), table)
}

/// A code unique to this test run: `prefix` and the random tail of a ULID.
fn code(prefix: &str) -> String {
    let s = suffix();
    format!("{prefix}-{}", &s[s.len() - 12..])
}

async fn coupon(admin: &Client<'_>, body: Value) -> Value {
    admin.create("/api/admin/discounts", body).await
}

fn id(value: &Value) -> DiscountId {
    value["id"].as_str().unwrap().parse().unwrap()
}

fn reserve(order: OrderId, user: &str, discount: &Value) -> Value {
    json!({"orderId": order, "userId": user, "discountIds": [discount["id"]]})
}

#[test]
fn thirty_reservations_of_a_coupon_limited_to_five_give_exactly_five() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let five = coupon(
            &admin,
            json!({"code": code("FIVE"), "name": "Five only",
            "type": "percentage", "value": 10, "usageLimit": 5}),
        )
        .await;
        let orders: Vec<OrderId> = (0..30).map(|_| OrderId::new()).collect();
        let answers = join_all(orders.iter().enumerate().map(|(i, order)| {
            invoke(
                cloud,
                "ReserveDiscountFunction",
                reserve(*order, &format!("buyer-{i}"), &five),
            )
        }))
        .await;
        let won = answers.iter().filter(|a| a.error.is_none()).count();
        let refused: Vec<&str> = answers.iter().filter_map(|a| a.error.as_deref()).collect();
        assert_eq!(won, 5, "{refused:?}");
        assert!(
            refused.iter().all(|e| *e == "UsageLimitReached"),
            "{refused:?}"
        );
        let usage = store(cloud).usage(id(&five), None).await.unwrap();
        assert_eq!(usage.total, 5);
        let listed = admin
            .get(&format!(
                "/api/admin/discounts/{}/redemptions?pageSize=100",
                id(&five)
            ))
            .await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 5);
    });
}

#[test]
fn a_per_user_limit_of_one_reserved_at_once_by_one_user_holds_once() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let once = coupon(
            &admin,
            json!({"code": code("ONCE"), "name": "Once each",
            "type": "fixed", "value": 500, "currency": "EUR", "perUserLimit": 1}),
        )
        .await;
        let user = format!("only-{}", suffix());
        let answers = join_all((0..12).map(|_| {
            invoke(
                cloud,
                "ReserveDiscountFunction",
                reserve(OrderId::new(), &user, &once),
            )
        }))
        .await;
        let refused: Vec<&str> = answers.iter().filter_map(|a| a.error.as_deref()).collect();
        assert_eq!(answers.len() - refused.len(), 1, "{refused:?}");
        assert!(
            refused.iter().all(|e| *e == "PerUserLimitReached"),
            "{refused:?}"
        );
        let usage = store(cloud).usage(id(&once), Some(&user)).await.unwrap();
        assert_eq!((usage.total, usage.by_user), (1, 1));
    });
}

#[test]
fn reserve_redeem_and_release_twice_have_one_effect() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let two = coupon(
            &admin,
            json!({"code": code("TWO"), "name": "Two uses",
            "type": "percentage", "value": 20, "usageLimit": 2}),
        )
        .await;
        let store = store(cloud);
        let (kept, given_back) = (OrderId::new(), OrderId::new());
        let first = ok(cloud, "ReserveDiscountFunction", reserve(kept, "ann", &two)).await;
        let again = ok(cloud, "ReserveDiscountFunction", reserve(kept, "ann", &two)).await;
        assert_eq!(
            (first["status"].as_str(), &again),
            (Some("RESERVED"), &first)
        );
        assert_eq!(store.usage(id(&two), None).await.unwrap().total, 1);
        for _ in 0..2 {
            let redeemed = ok(cloud, "RedeemDiscountFunction", json!({"orderId": kept})).await;
            assert_eq!(redeemed["status"], "REDEEMED");
        }
        // A redeemed use stays spent.
        let kept_spent = ok(cloud, "ReleaseDiscountFunction", json!({"orderId": kept})).await;
        assert_eq!(kept_spent["status"], "REDEEMED");

        ok(
            cloud,
            "ReserveDiscountFunction",
            reserve(given_back, "bo", &two),
        )
        .await;
        assert_eq!(store.usage(id(&two), None).await.unwrap().total, 2);
        let full = invoke(
            cloud,
            "ReserveDiscountFunction",
            reserve(OrderId::new(), "cy", &two),
        )
        .await;
        assert_eq!(full.error.as_deref(), Some("UsageLimitReached"));
        let releases = join_all((0..3).map(|_| {
            invoke(
                cloud,
                "ReleaseDiscountFunction",
                json!({"orderId": given_back}),
            )
        }))
        .await;
        for released in releases {
            assert_eq!(released.error, None, "{}", released.payload);
            assert_eq!(released.payload["status"], "RELEASED");
        }
        let usage = store.usage(id(&two), Some("bo")).await.unwrap();
        assert_eq!(
            (usage.total, usage.by_user),
            (1, 0),
            "given back exactly once"
        );
        let redeem_released = invoke(
            cloud,
            "RedeemDiscountFunction",
            json!({"orderId": given_back}),
        )
        .await;
        assert_eq!(redeem_released.error.as_deref(), Some("RedemptionReleased"));
        // The freed use can be taken by someone else.
        ok(
            cloud,
            "ReserveDiscountFunction",
            reserve(OrderId::new(), "cy", &two),
        )
        .await;
        let unknown = ok(
            cloud,
            "ReleaseDiscountFunction",
            json!({"orderId": OrderId::new()}),
        )
        .await;
        assert_eq!(unknown["status"], Value::Null);
        let missing = invoke(
            cloud,
            "RedeemDiscountFunction",
            json!({"orderId": OrderId::new()}),
        )
        .await;
        assert_eq!(missing.error.as_deref(), Some("RedemptionNotFound"));
        let inactive = coupon(
            &admin,
            json!({"code": code("OFF"), "name": "Off",
            "type": "percentage", "value": 20, "active": false}),
        )
        .await;
        let refused = invoke(
            cloud,
            "ReserveDiscountFunction",
            reserve(OrderId::new(), "cy", &inactive),
        )
        .await;
        assert_eq!(refused.error.as_deref(), Some("DiscountNotApplicable"));
    });
}

/// A product made through the catalog (in a child category of its own), once the discounts'
/// projection knows it: polled through `POST /api/discounts/validate`, which answers 422 for
/// a product it has not heard of. The product's id and its categories (root, child).
async fn product(admin: &Client<'_>, user: &Client<'_>, price: i64) -> (String, String, String) {
    let s = suffix();
    let brand = admin
        .create("/api/brands", json!({"name": format!("Deal brand {s}")}))
        .await;
    let root = admin
        .create("/api/categories", json!({"name": format!("Deals {s}")}))
        .await;
    let child = admin
        .create(
            "/api/categories",
            json!({"name": format!("Deals child {s}"), "parentId": root["id"]}),
        )
        .await;
    let created = admin
        .create(
            "/api/products",
            json!({"name": format!("Discounted {s}"), "description": "For the discounts tests.",
                "price": price, "currency": "EUR", "categoryId": child["id"], "brandId": brand["id"],
                "status": "active", "attributes": {}, "variants": [], "images": []}),
        )
        .await;
    let product = created["id"].as_str().unwrap().to_owned();
    for _ in 0..120 {
        let probe = user
            .post(
                "/api/discounts/validate",
                json!({"code": "NO-SUCH-CODE", "items": [{"productId": product, "quantity": 1}]}),
            )
            .await;
        if probe.status == 200 {
            assert_eq!(
                probe.body,
                json!({"valid": false, "reason": "unknown_code"})
            );
            return (
                product,
                root["id"].as_str().unwrap().to_owned(),
                child["id"].as_str().unwrap().to_owned(),
            );
        }
        assert_eq!(probe.status, 422, "{}", probe.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the discounts never heard of product {product}");
}

#[test]
fn admins_manage_discounts_and_shoppers_validate_them_through_the_gateway() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let user = as_user(cloud, "User", &format!("shopper-{}", suffix())).await;
        let welcome = code("Welcome");
        let tap = BusTap::new(cloud, "shop.discounts").await;

        // CRUD, the code unique in any case, versions, roles.
        let created = admin
            .post("/api/admin/discounts", json!({"code": welcome, "name": "Welcome", "type": "percentage",
                "value": 10, "perUserLimit": 1}))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("etag"), "\"1\"");
        let path = created.header("location").to_owned();
        let shouting = admin
            .post("/api/admin/discounts", json!({"code": welcome.to_uppercase(), "name": "Dup",
                "type": "percentage", "value": 5}))
            .await;
        assert_eq!(shouting.status, 409, "{}", shouting.body);
        let invalid = admin
            .post("/api/admin/discounts", json!({"name": "", "type": "fixed", "value": 0}))
            .await;
        assert_eq!(invalid.status, 400);
        let fields: Vec<&str> = invalid.body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        for field in ["code", "name", "value", "currency"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        assert_eq!(user.post("/api/admin/discounts", json!({})).await.status, 403);
        assert_eq!(user.get(&path).await.status, 403);
        let read = admin.get(&path).await;
        assert_eq!((read.status.as_u16(), &read.body), (200, &created.body));
        let mut body = created.body.clone();
        for key in ["id", "version", "createdAt", "updatedAt"] {
            body.as_object_mut().unwrap().remove(key);
        }
        body["name"] = json!("Welcome, friend");
        let renamed = admin.send(Method::PUT, &path, Some(body.clone()), &[("if-match", "\"1\"")]).await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(renamed.body["version"], 2);
        let stale = admin.send(Method::PUT, &path, Some(body), &[("if-match", "\"1\"")]).await;
        assert_eq!(stale.status, 412);
        let page = admin.get("/api/admin/discounts?pageSize=1").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 1);

        // Validation, priced from the catalog.
        let (product, root, _child) = product(&admin, &user, 2_999).await;
        let items = json!([{"productId": product, "quantity": 3}]);
        let valid = user.post("/api/discounts/validate", json!({"code": welcome.to_lowercase(), "items": items})).await;
        assert_eq!(valid.status, 200, "{}", valid.body);
        assert_eq!(valid.body["valid"], true, "{}", valid.body);
        // 10 % of 3 × 29.99 = 8.997 → 8.99.
        assert_eq!(valid.body["discountAmount"], 899);
        assert_eq!(valid.body["currency"], "EUR");
        assert_eq!(valid.body["discount"]["name"], "Welcome, friend");

        let reason = async |extra: Value| {
            let mut body = json!({"code": code("R"), "name": "Reason", "type": "percentage", "value": 10});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let made = coupon(&admin, body.clone()).await;
            let answer = user
                .post("/api/discounts/validate", json!({"code": made["code"], "items": items}))
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            (made, answer.body)
        };
        for (extra, expected) in [
            (json!({"active": false}), "inactive"),
            (json!({"startsAt": "2099-01-01T00:00:00Z"}), "not_started"),
            (json!({"endsAt": "2020-01-01T00:00:00Z"}), "expired"),
            (json!({"minSubtotal": 100_000, "currency": "EUR"}), "minimum_not_met"),
            (json!({"appliesTo": {"brandIds": ["01JBQ00000000000000000BR99"]}}), "not_applicable"),
        ] {
            let (_, verdict) = reason(extra).await;
            assert_eq!(verdict, json!({"valid": false, "reason": expected}));
        }
        let (_, descendant) = reason(json!({"appliesTo": {"categoryIds": [root]}})).await;
        assert_eq!(descendant["discountAmount"], 899, "a category covers its descendants: {descendant}");
        let (limited, _) = reason(json!({"usageLimit": 1})).await;
        ok(cloud, "ReserveDiscountFunction", reserve(OrderId::new(), "someone", &limited)).await;
        let used_up = user.post("/api/discounts/validate", json!({"code": limited["code"], "items": items})).await;
        assert_eq!(used_up.body, json!({"valid": false, "reason": "usage_limit_reached"}));
        let sub = user_sub(&user);
        let welcome_discount: Value = renamed.body.clone();
        ok(cloud, "ReserveDiscountFunction", reserve(OrderId::new(), &sub, &welcome_discount)).await;
        let mine_used = user.post("/api/discounts/validate", json!({"code": welcome, "items": items})).await;
        assert_eq!(mine_used.body, json!({"valid": false, "reason": "per_user_limit_reached"}));
        let unknown = user.post("/api/discounts/validate", json!({"code": code("NOPE"), "items": items})).await;
        assert_eq!(unknown.body, json!({"valid": false, "reason": "unknown_code"}));
        let bad = user.post("/api/discounts/validate", json!({"code": welcome, "items": [{"productId": product, "quantity": 100}]})).await;
        assert_eq!(bad.status, 400);

        // The cart's view: the caller's prices, the code against the automatic campaigns.
        let evaluated = ok(cloud, "EvaluateDiscountsFunction", json!({"userId": null, "code": welcome,
            "currency": "EUR", "items": [{"productId": product, "sku": null, "quantity": 2, "unitPrice": 5000}]}))
        .await;
        assert_eq!(evaluated["code"], json!({"valid": true}));
        assert!(
            evaluated["discount"]["amount"].as_i64().unwrap() >= 1000,
            "at least the code's 10 % of 100.00: {evaluated}"
        );

        // Every write reached the bus through the outbox, as its schema says.
        let id = created.body["id"].clone();
        // Delivery is at least once: the same event (one `detail.id`) may arrive twice.
        let ours = |events: &[Value]| -> Vec<Value> {
            let mut seen = std::collections::BTreeSet::new();
            events
                .iter()
                .filter(|e| {
                    e["detail"]["data"]["discount"]["id"] == id
                        || e["detail"]["data"]["discountId"] == id
                })
                .filter(|e| seen.insert(e["detail"]["id"].to_string()))
                .cloned()
                .collect()
        };

        assert_eq!(admin.send(Method::DELETE, &path, None, &[("if-match", "\"1\"")]).await.status, 412);
        assert_eq!(admin.delete(&path).await.status, 204);
        assert_eq!(admin.get(&path).await.status, 404);
        // Each write committed its event with it (the outbox items, read back from the table),
        // and the relay puts them on the bus.
        let table = &cloud.stack().resources["DiscountsTable"].physical_id;
        let scanned = aws_sdk_dynamodb::Client::new(&cloud.sdk_config())
            .scan()
            .table_name(table)
            .filter_expression("#type = :outbox")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(
                ":outbox",
                aws_sdk_dynamodb::types::AttributeValue::S("outbox".into()),
            )
            .send()
            .await
            .unwrap();
        let mut outbox: Vec<Value> = scanned
            .items()
            .iter()
            .filter_map(|item| match item.get("envelope") {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(text)) => {
                    serde_json::from_str(text).ok()
                }
                _ => None,
            })
            .filter(|detail: &Value| {
                detail["data"]["discount"]["id"] == id || detail["data"]["discountId"] == id
            })
            .collect();
        outbox.sort_by_key(|d| d["aggregateVersion"].as_u64());
        let kinds: Vec<&str> = outbox.iter().map(|d| d["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["DiscountCreated", "DiscountModified", "DiscountDeleted"]);
        for detail in &outbox {
            shop_schemas::assert_valid("shop.discounts", detail["type"].as_str().unwrap(), detail);
        }
        let kinds_of = |events: &[Value]| -> std::collections::BTreeSet<String> {
            ours(events)
                .iter()
                .map(|e| e["detail-type"].as_str().unwrap().to_owned())
                .collect()
        };
        let events = tap.collect(|events| kinds_of(events).len() >= 3).await;
        let delivered = ours(&events);
        assert_eq!(
            kinds_of(&events).into_iter().collect::<Vec<_>>(),
            ["DiscountCreated", "DiscountDeleted", "DiscountModified"],
            "every write's event reaches the bus, and nothing else of this discount"
        );
        for event in &delivered {
            let kind = event["detail-type"].as_str().unwrap();
            shop_schemas::assert_valid("shop.discounts", kind, &event["detail"]);
        }
        coupon(&admin, json!({"code": welcome.to_uppercase(), "name": "Reborn", "type": "percentage", "value": 5})).await;
    });
}

/// The subject of `client`'s token.
fn user_sub(client: &Client<'_>) -> String {
    let token = client.token.as_deref().unwrap();
    let claims = shop_e2e::accounts::claims(token).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}
