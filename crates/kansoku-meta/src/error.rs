//! Errors of the metadata store.

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The DSN's scheme is neither `sqlite:` nor `postgres://`.
    #[error("unsupported metadata dsn '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedDsn(String),
    /// The database could not be reached.
    #[error("cannot connect to metadata database {dsn}: {source}")]
    Connect {
        /// The DSN, password redacted.
        dsn: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A statement failed.
    #[error("metadata query '{operation}' failed: {source}")]
    Query {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A row holds a value this version cannot read.
    #[error("metadata {what} is unreadable: {detail}")]
    Corrupt {
        /// Which kind of value.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The row to insert exists already (or was changed concurrently).
    #[error("{0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Another process took over this node's lease: this one must stop writing.
    #[error(
        "node {node}'s lease is held by another instance than {instance}: this process was fenced and stops writing"
    )]
    Fenced {
        /// The node id.
        node: String,
        /// The fenced instance.
        instance: String,
    },
    /// The database answered, but too slowly for the answer to be used.
    #[error("metadata {operation} took {elapsed:?}, too long to be used; retry shortly")]
    TooSlow {
        /// What was being done.
        operation: &'static str,
        /// How long it took.
        elapsed: std::time::Duration,
    },
}

impl Error {
    /// A `map_err` helper naming the operation.
    pub(crate) fn query(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
        move |source| Error::Query { operation, source }
    }
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::UnsupportedDsn(_) => ErrorCode::BadRequest,
            Error::Connect { .. } | Error::Query { .. } | Error::TooSlow { .. } => {
                ErrorCode::Unavailable
            }
            Error::Corrupt { .. } => ErrorCode::Internal,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Fenced { .. } => ErrorCode::Unavailable,
            Error::NotFound(_) => ErrorCode::NotFound,
        }
    }
}

/// Whether a driver error is a unique/primary-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || db.message().contains("UNIQUE constraint failed")
                || db.code().is_some_and(|code| code == "23505")
        }
        _ => false,
    }
}
