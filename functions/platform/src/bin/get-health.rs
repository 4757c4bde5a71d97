//! `get-health`: GET /api/health (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = platform::Deps::from_env().await?;
    run(service_fn(|request| platform::get_health(&deps, request))).await
}
