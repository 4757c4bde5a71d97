//! `get-jwks`: GET /.well-known/jwks.json (public).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let keys = auth::PublicKeys::from_env().await?;
    run(service_fn(|request| {
        auth::sessions::get_jwks(&keys, request)
    }))
    .await
}
