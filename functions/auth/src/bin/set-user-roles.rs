//! `set-user-roles`: PUT /api/admin/users/{id}/roles (Admin).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = auth::Deps::from_env().await?;
    run(service_fn(|request| {
        auth::accounts::set_user_roles(&deps, request)
    }))
    .await
}
