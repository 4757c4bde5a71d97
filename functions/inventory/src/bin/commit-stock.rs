//! `commit-stock`: the checkout sells a reservation's stock (internal, invoked).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::reservations::commit_stock(&deps, event)
    }))
    .await
}
