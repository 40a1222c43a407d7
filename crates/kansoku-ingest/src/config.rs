//! Configuration of the write path (built by the server from `KANSOKU_*` settings).

use std::path::PathBuf;
use std::time::Duration;

/// Limits and behaviour of ingestion.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// This node's id (names WAL checkpoints and data files).
    pub node_id: String,
    /// Directory of the WAL segments.
    pub wal_dir: PathBuf,
    /// `fdatasync` before acknowledging (on by default; off trades durability for speed).
    pub wal_fsync: bool,
    /// Largest record, in bytes of names and values.
    pub max_record_bytes: usize,
    /// Most fields in one record.
    pub max_fields_per_record: usize,
    /// Most columns in one stream.
    pub max_fields_per_stream: usize,
    /// Longest field name, in bytes.
    pub max_field_name_bytes: usize,
    /// Default nested-object depth flattened into columns.
    pub flatten_level: u32,
    /// Default zone for timestamps without one.
    pub default_time_zone: String,
    /// Oldest accepted event time, relative to now.
    pub max_age: Duration,
    /// Furthest accepted event time in the future.
    pub max_future: Duration,
    /// The in-memory table is frozen and flushed to Parquet at this size.
    pub memtable_flush_bytes: usize,
    /// Above this much unflushed data, ingest answers 503 with `Retry-After`.
    pub memtable_max_bytes: usize,
    /// The in-memory table is flushed at least this often.
    pub flush_interval: Duration,
    /// Map `name-YYYY.MM.DD` bulk indexes to the stream `name`.
    pub bulk_strip_date_suffix: bool,
    /// Per-organisation ingest rate and storage quotas (0 = none).
    pub quotas: crate::quota::QuotaConfig,
    /// How long a record id is remembered to drop re-sent copies, where a stream sets none
    /// (0 = off; see `crate::dedup`).
    pub dedup_window: Duration,
    /// Most record ids remembered by this node.
    pub dedup_max_ids: usize,
    /// The lease this process holds on `node_id` (scale-out on PostgreSQL), or none (a single
    /// process on its own database). Every flush commits only while the lease names this
    /// instance, and flushed files carry its epoch.
    pub lease: Option<LeaseIdentity>,
}

/// The instance and epoch of the lease a process holds on its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseIdentity {
    /// This process's instance id.
    pub instance: String,
    /// The epoch of its claim (never reused for the node).
    pub epoch: i64,
}

impl IngestConfig {
    /// Defaults for a node whose WAL lives in `wal_dir`.
    pub fn with_defaults(node_id: impl Into<String>, wal_dir: impl Into<PathBuf>) -> IngestConfig {
        IngestConfig {
            node_id: node_id.into(),
            wal_dir: wal_dir.into(),
            wal_fsync: true,
            max_record_bytes: 4 * 1024 * 1024,
            max_fields_per_record: 1_000,
            max_fields_per_stream: 5_000,
            max_field_name_bytes: 256,
            flatten_level: 3,
            default_time_zone: "UTC".to_string(),
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_future: Duration::from_secs(24 * 3600),
            memtable_flush_bytes: 48 * 1024 * 1024,
            memtable_max_bytes: 128 * 1024 * 1024,
            quotas: crate::quota::QuotaConfig::default(),
            flush_interval: Duration::from_secs(60),
            bulk_strip_date_suffix: true,
            dedup_window: Duration::from_secs(600),
            dedup_max_ids: 2_000_000,
            lease: None,
        }
    }
}
