//! `create-brand`: `POST /api/brands` (Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::from_env().await?;
    run(service_fn(|request| {
        catalog::brands::create_brand(&deps, request)
    }))
    .await
}
