//! Brand routes: `/api/brands` and `/api/brands/{id}`.

use catalog::brands::{create_brand, delete_brand, get_brand, list_brands, replace_brand};
use catalog::domain::{Brand, BrandInput, BrandStore, ProductStatus};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_domain::{BrandId, Clock};

use crate::world::{
    BRAND, CATEGORY, PRODUCT, SELLER, World, as_caller, assert_only_created_event, body,
    empty_world, fields, product, request, with_query,
};

const LIST_OK: &str = fixture!("list-brands/ok");
const LIST_INVALID: &str = fixture!("list-brands/invalid");
const GET_OK: &str = fixture!("get-brand/ok");
const GET_NOT_MODIFIED: &str = fixture!("get-brand/not-modified");
const GET_UNKNOWN: &str = fixture!("get-brand/unknown");
const CREATE_OK: &str = fixture!("create-brand/ok");
const CREATE_INVALID: &str = fixture!("create-brand/invalid");
const CREATE_NOT_ADMIN: &str = fixture!("create-brand/not-admin");
const CREATE_TAKEN_SLUG: &str = fixture!("create-brand/taken-slug");
const REPLACE_OK: &str = fixture!("replace-brand/ok");
const REPLACE_UNCHANGED: &str = fixture!("replace-brand/unchanged");
const REPLACE_STALE: &str = fixture!("replace-brand/stale");
const REPLACE_TAKEN_SLUG: &str = fixture!("replace-brand/taken-slug");
const DELETE_OK: &str = fixture!("delete-brand/ok");

async fn stored(w: &World) -> Option<Brand> {
    w.deps.brands.get(BRAND.parse().unwrap()).await.unwrap()
}

