//! `inventory-on-catalog-events`: `ProductCreated`, `ProductModified` and `ProductDeleted` from
//! the catalog (bus rule → SQS → this function) keep the inventory's products and units.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = inventory::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        inventory::events::inventory_on_catalog_events(&deps, event)
    }))
    .await
}
