//! `bench` (`make bench`): the catalog functions' start-up, memory, size and latency, measured.
//!
//! `make bench` runs this; it builds the functions it measures with the release profile (what
//! `sam build` ships: size-optimised, thin LTO, stripped), in one `cargo build`, and prints:
//! - **bootstrap size**: the stripped release binaries;
//! - **init**: process start → its first Runtime API `next` poll, with tracing, config and
//!   SDK clients built (what Lambda bills as init), p50/p95 over 20 cold starts, against a
//!   Runtime API of this program's own;
//! - **init by service**: the same for one function of each service (catalog `get-product`,
//!   auth `login`, users `get-my-profile`, notifications `send-account-emails`, platform
//!   `get-health`), 30 cold starts each with `SSL_CERT_DIR` unset and 30 with it set to the
//!   system's certificate directory (which makes a client that reads the system's CA store read
//!   every file in it), interleaved so that load on the machine falls on all of them alike,
//!   and before the local cloud starts;
//! - **RSS** after the first invocation (a real `GET /api/products/{id}` against the local
//!   cloud's DynamoDB);
//! - **warm latency** of `GET /api/products/{id}` through the local API Gateway, 1,000
//!   requests, and of a filtered `GET /api/products` on a 10,000-product catalog, 100
//!   requests — with the release builds of those two functions in the local cloud.
//! - **cart**: p50/p95/p99 of `POST /api/cart/items` and `GET /api/cart` through the local
//!   gateway (release builds of `create-cart-item` and `get-cart`; see `cart_bench`).
//! - **checkout**: p50/p95/p99 of `POST /api/orders/checkout` (202) and of a payment on the mock
//!   gateway → the order `CONFIRMED` (the callback, the saga's remaining steps on moto's
//!   interpreter), over [`CHECKOUTS`] checkouts one after another (release builds of
//!   `create-checkout` and `create-payment-callback`; see `checkout_bench`).
//!
//! The latencies include the local gateway, the edge and moto (Python), which dominate them;
//! on AWS the same functions talk to DynamoDB instead. The figures go into the README.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use chrono::TimeDelta;
use localcloud::{CloudConfig, LocalCloud};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

const COLD_STARTS: usize = 20;
const GETS: usize = 1_000;
const LISTS: usize = 100;
const CATALOG: usize = 10_000;
const MEASURED: [&str; 2] = ["get-product", "list-products"];
/// The cart and checkout functions whose latency is measured, also run from release builds:
/// (package, binary).
const CART_MEASURED: [(&str, &str); 4] = [
    ("cart", "create-cart-item"),
    ("cart", "get-cart"),
    ("orders", "create-checkout"),
    ("payments", "create-payment-callback"),
];
/// Checkouts timed by [`checkout_bench`].
const CHECKOUTS: usize = 100;
/// Timed requests per cart route.
const CART_REQUESTS: usize = 200;
const SERVICE_COLD_STARTS: usize = 30;
/// The system's CA directory, as distributions set `SSL_CERT_DIR`.
const SYSTEM_CERT_DIR: &str = "/etc/ssl/certs";

/// The variables a function's init requires. Init only reads them: building the SDK clients
/// calls nothing.
type Vars = &'static [(&'static str, &'static str)];

/// One function of each service: (package, binary, [`Vars`]).
const BY_SERVICE: [(&str, &str, Vars); 5] = [
    ("catalog", "get-product", &[("TABLE_NAME", "bench")]),
    (
        "auth",
        "login",
        &[
            ("TABLE_NAME", "bench"),
            ("SIGNING_KEYS_SECRET_ARN", "bench"),
            ("TOKEN_ISSUER", "bench"),
            ("TOKEN_AUDIENCE", "bench"),
        ],
    ),
    ("users", "get-my-profile", &[("TABLE_NAME", "bench")]),
    (
        "notifications",
        "send-account-emails",
        &[
            ("TABLE_NAME", "bench"),
            ("MAIL_FROM", "bench@example.com"),
            ("WEB_APP_URL", "http://localhost:5173"),
        ],
    ),
    (
        "platform",
        "get-health",
        &[("TABLE_NAME", "bench"), ("EVENT_BUS_NAME", "bench")],
    ),
];

