//! The AWS SDK configuration every client is built from, and SDK error mapping.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::SharedAsyncSleep;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use base64::Engine;
use shop_domain::DomainError;

/// Loads the SDK configuration from the environment (region, credentials, endpoint), with
/// [`https_client`] as the HTTP client of every service client built from it (and of the
/// credentials providers).
///
/// `defaults(..).load()` (what `load_defaults` does) honours `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_<SERVICE>`):
/// checked in aws-config 1.13 source, where `ConfigLoader::load` falls back to
/// `default_provider::endpoint_url::endpoint_url_provider`, which reads `AWS_ENDPOINT_URL`
/// (`env_service_config.rs` handles the per-service form). That is how the local cloud points
/// every function at its edge on :4566 without any code path of our own.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// The SDK's default HTTPS client (hyper 1.x, rustls with aws-lc, proxy settings from the
/// environment) trusting the Mozilla root store compiled into the binary instead of the
/// system's, with one TLS connector per timeout setting shared by every client built from it.
///
/// Why not the default (aws-smithy-http-client 1.5): its trust store is the system's, which
/// `rustls-native-certs` reads when the first client is built — every file under
/// `SSL_CERT_DIR` if that is set (146 files here), else `SSL_CERT_FILE` or the distribution's
/// bundle — and each client built then makes and discards a TLS connector
/// (`validate_base_client_config`), and its first request makes another, each turning every
/// certificate into a trust anchor again. Here the roots are compiled in (`webpki-root-certs`,
/// which has Amazon Root CA 1–4 and Starfield Services Root G2, the roots of AWS endpoints),
/// nothing is read from disk, and they are parsed once per timeout setting: when the first
/// client is built, for the connector it, every later client and all their requests use.
/// Certificates are verified as before; only the set of trusted roots differs (a CA added to
/// the system store, e.g. for a TLS-intercepting proxy, is not trusted).
///
/// Each call makes a new client with its own connection pool (one per [`sdk_config`]), so
/// pools are never shared across Tokio runtimes (tests run one per test).
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(CompiledRootsClient::default())
}

/// Mozilla's root certificates as the TLS context of every connector. `TrustStore` takes only
/// PEM (which the SDK decodes for each connector it builds), so the compiled-in DER
/// certificates are encoded once, on first use.
static MOZILLA_ROOTS: LazyLock<TlsContext> = LazyLock::new(|| {
    let mut pem = String::with_capacity(200_000);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        base64::engine::general_purpose::STANDARD.encode_string(cert.as_ref(), &mut pem);
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    let roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem);
    TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a trust store is a valid TLS context")
});

/// Connect and read timeouts: what a connector is built for (the SDK's own cache key).
type Timeouts = (Option<Duration>, Option<Duration>);

/// See [`https_client`]. Clones share their connectors.
#[derive(Clone, Debug, Default)]
struct CompiledRootsClient {
    connectors: Arc<RwLock<HashMap<Timeouts, SharedHttpConnector>>>,
}

impl CompiledRootsClient {
    /// The connector for `timeouts`, built on first use exactly as the SDK's default client
    /// builds one, but with [`MOZILLA_ROOTS`].
    fn connector(
        &self,
        timeouts: Timeouts,
        sleep: Option<SharedAsyncSleep>,
    ) -> SharedHttpConnector {
        let cached = self
            .connectors
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&timeouts)
            .cloned();
        if let Some(connector) = cached {
            return connector;
        }
        let mut connectors = self
            .connectors
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| {
                let (connect, read) = timeouts;
                let mut settings = HttpConnectorSettings::builder();
                settings.set_connect_timeout(connect);
                settings.set_read_timeout(read);
                let mut builder = Connector::builder();
                builder.set_connector_settings(Some(settings.build()));
                builder.set_sleep_impl(sleep);
                builder.set_proxy_config(Some(ProxyConfig::from_env()));
                let connector = builder
                    .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                    .tls_context(MOZILLA_ROOTS.clone())
                    .build();
                SharedHttpConnector::new(connector)
            })
            .clone()
    }
}

impl HttpClient for CompiledRootsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        self.connector(timeouts, components.sleep_impl())
    }

    /// Builds the connector of the client's timeouts now, when the client is built (as the
    /// SDK's default client loads its certificates then), unless an earlier client already has.
    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(timeouts) = cfg.load::<TimeoutConfig>() {
            let timeouts = (timeouts.connect_timeout(), timeouts.read_timeout());
            self.connector(timeouts, components.sleep_impl());
        }
        Ok(())
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

/// Maps an SDK error from `operation` onto a [`DomainError`].
///
/// Throttling, server errors (5xx), timeouts and connection failures become
/// [`DomainError::Unavailable`] (retryable); everything else, such as a missing table or a
/// denied permission, is [`DomainError::Internal`]: a misconfiguration that a retry will not
/// fix. The SDK has already retried transient errors itself (standard retry mode) by the time
/// we see one. Callers match the service-specific errors they expect (e.g.
/// `ConditionalCheckFailedException`) before falling back to this.
pub fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> DomainError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{operation} failed: {}", DisplayErrorContext(&err));
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            is_transient(ctx.err().code(), Some(ctx.raw().status().as_u16()))
        }
        _ => false,
    };
    if transient {
        DomainError::Unavailable(message)
    } else {
        DomainError::Internal(message)
    }
}

/// Whether a service error with this code and HTTP status may succeed on retry.
fn is_transient(code: Option<&str>, status: Option<u16>) -> bool {
    const THROTTLING: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
    ];
    code.is_some_and(|c| THROTTLING.contains(&c)) || status.is_some_and(|s| s >= 500 || s == 429)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_compiled_roots_include_the_roots_of_aws_endpoints() {
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .any(|cert| cert.windows(name.len()).any(|w| w == name.as_bytes())),
                "{name} is missing"
            );
        }
    }

    /// A one-request HTTP server answering a DynamoDB `ListTables`; its address.
    async fn list_tables_stub() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0; 4096];
            // Headers, then as much body as they announce.
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                assert!(n > 0, "the client closed the connection");
            }
            let body = r#"{"TableNames":[]}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
        address
    }

    #[tokio::test]
    async fn every_client_and_request_shares_one_tls_connector_built_with_the_first_client() {
        let address = list_tables_stub().await;
        let http = CompiledRootsClient::default();
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(SharedHttpClient::new(http.clone()))
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .endpoint_url(format!("http://{address}"))
            .build();
        let connectors = || http.connectors.read().unwrap().len();
        assert_eq!(connectors(), 0, "nothing is built before a client is");

        let first = aws_sdk_dynamodb::Client::new(&sdk);
        assert_eq!(connectors(), 1, "the first client builds the connector");
        let _second = aws_sdk_dynamodb::Client::new(&sdk);
        let _third = aws_sdk_secretsmanager::Client::new(&sdk);
        assert_eq!(connectors(), 1, "later clients reuse it");

        let tables = first.list_tables().send().await.unwrap();
        assert!(tables.table_names().is_empty());
        assert_eq!(connectors(), 1, "and so does the first request");
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert!(is_transient(
            Some("ProvisionedThroughputExceededException"),
            Some(400)
        ));
        assert!(is_transient(Some("ThrottlingException"), Some(400)));
        assert!(is_transient(None, Some(503)));
        assert!(is_transient(Some("Whatever"), Some(500)));
    }

    #[test]
    fn client_errors_are_not_transient() {
        assert!(!is_transient(Some("ResourceNotFoundException"), Some(400)));
        assert!(!is_transient(Some("AccessDeniedException"), Some(400)));
        assert!(!is_transient(None, Some(404)));
    }
}
