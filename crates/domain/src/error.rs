//! Domain errors. What the user sees (a field message, "not found") is kept apart from what is
//! logged (the store failure's detail, which never contains personal data).

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The form field or JSON property the message is about.
    pub field: String,
    /// A message written for the person filling in the form.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {reason}")]
    Forbidden { reason: String },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A storage failure. The detail is for the log only (it carries no personal data).
    #[error("storage failure")]
    Store(#[source] StoreFailure),
}

#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct StoreFailure {
    pub detail: String,
    /// True when retrying the same transaction may succeed (serialization failure, busy).
    pub retryable: bool,
}

impl Error {
    pub fn store(detail: impl Into<String>) -> Self {
        Error::Store(StoreFailure {
            detail: detail.into(),
            retryable: false,
        })
    }

    pub fn validation(field: &str, message: &str) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// A stable, machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "not_found",
            Error::Forbidden { .. } => "forbidden",
            Error::Validation(_) => "validation_failed",
            Error::Conflict(_) => "conflict",
            Error::Store(_) => "internal_error",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Store(StoreFailure {
                retryable: true,
                ..
            })
        )
    }
}
