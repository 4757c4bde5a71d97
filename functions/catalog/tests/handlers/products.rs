//! Product routes: `/api/products` and `/api/products/{id}`.

use shop_adapters::fixture;
use std::collections::HashSet;

use catalog::domain::{Product, ProductQuery, ProductStatus, filter_and_sort};
use catalog::products::{
    create_product, delete_product, get_product, get_seller_product, list_products,
    list_seller_products, patch_product, replace_product,
};
use lambda_http::http::HeaderValue;
use serde_json::{Value, json};
use shop_domain::{BrandId, CategoryId, ProductId};

use crate::world::{
    ADMIN, BRAND, BUYER, CATEGORY, CHILD_CATEGORY, OTHER_CATEGORY, PRODUCT, World, as_caller,
    assert_only_created_event, body, empty_world, fields, product, request, with_body, with_query,
    world,
};

const GET_OK: &str = fixture!("get-product/ok");
const GET_NOT_MODIFIED: &str = fixture!("get-product/not-modified");
const GET_MINE: &str = fixture!("get-seller-product/ok");
const LIST_OK: &str = fixture!("list-products/ok");
const LIST_INVALID: &str = fixture!("list-products/invalid");
const CREATE_OK: &str = fixture!("create-product/ok");
const CREATE_INVALID: &str = fixture!("create-product/invalid");
const CREATE_MALFORMED: &str = fixture!("create-product/malformed");
const CREATE_UNKNOWN_CATEGORY: &str = fixture!("create-product/unknown-category");
const REPLACE_OK: &str = fixture!("replace-product/ok");
const REPLACE_OTHER_SELLER: &str = fixture!("replace-product/other-seller");
const REPLACE_STALE: &str = fixture!("replace-product/stale");
const PATCH_OK: &str = fixture!("patch-product/ok");
const DELETE_OK: &str = fixture!("delete-product/ok");
const DELETE_ADMIN: &str = fixture!("delete-product/admin");
const SELLER_LIST_OK: &str = fixture!("list-seller-products/ok");
const SELLER_LIST_INVALID: &str = fixture!("list-seller-products/invalid");

async fn stored(w: &World) -> Option<Product> {
    w.deps.products.get(PRODUCT.parse().unwrap()).await.unwrap()
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_a_product_created_event() {
    let w = empty_world();
    let response = create_product(&w.deps, request(CREATE_OK)).await.unwrap();

    assert_eq!(response.status(), 201, "{}", body(&response));
    let created = body(&response);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("/api/products/{id}").as_str()
    );
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(created["sellerId"], "seller-1");
    assert_eq!(created["price"], 12999);
    assert_eq!(created["variants"][1]["price"], 13499);

    assert_only_created_event(&w.catalog.events(), "ProductCreated", "product", &created);
}

#[tokio::test]
async fn invalid_body_is_400_naming_every_bad_field() {
    let w = empty_world();
    let response = create_product(&w.deps, request(CREATE_INVALID))
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "ValidationError");
    let fields = fields(&response);
    for field in ["name", "price", "currency"] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    assert_eq!(w.catalog.product_count(), 0);
    assert!(w.catalog.events().is_empty());
}

/// The body of the `create-product/ok` fixture.
fn create_ok_body() -> Value {
    let event: Value = serde_json::from_str(CREATE_OK).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn three_hundred_thousand_empty_variants_are_a_small_400_not_a_500() {
    let w = empty_world();
    let mut input = create_ok_body();
    input["variants"] = Value::Array(vec![json!({}); 300_000]);
    let sent = input.to_string().len();
    assert!((900_000..1_048_576).contains(&sent), "{sent} bytes");

    let response = create_product(&w.deps, with_body(CREATE_OK, &input))
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(fields(&response), ["variants"]);
    let answered = response.body().len();
    assert!(answered < 16 * 1024, "{answered} bytes");
    assert_eq!(w.catalog.product_count(), 0);
}

#[tokio::test]
async fn two_hundred_bad_fields_are_answered_with_fifty_details_and_a_count_of_the_rest() {
    let w = empty_world();
    let mut input = create_ok_body();
    input["variants"] = (0..100)
        .map(|_| json!({"sku": "not a sku", "name": ""}))
        .collect::<Vec<_>>()
        .into();

    let response = create_product(&w.deps, with_body(CREATE_OK, &input))
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let details = body(&response)["details"].as_array().unwrap().clone();
    assert_eq!(details.len(), 51);
    assert_eq!(details[0]["field"], "variants[0].sku");
    assert_eq!(details[50]["field"], "body");
    let count = details[50]["message"].as_str().unwrap();
    assert!(count.starts_with("and 150 more errors"), "{count}");
    assert!(response.body().len() < 16 * 1024);
}

#[tokio::test]
async fn malformed_json_is_400_not_500() {
    let w = empty_world();
    let response = create_product(&w.deps, request(CREATE_MALFORMED))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "MalformedJson");
}

