//! `clear-cart`: internal (the checkout invokes it): an order's lines cleared from the cart once it is paid.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::store_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        cart::internal::clear_cart(&deps, event)
    }))
    .await
}
