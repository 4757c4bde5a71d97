//! `flag-order`: internal (the checkout saga, when a step failed for good): NEEDS_ATTENTION and a message to ops.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::flagging_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        orders::internal::flag_order(&deps, event)
    }))
    .await
}
