//! Recent data in memory: the *active* generation receiving writes, and *frozen* generations
//! waiting to be flushed to Parquet.
//!
//! Every generation corresponds to a contiguous range of WAL segments. Freezing happens together
//! with a WAL rotation (under the ingester's generation lock), so the frozen data is exactly the
//! data of the segments up to the sealed one. Each frozen stream-hour is assigned the path its
//! Parquet file will have, which [`FreshData`] reports as pending (see `kansoku_storage::fresh`).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use kansoku_core::StreamKey;
use kansoku_core::time::hour_start;
use kansoku_storage::layout::{data_file_path, flush_file_stem};
use kansoku_storage::partition::{PartitionGroup, group_rows};
use kansoku_storage::{FreshData, FreshSnapshot};

/// One batch in memory.
#[derive(Debug)]
pub struct MemBatch {
    /// The rows.
    pub batch: RecordBatch,
    /// Ingested bytes of the rows.
    pub raw_bytes: u64,
    /// Smallest `_timestamp`.
    pub min_ts: i64,
    /// Largest `_timestamp`.
    pub max_ts: i64,
    /// Memory the batch takes.
    pub mem_bytes: usize,
    /// The UTC hours its rows fall in.
    pub hours: BTreeSet<i64>,
}

impl MemBatch {
    /// Wraps a batch whose first column is `_timestamp`.
    pub fn new(batch: RecordBatch, raw_bytes: u64) -> MemBatch {
        let timestamps = batch.column(0).as_primitive::<Int64Type>();
        let min_ts = arrow::compute::min(timestamps).unwrap_or(0);
        let max_ts = arrow::compute::max(timestamps).unwrap_or(0);
        let hours = if hour_start(min_ts) == hour_start(max_ts) {
            BTreeSet::from([hour_start(min_ts)])
        } else {
            timestamps
                .values()
                .iter()
                .map(|ts| hour_start(*ts))
                .collect()
        };
        MemBatch {
            mem_bytes: batch.get_array_memory_size(),
            batch,
            raw_bytes,
            min_ts,
            max_ts,
            hours,
        }
    }

    /// The hour/partition groups of its rows.
    pub fn groups(&self, keys: &[String]) -> Vec<PartitionGroup> {
        if keys.is_empty() {
            return self
                .hours
                .iter()
                .map(|hour| PartitionGroup {
                    hour: *hour,
                    values: Vec::new(),
                })
                .collect();
        }
        group_rows(&self.batch, keys).groups
    }

    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.max_ts >= start && self.min_ts < end
    }
}

/// The batches of one stream in one generation.
#[derive(Debug, Default, Clone)]
pub struct StreamBuffer {
    /// Batches in arrival order.
    pub batches: Vec<Arc<MemBatch>>,
    /// Memory they take.
    pub bytes: usize,
}

#[derive(Debug)]
struct Generation {
    streams: HashMap<StreamKey, StreamBuffer>,
    bytes: usize,
    started: Instant,
}

impl Generation {
    fn new() -> Generation {
        Generation {
            streams: HashMap::new(),
            bytes: 0,
            started: Instant::now(),
        }
    }
}

/// A frozen generation.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// Sequence number.
    pub id: u64,
    /// The last WAL segment whose data it holds.
    pub last_segment: u64,
    /// Its data per stream.
    pub streams: HashMap<StreamKey, StreamBuffer>,
    /// The files each stream's data will be written to.
    pub files: HashMap<StreamKey, Vec<PendingFile>>,
    /// The partition keys each stream's files are split by.
    pub partition_keys: HashMap<StreamKey, Vec<String>>,
    /// Memory it takes.
    pub bytes: usize,
}

/// A data file a frozen generation will write.
#[derive(Debug, Clone)]
pub struct PendingFile {
    /// Its hour and partition values.
    pub group: PartitionGroup,
    /// Its object path.
    pub path: String,
}

struct State {
    active: Generation,
    frozen: VecDeque<Frozen>,
    next_frozen_id: u64,
    /// The last WAL segment frozen (or, at start, already flushed): this node's files of later
    /// segments hold data that was active here.
    frozen_through: u64,
}

/// The in-memory table.
pub struct Memtable {
    state: RwLock<State>,
    node_id: String,
    /// The epoch of the lease this process holds on the node, if any: flushed files' names
    /// carry it (`kansoku_storage::layout::flush_file_stem`).
    epoch: Option<i64>,
}

