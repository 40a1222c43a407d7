//! Errors of the metrics read side.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why reading metrics failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
    /// A stored file could not be read.
    #[error("reading stored metrics: {0}")]
    Storage(String),
}

impl From<Error> for kansoku_promql::Error {
    fn from(error: Error) -> Self {
        kansoku_promql::Error::Storage(error.to_string())
    }
}
