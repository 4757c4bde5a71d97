//! `get-address`: internal (the checkout invokes it): one of a user's addresses.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = users::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        users::internal::get_address(&deps, event)
    }))
    .await
}