/// A one-function Lambda Runtime API: tells when `next` is first polled, hands out at most
/// one event, and tells when its response arrives.
#[derive(Clone)]
struct Runtime {
    polled: mpsc::UnboundedSender<Instant>,
    event: Arc<Mutex<Option<Value>>>,
    answered: Arc<Notify>,
}

async fn next(State(rt): State<Runtime>) -> (HeaderMap, String) {
    let _ = rt.polled.send(Instant::now());
    let event = rt.event.lock().unwrap().take();
    match event {
        Some(event) => {
            let mut headers = HeaderMap::new();
            let deadline = chrono::Utc::now().timestamp_millis() + 10_000;
            headers.insert("lambda-runtime-aws-request-id", "bench-1".parse().unwrap());
            headers.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:bench"
                    .parse()
                    .unwrap(),
            );
            headers.insert("lambda-runtime-trace-id", "Root=1-0-0".parse().unwrap());
            (headers, event.to_string())
        }
        // No more events: keep the poll open, as Lambda does between invocations.
        None => std::future::pending().await,
    }
}

async fn answered(State(rt): State<Runtime>) -> &'static str {
    rt.answered.notify_one();
    "{}"
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn p50_p95(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} ms, p95 {:.1} ms",
        percentile(&ms, 0.50),
        percentile(&ms, 0.95)
    )
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (n = {})",
        percentile(&ms, 0.50),
        percentile(&ms, 0.95),
        percentile(&ms, 0.99),
        ms.len()
    )
}

/// Starts `binary` against a Runtime API of its own, with `env` added to this program's
/// environment and `unset` removed from it; the time to its first `next` poll, and (with
/// `event`) its RSS in KiB after answering it.
async fn cold_start(
    binary: &Path,
    env: &HashMap<String, String>,
    unset: &[&str],
    event: Option<Value>,
) -> anyhow::Result<(Duration, Option<u64>)> {
    let (polled, mut polls) = mpsc::unbounded_channel();
    let runtime = Runtime {
        polled,
        event: Arc::new(Mutex::new(event.clone())),
        answered: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(answered),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(answered))
        .with_state(runtime.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut command = tokio::process::Command::new(binary);
    for name in unset {
        command.env_remove(name);
    }
    let started = Instant::now();
    let mut child = command
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let first_poll = tokio::time::timeout(Duration::from_secs(10), polls.recv())
        .await
        .context("the function never polled for an event")?
        .context("the runtime stopped")?;
    let init = first_poll - started;
    let mut rss = None;
    if event.is_some() {
        tokio::time::timeout(Duration::from_secs(10), runtime.answered.notified())
            .await
            .context("the function never answered its event")?;
        let pid = child.id().context("the function exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok());
    }
    child.kill().await.ok();
    server.abort();
    Ok((init, rss))
}

/// A bin folder with the debug build of every function but the release build of the
/// measured ones, so the local cloud runs exactly those in release.
fn bin_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
    let dir = root.join(".cache/bench/bin");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(target.join("debug"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let executable = path.is_file() && !name.contains('.') && !name.starts_with('.');
        if executable {
            let source = if MEASURED.contains(&name.as_str())
                || CART_MEASURED.iter().any(|(_, b)| *b == name)
            {
                target.join("release").join(&name)
            } else {
                path.clone()
            };
            std::os::unix::fs::symlink(&source, dir.join(&name))?;
        }
    }
    Ok(dir)
}

struct Api<'a> {
    cloud: &'a LocalCloud,
    token: String,
    http: reqwest::Client,
}

impl Api<'_> {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.cloud.api_url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        if response.status() != 201 {
            bail!(
                "POST {path}: {} {}",
                response.status(),
                response.text().await?
            );
        }
        Ok(response.json().await?)
    }

    /// `n` timed GETs of `path`, each required to answer 200.
    async fn time_gets(&self, path: &str, n: usize) -> anyhow::Result<Vec<f64>> {
        let mut ms = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let response = self
                .http
                .get(format!("{}{path}", self.cloud.api_url()))
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            if status != 200 {
                bail!("GET {path} answered {status}");
            }
        }
        Ok(ms)
    }
}

