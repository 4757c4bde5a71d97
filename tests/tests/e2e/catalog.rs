//! The catalog end to end: HTTP through the local API Gateway (JWT authorizer and all), the
//! real function binaries, DynamoDB in moto, the outbox relay and the bus.
//!
//! Every test makes its own brand and categories (names with a fresh suffix) and filters the
//! public list by them, so tests running at the same time never see each other's products.

use reqwest::Method;
use serde_json::{Value, json};
use shop_e2e::{http, shop};

use crate::client::{BusTap, Client, anonymous, as_user, suffix};

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

/// A brand and a two-level category tree of this test's own.
struct Fixture {
    brand: Value,
    shoes: Value,
    running: Value,
}

async fn fixture(admin: &Client<'_>) -> Fixture {
    let s = suffix();
    let brand = admin
        .create("/api/brands", json!({"name": format!("Brand {s}")}))
        .await;
    let shoes = admin
        .create("/api/categories", json!({"name": format!("Shoes {s}")}))
        .await;
    let running = admin
        .create(
            "/api/categories",
            json!({"name": format!("Running {s}"), "parentId": id(&shoes)}),
        )
        .await;
    Fixture {
        brand,
        shoes,
        running,
    }
}

fn product_body(f: &Fixture, name: &str, price: i64, category: &Value) -> Value {
    let sku = name.replace(' ', "-");
    json!({
        "name": name,
        "description": "Made for the end-to-end tests.",
        "price": price,
        "currency": "EUR",
        "categoryId": id(category),
        "brandId": id(&f.brand),
        "status": "active",
        "attributes": {"material": "mesh"},
        "variants": [
            {"sku": format!("{sku}-S"), "name": "Small", "attributes": {"size": "S"}},
            {"sku": format!("{sku}-L"), "name": "Large", "attributes": {"size": "L"}, "price": price + 500}
        ],
        "images": ["https://img.example.com/1.jpg"]
    })
}

