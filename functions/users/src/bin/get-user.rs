//! `get-user`: GET /api/admin/users/{id} (Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = users::Deps::from_env().await?;
    run(service_fn(|request| {
        users::profiles::get_user(&deps, request)
    }))
    .await
}
