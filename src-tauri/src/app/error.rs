//! The one error type commands return. It serialises as `{ code, message }`
//! (the generated `UiError`), so the UI branches on a stable code and shows
//! a message meant for people.

use herald_core::store::StoreError;
use serde::Serialize;

use crate::dto::UiError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Network(String),
    /// A form value the user has to fix; `field` names the input.
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
}

impl AppError {
    fn code(&self) -> &'static str {
        match self {
            AppError::Store(StoreError::NotFound { .. }) => "not_found",
            AppError::Store(StoreError::Invalid(_) | StoreError::Duplicate { .. })
            | AppError::Invalid(_)
            | AppError::Field { .. } => "invalid",
            AppError::Store(_) => "storage",
            AppError::Network(_) => "network",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        UiError {
            code: self.code().to_string(),
            message: self.to_string(),
            field: match self {
                AppError::Field { field, .. } => Some((*field).to_string()),
                _ => None,
            },
        }
        .serialize(serializer)
    }
}
