//! `delete-discount`: DELETE /api/admin/discounts/{id} (Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = discounts::Deps::from_env().await?;
    run(service_fn(|request| {
        discounts::admin::delete_discount(&deps, request)
    }))
    .await
}
