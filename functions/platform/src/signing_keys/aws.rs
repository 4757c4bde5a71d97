//! The AWS side of the ports: the secret in Secrets Manager, the documents in S3, and the
//! HTTPS PUT to CloudFormation's pre-signed `ResponseURL`.
//!
//! These live with the one function that writes keys rather than in `shop-adapters`: signers
//! only read the secret, through [`CachedSecrets`](shop_adapters::secrets::CachedSecrets)
//! and [`KeySet::from_secret_string`], and nothing else writes to the public bucket.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use shop_adapters::aws::sdk_error;
use shop_adapters::tokens::KeySet;
use shop_domain::DomainError;

use super::{CustomResourceResponse, KeyStore, PublicObjects, ResponseSender};

/// `Cache-Control` of the published documents: the gateway caches keys on its own terms
/// (up to 2 h); this only bounds what a CDN or browser in between may keep.
pub const CACHE_CONTROL: &str = "max-age=300";

/// The key set as the string value of one secret, and its public JWKS as the value of another.
#[derive(Debug, Clone)]
pub struct SecretsManagerKeyStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    public_secret_id: String,
}

impl SecretsManagerKeyStore {
    /// A store for the private secret `secret_id` and the public copy `public_secret_id`
    /// (names or ARNs).
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        public_secret_id: String,
    ) -> Self {
        Self {
            client,
            secret_id,
            public_secret_id,
        }
    }

    async fn put(&self, secret_id: &str, value: String) -> Result<(), DomainError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| sdk_error("Secrets Manager PutSecretValue", e))?;
        Ok(())
    }
}

#[async_trait]
impl KeyStore for SecretsManagerKeyStore {
    async fn load(&self) -> Result<Option<KeySet>, DomainError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| sdk_error("Secrets Manager GetSecretValue", e))?;
        Ok(KeySet::from_secret_string(
            output.secret_string().unwrap_or_default(),
        )?)
    }

    async fn save(&self, keys: &KeySet) -> Result<(), DomainError> {
        self.put(&self.secret_id, keys.to_secret_string()).await
    }

    async fn save_public(&self, jwks: &Value) -> Result<(), DomainError> {
        self.put(&self.public_secret_id, jwks.to_string()).await
    }
}

/// Public JSON objects in one S3 bucket (readable through its bucket policy).
#[derive(Debug, Clone)]
pub struct S3PublicObjects {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3PublicObjects {
    /// Objects in `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }
}

#[async_trait]
impl PublicObjects for S3PublicObjects {
    async fn put_json(&self, key: &str, body: &Value) -> Result<(), DomainError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.to_string().into_bytes()))
            .content_type("application/json")
            .cache_control(CACHE_CONTROL)
            .send()
            .await
            .map_err(|e| sdk_error("S3 PutObject", e))?;
        Ok(())
    }
}

/// PUTs custom-resource answers over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpResponseSender {
    client: reqwest::Client,
}

impl HttpResponseSender {
    /// A sender with a 30 s timeout: well inside the function's 60 s, so a hung connection
    /// still ends in a logged error and a Lambda retry.
    pub fn new() -> Result<Self, DomainError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl ResponseSender for HttpResponseSender {
    async fn send(&self, url: &str, response: &CustomResourceResponse) -> Result<(), DomainError> {
        let body = serde_json::to_vec(response).expect("a response always serializes");
        // No Content-Type: the URL is pre-signed without one, and S3 rejects a request whose
        // headers differ from what was signed.
        let answer = self.client.put(url).body(body).send().await.map_err(|e| {
            DomainError::Unavailable(format!("PUT to the CloudFormation ResponseURL failed: {e}"))
        })?;
        let status = answer.status();
        if !status.is_success() {
            let text = answer.text().await.unwrap_or_default();
            return Err(DomainError::Unavailable(format!(
                "the CloudFormation ResponseURL answered {status}: {}",
                text.chars().take(500).collect::<String>()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::put;

    use super::super::ResponseStatus;
    use super::*;

    type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

    /// A stand-in for the pre-signed S3 URL on 127.0.0.1:0 that records each PUT and answers
    /// with `status`.
    async fn response_url(status: StatusCode) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/{*path}",
                put(
                    move |State(seen): State<Seen>,
                          uri: axum::http::Uri,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        seen.lock().unwrap().push((uri.to_string(), headers, body));
                        status
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (
            format!("http://{addr}/response/abc?X-Amz-Signature=f00"),
            seen,
        )
    }

    fn response() -> CustomResourceResponse {
        CustomResourceResponse {
            status: ResponseStatus::Success,
            reason: None,
            physical_resource_id: "arn:aws:secretsmanager:eu-west-1:1:secret:k".into(),
            stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/shop-dev/x".into(),
            request_id: "r1".into(),
            logical_resource_id: "SigningKeys".into(),
            data: Some(serde_json::json!({"CurrentKid": "k1"})),
        }
    }

    #[tokio::test]
    async fn answer_is_put_as_json_without_a_content_type() {
        let (url, seen) = response_url(StatusCode::OK).await;
        HttpResponseSender::new()
            .unwrap()
            .send(&url, &response())
            .await
            .unwrap();

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (uri, headers, body) = &seen[0];
        assert_eq!(uri, "/response/abc?X-Amz-Signature=f00");
        assert!(headers.get("content-type").is_none(), "{headers:?}");
        let sent: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(sent["Status"], "SUCCESS");
        assert_eq!(sent["PhysicalResourceId"], response().physical_resource_id);
        assert_eq!(sent["Data"]["CurrentKid"], "k1");
        assert!(sent.get("Reason").is_none());
    }

    #[tokio::test]
    async fn a_rejected_answer_is_a_retryable_error() {
        let (url, _) = response_url(StatusCode::FORBIDDEN).await;
        let err = HttpResponseSender::new()
            .unwrap()
            .send(&url, &response())
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(err.to_string().contains("403"), "{err}");
    }
}
