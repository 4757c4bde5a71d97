//! `list-brands`: `GET /api/brands` (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::listing_from_env().await?;
    run(service_fn(|request| {
        catalog::brands::list_brands(&deps, request)
    }))
    .await
}
