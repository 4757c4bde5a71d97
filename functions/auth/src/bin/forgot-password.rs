//! `forgot-password`: POST /api/auth/forgot-password (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = auth::Deps::from_env().await?;
    run(service_fn(|request| {
        auth::passwords::forgot_password(&deps, request)
    }))
    .await
}