/// Adds brands named `names` to the world's one brand, "Acme".
fn seed_brands(w: &World, names: &[&str]) {
    for name in names {
        let input = BrandInput {
            name: (*name).to_owned(),
            ..BrandInput::default()
        };
        w.catalog
            .insert_brand(Brand::create(input, w.clock.now(), BrandId::new()).unwrap());
    }
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn walking_the_pages_lists_every_brand_once_in_name_order() {
    let w = empty_world();
    seed_brands(&w, &["Zeta", "beta", "Delta", "northwind"]);

    let first = list_brands(&w.deps, request(LIST_OK)).await.unwrap();
    assert_eq!(first.status(), 200, "{}", body(&first));
    let mut page = body(&first);
    let mut seen = Vec::new();
    loop {
        assert_eq!(page["pageSize"], 2);
        seen.extend(names(&page));
        let Some(token) = page["nextToken"].as_str() else {
            assert_eq!(page["nextToken"], Value::Null);
            break;
        };
        assert_eq!(names(&page).len(), 2, "only the last page may be short");
        let params = [("pageSize", "2"), ("nextToken", token)];
        let response = list_brands(&w.deps, with_query(LIST_OK, &params))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", body(&response));
        page = body(&response);
    }
    assert_eq!(seen, ["Acme", "beta", "Delta", "northwind", "Zeta"]);
}

#[tokio::test]
async fn the_list_pages_by_twenty_unless_asked_otherwise() {
    let w = empty_world();
    let response = list_brands(&w.deps, with_query(LIST_OK, &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = body(&response);
    assert_eq!(page["pageSize"], 20);
    assert_eq!(names(&page), ["Acme"]);
    assert_eq!(page["nextToken"], Value::Null);
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_each() {
    let w = empty_world();
    let response = list_brands(&w.deps, request(LIST_INVALID)).await.unwrap();
    assert_eq!(response.status(), 400);
    let mut named = fields(&response);
    named.sort();
    assert_eq!(named, ["pageSize", "sortBy"]);

    let params = [("nextToken", "not-a-token")];
    let response = list_brands(&w.deps, with_query(LIST_OK, &params))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(fields(&response), ["nextToken"]);
}

#[tokio::test]
async fn get_answers_the_brand_with_its_etag() {
    let w = empty_world();
    let response = get_brand(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(body(&response)["id"], BRAND);
    assert_eq!(body(&response)["slug"], "acme");
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304() {
    let w = empty_world();
    let response = get_brand(&w.deps, request(GET_NOT_MODIFIED)).await.unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn an_unknown_brand_is_404() {
    let w = empty_world();
    let response = get_brand(&w.deps, request(GET_UNKNOWN)).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"], "NotFound");
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_a_brand_created_event() {
    let w = empty_world();
    let response = create_brand(&w.deps, request(CREATE_OK)).await.unwrap();

    assert_eq!(response.status(), 201, "{}", body(&response));
    let created = body(&response);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("/api/brands/{id}").as_str()
    );
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(created["slug"], "northwind-outdoor");
    assert_eq!(
        created["logoUrl"],
        "https://cdn.example.com/brands/northwind.png"
    );

    assert_only_created_event(&w.catalog.events(), "BrandCreated", "brand", &created);
}

#[tokio::test]
async fn an_invalid_brand_is_400_naming_every_bad_field() {
    let w = empty_world();
    let response = create_brand(&w.deps, request(CREATE_INVALID))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let mut fields = fields(&response);
    fields.sort();
    assert_eq!(fields, ["logoUrl", "name"]);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_seller_may_not_create_replace_or_delete_brands() {
    let w = empty_world();
    let response = create_brand(&w.deps, request(CREATE_NOT_ADMIN))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let as_seller = |fixture| request(&as_caller(fixture, "seller-1", SELLER));
    let response = replace_brand(&w.deps, as_seller(REPLACE_OK)).await.unwrap();
    assert_eq!(response.status(), 403);
    let response = delete_brand(&w.deps, as_seller(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 403);

    assert_eq!(stored(&w).await.unwrap().version, 1);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_slug_taken_by_another_brand_is_409() {
    let w = empty_world();
    let response = create_brand(&w.deps, request(CREATE_TAKEN_SLUG))
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn replace_with_the_current_if_match_bumps_the_version_and_emits_brand_modified() {
    let w = empty_world();
    let response = replace_brand(&w.deps, request(REPLACE_OK)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["etag"], "\"2\"");
    let after = stored(&w).await.unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(after.description, "Everything, mail order.");

    let events = w.catalog.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "BrandModified");
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(
        events[0].detail["data"]["changedFields"],
        json!(["description", "logoUrl"])
    );
}

#[tokio::test]
async fn a_put_that_changes_nothing_writes_nothing_and_emits_nothing() {
    let w = empty_world();
    let before = stored(&w).await.unwrap();
    let response = replace_brand(&w.deps, request(REPLACE_UNCHANGED))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(stored(&w).await.unwrap(), before);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_stale_if_match_is_412() {
    let w = empty_world();
    let response = replace_brand(&w.deps, request(REPLACE_STALE))
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    assert_eq!(body(&response)["error"], "PreconditionFailed");
    assert_eq!(stored(&w).await.unwrap().version, 1);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_taken_slug_on_put_is_409_even_with_a_current_if_match() {
    // The store refuses a taken slug and a stale version alike with a conflict; only the
    // stale version may become a 412, or the client would re-read and retry forever.
    let w = empty_world();
    seed_brands(&w, &["Northwind Outdoor"]);
    let response = replace_brand(&w.deps, request(REPLACE_TAKEN_SLUG))
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "{}", body(&response));
    assert_eq!(stored(&w).await.unwrap().slug, "acme");
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn deleting_a_brand_that_an_archived_product_still_has_is_409() {
    let w = empty_world();
    w.catalog.insert_product(product(
        PRODUCT,
        "seller-1",
        ProductStatus::Archived,
        100,
        CATEGORY,
        &w,
    ));
    let response = delete_brand(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 409);
    assert!(stored(&w).await.is_some());
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn delete_answers_204_and_emits_brand_deleted_one_version_past_the_last() {
    let w = empty_world();
    let response = delete_brand(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(stored(&w).await.is_none());

    let events = w.catalog.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "BrandDeleted");
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(events[0].detail["data"]["brandId"], BRAND);

    let response = get_brand(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
}
