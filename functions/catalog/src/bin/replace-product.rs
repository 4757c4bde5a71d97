//! `replace-product`: `PUT /api/products/{id}` (Seller, own products).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::from_env().await?;
    run(service_fn(|request| {
        catalog::products::replace_product(&deps, request)
    }))
    .await
}
