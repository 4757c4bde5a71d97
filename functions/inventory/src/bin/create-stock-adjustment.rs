//! `create-stock-adjustment`: `POST /api/inventory/{productId}/{sku}/adjustments` (the product's Seller, Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    run(service_fn(|request| {
        inventory::stock::create_stock_adjustment(&deps, request)
    }))
    .await
}
