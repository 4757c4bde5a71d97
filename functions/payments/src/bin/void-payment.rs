//! `void-payment`: the checkout's compensation voids or refunds the order's payment (internal, invoked).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = payments::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        payments::internal::void_payment(&deps, event)
    }))
    .await
}
