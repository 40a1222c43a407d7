//! Not-yet-stored data, as the read path sees it.
//!
//! The write path keeps recent records in memory until they are flushed to Parquet. The read path
//! must see them, each exactly once, also while a flush is committing. The protocol:
//!
//! 1. A flush freezes the in-memory data (naming its files after the last WAL segment it holds),
//!    writes the Parquet files, commits their manifest rows, and only then drops the flushed data
//!    from memory.
//! 2. [`FreshData::snapshot`] returns, atomically per node, the in-memory batches, the manifest
//!    paths the frozen part of them will become (`pending_paths`), and the last WAL segment
//!    frozen so far (`frozen_through`). On a cluster it gathers the snapshots of every ingester
//!    that may hold unflushed records (`kansoku-cluster` `fresh`), each covering only its own
//!    node's files, and names those it could not read (`unread_nodes`): the answer is then
//!    partial, never silently short.
//! 3. The reader lists the manifest after taking the snapshot and skips the files the snapshot
//!    [covers](FreshSnapshot::covers): `pending_paths`, and this node's files of segments after
//!    `frozen_through` — those were frozen after the snapshot, from data it read while active.
//!
//! Data dropped from memory before the snapshot was committed before it, so the later manifest
//! read sees its file; data still in memory is read from memory, and its file, if committed in the
//! meantime, is skipped — whether the data was frozen or still active when the snapshot was taken.
//!
//! Compaction adds one rule: a file may be merged into a compacted file (which no snapshot covers)
//! only once it has been committed for longer than [`MAX_LISTING_DELAY`], and readers list within
//! that delay of their snapshot or start again ([`snapshot_then_list`]). A file whose rows are in
//! a snapshot was committed no earlier than just before it, so it is still itself, not part of a
//! compacted file, when the listing runs.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use kansoku_core::StreamKey;

/// The in-memory data of one stream at one instant.
#[derive(Debug, Default, Clone)]
pub struct FreshSnapshot {
    /// Record batches (each with its own schema; conform them to the stream's schema).
    pub batches: Vec<RecordBatch>,
    /// Manifest paths whose contents are among `batches`; skip them when listing files.
    pub pending_paths: HashSet<String>,
    /// Per node holding some of the data: the last WAL segment it had frozen at its snapshot.
    pub frozen_through: BTreeMap<String, u64>,
    /// Nodes that may hold records of the stream in memory but could not be read: an answer
    /// built on this snapshot is partial.
    pub unread_nodes: BTreeSet<String>,
}

impl FreshSnapshot {
    /// Whether the stored file `path`, written by `node`, holds rows that are among `batches`
    /// (or were written after the snapshot): the reader skips it.
    pub fn covers(&self, path: &str, node: &str) -> bool {
        if self.pending_paths.contains(path) {
            return true;
        }
        match self.frozen_through.get(node) {
            Some(through) => {
                crate::layout::flush_segment(path).is_some_and(|segment| segment > *through)
            }
            None => false,
        }
    }

    /// Adds another node's snapshot (its batches, and the files it covers) to this one.
    pub fn merge(&mut self, other: FreshSnapshot) {
        self.batches.extend(other.batches);
        self.pending_paths.extend(other.pending_paths);
        self.frozen_through.extend(other.frozen_through);
        self.unread_nodes.extend(other.unread_nodes);
    }
}

/// The longest a reader may take between its snapshot and the end of its manifest listing. The
/// compactor merges only files committed longer ago than this (with a margin).
pub const MAX_LISTING_DELAY: Duration = Duration::from_secs(10);

/// How many times a reader starts again when its listing was slower than [`MAX_LISTING_DELAY`]
/// before giving up.
const LISTING_ATTEMPTS: usize = 3;

/// Takes a snapshot of `stream`, then lists its stored files with `list`, and keeps the files the
/// snapshot does not cover (`identify` gives a listed file's path and writing node): every
/// record of `[start, end)` is then in exactly one of the two.
/// A listing slower than [`MAX_LISTING_DELAY`] is started again (a compaction may have merged a
/// covered file in the meantime); after three slow attempts the error of `slow` is returned.
pub async fn snapshot_then_list<F, Fut, T, E>(
    fresh: &dyn FreshData,
    stream: &StreamKey,
    start: i64,
    end: i64,
    list: F,
    identify: fn(&T) -> (&str, &str),
    slow: impl Fn(Duration) -> E,
) -> Result<(FreshSnapshot, Vec<T>), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<T>, E>>,
{
    snapshot_then_list_within(
        MAX_LISTING_DELAY,
        fresh,
        (stream, start, end),
        list,
        identify,
        slow,
    )
    .await
}

