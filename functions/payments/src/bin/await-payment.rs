//! `await-payment`: the checkout waits for the gateway (internal, the state machine's `.waitForTaskToken` task).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = payments::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        payments::internal::await_payment(&deps, event)
    }))
    .await
}
