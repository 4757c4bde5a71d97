//! `get-order`: GET /api/orders/{orderId} (the buyer, a Seller of one of its lines, Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    run(service_fn(|request| {
        orders::orders::get_order(&deps, request)
    }))
    .await
}
