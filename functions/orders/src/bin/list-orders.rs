//! `list-orders`: GET /api/orders (User: mine, newest first).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    run(service_fn(|request| {
        orders::orders::list_orders(&deps, request)
    }))
    .await
}
