//! `list-discounts`: GET /api/admin/discounts (Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    run(service_fn(|request| {
        discounts::admin::list_discounts(&deps, request)
    }))
    .await
}
