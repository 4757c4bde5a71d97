//! `create-checkout`: POST /api/orders/checkout (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::checkout_from_env().await?;
    run(service_fn(|request| {
        orders::checkout::create_checkout(&deps, request)
    }))
    .await
}
