//! `get-stock-levels`: the cart asks what is available of up to 100 units (internal, invoked).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::reservations::get_stock_levels(&deps, event)
    }))
    .await
}
