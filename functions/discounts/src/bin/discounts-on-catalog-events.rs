//! `discounts-on-catalog-events`: the catalog's product and category events (bus rule → SQS → this function) keep the projection.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        discounts::events::discounts_on_catalog_events(&deps, event)
    }))
    .await
}
