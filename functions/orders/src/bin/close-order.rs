//! `close-order`: internal (the checkout saga's compensation): the order FAILED or CANCELLED with its reason.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        orders::internal::close_order(&deps, event)
    }))
    .await
}