#[test]
fn a_seller_manages_a_product_with_etags_and_ownership() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let seller = as_user(cloud, "Seller", &format!("seller-{}", suffix())).await;
        let rival = as_user(cloud, "Seller", &format!("rival-{}", suffix())).await;
        let user = as_user(cloud, "User", "e2e-user").await;
        let public = anonymous(cloud);
        let f = fixture(&admin).await;

        let created = seller.post("/api/products", product_body(&f, "Trail Runner", 8999, &f.running)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let product_id = id(&created.body).to_owned();
        assert_eq!(created.header("location"), format!("/api/products/{product_id}"));
        assert_eq!(created.header("etag"), "\"1\"");
        assert_eq!(created.body["version"], 1);
        assert_eq!(created.body["price"], 8999);
        assert!(created.body["sellerId"].as_str().unwrap().starts_with("seller-"));
        let path = format!("/api/products/{product_id}");

        let read = public.get(&path).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, created.body);
        let cached = public.send(Method::GET, &path, None, &[("if-none-match", "\"1\"")]).await;
        assert_eq!(cached.status, 304);

        // A merge patch, then a PUT with the version it no longer has.
        let patched = seller
            .send(
                Method::PATCH,
                &path,
                Some(json!({"price": 7999, "attributes": {"material": null, "color": "red"}})),
                &[("if-match", "\"1\"")],
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["version"], 2);
        assert_eq!(patched.body["price"], 7999);
        assert_eq!(patched.body["attributes"], json!({"color": "red"}));
        let stale = seller
            .send(Method::PUT, &path, Some(product_body(&f, "Trail Runner", 1, &f.running)), &[("if-match", "\"1\"")])
            .await;
        assert_eq!(stale.status, 412, "{}", stale.body);
        assert_eq!(stale.body["error"], "PreconditionFailed");

        // Someone else's product, the wrong role, no token.
        let theirs = rival.send(Method::PATCH, &path, Some(json!({"price": 1})), &[]).await;
        assert_eq!(theirs.status, 403, "{}", theirs.body);
        let not_seller = user.post("/api/products", product_body(&f, "X", 100, &f.shoes)).await;
        assert_eq!(not_seller.status, 403);
        assert!(not_seller.header("www-authenticate").contains("insufficient_scope"));
        let nobody = public.post("/api/products", product_body(&f, "X", 100, &f.shoes)).await;
        assert_eq!(nobody.status, 401);
        assert_eq!(nobody.body, json!({"message": "Unauthorized"}));
        let seller_on_brands = seller.post("/api/brands", json!({"name": "Nope"})).await;
        assert_eq!(seller_on_brands.status, 403);

        // Bad input: field details, malformed JSON, unknown references, oversized bodies.
        let invalid = seller
            .post("/api/products", json!({"name": "", "price": -5, "currency": "EURO", "categoryId": id(&f.shoes), "brandId": id(&f.brand)}))
            .await;
        assert_eq!(invalid.status, 400);
        assert_eq!(invalid.body["error"], "ValidationError");
        let fields: Vec<&str> = invalid.body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        for field in ["name", "price", "currency"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        let malformed = http()
            .post(format!("{}/api/products", cloud.api_url()))
            .bearer_auth(seller.token.as_ref().unwrap())
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), 400);
        let body: Value = malformed.json().await.unwrap();
        assert_eq!(body["error"], "MalformedJson", "{body}");
        let mut unknown = product_body(&f, "Ghost", 100, &f.shoes);
        unknown["categoryId"] = json!("01JBQ0000000000000000GH05T");
        let unknown = seller.post("/api/products", unknown).await;
        assert_eq!(unknown.status, 422, "{}", unknown.body);
        let mut huge = product_body(&f, "Huge", 100, &f.shoes);
        huge["description"] = json!("x".repeat(1_100_000));
        let huge = seller.post("/api/products", huge).await;
        assert_eq!(huge.status, 413, "{}", huge.body);
        let missing = public.get("/api/products/01JBQ0000000000000000MSS1N").await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.body["error"], "NotFound");
        let bad_id = public.get("/api/products/not-an-id").await;
        assert_eq!(bad_id.status, 400);

        // The seller sees their own drafts; the public does not.
        let draft = seller
            .create("/api/products", json!({"name": "Secret Draft", "price": 100, "currency": "EUR", "categoryId": id(&f.shoes), "brandId": id(&f.brand)}))
            .await;
        assert_eq!(draft["status"], "draft");
        assert_eq!(public.get(&format!("/api/products/{}", id(&draft))).await.status, 404);
        let own = seller.get(&format!("/api/seller/products/{}", id(&draft))).await;
        assert_eq!(own.status, 200, "{}", own.body);
        assert_eq!(own.body["status"], "draft");
        let not_theirs = rival.get(&format!("/api/seller/products/{}", id(&draft))).await;
        assert_eq!(not_theirs.status, 404);
        let mine = seller.get("/api/seller/products?pageSize=10").await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        let ids: Vec<&str> = mine.body["items"].as_array().unwrap().iter().map(id).collect();
        assert_eq!(ids, [id(&draft), product_id.as_str()], "newest first, drafts included");
        let theirs = rival.get("/api/seller/products").await;
        assert_eq!(theirs.body["items"], json!([]));

        // The brand and categories are in use; the product goes, and then they can.
        let brand_path = format!("/api/brands/{}", id(&f.brand));
        assert_eq!(admin.send(Method::DELETE, &brand_path, None, &[]).await.status, 409);
        let shoes_path = format!("/api/categories/{}", id(&f.shoes));
        assert_eq!(admin.send(Method::DELETE, &shoes_path, None, &[]).await.status, 409);
        let deleted = seller.send(Method::DELETE, &path, None, &[("if-match", "\"2\"")]).await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        assert_eq!(public.get(&path).await.status, 404);
        let draft_path = format!("/api/products/{}", id(&draft));
        assert_eq!(admin.send(Method::DELETE, &draft_path, None, &[]).await.status, 204);
        let running_path = format!("/api/categories/{}", id(&f.running));
        assert_eq!(admin.send(Method::DELETE, &running_path, None, &[]).await.status, 204);
        assert_eq!(admin.send(Method::DELETE, &shoes_path, None, &[]).await.status, 204);
        assert_eq!(admin.send(Method::DELETE, &brand_path, None, &[]).await.status, 204);
    });
}

