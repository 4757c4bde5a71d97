//! `seed`: fills a running local shop's catalog through its HTTP API, as an admin would, and
//! makes three verified accounts (admin@, seller@ and user@example.com, with those roles and
//! the local-only password printed at the end) the way a person would: register, read the
//! verification email in the local mailbox, verify.
//!
//! `make dev` runs it once the cloud is ready (`seed`: 4 brands, a two-level category tree,
//! 24 active products with variants, owned by the local seller so `make token ROLE=Seller`
//! can change them), through the API, so it obeys every validation rule and emits every
//! event like real traffic. `make seed N=10000` adds N generated products for scale runs as a
//! bulk import straight into the catalog table (validated by the domain, but without events):
//! moto copies every table on each `TransactWriteItems`, so thousands of API creates slow to
//! a crawl and time out.

use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::TimeDelta;
use futures::{StreamExt, TryStreamExt};
use localcloud::token::{self, RunState};
use serde_json::{Value, json};

/// The seller that owns the seeded products: the `sub` of `make token ROLE=Seller`.
const SELLER: &str = "local-seller";
/// Requests in flight at once.
const PARALLEL: usize = 8;

const BRANDS: [&str; 4] = ["Acme", "Globex", "Initech", "Umbrella"];
/// (category, parent) in creation order.
const CATEGORIES: [(&str, Option<&str>); 9] = [
    ("Clothing", None),
    ("Men", Some("Clothing")),
    ("Women", Some("Clothing")),
    ("Shoes", None),
    ("Running", Some("Shoes")),
    ("Hiking", Some("Shoes")),
    ("Electronics", None),
    ("Audio", Some("Electronics")),
    ("Phones", Some("Electronics")),
];
/// (name, price in cents, category, brand, variant sizes).
const PRODUCTS: [(&str, i64, &str, &str, &[&str]); 24] = [
    ("Oxford Shirt", 4999, "Men", "Acme", &["S", "M", "L", "XL"]),
    ("Chino Trousers", 5999, "Men", "Globex", &["30", "32", "34"]),
    ("Merino Sweater", 8999, "Men", "Initech", &["M", "L"]),
    ("Rain Jacket", 12999, "Men", "Umbrella", &["M", "L", "XL"]),
    ("Linen Dress", 7999, "Women", "Acme", &["XS", "S", "M"]),
    ("Silk Blouse", 6999, "Women", "Globex", &["S", "M"]),
    ("Denim Skirt", 4499, "Women", "Initech", &["S", "M", "L"]),
    ("Wool Coat", 19999, "Women", "Umbrella", &["S", "M", "L"]),
    (
        "Trail Runner",
        11999,
        "Running",
        "Acme",
        &["40", "41", "42", "43"],
    ),
    (
        "Road Runner",
        9999,
        "Running",
        "Globex",
        &["39", "40", "41", "42"],
    ),
    (
        "Racing Flat",
        13999,
        "Running",
        "Initech",
        &["40", "42", "44"],
    ),
    (
        "Recovery Slide",
        2999,
        "Running",
        "Umbrella",
        &["38", "40", "42"],
    ),
    ("Summit Boot", 17999, "Hiking", "Acme", &["41", "42", "43"]),
    (
        "Approach Shoe",
        12499,
        "Hiking",
        "Globex",
        &["40", "41", "42"],
    ),
    ("Gaiter Pair", 1999, "Hiking", "Initech", &["S/M", "L/XL"]),
    ("Hiking Sock Pack", 1499, "Hiking", "Umbrella", &["M", "L"]),
    (
        "Studio Headphones",
        19900,
        "Audio",
        "Acme",
        &["Black", "White"],
    ),
    (
        "Wireless Earbuds",
        8900,
        "Audio",
        "Globex",
        &["Black", "Blue"],
    ),
    (
        "Bookshelf Speaker",
        24900,
        "Audio",
        "Initech",
        &["Walnut", "Black"],
    ),
    (
        "Portable Speaker",
        5900,
        "Audio",
        "Umbrella",
        &["Red", "Grey"],
    ),
    (
        "Phone 12 Mini",
        59900,
        "Phones",
        "Acme",
        &["64 GB", "128 GB"],
    ),
    (
        "Phone Pro",
        99900,
        "Phones",
        "Globex",
        &["128 GB", "256 GB", "512 GB"],
    ),
    ("Rugged Phone", 39900, "Phones", "Initech", &["64 GB"]),
    (
        "Phone Case",
        1999,
        "Phones",
        "Umbrella",
        &["Clear", "Black"],
    ),
];

/// The shop's API, as an admin.
struct Api {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }
}

