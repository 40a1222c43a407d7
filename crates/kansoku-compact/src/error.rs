//! Errors of the compactor.

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed pass or merge (retried at the next pass; nothing is lost).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
    /// Object storage or encoding failed.
    #[error(transparent)]
    Storage(#[from] kansoku_storage::Error),
    /// Arrow failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A bug.
    #[error("internal compactor error: {0}")]
    Internal(String),
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::Meta(inner) => inner.code(),
            Error::Storage(inner) => inner.code(),
            Error::Arrow(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }
}
