//! `create-payment`: the checkout's payment record and the gateway page to pay it on (internal, invoked by the state machine).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = payments::Deps::paying_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        payments::internal::create_payment(&deps, event)
    }))
    .await
}
