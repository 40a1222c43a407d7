//! Not-yet-stored data, as the read path sees it.
//!
//! The write path keeps recent records in memory until they are flushed to Parquet. The read path
//! must see them, each exactly once, also while a flush is committing. The protocol:
//!
//! 1. A flush writes its Parquet files, commits their manifest rows, and only then drops the
//!    flushed data from memory.
//! 2. [`FreshData::snapshot`] returns the in-memory batches *and* the manifest paths that the
//!    in-memory data will become (`pending_paths`), atomically.
//! 3. The reader lists the manifest after taking the snapshot and skips `pending_paths`.
//!
//! Data dropped from memory before the snapshot was committed before it, so the later manifest
//! read sees its file; data still in memory is read from memory and its file, if already
//! committed, is skipped.

use std::collections::HashSet;

use arrow::array::RecordBatch;
use kansoku_core::StreamKey;

/// The in-memory data of one stream at one instant.
#[derive(Debug, Default, Clone)]
pub struct FreshSnapshot {
    /// Record batches (each with its own schema; conform them to the stream's schema).
    pub batches: Vec<RecordBatch>,
    /// Manifest paths whose contents are among `batches`; skip them when listing files.
    pub pending_paths: HashSet<String>,
}

/// Something that holds not-yet-stored data (the ingester).
pub trait FreshData: Send + Sync + 'static {
    /// The stream's in-memory batches overlapping `[start, end)` µs, and their pending paths.
    fn snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot;
}

/// A source with no fresh data (a querier without a local ingester, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFreshData;

impl FreshData for NoFreshData {
    fn snapshot(&self, _stream: &StreamKey, _start: i64, _end: i64) -> FreshSnapshot {
        FreshSnapshot::default()
    }
}
