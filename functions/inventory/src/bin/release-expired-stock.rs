//! `release-expired-stock`: every minute (schedule), releases the reservations whose hold lapsed.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::reservations::release_expired_stock(&deps, event)
    }))
    .await
}
