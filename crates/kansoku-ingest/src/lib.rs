//! The write path: every byte that kansoku stores goes through here.
//!
//! ```text
//! decode/ (json, ndjson, bulk, …) → flatten → transform (the stream's pipeline)
//!   → prepare (limits, event time, columns → Arrow)
//! decode/ (remote_write, OTLP metrics) → samples (series → columnar batches)
//!   → catalog (schema merge) → WAL (kansoku-wal, group commit) → memtable
//!   → flush: Parquet (kansoku-storage) → object store → manifest + WAL checkpoint (kansoku-meta)
//! ```
//!
//! Guarantees (see `docs/durability.md`): a request returns success only after all its accepted
//! records are in the WAL and fsynced; refused records are reported per record and counted by
//! reason; a type conflict never drops a record; memory use is bounded and overload is reported
//! as a retryable error. Not-yet-flushed data is exposed to the read path through
//! [`kansoku_storage::FreshData`], so this crate never depends on the query crate.

pub mod catalog;
pub mod columns;
pub mod config;
pub mod decode;
pub mod dedup;
mod error;
mod flush;
mod gate;
mod ingester;
pub mod memtable;
pub mod metrics;
mod metrics_ingest;
pub mod pipeline;
pub mod prepare;
pub mod quota;
pub mod record;
mod replay;
pub mod report;
pub mod samples;
pub mod timestamp;
pub mod transform;
pub mod walrec;

pub use config::{IngestConfig, LeaseIdentity};
pub use error::{DiscardReason, Error, RecordError, Result};
pub use gate::WriteGate;
pub use ingester::{CommittedBatch, FlushFailure, Ingester};
pub use pipeline::JsonFormat;
pub use report::{BulkItem, BulkReport, IngestReport, StreamReport};
pub use samples::{MetricsReport, MetricsWrite, SeriesWrite};
