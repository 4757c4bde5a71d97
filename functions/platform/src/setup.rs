//! What each platform function binary does before serving: read the environment once and
//! build the AWS clients once; its `main` then runs one handler.

use std::sync::Arc;

use shop_adapters::dynamo::TableProbe;
use shop_adapters::eventbridge::BusProbe;
use shop_adapters::{aws, config};

use crate::Deps;
use crate::signing_keys::aws::{HttpResponseSender, S3PublicObjects, SecretsManagerKeyStore};
use crate::signing_keys::{self, issuer_from_value};

impl Deps {
    /// The probes of `get-health`: the platform table (`TABLE_NAME`, `DescribeTable`) and
    /// the shop's bus (`EVENT_BUS_NAME`, `DescribeEventBus`).
    ///
    /// Fails with a message naming the missing variable, so a misconfigured function says so
    /// in its first log line rather than on its first request.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let table = config::required("TABLE_NAME")?;
        let bus = config::required("EVENT_BUS_NAME")?;
        let sdk = aws::sdk_config().await;
        Ok(Deps::new(vec![
            Arc::new(TableProbe::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
            Arc::new(BusProbe::new(aws_sdk_eventbridge::Client::new(&sdk), bus)),
        ]))
    }
}

impl signing_keys::Deps {
    /// What `manage-signing-keys` needs: the key set's secret (`SIGNING_KEYS_SECRET_ARN`),
    /// its public copy (`PUBLIC_KEYS_SECRET_ARN`), the public bucket (`JWKS_BUCKET`), the token issuer (`TOKEN_ISSUER`) and an HTTPS
    /// client for CloudFormation's `ResponseURL`.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let secret = config::required("SIGNING_KEYS_SECRET_ARN")?;
        let public_secret = config::required("PUBLIC_KEYS_SECRET_ARN")?;
        let bucket = config::required("JWKS_BUCKET")?;
        let issuer = issuer_from_value("TOKEN_ISSUER", &config::required("TOKEN_ISSUER")?)?;
        let sdk = aws::sdk_config().await;
        // Behind a custom endpoint (the local edge) bucket names cannot be subdomains.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        let keys = SecretsManagerKeyStore::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            secret.clone(),
            public_secret,
        );
        let objects = S3PublicObjects::new(aws_sdk_s3::Client::from_conf(s3), bucket);
        let responder = HttpResponseSender::new()?;
        Ok(signing_keys::Deps::new(
            Arc::new(keys),
            Arc::new(objects),
            Arc::new(responder),
            issuer,
            secret,
        ))
    }
}