/// Every page of `/api/products?brand=<brand>&<query>`, checking that only the last is short.
async fn walk(public: &Client<'_>, brand: &str, query: String) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("/api/products?brand={brand}&{query}");
        if let Some(token) = &next {
            url.push_str(&format!("&nextToken={token}"));
        }
        let page = public.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        let items = page.body["items"].as_array().unwrap().clone();
        let size = page.body["pageSize"].as_u64().unwrap() as usize;
        let last = page.body["nextToken"].is_null();
        assert!(
            last || items.len() == size,
            "only the last page may be short"
        );
        seen.extend(items);
        match page.body["nextToken"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => return seen,
        }
    }
}

#[test]
fn the_public_list_filters_sorts_and_pages_without_gaps() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        let public = anonymous(cloud);
        let f = fixture(&admin).await;
        let names = [
            "Alpine Boot",
            "beach sandal",
            "City Runner",
            "Desert Boot",
            "eco runner",
        ];
        let mut created = Vec::new();
        for i in 0..23_i64 {
            let category = if i % 3 == 0 { &f.running } else { &f.shoes };
            let name = format!("{} {i:02}", names[i as usize % names.len()]);
            let price = 1000 + (i % 6) * 500;
            created.push(
                admin
                    .create("/api/products", product_body(&f, &name, price, category))
                    .await,
            );
        }
        let mut draft = product_body(&f, "Hidden Draft", 1500, &f.shoes);
        draft["status"] = json!("draft");
        admin.create("/api/products", draft).await;
        let brand = id(&f.brand).to_owned();

        let ids = |items: &[Value]| items.iter().map(|p| id(p).to_owned()).collect::<Vec<_>>();
        let sorted_by = |key: &dyn Fn(&Value) -> String, desc: bool| {
            let mut all = created.clone();
            all.sort_by_key(|p| (key(p), id(p).to_owned()));
            if desc {
                all.reverse();
            }
            ids(&all)
        };

        // Every sort, both ways, in pages of 4: each product exactly once, in order.
        let price_key = |p: &Value| format!("{:012}", p["price"].as_i64().unwrap());
        let name_key = |p: &Value| p["name"].as_str().unwrap().to_lowercase();
        let created_key = |p: &Value| p["createdAt"].as_str().unwrap().to_owned();
        assert_eq!(
            ids(&walk(&public, &brand, "sortBy=price&pageSize=4".to_string()).await),
            sorted_by(&price_key, false)
        );
        assert_eq!(
            ids(&walk(
                &public,
                &brand,
                "sortBy=price&sortOrder=desc&pageSize=5".to_string()
            )
            .await),
            sorted_by(&price_key, true)
        );
        assert_eq!(
            ids(&walk(&public, &brand, "sortBy=name&pageSize=4".to_string()).await),
            sorted_by(&name_key, false)
        );
        assert_eq!(
            ids(&walk(&public, &brand, "pageSize=6".to_string()).await),
            sorted_by(&created_key, true),
            "newest first by default"
        );

        // Filters: category with its descendants, price range, name substring.
        let in_shoes = walk(
            &public,
            &brand,
            format!("category={}&pageSize=100", id(&f.shoes)),
        )
        .await;
        assert_eq!(
            in_shoes.len(),
            23,
            "the parent category includes its child's products"
        );
        let in_running = walk(&public, &brand, format!("category={}", id(&f.running))).await;
        assert_eq!(in_running.len(), 8);
        assert!(
            in_running
                .iter()
                .all(|p| p["categoryId"] == f.running["id"])
        );
        let ranged = walk(
            &public,
            &brand,
            "minPrice=1500&maxPrice=2500&sortBy=price".to_string(),
        )
        .await;
        assert!(!ranged.is_empty());
        assert!(
            ranged
                .iter()
                .all(|p| (1500..=2500).contains(&p["price"].as_i64().unwrap()))
        );
        let expected = created
            .iter()
            .filter(|p| (1500..=2500).contains(&p["price"].as_i64().unwrap()))
            .count();
        assert_eq!(ranged.len(), expected);
        let runners = walk(&public, &brand, "search=RUNNER".to_string()).await;
        let expected = created
            .iter()
            .filter(|p| {
                p["name"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("runner")
            })
            .count();
        assert_eq!(runners.len(), expected);
        assert!(runners.iter().all(|p| {
            p["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("runner")
        }));

        // Bad parameters and forged cursors are 400s naming the parameter.
        let bad = public
            .get(&format!(
                "/api/products?brand={brand}&sortBy=popularity&pageSize=500"
            ))
            .await;
        assert_eq!(bad.status, 400);
        let fields: Vec<&str> = bad.body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        let mut fields = fields;
        fields.sort();
        assert_eq!(fields, ["pageSize", "sortBy"]);
        let first = public
            .get(&format!("/api/products?brand={brand}&pageSize=2"))
            .await;
        let token = first.body["nextToken"].as_str().unwrap().to_owned();
        let mut forged = token.into_bytes();
        forged[1] = if forged[1] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let refused = public
            .get(&format!(
                "/api/products?brand={brand}&pageSize=2&nextToken={forged}"
            ))
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.body["details"][0]["field"], "nextToken");

        // The category endpoints see the tree.
        let tree = public.get("/api/categories/tree").await;
        assert_eq!(tree.status, 200);
        let node = tree.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == f.shoes["id"])
            .expect("our root");
        assert_eq!(node["children"][0]["id"], f.running["id"]);
        let listed = public.get("/api/categories").await;
        assert!(
            listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == f.running["id"])
        );
        let brands = public.get("/api/brands?pageSize=100").await;
        assert_eq!(brands.status, 200);
        let one = public.get(&format!("/api/brands/{brand}")).await;
        assert_eq!(one.body["name"], f.brand["name"]);
    });
}

