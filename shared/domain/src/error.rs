//! [`DomainError`]: the single error type of the domain and of every handler.
//!
//! Each variant carries its HTTP status ([`DomainError::status`]), the public error name used
//! in the JSON error body ([`DomainError::kind`]) and whether retrying could succeed
//! ([`DomainError::is_retryable`]), so the HTTP layer and the event consumers decide from one
//! place instead of re-matching variants everywhere.

use serde::{Deserialize, Serialize};

/// One invalid field of a request or entity: `{"field": "price", "message": "must be greater than 0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path as the client sent it (`price`, `items[0].quantity`).
    pub field: String,
    /// What is wrong with it, phrased to follow the field name.
    pub message: String,
}

impl FieldError {
    /// A field error for `field` saying `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in the domain, classified by who must act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule; the details say which fields (400).
    #[error("invalid input: {}", join_fields(.0))]
    Validation(Vec<FieldError>),
    /// The addressed resource does not exist (404).
    #[error("{resource} `{id}` was not found")]
    NotFound {
        /// What kind of thing was looked up (`product`, `order`).
        resource: String,
        /// The id that was looked up.
        id: String,
    },
    /// The request clashes with the current state, e.g. a duplicate or a lost concurrent update (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is well-formed but the resource is not in a state that allows it, e.g.
    /// cancelling a shipped order, or a `categoryId` that does not exist (422).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// A conditional request header did not hold, e.g. `If-Match` with a stale version (412).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The caller is known but may not do this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller is not (validly) authenticated (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The caller must slow down (429).
    #[error("too many requests: retry after {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds the caller should wait; sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// Infrastructure failed in a way a retry may fix: throttling, timeouts, 5xx (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a misconfiguration; retrying will not help (500).
    #[error("internal error: {0}")]
    Internal(String),
}

fn join_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    /// A validation error about a single field.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A not-found error for `resource` with `id`.
    pub fn not_found(resource: impl Into<String>, id: impl ToString) -> Self {
        Self::NotFound {
            resource: resource.into(),
            id: id.to_string(),
        }
    }

    /// The HTTP status code this error answers with.
    ///
    /// `Unprocessable` (422) is a business-state rule ("order already shipped");
    /// `PreconditionFailed` (412) is only for failed conditional headers (`If-Match`).
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict(_) => 409,
            Self::Unprocessable(_) => 422,
            Self::PreconditionFailed(_) => 412,
            Self::TooManyRequests { .. } => 429,
            Self::Internal(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// The public error name, the `error` field of the JSON error body.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationError",
            Self::NotFound { .. } => "NotFound",
            Self::Conflict(_) => "Conflict",
            Self::Unprocessable(_) => "Unprocessable",
            Self::PreconditionFailed(_) => "PreconditionFailed",
            Self::Forbidden(_) => "Forbidden",
            Self::Unauthorized(_) => "Unauthorized",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Unavailable(_) => "ServiceUnavailable",
            Self::Internal(_) => "InternalError",
        }
    }

    /// Whether the same request may succeed later without change.
    ///
    /// Only infrastructure trouble qualifies; everything else would fail the same way again,
    /// so an event consumer should not burn its retries on it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::TooManyRequests { .. })
    }

    /// The field errors of a validation error; empty for every other variant.
    pub fn details(&self) -> &[FieldError] {
        match self {
            Self::Validation(fields) => fields,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_status_and_name() {
        let cases = [
            (
                DomainError::validation("price", "must be > 0"),
                400,
                "ValidationError",
            ),
            (DomainError::not_found("product", "x"), 404, "NotFound"),
            (DomainError::Conflict("dup".into()), 409, "Conflict"),
            (
                DomainError::Unprocessable("shipped".into()),
                422,
                "Unprocessable",
            ),
            (
                DomainError::PreconditionFailed("stale version".into()),
                412,
                "PreconditionFailed",
            ),
            (DomainError::Forbidden("no".into()), 403, "Forbidden"),
            (DomainError::Unauthorized("no".into()), 401, "Unauthorized"),
            (
                DomainError::TooManyRequests {
                    retry_after_secs: 1,
                },
                429,
                "TooManyRequests",
            ),
            (
                DomainError::Unavailable("db".into()),
                503,
                "ServiceUnavailable",
            ),
            (DomainError::Internal("bug".into()), 500, "InternalError"),
        ];
        for (err, status, kind) in cases {
            assert_eq!(err.status(), status, "{err}");
            assert_eq!(err.kind(), kind, "{err}");
        }
    }

    #[test]
    fn only_infrastructure_errors_are_retryable() {
        assert!(DomainError::Unavailable("throttled".into()).is_retryable());
        assert!(
            DomainError::TooManyRequests {
                retry_after_secs: 3
            }
            .is_retryable()
        );
        assert!(!DomainError::Internal("bug".into()).is_retryable());
        assert!(!DomainError::validation("a", "b").is_retryable());
    }

    #[test]
    fn validation_message_lists_every_field() {
        let err = DomainError::Validation(vec![
            FieldError::new("price", "must be greater than 0"),
            FieldError::new("name", "is required"),
        ]);
        assert_eq!(
            err.to_string(),
            "invalid input: price: must be greater than 0; name: is required"
        );
        assert_eq!(err.details().len(), 2);
    }
}