#[tokio::test]
async fn unknown_category_is_422_and_writes_nothing() {
    let w = empty_world();
    let response = create_product(&w.deps, request(CREATE_UNKNOWN_CATEGORY))
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("category")
    );
    assert_eq!(w.catalog.product_count(), 0);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_caller_without_the_seller_scope_cannot_create() {
    let w = empty_world();
    let mut event: Value = serde_json::from_str(CREATE_OK).unwrap();
    let jwt = &mut event["requestContext"]["authorizer"]["jwt"];
    jwt["claims"]["scope"] = json!("shop/user");
    jwt["scopes"] = json!(["shop/user"]);
    let response = create_product(&w.deps, request(&event.to_string()))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Without any claims (a route misconfigured as public) it is a 401, never a write.
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let response = create_product(&w.deps, request(&event.to_string()))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(w.catalog.product_count(), 0);
}

#[tokio::test]
async fn get_answers_the_product_with_its_etag() {
    let w = world();
    let response = get_product(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(body(&response)["id"], PRODUCT);
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304() {
    let w = world();
    let response = get_product(&w.deps, request(GET_NOT_MODIFIED))
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn a_draft_is_404_to_the_public_and_readable_by_its_seller_on_the_seller_route() {
    let w = empty_world();
    w.catalog.insert_product(product(
        PRODUCT,
        "seller-1",
        ProductStatus::Draft,
        100,
        CATEGORY,
        &w,
    ));
    let response = get_product(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
    let response = get_seller_product(&w.deps, request(GET_MINE))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["status"], "draft");
    assert_eq!(response.headers()["etag"], "\"1\"");
    // Another seller's product is not theirs to read there, even when it is public.
    let rival = as_caller(GET_MINE, "seller-2", &["shop/user", "shop/seller"]);
    let response = get_seller_product(&w.deps, request(&rival)).await.unwrap();
    assert_eq!(response.status(), 404);
    let admin = as_caller(
        GET_MINE,
        "admin-1",
        &["shop/user", "shop/seller", "shop/admin"],
    );
    let response = get_seller_product(&w.deps, request(&admin)).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_id_is_404() {
    let w = empty_world();
    let response = get_product(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"], "NotFound");
}

#[tokio::test]
async fn replace_with_the_current_if_match_bumps_the_version_and_emits_product_modified() {
    let w = world();
    let response = replace_product(&w.deps, request(REPLACE_OK)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["etag"], "\"2\"");
    let after = stored(&w).await.unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(after.name, "Trail Running Shoe v2");

    let events = w.catalog.events();
    assert_eq!(w.catalog.detail_types(), ["ProductModified"]);
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(events[0].detail["data"]["old"]["version"], 1);
    assert_eq!(events[0].detail["data"]["new"]["version"], 2);
}

#[tokio::test]
async fn a_seller_cannot_replace_another_sellers_product() {
    let w = world();
    let response = replace_product(&w.deps, request(REPLACE_OTHER_SELLER))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(stored(&w).await.unwrap().version, 1);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_stale_if_match_is_412() {
    let w = world();
    let response = replace_product(&w.deps, request(REPLACE_STALE))
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    assert_eq!(body(&response)["error"], "PreconditionFailed");
    assert_eq!(stored(&w).await.unwrap().version, 1);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_names_them_in_the_event() {
    let w = world();
    let before = stored(&w).await.unwrap();
    let response = patch_product(&w.deps, request(PATCH_OK)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));

    let after = stored(&w).await.unwrap();
    assert_eq!(after.price.amount_minor, 10999);
    assert_eq!(after.attributes.get("color"), None);
    assert_eq!(after.attributes["material"], "mesh");
    assert_eq!(after.name, before.name);
    assert_eq!(after.category_id, before.category_id);
    assert_eq!(after.version, 2);

    let events = w.catalog.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "ProductModified");
    assert_eq!(
        events[0].detail["data"]["changedFields"],
        json!(["price", "attributes"])
    );
}

#[tokio::test]
async fn patch_refuses_other_patch_formats_with_415() {
    let w = world();
    let mut req = request(PATCH_OK);
    req.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json-patch+json"),
    );
    let response = patch_product(&w.deps, req).await.unwrap();
    assert_eq!(response.status(), 415);

    let mut req = request(PATCH_OK);
    req.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    let response = patch_product(&w.deps, req).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn delete_answers_204_then_the_product_is_404() {
    let w = world();
    let response = delete_product(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 204);
    let events = w.catalog.events();
    assert_eq!(w.catalog.detail_types(), ["ProductDeleted"]);
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(events[0].detail["data"]["productId"], PRODUCT);
    assert_eq!(events[0].detail["data"]["sellerId"], "seller-1");

    let response = get_product(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
    let response = delete_product(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_admin_may_delete_any_sellers_product() {
    let w = world();
    let response = delete_product(&w.deps, request(DELETE_ADMIN))
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(stored(&w).await.is_none());
}

/// 30 products over three categories, statuses and a spread of prices with ties.
fn seed_list(w: &World) {
    let categories = [CATEGORY, CHILD_CATEGORY, OTHER_CATEGORY];
    for i in 0..30u32 {
        let id = ProductId::new().to_string();
        let status = match i % 5 {
            0 => ProductStatus::Draft,
            1 => ProductStatus::Archived,
            _ => ProductStatus::Active,
        };
        let price = 1000 + i64::from(i % 7) * 250;
        let category = categories[(i % 3) as usize];
        w.clock.advance(std::time::Duration::from_secs(60));
        w.catalog
            .insert_product(product(&id, "seller-1", status, price, category, w));
    }
}

#[tokio::test]
async fn walking_every_page_returns_each_matching_product_once_in_order() {
    let w = empty_world();
    seed_list(&w);
    // Every product in every status, read through the port.
    let all = w
        .deps
        .products
        .list_by_seller("seller-1", 100, None)
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 30);

    let params = [
        ("category", CATEGORY),
        ("sortBy", "price"),
        ("sortOrder", "asc"),
    ];
    let query = ProductQuery::from_params(params).unwrap();
    let categories: Vec<CategoryId> =
        vec![CATEGORY.parse().unwrap(), CHILD_CATEGORY.parse().unwrap()];
    let expected: Vec<ProductId> = filter_and_sort(&all, &query, Some(&categories))
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(expected.len() > 5, "the seed has several pages of matches");

    let first = list_products(&w.deps, request(LIST_OK)).await.unwrap();
    assert_eq!(first.status(), 200, "{}", body(&first));
    let mut page = body(&first);
    let mut seen: Vec<ProductId> = Vec::new();
    loop {
        assert_eq!(page["pageSize"], 2);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert_eq!(item["status"], "active");
            seen.push(item["id"].as_str().unwrap().parse().unwrap());
        }
        let Some(token) = page["nextToken"].as_str() else {
            break;
        };
        assert_eq!(items.len(), 2, "only the last page may be short");
        let mut params: Vec<(&str, &str)> = vec![
            ("category", CATEGORY),
            ("sortBy", "price"),
            ("sortOrder", "asc"),
            ("pageSize", "2"),
        ];
        params.push(("nextToken", token));
        let response = list_products(&w.deps, with_query(LIST_OK, &params))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", body(&response));
        page = body(&response);
    }
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
    assert!(
        !seen.iter().any(|id| {
            all.iter()
                .find(|p| p.id == *id)
                .is_some_and(|p| p.category_id == OTHER_CATEGORY.parse::<CategoryId>().unwrap())
        }),
        "the category filter includes descendants only"
    );
}

#[tokio::test]
async fn a_forged_or_foreign_next_token_is_400() {
    let w = empty_world();
    seed_list(&w);
    let first = body(&list_products(&w.deps, request(LIST_OK)).await.unwrap());
    let token = first["nextToken"].as_str().unwrap().to_owned();

    let mut forged = token.clone();
    forged.replace_range(..1, if forged.starts_with('A') { "B" } else { "A" });
    for (token, sort) in [
        ("not-a-token", "price"),
        (forged.as_str(), "price"),
        (token.as_str(), "name"),
    ] {
        let params = [
            ("category", CATEGORY),
            ("sortBy", sort),
            ("pageSize", "2"),
            ("nextToken", token),
        ];
        let response = list_products(&w.deps, with_query(LIST_OK, &params))
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{token} {sort}");
        assert_eq!(fields(&response), ["nextToken"]);
    }
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_each() {
    let w = empty_world();
    let response = list_products(&w.deps, request(LIST_INVALID)).await.unwrap();
    assert_eq!(response.status(), 400);
    let mut fields = fields(&response);
    fields.sort();
    assert_eq!(fields, ["pageSize", "sortBy"]);
}

/// Every page of `GET /api/seller/products` for the fixture's request, walked to the end.
async fn seller_pages(w: &World, fixture: &str) -> Vec<Value> {
    let first = list_seller_products(&w.deps, request(fixture))
        .await
        .unwrap();
    assert_eq!(first.status(), 200, "{}", body(&first));
    let mut pages = vec![body(&first)];
    while let Some(token) = pages.last().unwrap()["nextToken"].as_str() {
        let params = [("pageSize", "4"), ("nextToken", token)];
        let response = list_seller_products(&w.deps, with_query(fixture, &params))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", body(&response));
        pages.push(body(&response));
    }
    pages
}

#[tokio::test]
async fn the_seller_list_shows_only_the_callers_products_in_every_status() {
    let w = empty_world();
    seed_list(&w);
    for _ in 0..3 {
        let id = ProductId::new().to_string();
        let other = product(&id, "seller-2", ProductStatus::Active, 500, CATEGORY, &w);
        w.catalog.insert_product(other);
    }

    let pages = seller_pages(&w, SELLER_LIST_OK).await;
    let mut seen: Vec<String> = Vec::new();
    let mut statuses = HashSet::new();
    for page in &pages {
        assert_eq!(page["pageSize"], 4);
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["sellerId"], "seller-1");
            statuses.insert(item["status"].as_str().unwrap().to_owned());
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 30, "every product of seller-1, once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 30);
    assert_eq!(pages.len(), 8, "30 products in pages of 4");
    let expected: HashSet<String> = ["draft", "active", "archived"].map(String::from).into();
    assert_eq!(statuses, expected);
}

#[tokio::test]
async fn an_admin_sees_their_own_products_in_the_seller_list_not_everyones() {
    let w = world();
    let fixture = as_caller(SELLER_LIST_OK, "admin-1", ADMIN);
    let response = list_seller_products(&w.deps, request(&fixture))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["items"], json!([]));
    assert_eq!(body(&response)["nextToken"], Value::Null);
}

#[tokio::test]
async fn a_buyer_may_not_list_seller_products() {
    let w = world();
    let fixture = as_caller(SELLER_LIST_OK, "buyer-1", BUYER);
    let response = list_seller_products(&w.deps, request(&fixture))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn bad_seller_list_parameters_are_400_naming_each() {
    let w = world();
    let response = list_seller_products(&w.deps, request(SELLER_LIST_INVALID))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let mut fields = fields(&response);
    fields.sort();
    assert_eq!(fields, ["pageSize", "status"]);
}

#[test]
fn fixtures_name_the_seeded_ids() {
    assert!(PRODUCT.parse::<ProductId>().is_ok());
    assert!(BRAND.parse::<BrandId>().is_ok());
    let req = request(CREATE_OK);
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri().path(), "/api/products");
}