/// Builds every release binary this program runs — [`MEASURED`], [`CART_MEASURED`] and
/// [`BY_SERVICE`] — in one `cargo build` (a no-op when they are up to date). One invocation,
/// because two with other package sets would resolve the dependencies' features differently
/// and rebuild the AWS SDK each time.
fn build_release(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(root).args(["build", "--release"]);
    let packages = MEASURED
        .iter()
        .map(|binary| ("catalog", *binary))
        .chain(CART_MEASURED)
        .chain(
            BY_SERVICE
                .iter()
                .map(|(package, binary, _)| (*package, *binary)),
        );
    for (package, binary) in packages {
        command.args(["-p", package, "--bin", binary]);
    }
    let status = command.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release of the measured functions failed");
    }
    Ok(())
}

/// Init of each [`BY_SERVICE`] function with `SSL_CERT_DIR` unset and set, each function and
/// setting in turn, [`SERVICE_COLD_STARTS`] rounds; one line per function. Measured before the
/// local cloud starts (its pollers would add noise): init reaches no endpoint.
async fn init_by_service(release: &Path) -> anyhow::Result<()> {
    let base: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let set = HashMap::from([("SSL_CERT_DIR".to_owned(), SYSTEM_CERT_DIR.to_owned())]);
    let inherited = |name: &str| std::env::var(name).unwrap_or_else(|_| "unset".into());
    println!(
        "  init by service, {SERVICE_COLD_STARTS} cold starts each, SSL_CERT_DIR unset | set to \
         {SYSTEM_CERT_DIR} (this environment: SSL_CERT_DIR {}, SSL_CERT_FILE {}):",
        inherited("SSL_CERT_DIR"),
        inherited("SSL_CERT_FILE"),
    );
    let mut inits = vec![(Vec::new(), Vec::new()); BY_SERVICE.len()];
    for _ in 0..SERVICE_COLD_STARTS {
        for ((_, binary, vars), (unset_ms, set_ms)) in BY_SERVICE.iter().zip(&mut inits) {
            let mut env = base.clone();
            env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), binary.to_string());
            env.insert(
                "AWS_LAMBDA_LOG_GROUP_NAME".into(),
                format!("/aws/lambda/{binary}"),
            );
            let path = release.join(binary);
            let (init, _) = cold_start(&path, &env, &["SSL_CERT_DIR"], None).await?;
            unset_ms.push(init.as_secs_f64() * 1000.0);
            env.extend(set.clone());
            let (init, _) = cold_start(&path, &env, &[], None).await?;
            set_ms.push(init.as_secs_f64() * 1000.0);
        }
    }
    for ((package, binary, _), (unset_ms, set_ms)) in BY_SERVICE.iter().zip(inits) {
        println!(
            "    {:<35} {} | {}",
            format!("{package} {binary}:"),
            p50_p95(unset_ms),
            p50_p95(set_ms)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let root = shop_e2e::repo_root();
    let release = root.join("target/release");
    build_release(&root)?;
    println!(
        "catalog bench (release builds of {}; local cloud = moto)",
        MEASURED.join(", ")
    );
    for name in MEASURED {
        let size = std::fs::metadata(release.join(name))
            .with_context(|| format!("no release build of {name}: run `make bench`"))?
            .len();
        println!(
            "  bootstrap size   {name}: {:.1} MB (stripped)",
            size as f64 / 1e6
        );
    }
    init_by_service(&release).await?;

    let mut config = CloudConfig::new(&root);
    config.edge_port = 0;
    config.api_port = 0;
    config.build = false;
    config.bin_dir = bin_dir(&root)?;
    let cloud = LocalCloud::start(config, |_| {}).await?;
    let outputs = &cloud.stack().outputs;
    let sdk = cloud.sdk_config();
    let token = localcloud::token::mint(&sdk, outputs, "Admin", TimeDelta::minutes(60)).await?;
    let api = Api {
        cloud: &cloud,
        token,
        http: reqwest::Client::new(),
    };

    let brand = api.post("/api/brands", json!({"name": "Bench"})).await?;
    let category = api
        .post("/api/categories", json!({"name": "Bench"}))
        .await?;
    let (brand, category) = (
        brand["id"].as_str().unwrap_or_default(),
        category["id"].as_str().unwrap_or_default(),
    );
    let product = api
        .post(
            "/api/products",
            json!({"name": "Bench Mug", "price": 1299, "currency": "EUR", "status": "active",
                   "categoryId": category, "brandId": brand,
                   "variants": [{"sku": "MUG-S", "name": "Small"}, {"sku": "MUG-L", "name": "Large", "price": 1499}]}),
        )
        .await?;
    let product_id = product["id"].as_str().unwrap_or_default().to_owned();

    // Cold starts against our own Runtime API, with the environment the template gives.
    let env: HashMap<String, String> = HashMap::from([
        (
            "TABLE_NAME".into(),
            outputs["CatalogTableName"]
                .as_str()
                .unwrap_or_default()
                .into(),
        ),
        (
            "CURSOR_KEY_SECRET_ARN".into(),
            "unused-by-get-product".into(),
        ),
        ("AWS_ENDPOINT_URL".into(), cloud.edge_url().into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), "get-product".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            "/aws/lambda/get-product".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into()),
        ("RUST_LOG".into(), "info".into()),
    ]);
    for name in MEASURED {
        let binary = release.join(name);
        let mut inits = Vec::new();
        for _ in 0..COLD_STARTS {
            inits.push(cold_start(&binary, &env, &[], None).await?.0.as_secs_f64() * 1000.0);
        }
        println!("  init             {name}: {}", summary(inits));
    }
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("events/get-product/ok.json"),
    )?)?;
    event["pathParameters"]["id"] = json!(product_id);
    event["rawPath"] = json!(format!("/api/products/{product_id}"));
    event["headers"]
        .as_object_mut()
        .map(|h| h.remove("if-none-match"));
    let (_, rss) = cold_start(&release.join("get-product"), &env, &[], Some(event)).await?;
    println!(
        "  RSS after first invocation  get-product: {:.1} MB",
        rss.unwrap_or(0) as f64 / 1024.0
    );

    let path = format!("/api/products/{product_id}");
    api.time_gets(&path, 20).await?; // warm every instance up
    println!(
        "  warm GET /api/products/{{id}} through the local gateway: {}",
        summary(api.time_gets(&path, GETS).await?)
    );

    // A 10,000-product catalog, bulk-imported, then a filtered list.
    let catalog = catalog::dynamo::DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        outputs["CatalogTableName"].as_str().unwrap_or_default(),
        catalog::cursor::CursorKey::Fixed(catalog::cursor::Signer::new("unused")),
    );
    let now = shop_domain::Clock::now(&shop_domain::SystemClock);
    let products: Vec<catalog::domain::Product> = (0..CATALOG)
        .map(|i| {
            let input = catalog::domain::ProductInput::from_json(&json!({
                "name": format!("Bench product {i:05}"), "price": 500 + (i * 7_919) % 20_000,
                "currency": "EUR", "status": "active", "categoryId": category, "brandId": brand,
            }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            catalog::domain::Product::create(
                input,
                "bench",
                now - TimeDelta::seconds(i as i64),
                shop_domain::ProductId::new(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    catalog
        .import(&products)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let list = format!(
        "/api/products?category={category}&minPrice=2000&maxPrice=9000&sortBy=price&pageSize=20"
    );
    api.time_gets(&list, 5).await?;
    println!(
        "  filtered GET /api/products, {} products, through the local gateway: {}",
        CATALOG + 1,
        summary(api.time_gets(&list, LISTS).await?)
    );
    cart_bench(&cloud, &api, &product_id).await?;
    checkout_bench(&cloud, &api, &product_id).await?;
    inventory_bench(&cloud, &api, &product_id).await?;
    cloud.stop().await;
    Ok(())
}

/// Concurrent reservations per round of [`inventory_bench`].
const RESERVATIONS: usize = 50;

/// The time for [`RESERVATIONS`] concurrent `reserve-stock` invocations of one unit through the
/// edge's Invoke API (debug builds, as the local cloud runs them; more at once than the
/// function's local concurrency): a warm-up round, then a timed one, each reserving 1 of a
/// unit with at least that many available, so every one of them must win.
async fn inventory_bench(
    cloud: &LocalCloud,
    api: &Api<'_>,
    product_id: &str,
) -> anyhow::Result<()> {
    let http = &api.http;
    let stock = format!("{}/api/inventory/{product_id}/MUG-L", cloud.api_url());
    let name = &cloud.stack().resources["ReserveStockFunction"].physical_id;
    let invoke = format!(
        "{}/2015-03-31/functions/{name}/invocations",
        cloud.edge_url()
    );
    for round in ["warm-up", "timed"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let response = http
                .put(&stock)
                .bearer_auth(&api.token)
                .json(&json!({"onHand": RESERVATIONS * 2, "lowStockThreshold": 0}))
                .send()
                .await?;
            if response.status() == 200 {
                break;
            }
            if Instant::now() > deadline {
                bail!("PUT {stock}: {}", response.status());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let started = Instant::now();
        let calls = (0..RESERVATIONS).map(|_| {
            let body = json!({"reservationId": shop_domain::ReservationId::new(), "holdSeconds": 60,
                "items": [{"productId": product_id, "sku": "MUG-L", "quantity": 1}]});
            let invoke = &invoke;
            async move {
                let one = Instant::now();
                let response = http.post(invoke).body(body.to_string()).send().await?;
                let failed = response.headers().contains_key("x-amz-function-error");
                let payload = response.text().await?;
                if failed {
                    bail!("reserve-stock failed: {payload}");
                }
                anyhow::Ok(one.elapsed().as_secs_f64() * 1000.0)
            }
        });
        let each = futures::future::try_join_all(calls).await?;
        let total = started.elapsed().as_secs_f64() * 1000.0;
        if round == "timed" {
            println!(
                "  {RESERVATIONS} concurrent reserve-stock of one unit through the edge: {total:.0} ms in all; each {}",
                summary(each)
            );
        }
    }
    Ok(())
}

/// The cart's two hot routes through the local gateway, release builds (inventory's
/// `get-stock-levels` and discounts' `evaluate-discounts`, which both invoke, are debug
/// builds): `POST /api/cart/items` (each add timed, its line then removed untimed, so the
/// line never reaches 99) and `GET /api/cart` of a one-line cart, [`CART_REQUESTS`] each.
async fn cart_bench(cloud: &LocalCloud, api: &Api<'_>, product_id: &str) -> anyhow::Result<()> {
    let http = &api.http;
    let url = |path: &str| format!("{}{path}", cloud.api_url());
    // Stock the unit once inventory knows the product; the cart learns it from the same events.
    let stock = url(&format!("/api/inventory/{product_id}/MUG-S"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = http
            .put(&stock)
            .bearer_auth(&api.token)
            .json(&json!({"onHand": 1_000_000, "lowStockThreshold": 0}))
            .send()
            .await?;
        if response.status() == 200 {
            break;
        }
        if Instant::now() > deadline {
            bail!("PUT {stock}: {}", response.status());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let user = shop_domain::UserId::new().to_string();
    let token = localcloud::token::mint_for(
        &cloud.sdk_config(),
        &cloud.stack().outputs,
        "User",
        &user,
        TimeDelta::minutes(60),
    )
    .await?;
    let add = json!({"productId": product_id, "sku": "MUG-S", "quantity": 1});
    let item = url(&format!("/api/cart/items/{product_id}~MUG-S"));
    let mut adds = Vec::with_capacity(CART_REQUESTS);
    let mut round = 0;
    while adds.len() < CART_REQUESTS {
        let started = Instant::now();
        let response = http
            .post(url("/api/cart/items"))
            .bearer_auth(&token)
            .json(&add)
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        round += 1;
        match status.as_u16() {
            200 => adds.push(ms),
            // Until the cart's projection has the product (the first rounds only).
            404 if adds.is_empty() && round < 300 => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            other => bail!("POST /api/cart/items answered {other}"),
        }
        // Warm-up: the first ten adds are not counted.
        if round <= 10 {
            adds.clear();
        }
        let removed = http.delete(&item).bearer_auth(&token).send().await?;
        if removed.status() != 200 {
            bail!("DELETE {item} answered {}", removed.status());
        }
    }
    println!(
        "  POST /api/cart/items through the local gateway: {}",
        summary(adds)
    );
    http.post(url("/api/cart/items"))
        .bearer_auth(&token)
        .json(&add)
        .send()
        .await?;
    let mut gets = Vec::with_capacity(CART_REQUESTS);
    for i in 0..CART_REQUESTS + 10 {
        let started = Instant::now();
        let response = http
            .get(url("/api/cart"))
            .bearer_auth(&token)
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        if status != 200 {
            bail!("GET /api/cart answered {status}");
        }
        if i >= 10 {
            gets.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!(
        "  GET /api/cart (one line) through the local gateway: {}",
        summary(gets)
    );
    Ok(())
}

/// [`CHECKOUTS`] checkouts of one line, one after another, each by a new buyer: the time of
/// `POST /api/orders/checkout` to its 202, then (once the order shows its payment page,
/// untimed) the time from pressing Pay on the mock gateway to `GET /api/orders/{id}` saying
/// `CONFIRMED` (polled every 20 ms). The unit was stocked by [`cart_bench`].
async fn checkout_bench(cloud: &LocalCloud, api: &Api<'_>, product_id: &str) -> anyhow::Result<()> {
    let http = &api.http;
    let url = |path: &str| format!("{}{path}", cloud.api_url());
    let address = json!({"fullName": "Bench Buyer", "line1": "1 Bench Road", "city": "Benchton",
                         "postalCode": "12345", "country": "DE"});
    let (mut checkouts, mut confirmations) = (Vec::new(), Vec::new());
    for round in 0..CHECKOUTS + 5 {
        let token = localcloud::token::mint_for(
            &cloud.sdk_config(),
            &cloud.stack().outputs,
            "User",
            &shop_domain::UserId::new().to_string(),
            TimeDelta::minutes(60),
        )
        .await?;
        let added = http
            .post(url("/api/cart/items"))
            .bearer_auth(&token)
            .json(&json!({"productId": product_id, "sku": "MUG-S", "quantity": 1}))
            .send()
            .await?;
        if added.status() != 200 {
            bail!("POST /api/cart/items answered {}", added.status());
        }
        let started = Instant::now();
        let placed = http
            .post(url("/api/orders/checkout"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("bench-{round}"))
            .json(&json!({ "shippingAddress": address }))
            .send()
            .await?;
        let status = placed.status();
        let placed: Value = placed.json().await?;
        let checkout_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status != 202 {
            bail!("POST /api/orders/checkout answered {status}: {placed}");
        }
        let order_url = url(&format!(
            "/api/orders/{}",
            placed["orderId"].as_str().unwrap_or("")
        ));
        let order = |token: String| {
            let order_url = order_url.clone();
            async move {
                let answer: Value = http
                    .get(&order_url)
                    .bearer_auth(token)
                    .send()
                    .await?
                    .json()
                    .await?;
                anyhow::Ok(answer)
            }
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let page = loop {
            let answer = order(token.clone()).await?;
            if let Some(page) = answer["payment"]["paymentUrl"].as_str() {
                break page.to_owned();
            }
            if answer["status"] != "PENDING" || Instant::now() > deadline {
                bail!("the order never showed a payment page: {answer}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let paid_at = Instant::now();
        let paid = http
            .post(&page)
            .json(&json!({"outcome": "success"}))
            .send()
            .await?;
        if paid.status() != 200 {
            bail!("the gateway answered {}", paid.status());
        }
        loop {
            let answer = order(token.clone()).await?;
            match answer["status"].as_str() {
                Some("CONFIRMED") => break,
                Some("PENDING_PAYMENT") if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => bail!("the paid order did not confirm: {answer}"),
            }
        }
        // Warm-up: the first five are not counted.
        if round >= 5 {
            checkouts.push(checkout_ms);
            confirmations.push(paid_at.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!(
        "  POST /api/orders/checkout (202) through the local gateway: {}",
        summary(checkouts)
    );
    println!(
        "  pay on the mock gateway → order CONFIRMED: {}",
        summary(confirmations)
    );
    Ok(())
}
