//! Calling another service's internal function (one with no route) synchronously: the cart
//! asks inventory for stock levels and discounts for the discount that applies.
//!
//! An internal function takes and returns JSON. It fails in two ways, kept apart here:
//! a *named* failure (`errorType` such as `InsufficientStock`, see
//! [`TaskError`](crate::lambda::TaskError)) is an answer the caller acts on, so it is
//! `Ok(Err(FunctionError))`; anything else (throttling, a crash, a timeout, an unreadable
//! answer) is `Err(DomainError::Unavailable)`.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::DomainError;

use crate::aws::sdk_error;
use crate::lambda::{NON_RETRYABLE, RETRYABLE};

/// A named failure reported by the invoked function (`{"errorType","errorMessage"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FunctionError {
    /// The function's `errorType`, e.g. `InsufficientStock`.
    #[serde(rename = "errorType")]
    pub error_type: String,
    /// Its `errorMessage`.
    #[serde(rename = "errorMessage", default)]
    pub message: String,
}

/// A client for one internal function, named by its name or ARN.
#[derive(Clone, Debug)]
pub struct Function {
    client: Client,
    name: String,
}

impl Function {
    /// The function `name` (or ARN), called with `client`.
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// Invokes the function with `input` and waits for its answer.
    pub async fn call<I, O>(&self, input: &I) -> Result<Result<O, FunctionError>, DomainError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        let payload = serde_json::to_vec(input)
            .map_err(|err| DomainError::Internal(format!("invoke input: {err}")))?;
        let output = self
            .client
            .invoke()
            .function_name(&self.name)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|err| sdk_error("Invoke", err))?;
        let body = output.payload().map(Blob::as_ref).unwrap_or_default();
        answer(&self.name, output.function_error().is_some(), body)
    }
}

/// Reads an invocation's answer: the output, a named failure, or `Unavailable`.
fn answer<O: DeserializeOwned>(
    function: &str,
    failed: bool,
    body: &[u8],
) -> Result<Result<O, FunctionError>, DomainError> {
    if failed {
        let error: FunctionError = serde_json::from_slice(body).map_err(|err| {
            DomainError::Unavailable(format!("{function} failed without an error body: {err}"))
        })?;
        if error.error_type == RETRYABLE || error.error_type == NON_RETRYABLE {
            return Err(DomainError::Unavailable(format!(
                "{function}: {}: {}",
                error.error_type, error.message
            )));
        }
        return Ok(Err(error));
    }
    serde_json::from_slice(body)
        .map(Ok)
        .map_err(|err| DomainError::Unavailable(format!("{function} answered unreadably: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_named_failures_and_breakage_are_told_apart() {
        let ok: Result<Result<u32, _>, _> = answer("f", false, b"7");
        assert_eq!(ok, Ok(Ok(7)));
        let named: Result<Result<u32, _>, _> = answer(
            "f",
            true,
            br#"{"errorType":"InsufficientStock","errorMessage":"p1/s1"}"#,
        );
        assert_eq!(named.unwrap().unwrap_err().error_type, "InsufficientStock");
        for body in [
            br#"{"errorType":"Retryable","errorMessage":"x"}"#.as_slice(),
            b"not json",
        ] {
            let broken: Result<Result<u32, _>, _> = answer("f", true, body);
            assert!(
                matches!(broken, Err(DomainError::Unavailable(_))),
                "{broken:?}"
            );
        }
        let unreadable: Result<Result<u32, _>, _> = answer("f", false, b"{}");
        assert!(matches!(unreadable, Err(DomainError::Unavailable(_))));
    }
}
