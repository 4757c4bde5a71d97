//! `list-categories`: `GET /api/categories` (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::from_env().await?;
    run(service_fn(|request| {
        catalog::categories::list_categories(&deps, request)
    }))
    .await
}
