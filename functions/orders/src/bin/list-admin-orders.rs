//! `list-admin-orders`: GET /api/admin/orders (Admin; `?status=`).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    run(service_fn(|request| {
        orders::orders::list_admin_orders(&deps, request)
    }))
    .await
}
