//! The words every kansoku crate shares.
//!
//! This crate owns the vocabulary of the system and nothing else: organisation and stream names
//! (and the normalisation rules that make user input into them), the stream types, the column
//! type lattice used for schema evolution, per-stream settings and ingest pipelines (their
//! persisted form), reserved column names, and the
//! error-code funnel ([`ErrorCode`], [`CodedError`]) that lets the server map any crate's error to
//! one HTTP status in one place.
//!
//! It does no I/O and has no async code, so every other crate can depend on it cheaply.
#![warn(missing_docs)]

pub mod error;
pub mod field;
pub mod names;
pub mod pipeline;
pub mod schema;
pub mod settings;
pub mod time;

pub use error::{CodedError, ErrorCode, REFUSAL_HEADER, Refusal};
pub use field::FieldType;
pub use names::{NameError, OrgId, StreamKey, StreamName, StreamType};
pub use schema::{FieldDef, StreamSchema};
pub use settings::StreamSettings;