async fn snapshot_then_list_within<F, Fut, T, E>(
    max_delay: Duration,
    fresh: &dyn FreshData,
    (stream, start, end): (&StreamKey, i64, i64),
    mut list: F,
    identify: fn(&T) -> (&str, &str),
    slow: impl Fn(Duration) -> E,
) -> Result<(FreshSnapshot, Vec<T>), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<T>, E>>,
{
    let mut elapsed = Duration::ZERO;
    for _ in 0..LISTING_ATTEMPTS {
        let started = Instant::now();
        let snapshot = fresh.snapshot(stream, start, end).await;
        let files = list().await?;
        elapsed = started.elapsed();
        if elapsed > max_delay {
            tracing::warn!(?elapsed, %stream, "listing stored files was slow; listing again");
            continue;
        }
        let files = files
            .into_iter()
            .filter(|file| {
                let (path, node) = identify(file);
                !snapshot.covers(path, node)
            })
            .collect();
        return Ok((snapshot, files));
    }
    Err(slow(elapsed))
}

/// Something that holds not-yet-stored data (the ingester; on a cluster, every ingester).
#[async_trait::async_trait]
pub trait FreshData: Send + Sync + 'static {
    /// The stream's in-memory batches overlapping `[start, end)` µs, and their pending paths.
    async fn snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot;
}

/// A source with no fresh data (a querier without a local ingester, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFreshData;

#[async_trait::async_trait]
impl FreshData for NoFreshData {
    async fn snapshot(&self, _stream: &StreamKey, _start: i64, _end: i64) -> FreshSnapshot {
        FreshSnapshot::default()
    }
}

/// Fresh data of one request: `inner`'s, remembering which nodes could not be read, so the
/// answer can say it is partial (and which nodes it misses).
pub struct ReportedFresh {
    inner: std::sync::Arc<dyn FreshData>,
    unread: Mutex<BTreeSet<String>>,
}

impl ReportedFresh {
    /// Reports on `inner`'s snapshots.
    pub fn new(inner: std::sync::Arc<dyn FreshData>) -> ReportedFresh {
        ReportedFresh {
            inner,
            unread: Mutex::new(BTreeSet::new()),
        }
    }

    /// The nodes some snapshot so far could not read, sorted.
    pub fn unread_nodes(&self) -> Vec<String> {
        self.unread
            .lock()
            .map(|unread| unread.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl FreshData for ReportedFresh {
    async fn snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot {
        let snapshot = self.inner.snapshot(stream, start, end).await;
        if !snapshot.unread_nodes.is_empty()
            && let Ok(mut unread) = self.unread.lock()
        {
            unread.extend(snapshot.unread_nodes.iter().cloned());
        }
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kansoku_core::{OrgId, StreamName, StreamType};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fresh data whose frozen part will become `pending.parquet`, frozen through segment 5 of n1.
    struct Pending;

    #[async_trait::async_trait]
    impl FreshData for Pending {
        async fn snapshot(&self, _stream: &StreamKey, _start: i64, _end: i64) -> FreshSnapshot {
            FreshSnapshot {
                batches: Vec::new(),
                pending_paths: HashSet::from(["pending.parquet".to_string()]),
                frozen_through: BTreeMap::from([("n1".to_string(), 5)]),
                unread_nodes: BTreeSet::new(),
            }
        }
    }

    fn stream() -> StreamKey {
        StreamKey::new(
            OrgId::parse("default").unwrap(),
            StreamType::Logs,
            StreamName::normalise("app").unwrap(),
        )
    }

    fn identify(file: &(String, String)) -> (&str, &str) {
        (&file.0, &file.1)
    }

    fn files() -> Vec<(String, String)> {
        [
            ("pending.parquet", "n1"),
            ("x/n1-0000000000000005.parquet", "n1"),
            ("x/n1-0000000000000006.parquet", "n1"),
            ("x/n2-0000000000000009.parquet", "n2"),
            ("x/compacted.n1-0000000000000009-0.parquet", "n1"),
        ]
        .iter()
        .map(|(path, node)| (path.to_string(), node.to_string()))
        .collect()
    }

    #[tokio::test]
    async fn covered_files_are_skipped_and_compacted_files_never_are() {
        let (_, kept) = snapshot_then_list(
            &Pending,
            &stream(),
            0,
            i64::MAX,
            || async { Ok::<_, String>(files()) },
            identify,
            |elapsed| format!("slow: {elapsed:?}"),
        )
        .await
        .unwrap();
        let kept: Vec<&str> = kept.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            kept,
            [
                "x/n1-0000000000000005.parquet",
                "x/n2-0000000000000009.parquet",
                "x/compacted.n1-0000000000000009-0.parquet"
            ]
        );
    }

    #[tokio::test]
    async fn a_slow_listing_is_taken_again_then_refused() {
        let calls = AtomicUsize::new(0);
        let result = snapshot_then_list_within(
            Duration::from_millis(1),
            &Pending,
            (&stream(), 0, i64::MAX),
            || async {
                calls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, String>(files())
            },
            identify,
            |_| "too slow".to_string(),
        )
        .await;
        assert_eq!(result.unwrap_err(), "too slow");
        assert_eq!(calls.load(Ordering::Relaxed), LISTING_ATTEMPTS);
    }
}
