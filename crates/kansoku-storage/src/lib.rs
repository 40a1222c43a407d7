//! Object storage: where stored files live and how they are encoded.
//!
//! This crate owns
//! - the bucket layout ([`layout`]): the only code that knows object paths;
//! - object-store construction ([`store`]): local disk by default, S3-compatible when configured,
//!   handed to everyone else as an [`ObjectStore`] handle;
//! - the Parquet encoding of stream data ([`parquet_file`]), one data file with its index as flush
//!   and compaction write it ([`data_file`]), the row order inside a file
//!   ([`cluster`]), the series-sorted files of metrics streams with their series index
//!   ([`series_layout`]), and the mapping from a stream schema to
//!   an Arrow schema, including reading older data with a newer schema ([`schema`]);
//! - the interface through which the write path exposes not-yet-stored data to the read path
//!   ([`fresh`]), so that ingest and query never depend on each other.
//!
//! The file manifest itself lives in the metadata database (`kansoku-meta`).

pub mod cluster;
pub mod data_file;
mod error;
pub mod fresh;
pub mod layout;
pub mod parquet_file;
pub mod partition;
pub mod schema;
pub mod series_layout;
pub mod store;

pub use error::{Error, Result};
pub use fresh::{FreshData, FreshSnapshot, NoFreshData, ReportedFresh};
pub use store::{ObjectStore, StorageConfig};

/// Version of the data-file format written by this build (stored in the manifest and in the
/// Parquet key-value metadata as `kansoku.format_version`).
pub const DATA_FORMAT_VERSION: i64 = 1;
