//! The AWS SDK configuration every client is built from, and SDK error mapping.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shop_domain::DomainError;

/// Loads the SDK configuration from the environment (region, credentials, endpoint).
///
/// `load_defaults` honours `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_<SERVICE>`):
/// checked in aws-config 1.13 source, where `ConfigLoader::load` falls back to
/// `default_provider::endpoint_url::endpoint_url_provider`, which reads `AWS_ENDPOINT_URL`
/// (`env_service_config.rs` handles the per-service form). That is how the local cloud points
/// every function at its edge on :4566 without any code path of our own.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
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
