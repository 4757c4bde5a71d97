//! `reserve-discount`: internal (the checkout invokes it): reserve an order's discount uses.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        discounts::internal::reserve_discount(&deps, event)
    }))
    .await
}
