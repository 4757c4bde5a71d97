//! `price-cart`: internal (the checkout invokes it): the cart priced for an order.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::pricing_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        cart::internal::price_cart(&deps, event)
    }))
    .await
}
