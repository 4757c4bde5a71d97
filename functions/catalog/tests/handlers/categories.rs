//! Category routes: `/api/categories`, `/api/categories/tree` and `/api/categories/{id}`.

use catalog::categories::{
    create_category, delete_category, get_category, get_category_tree, list_categories,
    replace_category,
};
use catalog::domain::{Category, CategoryInput, CategoryStore, ProductStatus};
use serde_json::{Value, json};
use shop_adapters::fixture;
use shop_domain::Clock;

use crate::world::{
    CATEGORY, CHILD_CATEGORY, OTHER_CATEGORY, PRODUCT, SELLER, World, as_caller,
    assert_only_created_event, body, empty_world, fields, product, request,
};

const LIST_OK: &str = fixture!("list-categories/ok");
const LIST_INVALID: &str = fixture!("list-categories/invalid");
const TREE_OK: &str = fixture!("get-category-tree/ok");
const GET_OK: &str = fixture!("get-category/ok");
const GET_NOT_MODIFIED: &str = fixture!("get-category/not-modified");
const GET_UNKNOWN: &str = fixture!("get-category/unknown");
const CREATE_OK: &str = fixture!("create-category/ok");
const CREATE_INVALID: &str = fixture!("create-category/invalid");
const CREATE_NOT_ADMIN: &str = fixture!("create-category/not-admin");
const CREATE_UNKNOWN_PARENT: &str = fixture!("create-category/unknown-parent");
const CREATE_TOO_DEEP: &str = fixture!("create-category/too-deep");
const CREATE_TAKEN_SLUG: &str = fixture!("create-category/taken-slug");
const REPLACE_OK: &str = fixture!("replace-category/ok");
const REPLACE_UNCHANGED: &str = fixture!("replace-category/unchanged");
const REPLACE_STALE: &str = fixture!("replace-category/stale");
const REPLACE_CYCLE: &str = fixture!("replace-category/cycle");
const DELETE_OK: &str = fixture!("delete-category/ok");
const DELETE_HAS_CHILDREN: &str = fixture!("delete-category/has-children");
const DELETE_STALE: &str = fixture!("delete-category/stale");

/// The parent the `too-deep` fixture names: level 5, below `CHILD_CATEGORY` (level 2).
const LEVEL_FIVE: &str = "01JBQ00000000000000000CA06";

async fn stored(w: &World, id: &str) -> Option<Category> {
    w.deps.categories.get(id.parse().unwrap()).await.unwrap()
}

