//! Errors of the write path that fail a whole request. Problems with single records are
//! [`RecordError`]s and reported per record instead.

use kansoku_core::{CodedError, ErrorCode, NameError, Refusal};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of a whole ingest request (or of a background flush).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body cannot be read as the format it claims to be.
    #[error("{0}")]
    InvalidBody(String),
    /// The body's content type or encoding is not one this API takes.
    #[error("{0}")]
    UnsupportedBody(String),
    /// The body is larger than the limit once decompressed.
    #[error("{0}")]
    BodyTooLarge(String),
    /// A stream or organisation name is invalid.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// Too much data is waiting to be flushed; retry later.
    #[error("ingest buffers are full ({detail}); retry after {retry_after_secs} s")]
    Overloaded {
        /// What is full.
        detail: String,
        /// Suggested delay.
        retry_after_secs: u64,
    },
    /// The organisation is over one of its quotas; retry later.
    #[error("organisation '{org}' is over its {what}; retry after {retry_after_secs} s")]
    QuotaExceeded {
        /// The organisation.
        org: String,
        /// Which quota, with its figures.
        what: String,
        /// Suggested delay.
        retry_after_secs: u64,
    },
    /// The node's lease went unrenewed for half its length (the metadata database is
    /// unreachable): another instance may have taken the node over, so nothing is acknowledged.
    #[error(
        "this node cannot renew its lease in the metadata database, so it cannot be sure it still owns its write-ahead log; writes are refused until a renewal succeeds (nothing was stored; send them again, to another node if there is one)"
    )]
    LeaseUnsure,
    /// Another instance took over this node's lease: this process stops writing and exits.
    #[error(
        "another process took over this node's id; this one is stopping (nothing was stored; send the data again)"
    )]
    Fenced,
    /// The node is still replaying its WAL or shutting down.
    #[error("ingester is not ready ({0}); retry shortly")]
    NotReady(&'static str),
    /// The WAL failed.
    #[error(transparent)]
    Wal(#[from] kansoku_wal::Error),
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
    #[error("internal ingest error: {0}")]
    Internal(String),
}

impl From<crate::decode::remote_write::BodyError> for Error {
    fn from(error: crate::decode::remote_write::BodyError) -> Error {
        use crate::decode::remote_write::BodyError;
        match error {
            BodyError::Unsupported(message) => Error::UnsupportedBody(message),
            BodyError::Invalid(message) => Error::InvalidBody(message),
            BodyError::TooLarge(message) => Error::BodyTooLarge(message),
        }
    }
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidBody(_) | Error::InvalidName(_) => ErrorCode::BadRequest,
            Error::UnsupportedBody(_) => ErrorCode::UnsupportedMediaType,
            Error::BodyTooLarge(_) => ErrorCode::PayloadTooLarge,
            Error::Overloaded { .. } | Error::NotReady(_) | Error::LeaseUnsure | Error::Fenced => {
                ErrorCode::Unavailable
            }
            Error::QuotaExceeded { .. } => ErrorCode::TooManyRequests,
            Error::Wal(e) => e.code(),
            Error::Meta(e) => e.code(),
            Error::Storage(e) => e.code(),
            Error::Arrow(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::Overloaded {
                retry_after_secs, ..
            }
            | Error::QuotaExceeded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Error::NotReady(_) | Error::Fenced => Some(1),
            Error::LeaseUnsure => Some(5),
            Error::Wal(_) | Error::Meta(_) | Error::Storage(_) => Some(5),
            _ => None,
        }
    }

    fn refusal(&self) -> Option<Refusal> {
        match self {
            Error::Overloaded { .. } | Error::LeaseUnsure => Some(Refusal::Overloaded),
            Error::NotReady(_) | Error::Fenced => Some(Refusal::Draining),
            Error::QuotaExceeded { .. } => Some(Refusal::Quota),
            _ => None,
        }
    }
}

/// Why a single record was not stored (the label of the discard metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// The record (line, document) is not valid JSON.
    InvalidJson,
    /// The record is not a JSON object.
    NotAnObject,
    /// Its time could not be parsed.
    TimestampUnparsable,
    /// Its time is outside the accepted window.
    TimestampOutOfWindow,
    /// It has more fields than allowed.
    TooManyFields,
    /// It is larger than allowed.
    RecordTooLarge,
    /// A field name is longer than allowed.
    FieldNameTooLong,
    /// The stream already has the maximum number of columns.
    StreamFieldLimit,
    /// A bulk item names an invalid index or none.
    InvalidIndex,
    /// A bulk item's action is not supported or is malformed.
    UnsupportedAction,
    /// An OTLP item (span, log record, metric) is malformed (ids, names).
    InvalidOtlp,
    /// A Loki push entry is malformed (its stream's labels, its time).
    InvalidLoki,
    /// A syslog frame was refused (too large, cut short by the connection's end).
    InvalidSyslog,
    /// A Fluentd forward message or event is malformed (its shape, its time, its record).
    InvalidForward,
    /// A Splunk HEC event is malformed (no `event`, a blank one, its time, its JSON).
    InvalidHec,
    /// A metric series is malformed (no metric name, a label without a name, a repeated label).
    InvalidSeries,
    /// A native histogram sample (not stored; refused with a count).
    NativeHistogram,
}

impl DiscardReason {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscardReason::InvalidJson => "invalid_json",
            DiscardReason::NotAnObject => "not_an_object",
            DiscardReason::TimestampUnparsable => "timestamp_unparsable",
            DiscardReason::TimestampOutOfWindow => "timestamp_out_of_window",
            DiscardReason::TooManyFields => "too_many_fields",
            DiscardReason::RecordTooLarge => "record_too_large",
            DiscardReason::FieldNameTooLong => "field_name_too_long",
            DiscardReason::StreamFieldLimit => "stream_field_limit",
            DiscardReason::InvalidIndex => "invalid_index",
            DiscardReason::UnsupportedAction => "unsupported_action",
            DiscardReason::InvalidOtlp => "invalid_otlp",
            DiscardReason::InvalidLoki => "invalid_loki",
            DiscardReason::InvalidSyslog => "invalid_syslog",
            DiscardReason::InvalidForward => "invalid_forward",
            DiscardReason::InvalidHec => "invalid_hec",
            DiscardReason::InvalidSeries => "invalid_series",
            DiscardReason::NativeHistogram => "native_histogram",
        }
    }
}

/// Why one record was refused, with a message naming the record and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The category.
    pub reason: DiscardReason,
    /// The message returned to the client.
    pub message: String,
}

impl RecordError {
    /// Builds an error.
    pub fn new(reason: DiscardReason, message: impl Into<String>) -> RecordError {
        RecordError {
            reason,
            message: message.into(),
        }
    }
}