fn product(name: &str, price: i64, category: &str, brand: &str, sizes: &[&str]) -> Value {
    let slug: String = name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let variants: Vec<Value> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| {
            let mut variant = json!({
                "sku": format!("{}-{}", slug.to_uppercase(), size.replace([' ', '/'], "")),
                "name": *size,
                "attributes": {"size": *size},
            });
            // The largest variant costs a little more, so variant prices show up too.
            if i + 1 == sizes.len() && sizes.len() > 2 {
                variant["price"] = json!(price + price / 10);
            }
            variant
        })
        .collect();
    json!({
        "name": name,
        "description": format!("{name}: a sample product of the local shop."),
        "price": price,
        "currency": "EUR",
        "categoryId": category,
        "brandId": brand,
        "sellerId": SELLER,
        "status": "active",
        "attributes": {"origin": "seed"},
        "variants": variants,
        "images": [format!("https://images.example.com/{slug}.jpg")],
    })
}

/// Brand and category ids by name, creating the base catalog when the shop has none.
async fn base_catalog(
    api: &Api,
) -> anyhow::Result<(HashMap<String, String>, HashMap<String, String>, bool)> {
    let by_name = |items: &Value| -> HashMap<String, String> {
        items["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["name"].as_str().unwrap_or_default().to_owned(),
                    i["id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let mut brands = by_name(&api.get("/api/brands?pageSize=100").await?);
    let mut categories = by_name(&api.get("/api/categories").await?);
    let fresh = brands.is_empty();
    for name in BRANDS {
        if !brands.contains_key(name) {
            let brand = api
                .post(
                    "/api/brands",
                    json!({"name": name, "description": format!("{name}, a sample brand.")}),
                )
                .await?;
            brands.insert(
                name.to_owned(),
                brand["id"].as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    for (name, parent) in CATEGORIES {
        if !categories.contains_key(name) {
            let parent_id = parent.map(|p| categories[p].clone());
            let category = api
                .post(
                    "/api/categories",
                    json!({"name": name, "parentId": parent_id}),
                )
                .await?;
            categories.insert(
                name.to_owned(),
                category["id"].as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    Ok((brands, categories, fresh))
}

/// The discounts of the seed: the coupon `WELCOME10` (10 % off, once per user) and one
/// automatic campaign (15 % off running shoes); each made once, however often the seed runs.
/// How many were added.
async fn seed_discounts(api: &Api, categories: &HashMap<String, String>) -> anyhow::Result<usize> {
    let listed = api.get("/api/admin/discounts?pageSize=100").await?;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["name"].as_str())
        .collect();
    let wanted = [
        json!({"code": "WELCOME10", "name": "Welcome: 10 % off", "type": "percentage",
            "value": 10, "perUserLimit": 1}),
        json!({"name": "Running week: 15 % off running shoes", "type": "percentage",
            "value": 15, "automatic": true,
            "appliesTo": {"categoryIds": [categories["Running"]]}}),
    ];
    let mut added = 0;
    for body in wanted {
        if !names.contains(&body["name"].as_str().unwrap_or_default()) {
            api.post("/api/admin/discounts", body).await?;
            added += 1;
        }
    }
    Ok(added)
}

/// Stock for every unit of the seeded products, once the inventory has heard of them (it
/// learns products from the catalog's events, within seconds): a few units of each, every
/// third one below its threshold of 5 (so `LowStockDetected` fires). A unit with movements
/// already keeps its stock, so the seed can run again. How many units were stocked.
async fn seed_stock(api: &Api) -> anyhow::Result<usize> {
    let names: Vec<&str> = PRODUCTS.iter().map(|p| p.0).collect();
    let mut products = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = match &next {
            None => api.get("/api/products?pageSize=100").await?,
            Some(token) => {
                api.get(&format!("/api/products?pageSize=100&nextToken={token}"))
                    .await?
            }
        };
        for product in page["items"].as_array().into_iter().flatten() {
            if names.contains(&product["name"].as_str().unwrap_or_default()) {
                products.push(product["id"].as_str().unwrap_or_default().to_owned());
            }
        }
        match page["nextToken"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    let mut stocked = 0;
    for (i, id) in products.iter().enumerate() {
        let mut stock = None;
        for _ in 0..120 {
            if let Ok(known) = api.get(&format!("/api/inventory/{id}")).await {
                stock = Some(known);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let stock = stock.with_context(|| format!("the inventory never heard of product {id}"))?;
        for (j, item) in stock["items"].as_array().into_iter().flatten().enumerate() {
            let sku = item["sku"].as_str().unwrap_or_default();
            let path = format!("/api/inventory/{id}/{sku}");
            let moved = api.get(&format!("{path}/movements?pageSize=1")).await?;
            if moved["items"].as_array().is_some_and(|m| !m.is_empty()) {
                continue;
            }
            let on_hand = if (i + j) % 3 == 0 {
                2
            } else {
                10 + (i * 7 + j * 3) % 40
            };
            api.call(
                reqwest::Method::PUT,
                &path,
                Some(json!({"onHand": on_hand, "lowStockThreshold": 5})),
            )
            .await?;
            stocked += 1;
        }
    }
    Ok(stocked)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let extra: usize = match std::env::args().nth(1) {
        None => 0,
        Some(n) => n.parse().context("usage: seed [EXTRA_PRODUCTS]")?,
    };
    let root = shop_e2e::repo_root();
    let state = RunState::load(&root)?;
    let sdk = localcloud::cloud::sdk_config(&state.edge_url, &state.region);
    let token = token::mint(&sdk, &state.outputs, "Admin", TimeDelta::minutes(60)).await?;
    let api = Api {
        url: state.api_url.clone(),
        token,
        http: reqwest::Client::new(),
    };
    let (brands, categories, fresh) = base_catalog(&api).await?;
    let mut bodies = Vec::new();
    if fresh {
        for (name, price, category, brand, sizes) in PRODUCTS {
            bodies.push(product(
                name,
                price,
                &categories[category],
                &brands[brand],
                sizes,
            ));
        }
    }
    let discounts = seed_discounts(&api, &categories).await?;
    println!("seed: {discounts} discounts added (WELCOME10 and a running-shoes campaign)");
    let total = bodies.len();
    futures::stream::iter(bodies)
        .map(|body| {
            let api = &api;
            async move {
                api.post("/api/products", body).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    println!(
        "seed: {} brands, {} categories, {total} products added{}",
        brands.len(),
        categories.len(),
        if fresh {
            ""
        } else {
            " (the base catalog was already there)"
        }
    );
    let stocked = seed_stock(&api).await?;
    println!("seed: stock for {stocked} units (every third below its threshold of 5)");
    let shop = shop_e2e::accounts::Shop {
        api_url: state.api_url.clone(),
        edge_url: state.edge_url.clone(),
        http: api.http.clone(),
    };
    shop_e2e::accounts::seed_accounts(&shop, &api.token).await?;
    println!(
        "seed: accounts (local only, password `{}`):",
        shop_e2e::accounts::SEEDED_PASSWORD
    );
    for (email, _, role) in shop_e2e::accounts::SEEDED {
        println!("seed:   {email} ({})", role.unwrap_or("User"));
    }
    if extra > 0 {
        import(&sdk, &state, extra, &brands, &categories).await?;
        println!("seed: {extra} generated products imported (no events)");
    }
    Ok(())
}

/// Bulk-imports `count` generated active products into the catalog table.
async fn import(
    sdk: &aws_config::SdkConfig,
    state: &RunState,
    count: usize,
    brands: &HashMap<String, String>,
    categories: &HashMap<String, String>,
) -> anyhow::Result<()> {
    use catalog::domain::{Product, ProductInput};
    let table = state.outputs["CatalogTableName"]
        .as_str()
        .context("the stack has no CatalogTableName output")?;
    let catalog = catalog::dynamo::DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(sdk),
        table,
        catalog::cursor::CursorKey::Fixed(catalog::cursor::Signer::new("unused")),
    );
    let leaves: Vec<&str> = CATEGORIES
        .iter()
        .filter(|(_, parent)| parent.is_some())
        .map(|(name, _)| *name)
        .collect();
    let now = shop_domain::Clock::now(&shop_domain::SystemClock);
    let mut products = Vec::with_capacity(count);
    for i in 0..count {
        let (base, price, _, _, sizes) = PRODUCTS[i % PRODUCTS.len()];
        let name = format!("{base} {i:05}");
        let price = price / 2 + ((i as i64 * 7_919) % 20_000);
        let category = &categories[leaves[i % leaves.len()]];
        let brand = &brands[BRANDS[(i / 3) % BRANDS.len()]];
        let input = ProductInput::from_json(&product(&name, price, category, brand, sizes))
            .map_err(|e| anyhow::anyhow!("generated product {i} is invalid: {e}"))?;
        let created = now - TimeDelta::seconds(i as i64);
        let product = Product::create(input, SELLER, created, shop_domain::ProductId::new())
            .map_err(|e| anyhow::anyhow!("generated product {i} is invalid: {e}"))?;
        products.push(product);
    }
    for (n, chunk) in products.chunks(1_000).enumerate() {
        catalog
            .import(chunk)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("seed: {} of {count} imported", n * 1_000 + chunk.len());
    }
    Ok(())
}
