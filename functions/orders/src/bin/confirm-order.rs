//! `confirm-order`: internal (the checkout saga's last step): PENDING_PAYMENT -> CONFIRMED.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        orders::internal::confirm_order(&deps, event)
    }))
    .await
}
