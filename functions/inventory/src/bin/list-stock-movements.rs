//! `list-stock-movements`: `GET /api/inventory/{productId}/{sku}/movements` (the product's Seller, Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    run(service_fn(|request| {
        inventory::stock::list_stock_movements(&deps, request)
    }))
    .await
}
