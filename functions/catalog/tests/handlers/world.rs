//! The catalog every test starts from, and the helpers that turn fixtures into requests and
//! responses into JSON.

use std::collections::HashMap;
use std::sync::Arc;

use catalog::Deps;
use catalog::domain::{
    Brand, BrandInput, Category, CategoryInput, Product, ProductInput, ProductStatus,
};
use catalog::memory::MemoryCatalog;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use shop_adapters::memory::FixedClock;
use shop_domain::Clock;

/// The product the product fixtures address, of `seller-1`.
pub const PRODUCT: &str = "01JBQ00000000000000000PR01";
/// "Shoes", a root category with one child.
pub const CATEGORY: &str = "01JBQ00000000000000000CA01";
/// "Running Shoes", below [`CATEGORY`].
pub const CHILD_CATEGORY: &str = "01JBQ00000000000000000CA02";
/// "Bags", a root without children.
pub const OTHER_CATEGORY: &str = "01JBQ00000000000000000CA03";
/// "Acme", the one brand.
pub const BRAND: &str = "01JBQ00000000000000000BR01";

/// The handlers' dependencies, with a typed handle on the in-memory catalog for asserts.
pub struct World {
    pub deps: Deps,
    pub catalog: Arc<MemoryCatalog>,
    pub clock: Arc<FixedClock>,
}

/// A catalog with a category (with one child and one unrelated sibling) and a brand, and no
/// products.
pub fn empty_world() -> World {
    let clock = Arc::new(FixedClock::default());
    let catalog = Arc::new(MemoryCatalog::new());
    for (id, name, parent) in [
        (CATEGORY, "Shoes", None),
        (CHILD_CATEGORY, "Running Shoes", Some(CATEGORY)),
        (OTHER_CATEGORY, "Bags", None),
    ] {
        let input = CategoryInput {
            name: name.to_owned(),
            parent_id: parent.map(str::to_owned),
            ..CategoryInput::default()
        };
        catalog.insert_category(Category::create(input, clock.now(), id.parse().unwrap()).unwrap());
    }
    let input = BrandInput {
        name: "Acme".to_owned(),
        ..BrandInput::default()
    };
    catalog.insert_brand(Brand::create(input, clock.now(), BRAND.parse().unwrap()).unwrap());
    let deps = Deps {
        products: catalog.clone(),
        categories: catalog.clone(),
        brands: catalog.clone(),
        clock: clock.clone(),
        requests: Arc::new(shop_adapters::memory::MemoryIdempotency::default()),
    };
    World {
        deps,
        catalog,
        clock,
    }
}

/// [`empty_world`] plus product `PRODUCT` of `seller-1`, active, at version 1.
pub fn world() -> World {
    let world = empty_world();
    world.catalog.insert_product(product(
        PRODUCT,
        "seller-1",
        ProductStatus::Active,
        12999,
        CATEGORY,
        &world,
    ));
    world
}

/// A product of `seller` in `status`, priced `price` minor units, of brand [`BRAND`].
pub fn product(
    id: &str,
    seller: &str,
    status: ProductStatus,
    price: i64,
    category: &str,
    w: &World,
) -> Product {
    let input = ProductInput::from_json(&json!({
        "name": format!("Product {id}"),
        "price": price,
        "currency": "EUR",
        "categoryId": category,
        "brandId": BRAND,
        "status": if status == ProductStatus::Archived { "active" } else { status.as_str() },
        "attributes": {"material": "mesh", "color": "blue"},
    }))
    .unwrap();
    let mut p = Product::create(input, seller, w.clock.now(), id.parse().unwrap()).unwrap();
    p.status = status;
    p
}

/// The fixture as the request `lambda_http` hands a handler.
pub fn request(fixture: &str) -> Request {
    lambda_http::request::from_str(fixture).expect("fixture is an API Gateway v2 event")
}

/// The fixture's request with its body replaced by `body` (as JSON text).
pub fn with_body(fixture: &str, body: &Value) -> Request {
    let mut event: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    event["body"] = json!(body.to_string());
    event["headers"]
        .as_object_mut()
        .expect("fixture has headers")
        .remove("content-length");
    request(&event.to_string())
}

/// The fixture's request with its query string replaced by `params`.
pub fn with_query(fixture: &str, params: &[(&str, &str)]) -> Request {
    let query: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    request(fixture).with_query_string_parameters(query)
}

/// The scopes of a Seller's token.
pub const SELLER: &[&str] = &["shop/user", "shop/seller"];
/// The scopes of an Admin's token.
pub const ADMIN: &[&str] = &["shop/user", "shop/seller", "shop/admin"];
/// The scopes of a shopper's token: no catalog writes.
pub const BUYER: &[&str] = &["shop/user"];

/// The fixture as if `sub` holding `scopes` had sent it, so one fixture serves every role.
pub fn as_caller(fixture: &str, sub: &str, scopes: &[&str]) -> String {
    let mut event: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    let jwt = &mut event["requestContext"]["authorizer"]["jwt"];
    jwt["claims"]["sub"] = json!(sub);
    jwt["claims"]["scope"] = json!(scopes.join(" "));
    jwt["scopes"] = json!(scopes);
    event.to_string()
}

/// The response body as JSON (`null` when empty).
pub fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

/// The fields named in an error response's `details`.
pub fn fields(response: &Response<Body>) -> Vec<String> {
    body(response)["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that `events` is exactly one `detail_type` event (source `shop.catalog`, aggregate
/// version 1) whose `data.<key>` is `created`: what every create must have recorded.
#[track_caller]
pub fn assert_only_created_event(
    events: &[shop_domain::OutgoingEvent],
    detail_type: &str,
    key: &str,
    created: &Value,
) {
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].source, "shop.catalog");
    assert_eq!(events[0].detail_type, detail_type);
    assert_eq!(events[0].detail["aggregateVersion"], 1);
    assert_eq!(&events[0].detail["data"][key], created);
}
