//! `release-stock`: the checkout gives a reservation's stock back (internal, invoked; safe to repeat).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::reservations::release_stock(&deps, event)
    }))
    .await
}
