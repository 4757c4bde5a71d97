//! `get-stock`: `GET /api/inventory/{productId}` (public): the stock of each of a product's units.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    run(service_fn(|request| {
        inventory::stock::get_stock(&deps, request)
    }))
    .await
}
