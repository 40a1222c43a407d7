//! Errors of the cluster layer.

use std::path::PathBuf;

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong joining or staying in the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds this volume's lock.
    #[error(
        "{} is locked by another kansoku process: one process per data directory (stop the other, or give this one its own KANSOKU_DATA_DIR)",
        path.display()
    )]
    VolumeInUse {
        /// The lock file.
        path: PathBuf,
    },
    /// A file beside the WAL could not be read or written.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The volume file holds something that is not a volume id.
    #[error(
        "{} does not hold a volume id; restore it (the `volume` of the node in GET /node/cluster/ingesters), or remove it if this volume's node was forgotten",
        path.display()
    )]
    CorruptVolumeId {
        /// The file.
        path: PathBuf,
    },
    /// A lease renewal got no answer in time.
    #[error("the node's lease renewal got no answer within {after:?}")]
    RenewalTimedOut {
        /// How long it waited.
        after: std::time::Duration,
    },
    /// The registry (NATS) failed: unreachable, timed out, or refused an operation.
    #[error("node registry: {0}")]
    Registry(String),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::VolumeInUse { .. } => ErrorCode::Conflict,
            Error::Io { .. } | Error::CorruptVolumeId { .. } => ErrorCode::Internal,
            Error::RenewalTimedOut { .. } => ErrorCode::Timeout,
            Error::Registry(_) => ErrorCode::Unavailable,
            Error::Meta(inner) => inner.code(),
        }
    }
}
