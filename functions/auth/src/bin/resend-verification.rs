//! `resend-verification`: POST /api/auth/resend-verification (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = auth::Deps::from_env().await?;
    run(service_fn(|request| {
        auth::accounts::resend_verification(&deps, request)
    }))
    .await
}
