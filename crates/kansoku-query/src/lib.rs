//! The read path: SQL over a stream's stored Parquet files and its not-yet-flushed data.
//!
//! This crate owns user-SQL safety ([`guard`]: one read-only query, no DDL/DML, no table
//! functions, only the caller's streams), OpenObserve's search functions ([`rewrite`],
//! [`functions`]), the stream table provider that prunes by the manifest and by Parquet
//! statistics ([`table`]), and the engine that runs searches with memory and time limits
//! ([`engine`]). It reads fresh data through [`kansoku_storage::FreshData`] and never depends on
//! the write path.

pub mod engine;
mod error;
pub mod functions;
pub mod guard;
pub mod icontains;
pub mod pruning;
pub mod rewrite;
pub mod table;
pub mod values;

pub use engine::{PlannedQuery, QueryConfig, QueryEngine, SearchRequest, SearchResponse};
pub use error::{Error, Result};
pub use values::{FieldValues, ValueCount, ValuesRequest, ValuesResponse};