impl Memtable {
    /// An empty table for node `node_id` (held at lease `epoch`, if any), whose stored files
    /// hold WAL segments up to `flushed_through` at most.
    pub fn new(node_id: &str, epoch: Option<i64>, flushed_through: u64) -> Memtable {
        Memtable {
            state: RwLock::new(State {
                active: Generation::new(),
                frozen: VecDeque::new(),
                next_frozen_id: 1,
                frozen_through: flushed_through,
            }),
            node_id: node_id.to_string(),
            epoch,
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        match self.state.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        match self.state.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds batches to the active generation.
    pub fn insert(&self, batches: impl IntoIterator<Item = (StreamKey, MemBatch)>) {
        let mut state = self.write();
        for (key, batch) in batches {
            let bytes = batch.mem_bytes;
            let buffer = state.active.streams.entry(key).or_default();
            buffer.batches.push(Arc::new(batch));
            buffer.bytes += bytes;
            state.active.bytes += bytes;
        }
    }

    /// `(active bytes, frozen bytes)`.
    pub fn bytes(&self) -> (usize, usize) {
        let state = self.read();
        let frozen = state.frozen.iter().map(|f| f.bytes).sum();
        (state.active.bytes, frozen)
    }

    /// Whether the active generation holds data, and since when it was started.
    pub fn active_state(&self) -> (bool, Instant) {
        let state = self.read();
        (!state.active.streams.is_empty(), state.active.started)
    }

    /// The streams with data in the active generation.
    pub fn active_streams(&self) -> Vec<StreamKey> {
        self.read().active.streams.keys().cloned().collect()
    }

    /// Freezes the active generation as holding the data of WAL segments up to `last_segment`,
    /// assigning every stream's rows to files by hour and by `partition_keys`. The caller holds
    /// the generation lock and has just rotated the WAL.
    pub fn freeze(
        &self,
        last_segment: u64,
        partition_keys: &HashMap<StreamKey, Vec<String>>,
    ) -> Option<u64> {
        let mut state = self.write();
        if state.active.streams.is_empty() {
            state.active.started = Instant::now();
            return None;
        }
        let generation = std::mem::replace(&mut state.active, Generation::new());
        let stem = flush_file_stem(&self.node_id, self.epoch, last_segment);
        let files = generation
            .streams
            .iter()
            .map(|(key, buffer)| {
                let keys = partition_keys
                    .get(key)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let groups: BTreeSet<PartitionGroup> = buffer
                    .batches
                    .iter()
                    .flat_map(|batch| batch.groups(keys))
                    .collect();
                let files = groups
                    .into_iter()
                    .map(|group| PendingFile {
                        path: data_file_path(key, &group, &stem),
                        group,
                    })
                    .collect();
                (key.clone(), files)
            })
            .collect();
        let id = state.next_frozen_id;
        state.next_frozen_id += 1;
        state.frozen_through = state.frozen_through.max(last_segment);
        state.frozen.push_back(Frozen {
            id,
            last_segment,
            streams: generation.streams,
            files,
            partition_keys: partition_keys.clone(),
            bytes: generation.bytes,
        });
        Some(id)
    }

    /// The oldest frozen generation (flushes go in order).
    pub fn oldest_frozen(&self) -> Option<Frozen> {
        self.read().frozen.front().cloned()
    }

    /// Drops a flushed generation.
    pub fn remove_frozen(&self, id: u64) {
        self.write().frozen.retain(|frozen| frozen.id != id);
    }

    /// Drops all data of a stream (the stream is being deleted).
    pub fn drop_stream(&self, key: &StreamKey) {
        let mut state = self.write();
        if let Some(buffer) = state.active.streams.remove(key) {
            state.active.bytes -= buffer.bytes;
        }
        for frozen in state.frozen.iter_mut() {
            if let Some(buffer) = frozen.streams.remove(key) {
                frozen.bytes -= buffer.bytes;
            }
            frozen.files.remove(key);
        }
    }
}

#[async_trait::async_trait]
impl FreshData for Memtable {
    async fn snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot {
        self.snapshot_now(stream, start, end)
    }
}

impl Memtable {
    /// [`FreshData::snapshot`] of this node's memory, taken at once.
    pub fn snapshot_now(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot {
        let state = self.read();
        let mut batches = Vec::new();
        let mut pending_paths = HashSet::new();
        let mut take = |buffer: &StreamBuffer| {
            batches.extend(
                buffer
                    .batches
                    .iter()
                    .filter(|b| b.overlaps(start, end))
                    .map(|b| b.batch.clone()),
            );
        };
        if let Some(buffer) = state.active.streams.get(stream) {
            take(buffer);
        }
        for frozen in &state.frozen {
            if let Some(buffer) = frozen.streams.get(stream) {
                take(buffer);
            }
            if let Some(files) = frozen.files.get(stream) {
                pending_paths.extend(files.iter().map(|file| file.path.clone()));
            }
        }
        FreshSnapshot {
            batches,
            pending_paths,
            frozen_through: std::collections::BTreeMap::from([(
                self.node_id.clone(),
                state.frozen_through,
            )]),
            unread_nodes: std::collections::BTreeSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use kansoku_core::time::MICROS_PER_HOUR;
    use kansoku_core::{OrgId, StreamName, StreamType};

    fn key(name: &str) -> StreamKey {
        StreamKey::new(
            OrgId::parse("default").unwrap(),
            StreamType::Logs,
            StreamName::normalise(name).unwrap(),
        )
    }

    fn batch(timestamps: Vec<i64>) -> MemBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "_timestamp",
            DataType::Int64,
            false,
        )]));
        MemBatch::new(
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(timestamps))]).unwrap(),
            10,
        )
    }

    #[test]
    fn snapshots_see_active_and_frozen_data_with_pending_paths() {
        let table = Memtable::new("n1", None, 0);
        table.insert([(key("a"), batch(vec![1, 2])), (key("b"), batch(vec![5]))]);
        let id = table.freeze(7, &HashMap::new()).unwrap();
        table.insert([(key("a"), batch(vec![MICROS_PER_HOUR + 1]))]);
        let snapshot = table.snapshot_now(&key("a"), 0, i64::MAX);
        assert_eq!(snapshot.batches.len(), 2);
        assert_eq!(
            snapshot.pending_paths,
            HashSet::from([
                "files/default/logs/a/1970/01/01/00/n1-0000000000000007.parquet".to_string()
            ])
        );
        assert_eq!(
            table
                .snapshot_now(&key("a"), MICROS_PER_HOUR, i64::MAX)
                .batches
                .len(),
            1
        );
        table.remove_frozen(id);
        let after = table.snapshot_now(&key("a"), 0, i64::MAX);
        assert_eq!(after.batches.len(), 1);
        assert!(after.pending_paths.is_empty());
    }

    #[test]
    fn files_of_data_that_was_active_at_the_snapshot_are_covered() {
        let table = Memtable::new("n1", None, 3);
        table.insert([(key("a"), batch(vec![1]))]);
        // The snapshot reads the row while it is active...
        let snapshot = table.snapshot_now(&key("a"), 0, i64::MAX);
        assert_eq!(snapshot.batches.len(), 1);
        assert!(snapshot.pending_paths.is_empty());
        // ...then a whole flush runs before the reader lists the manifest.
        let id = table.freeze(4, &HashMap::new()).unwrap();
        let path = table.oldest_frozen().unwrap().files[&key("a")][0]
            .path
            .clone();
        table.remove_frozen(id);
        assert!(snapshot.covers(&path, "n1"), "the row would be read twice");
        // Files flushed before the snapshot, and other nodes' files, are read.
        assert!(!snapshot.covers(
            "files/default/logs/a/1970/01/01/00/n1-0000000000000003.parquet",
            "n1"
        ));
        assert!(!snapshot.covers(&path, "n2"));
        assert!(
            !table
                .snapshot_now(&key("a"), 0, i64::MAX)
                .covers(&path, "n1")
        );
    }

    #[test]
    fn batches_spanning_hours_get_one_path_per_hour() {
        let table = Memtable::new("n1", None, 0);
        table.insert([(key("a"), batch(vec![1, 2 * MICROS_PER_HOUR + 1]))]);
        table.freeze(1, &HashMap::new()).unwrap();
        let frozen = table.oldest_frozen().unwrap();
        assert_eq!(frozen.files[&key("a")].len(), 2);
        assert!(
            table.freeze(2, &HashMap::new()).is_none(),
            "nothing new to freeze"
        );
    }

    #[test]
    fn dropping_a_stream_removes_it_everywhere() {
        let table = Memtable::new("n1", None, 0);
        table.insert([(key("a"), batch(vec![1])), (key("b"), batch(vec![1]))]);
        table.freeze(1, &HashMap::new());
        table.insert([(key("a"), batch(vec![2]))]);
        table.drop_stream(&key("a"));
        assert!(
            table
                .snapshot_now(&key("a"), 0, i64::MAX)
                .batches
                .is_empty()
        );
        assert_eq!(table.snapshot_now(&key("b"), 0, i64::MAX).batches.len(), 1);
        let (active, frozen) = table.bytes();
        assert_eq!(active, 0);
        assert!(frozen > 0);
    }
}
