//! `evaluate-discounts`: internal (the cart invokes it): the discount a cart gets.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        discounts::internal::evaluate_discounts(&deps, event)
    }))
    .await
}
