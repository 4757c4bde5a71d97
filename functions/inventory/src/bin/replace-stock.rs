//! `replace-stock`: `PUT /api/inventory/{productId}/{sku}` (the product's Seller, Admin): on hand and threshold.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    run(service_fn(|request| {
        inventory::stock::replace_stock(&deps, request)
    }))
    .await
}
