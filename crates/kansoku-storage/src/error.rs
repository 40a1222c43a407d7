//! Errors of the storage crate.

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong storing or encoding data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object-store configuration is incomplete or invalid.
    #[error("invalid storage configuration: {0}")]
    Config(String),
    /// The object store failed.
    #[error("object store error on '{path}': {source}")]
    ObjectStore {
        /// The object.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// A local file could not be synced.
    #[error("cannot sync {path}: {source}")]
    Sync {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Arrow failed (a cast or a batch with a wrong shape).
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet encoding or decoding failed.
    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::BadRequest,
            Error::ObjectStore { .. } | Error::Sync { .. } => ErrorCode::Unavailable,
            Error::Arrow(_) | Error::Parquet(_) => ErrorCode::Internal,
        }
    }
}
