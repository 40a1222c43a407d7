//! The alerts crate's error type.

use kansoku_core::{CodedError, ErrorCode};

/// Alert errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template, destination or alert document is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A destination URL is malformed or not allowed in principle.
    #[error("{0}")]
    InvalidDestination(String),
    /// A destination URL reaches an address the SSRF guard refuses.
    #[error("destination blocked by the SSRF guard: {0}")]
    Blocked(String),
    /// Sending failed (after retries).
    #[error("delivery failed: {0}")]
    DeliveryFailed(String),
    /// A destination's `rate_limit_per_hour` is used up.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Something with the same name exists.
    #[error("{0}")]
    Conflict(String),
    /// The alert's query failed.
    #[error("query failed: {0}")]
    Query(#[from] kansoku_query::Error),
    /// The alert's PromQL expression failed.
    #[error("PromQL query failed: {0}")]
    Promql(#[from] kansoku_promql::Error),
    /// A dashboard declared as code could not be applied.
    #[error("dashboard: {0}")]
    Dashboard(#[from] kansoku_dashboards::Error),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid(_) | Error::InvalidDestination(_) | Error::Blocked(_) => {
                ErrorCode::BadRequest
            }
            Error::DeliveryFailed(_) => ErrorCode::Unavailable,
            Error::RateLimited(_) => ErrorCode::TooManyRequests,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Query(error) => error.code(),
            Error::Dashboard(error) => error.code(),
            Error::Promql(error) => error.code(),
            Error::Meta(error) => error.code(),
        }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
