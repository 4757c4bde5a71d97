//! `change-password`: POST /api/auth/change-password (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = auth::Deps::signing_from_env().await?;
    run(service_fn(|request| {
        auth::passwords::change_password(&deps, request)
    }))
    .await
}
