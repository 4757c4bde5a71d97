//! `cart-on-catalog-events`: `ProductCreated`, `ProductModified` and `ProductDeleted` from the
//! catalog (bus rule → SQS → this function) keep the cart's product projection.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::store_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        cart::events::cart_on_catalog_events(&deps, event)
    }))
    .await
}
