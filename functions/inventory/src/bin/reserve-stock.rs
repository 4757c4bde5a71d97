//! `reserve-stock`: the checkout holds an order's stock, all or nothing (internal, invoked).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::reservations::reserve_stock(&deps, event)
    }))
    .await
}
