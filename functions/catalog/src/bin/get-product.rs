//! `get-product`: `GET /api/products/{id}` (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::from_env().await?;
    run(service_fn(|request| {
        catalog::products::get_product(&deps, request)
    }))
    .await
}
