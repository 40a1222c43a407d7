//! Not-yet-stored data, as the read path sees it.
//!
//! The write path keeps recent records in memory until they are flushed to Parquet. The read path
//! must see them, each exactly once, also while a flush is committing. The protocol:
//!
//! 1. A flush freezes the in-memory data (naming its files after the last WAL segment it holds),
//!    writes the Parquet files, commits their manifest rows, and only then drops the flushed data
//!    from memory.
//! 2. [`FreshData::snapshot`] returns, atomically, the in-memory batches, the manifest paths the
//!    frozen part of them will become (`pending_paths`), and the last WAL segment frozen so far
//!    (`frozen_through`).
//! 3. The reader lists the manifest after taking the snapshot and skips the files the snapshot
//!    [covers](FreshSnapshot::covers): `pending_paths`, and this node's files of segments after
//!    `frozen_through` — those were frozen after the snapshot, from data it read while active.
//!
//! Data dropped from memory before the snapshot was committed before it, so the later manifest
//! read sees its file; data still in memory is read from memory, and its file, if committed in the
//! meantime, is skipped — whether the data was frozen or still active when the snapshot was taken.

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
    /// The node holding the data and the last WAL segment it had frozen at the snapshot.
    pub frozen_through: Option<(String, u64)>,
}

impl FreshSnapshot {
    /// Whether the stored file `path`, written by `node`, holds rows that are among `batches`
    /// (or were written after the snapshot): the reader skips it.
    pub fn covers(&self, path: &str, node: &str) -> bool {
        if self.pending_paths.contains(path) {
            return true;
        }
        match &self.frozen_through {
            Some((own, through)) if own == node => {
                crate::layout::flush_segment(path).is_some_and(|segment| segment > *through)
            }
            _ => false,
        }
    }
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
