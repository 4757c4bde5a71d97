//! [`SfnTasks`]: the [`TaskTokens`] port on Step Functions (`SendTaskSuccess`,
//! `SendTaskFailure`). A task that is gone (`TaskTimedOut`, `InvalidToken`,
//! `TaskDoesNotExist`) is a [`Delivery::Gone`], not an error: the saga has moved on to its
//! compensation, which voids or refunds the payment.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use shop_adapters::aws::sdk_error;
use shop_domain::DomainError;

use crate::domain::{Delivery, TaskToken, TaskTokens};

/// The error codes that mean the task no longer waits.
const GONE: &[&str] = &["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"];

/// Step Functions.
#[derive(Debug, Clone)]
pub struct SfnTasks {
    client: Client,
}

impl SfnTasks {
    /// Tasks reached through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn delivery<O, E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    operation: &str,
    result: Result<O, SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
) -> Result<Delivery, DomainError> {
    match result {
        Ok(_) => Ok(Delivery::Sent),
        Err(err) => match err.as_service_error().and_then(|e| e.code()) {
            Some(code) if GONE.contains(&code) => Ok(Delivery::Gone(code.to_owned())),
            _ => Err(sdk_error(operation, err)),
        },
    }
}

#[async_trait]
impl TaskTokens for SfnTasks {
    async fn succeed(
        &self,
        token: &TaskToken,
        output: &serde_json::Value,
    ) -> Result<Delivery, DomainError> {
        let result = self
            .client
            .send_task_success()
            .task_token(token.expose())
            .output(output.to_string())
            .send()
            .await;
        delivery("Step Functions SendTaskSuccess", result)
    }

    async fn fail(
        &self,
        token: &TaskToken,
        error: &str,
        cause: &str,
    ) -> Result<Delivery, DomainError> {
        let result = self
            .client
            .send_task_failure()
            .task_token(token.expose())
            .error(error)
            .cause(cause)
            .send()
            .await;
        delivery("Step Functions SendTaskFailure", result)
    }
}
