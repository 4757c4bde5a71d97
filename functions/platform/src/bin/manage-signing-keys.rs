//! `manage-signing-keys`: the `Custom::SigningKeys` resource and the daily key rotation.
//! Reads its config, builds the clients once, serves.

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn};
use platform::signing_keys::aws::{HttpResponseSender, S3PublicObjects, SecretsManagerKeyStore};
use platform::signing_keys::{Deps, handle, issuer_from_value};
use shop_adapters::{aws, config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let secret = config::required("SIGNING_KEYS_SECRET_ARN")?;
    let bucket = config::required("JWKS_BUCKET")?;
    let issuer = issuer_from_value("TOKEN_ISSUER", &config::required("TOKEN_ISSUER")?)?;
    let sdk = aws::sdk_config().await;
    // Behind a custom endpoint (the local edge) bucket names cannot be subdomains.
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    let deps = Deps::new(
        Arc::new(SecretsManagerKeyStore::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            secret.clone(),
        )),
        Arc::new(S3PublicObjects::new(
            aws_sdk_s3::Client::from_conf(s3),
            bucket,
        )),
        Arc::new(HttpResponseSender::new()?),
        issuer,
        secret,
    );
    run(service_fn(|event| handle(&deps, event))).await
}