#[test]
fn catalog_events_reach_the_bus_in_order_and_match_their_schemas() {
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "e2e-admin").await;
        // A rule of this test's own on the shop's bus → a queue of its own.
        let tap = BusTap::new(cloud, "shop.catalog").await;

        let f = fixture(&admin).await;
        let product = admin
            .create("/api/products", product_body(&f, "Evented", 1234, &f.shoes))
            .await;
        let path = format!("/api/products/{}", id(&product));
        let patched = admin
            .send(Method::PATCH, &path, Some(json!({"price": 999})), &[])
            .await;
        assert_eq!(patched.status, 200);
        assert_eq!(
            admin.send(Method::DELETE, &path, None, &[]).await.status,
            204
        );

        // Collect until the product's three events and the fixture's three have arrived.
        let mine = |e: &Value| {
            let data = &e["detail"]["data"];
            [
                &data["product"]["id"],
                &data["new"]["id"],
                &data["productId"],
                &data["brand"]["id"],
                &data["category"]["id"],
            ]
            .iter()
            .any(|v| {
                *v == &product["id"]
                    || *v == &f.brand["id"]
                    || *v == &f.shoes["id"]
                    || *v == &f.running["id"]
            })
        };
        let received = tap
            .collect(|events| events.iter().filter(|e| mine(e)).count() >= 6)
            .await;
        let mut ours: Vec<&Value> = received.iter().filter(|e| mine(e)).collect();
        let types = |events: &[&Value]| {
            let mut t: Vec<String> = events
                .iter()
                .map(|e| e["detail-type"].as_str().unwrap().to_owned())
                .collect();
            t.sort();
            t
        };
        assert_eq!(
            types(&ours),
            [
                "BrandCreated",
                "CategoryCreated",
                "CategoryCreated",
                "ProductCreated",
                "ProductDeleted",
                "ProductModified"
            ],
            "{received:#?}"
        );
        for event in &ours {
            assert_eq!(event["source"], "shop.catalog");
            let detail_type = event["detail-type"].as_str().unwrap();
            shop_schemas::assert_valid("shop.catalog", detail_type, &event["detail"]);
        }
        // Consumers order one aggregate's events by aggregateVersion.
        ours.retain(|e| e["detail-type"].as_str().unwrap().starts_with("Product"));
        ours.sort_by_key(|e| e["detail"]["aggregateVersion"].as_u64().unwrap());
        assert_eq!(
            types(&ours),
            ["ProductCreated", "ProductDeleted", "ProductModified"]
        );
        let order: Vec<&str> = ours
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap())
            .collect();
        assert_eq!(
            order,
            ["ProductCreated", "ProductModified", "ProductDeleted"]
        );
        assert_eq!(ours[1]["detail"]["data"]["changedFields"], json!(["price"]));
    });
}