fn names(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_list_is_every_category_sorted_by_name_and_not_paged() {
    let w = empty_world();
    let response = list_categories(&w.deps, request(LIST_OK)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    let listed = body(&response);
    assert_eq!(names(&listed["items"]), ["Bags", "Running Shoes", "Shoes"]);
    assert_eq!(listed["items"][1]["parentId"], CATEGORY);
    assert_eq!(listed["items"][1]["slug"], "running-shoes");
    assert!(listed.get("nextToken").is_none() && listed.get("pageSize").is_none());
}

#[tokio::test]
async fn any_query_parameter_on_the_list_is_400_naming_it() {
    let w = empty_world();
    let response = list_categories(&w.deps, request(LIST_INVALID))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(fields(&response), ["pageSize"]);
}

#[tokio::test]
async fn the_tree_nests_each_category_under_its_parent() {
    let w = empty_world();
    let response = get_category_tree(&w.deps, request(TREE_OK)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    let tree = body(&response);
    assert_eq!(names(&tree["items"]), ["Bags", "Shoes"]);
    assert_eq!(tree["items"][0]["children"], json!([]));
    assert_eq!(names(&tree["items"][1]["children"]), ["Running Shoes"]);
}

#[tokio::test]
async fn get_answers_the_category_with_its_etag() {
    let w = empty_world();
    let response = get_category(&w.deps, request(GET_OK)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(body(&response)["id"], CATEGORY);
    assert_eq!(body(&response)["parentId"], Value::Null);
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304() {
    let w = empty_world();
    let response = get_category(&w.deps, request(GET_NOT_MODIFIED))
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn an_unknown_category_is_404() {
    let w = empty_world();
    let response = get_category(&w.deps, request(GET_UNKNOWN)).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"], "NotFound");
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_a_category_created_event() {
    let w = empty_world();
    let response = create_category(&w.deps, request(CREATE_OK)).await.unwrap();

    assert_eq!(response.status(), 201, "{}", body(&response));
    let created = body(&response);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("/api/categories/{id}").as_str()
    );
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(created["slug"], "trail-running");
    assert_eq!(created["parentId"], CHILD_CATEGORY);
    assert!(stored(&w, id).await.is_some());

    assert_only_created_event(&w.catalog.events(), "CategoryCreated", "category", &created);
}

#[tokio::test]
async fn an_invalid_category_is_400_naming_every_bad_field() {
    let w = empty_world();
    let response = create_category(&w.deps, request(CREATE_INVALID))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "ValidationError");
    let mut fields = fields(&response);
    fields.sort();
    assert_eq!(fields, ["name", "parentId", "slug"]);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_seller_may_not_create_replace_or_delete_categories() {
    let w = empty_world();
    let response = create_category(&w.deps, request(CREATE_NOT_ADMIN))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("Admin role")
    );

    let as_seller = |fixture| request(&as_caller(fixture, "seller-1", SELLER));
    let response = replace_category(&w.deps, as_seller(REPLACE_OK))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = delete_category(&w.deps, as_seller(DELETE_OK))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    assert_eq!(w.deps.categories.all().await.unwrap().len(), 3);
    assert_eq!(stored(&w, CHILD_CATEGORY).await.unwrap().version, 1);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_parent_that_does_not_exist_is_422() {
    let w = empty_world();
    let response = create_category(&w.deps, request(CREATE_UNKNOWN_PARENT))
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_sixth_level_is_refused_on_parent_id() {
    let w = empty_world();
    // Levels 3, 4 and 5 below "Shoes" > "Running Shoes".
    let mut parent = CHILD_CATEGORY;
    for (id, name) in [
        ("01JBQ00000000000000000CA04", "Trail"),
        ("01JBQ00000000000000000CA05", "Trail Racing"),
        (LEVEL_FIVE, "Ultra"),
    ] {
        let input = CategoryInput {
            name: name.to_owned(),
            parent_id: Some(parent.to_owned()),
            ..CategoryInput::default()
        };
        let category = Category::create(input, w.clock.now(), id.parse().unwrap()).unwrap();
        w.catalog.insert_category(category);
        parent = id;
    }

    let response = create_category(&w.deps, request(CREATE_TOO_DEEP))
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "{}", body(&response));
    assert_eq!(fields(&response), ["parentId"]);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn moving_a_category_below_its_own_child_is_refused_as_a_cycle() {
    let w = empty_world();
    let response = replace_category(&w.deps, request(REPLACE_CYCLE))
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "{}", body(&response));
    assert_eq!(fields(&response), ["parentId"]);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("cycle")
    );
    assert_eq!(stored(&w, CATEGORY).await.unwrap().parent_id, None);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_slug_taken_by_another_category_is_409() {
    let w = empty_world();
    let response = create_category(&w.deps, request(CREATE_TAKEN_SLUG))
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn replace_with_the_current_if_match_bumps_the_version_and_emits_category_modified() {
    let w = empty_world();
    let response = replace_category(&w.deps, request(REPLACE_OK))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["etag"], "\"2\"");
    let after = stored(&w, CHILD_CATEGORY).await.unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(after.name, "Trail Shoes");
    assert_eq!(after.slug, "trail-shoes");

    let events = w.catalog.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "CategoryModified");
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(events[0].detail["data"]["old"]["version"], 1);
    assert_eq!(events[0].detail["data"]["new"]["version"], 2);
    assert_eq!(
        events[0].detail["data"]["changedFields"],
        json!(["name", "slug", "description"])
    );
}

#[tokio::test]
async fn a_put_that_changes_nothing_writes_nothing_and_emits_nothing() {
    let w = empty_world();
    let before = stored(&w, CHILD_CATEGORY).await.unwrap();
    let response = replace_category(&w.deps, request(REPLACE_UNCHANGED))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(stored(&w, CHILD_CATEGORY).await.unwrap(), before);
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn a_stale_if_match_is_412_on_put_and_delete() {
    let w = empty_world();
    let response = replace_category(&w.deps, request(REPLACE_STALE))
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    assert_eq!(body(&response)["error"], "PreconditionFailed");
    let response = delete_category(&w.deps, request(DELETE_STALE))
        .await
        .unwrap();
    assert_eq!(response.status(), 412);

    assert_eq!(stored(&w, CHILD_CATEGORY).await.unwrap().version, 1);
    assert!(stored(&w, OTHER_CATEGORY).await.is_some());
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn deleting_a_category_with_sub_categories_is_409() {
    let w = empty_world();
    let response = delete_category(&w.deps, request(DELETE_HAS_CHILDREN))
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("sub-categories")
    );
    assert!(stored(&w, CATEGORY).await.is_some());
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn deleting_a_category_that_still_has_a_draft_product_is_409() {
    let w = empty_world();
    w.catalog.insert_product(product(
        PRODUCT,
        "seller-1",
        ProductStatus::Draft,
        100,
        OTHER_CATEGORY,
        &w,
    ));
    let response = delete_category(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 409);
    assert!(
        body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("products")
    );
    assert!(stored(&w, OTHER_CATEGORY).await.is_some());
    assert!(w.catalog.events().is_empty());
}

#[tokio::test]
async fn delete_answers_204_and_emits_category_deleted_one_version_past_the_last() {
    let w = empty_world();
    let response = delete_category(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(stored(&w, OTHER_CATEGORY).await.is_none());

    let events = w.catalog.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "CategoryDeleted");
    assert_eq!(events[0].detail["aggregateVersion"], 2);
    assert_eq!(events[0].detail["data"]["categoryId"], OTHER_CATEGORY);

    let response = delete_category(&w.deps, request(DELETE_OK)).await.unwrap();
    assert_eq!(response.status(), 404);
}
