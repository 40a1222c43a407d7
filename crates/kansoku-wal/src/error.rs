//! Errors of the WAL crate. Every I/O error carries the path it happened on.

use std::path::PathBuf;

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the WAL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("wal i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A payload larger than [`crate::MAX_PAYLOAD_LEN`] was appended.
    #[error("wal payload of {len} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An earlier write failed and the segment could not be repaired; the WAL refuses writes until
    /// the process restarts.
    #[error("wal is unavailable after an unrecoverable write failure: {0}")]
    Poisoned(String),
    /// The writer thread has stopped.
    #[error("wal writer has stopped")]
    Stopped,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::Io { .. } | Error::Poisoned(_) | Error::Stopped => ErrorCode::Unavailable,
        }
    }
}
