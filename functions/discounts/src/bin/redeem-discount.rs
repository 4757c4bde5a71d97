//! `redeem-discount`: internal (the checkout invokes it): an order's reserved uses are spent.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        discounts::internal::redeem_discount(&deps, event)
    }))
    .await
}
