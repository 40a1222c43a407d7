//! The dashboards crate's error type.

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Dashboard errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document (dashboard, folder, Grafana export) is invalid; the message names the path.
    #[error("{0}")]
    Invalid(String),
    /// The dashboard or folder does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An id is taken, a hash is stale, or a folder is not empty.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not change this dashboard (built-in, or `role: admin`).
    #[error("{0}")]
    Forbidden(String),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(kansoku_meta::Error),
}

impl From<kansoku_meta::Error> for Error {
    fn from(error: kansoku_meta::Error) -> Self {
        match error {
            kansoku_meta::Error::Conflict(message) => Error::Conflict(message),
            kansoku_meta::Error::NotFound(message) => Error::NotFound(message),
            other => Error::Meta(other),
        }
    }
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid(_) => ErrorCode::BadRequest,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Meta(error) => error.code(),
        }
    }
}
