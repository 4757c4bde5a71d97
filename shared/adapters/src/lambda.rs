//! Errors of non-HTTP handlers (event consumers, Step Functions tasks) as Lambda diagnostics.
//!
//! The `errorType` of a failed invocation is what Step Functions `Retry`/`Catch` match on and
//! what the logs are searched by, so it says only what matters to them: `Retryable` (the
//! infrastructure failed; try again) or `NonRetryable` (retrying gives the same answer).

use lambda_runtime::Diagnostic;
use shop_domain::DomainError;

/// `errorType` of failures a retry may fix.
pub const RETRYABLE: &str = "Retryable";
/// `errorType` of failures a retry will not fix.
pub const NON_RETRYABLE: &str = "NonRetryable";

/// The diagnostic for `err`: `Retryable` or `NonRetryable`, with the error's `kind` and
/// message (`NotFound: order 01J… was not found`) as the error message.
pub fn diagnostic(err: &DomainError) -> Diagnostic {
    Diagnostic {
        error_type: if err.is_retryable() {
            RETRYABLE
        } else {
            NON_RETRYABLE
        }
        .to_owned(),
        error_message: format!("{}: {err}", err.kind()),
    }
}

/// The error type of event handlers: a [`DomainError`] that `lambda_runtime` turns into a
/// [`diagnostic`]. (A newtype because neither `DomainError` nor `Diagnostic` is ours to
/// connect directly here.)
///
/// ```ignore
/// async fn handle(deps: &Deps, event: LambdaEvent<Input>) -> Result<Output, HandlerError> {
///     todo!()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(pub DomainError);

impl From<DomainError> for HandlerError {
    fn from(err: DomainError) -> Self {
        Self(err)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Self {
        diagnostic(&err.0)
    }
}

/// The error type of internal functions (Step Functions tasks, functions another service
/// invokes): a *named* business failure whose `errorType` the caller matches on
/// (`InsufficientStock`, `UsageLimitReached`; Step Functions `Catch` routes it to a
/// compensation), or an infrastructure failure reported as `Retryable`/`NonRetryable`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// A rule said no; retrying gives the same answer.
    #[error("{error_type}: {message}")]
    Named {
        /// The `errorType`, PascalCase (`InsufficientStock`).
        error_type: &'static str,
        /// What the caller or an operator needs to know (ids, quantities).
        message: String,
    },
    /// Anything else.
    #[error(transparent)]
    Domain(DomainError),
}

impl TaskError {
    /// A named failure.
    pub fn named(error_type: &'static str, message: impl Into<String>) -> Self {
        Self::Named {
            error_type,
            message: message.into(),
        }
    }
}

impl From<DomainError> for TaskError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

impl From<TaskError> for Diagnostic {
    fn from(err: TaskError) -> Self {
        match err {
            TaskError::Named {
                error_type,
                message,
            } => Diagnostic {
                error_type: error_type.to_owned(),
                error_message: message,
            },
            TaskError::Domain(err) => diagnostic(&err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_task_failures_keep_their_name() {
        let d: Diagnostic = TaskError::named("InsufficientStock", "p1/s1: 2 wanted, 1 left").into();
        assert_eq!(d.error_type, "InsufficientStock");
        assert_eq!(d.error_message, "p1/s1: 2 wanted, 1 left");
        let d: Diagnostic = TaskError::from(DomainError::Unavailable("x".into())).into();
        assert_eq!(d.error_type, "Retryable");
    }

    #[test]
    fn infrastructure_failures_are_retryable_diagnostics() {
        let d: Diagnostic = HandlerError::from(DomainError::Unavailable("throttled".into())).into();
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(
            d.error_message,
            "ServiceUnavailable: unavailable: throttled"
        );
    }

    #[test]
    fn rule_violations_are_non_retryable_diagnostics() {
        for err in [
            DomainError::not_found("order", "o1"),
            DomainError::Unprocessable("already shipped".into()),
            DomainError::Internal("bug".into()),
        ] {
            assert_eq!(diagnostic(&err).error_type, "NonRetryable", "{err}");
        }
    }
}