#[test]
fn retries_with_an_idempotency_key_create_once() {
    // More requests with one key in flight than the local cloud's instances: one claims the
    // key (a conditional put), the others are told it is in progress or get its response.
    shop().run(|cloud| async move {
        let admin = as_user(cloud, "Admin", "local-admin").await;
        let seller = as_user(cloud, "Seller", &format!("seller-{}", suffix())).await;
        let public = anonymous(cloud);
        let f = fixture(&admin).await;
        let key = format!("key-{}", suffix());
        let body = product_body(&f, "Retried Runner", 4999, &f.shoes);
        let tries = (0..8).map(|_| {
            let (seller, body, key) = (&seller, body.clone(), key.clone());
            async move {
                let headers = [("idempotency-key", key.as_str())];
                seller
                    .send(Method::POST, "/api/products", Some(body), &headers)
                    .await
            }
        });
        let answers = futures::future::join_all(tries).await;
        let created: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
        assert!(
            answers.iter().all(|a| a.status == 201 || a.status == 409),
            "{:?}",
            answers.iter().map(|a| a.status).collect::<Vec<_>>()
        );
        assert!(!created.is_empty());
        for answer in answers.iter().filter(|a| a.status == 409) {
            assert_eq!(answer.header("retry-after"), "1");
        }
        // Once done, every retry is the first response again, marked as a replay.
        let headers = [("idempotency-key", key.as_str())];
        let again = seller
            .send(Method::POST, "/api/products", Some(body.clone()), &headers)
            .await;
        assert_eq!(again.status, 201);
        assert_eq!(again.header("idempotent-replayed"), "true");
        assert_eq!(again.body, created[0].body);
        let listed = walk(&public, id(&f.brand), "pageSize=50".to_owned()).await;
        assert_eq!(
            listed.len(),
            1,
            "one product however many retries: {listed:?}"
        );

        let changed = json!({"name": "Another Runner"});
        let other = seller
            .send(Method::POST, "/api/products", Some(changed), &headers)
            .await;
        assert_eq!(other.status, 422, "{}", other.body);
        // Keys are per caller: the admin's same key is a new request.
        let brand = json!({"name": format!("Brand {}", suffix())});
        let first = admin
            .send(Method::POST, "/api/brands", Some(brand.clone()), &headers)
            .await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert!(first.headers.get("idempotent-replayed").is_none());
        let second = admin
            .send(Method::POST, "/api/brands", Some(brand), &headers)
            .await;
        assert_eq!(second.status, 201);
        assert_eq!(second.body, first.body);
        let category = json!({"name": format!("Cat {}", suffix())});
        let third = admin
            .send(
                Method::POST,
                "/api/categories",
                Some(category.clone()),
                &headers,
            )
            .await;
        let fourth = admin
            .send(Method::POST, "/api/categories", Some(category), &headers)
            .await;
        assert_eq!(third.status, 201, "{}", third.body);
        assert_eq!(fourth.header("idempotent-replayed"), "true");
        assert_eq!(fourth.body, third.body);
    });
}
