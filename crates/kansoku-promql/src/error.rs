//! Errors of the PromQL engine, with Prometheus' error types.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a query failed. The messages are Prometheus' own where it has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The query does not parse, or a parameter is invalid (`bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// The query failed while being evaluated (`execution`, 422).
    #[error("{0}")]
    Execution(String),
    /// The query would hold more samples than allowed (`execution`, 422).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query ran out of time (`timeout`, 503).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// Reading series failed (`internal`, 500).
    #[error("{0}")]
    Storage(String),
    /// The evaluation could not run (`internal`, 500).
    #[error("{0}")]
    Internal(String),
}

impl kansoku_core::CodedError for Error {
    fn code(&self) -> kansoku_core::ErrorCode {
        use kansoku_core::ErrorCode;
        match self {
            Error::BadData(_) => ErrorCode::BadRequest,
            Error::Execution(_) | Error::TooManySamples(_) => ErrorCode::Unprocessable,
            // Prometheus answers a timed-out query with 503.
            Error::Timeout(_) => ErrorCode::Unavailable,
            Error::Storage(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl Error {
    /// Prometheus' `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::BadData(_) => "bad_data",
            Error::Execution(_) | Error::TooManySamples(_) => "execution",
            Error::Timeout(_) => "timeout",
            Error::Storage(_) | Error::Internal(_) => "internal",
        }
    }
}
