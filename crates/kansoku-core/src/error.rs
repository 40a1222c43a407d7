//! The error-code funnel.
//!
//! Every crate has its own error enum; each implements [`CodedError`] and answers one of the few
//! [`ErrorCode`]s below. The server maps an `ErrorCode` to an HTTP status in exactly one `match`,
//! so a new code fails to compile until it is mapped.

/// What kind of failure an error is, independent of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed or names something invalid; retrying it will not help.
    BadRequest,
    /// No or wrong credentials.
    Unauthorized,
    /// Valid credentials that may not do this.
    Forbidden,
    /// The named thing does not exist (or is not visible to the caller).
    NotFound,
    /// The thing already exists or was changed concurrently.
    Conflict,
    /// The request body (or a record in it) is larger than a configured limit.
    PayloadTooLarge,
    /// The request's content type or encoding is not supported.
    UnsupportedMediaType,
    /// The caller should slow down; retry after a delay.
    TooManyRequests,
    /// The server is temporarily unable to take the request (overload, start-up); retry later.
    Unavailable,
    /// The operation ran out of time.
    Timeout,
    /// The client did not send its request (its body) in time.
    RequestTimeout,
    /// The request is well-formed but could not be carried out (a query failing while it is
    /// evaluated: Prometheus' `execution` errors).
    Unprocessable,
    /// This node does not run the role that answers the request (a node of a cluster that runs
    /// only some roles); another node does. Retrying here will not help.
    MisdirectedRequest,
    /// A bug or an unexpected failure of a dependency; details are logged, not returned.
    Internal,
}

impl ErrorCode {
    /// Whether a client should retry the same request later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::TooManyRequests | ErrorCode::Unavailable | ErrorCode::Timeout
        )
    }
}

/// Why an ingester refused a write without storing any of it, so that a router may send it to
/// another ingester (`overloaded`, `draining`) or must hand it back to the sender (`quota`).
/// Answered in the header [`REFUSAL_HEADER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Full, starting, or unsure of its lease: nothing stored; another ingester may take it.
    Overloaded,
    /// Stopping (or fenced): nothing stored; another ingester may take it.
    Draining,
    /// The organisation is over a quota: nothing stored; retrying elsewhere would multiply the
    /// per-node quota, so the sender gets the answer.
    Quota,
}

/// The response header naming a [`Refusal`].
pub const REFUSAL_HEADER: &str = "x-kansoku-refusal";

impl Refusal {
    /// The header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Overloaded => "overloaded",
            Refusal::Draining => "draining",
            Refusal::Quota => "quota",
        }
    }
}

/// An error that knows its [`ErrorCode`].
pub trait CodedError: std::error::Error + Send + Sync + 'static {
    /// The kind of failure.
    fn code(&self) -> ErrorCode;

    /// For retryable errors, the suggested delay before retrying, in seconds.
    fn retry_after_secs(&self) -> Option<u64> {
        None
    }

    /// For a write refused whole before anything was stored, why (see [`Refusal`]).
    fn refusal(&self) -> Option<Refusal> {
        None
    }
}
