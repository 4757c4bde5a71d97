//! `manage-signing-keys`: the `Custom::SigningKeys` resource and the daily key rotation.

use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = platform::signing_keys::Deps::from_env().await?;
    run(service_fn(|event| {
        platform::signing_keys::manage_signing_keys(&deps, event)
    }))
    .await
}
