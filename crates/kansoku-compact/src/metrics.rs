//! Metrics of the compactor (`kansoku_compactor_*`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Everything the compactor counts.
#[derive(Clone, Debug)]
pub struct CompactMetrics {
    /// Merges committed.
    pub merges: Counter,
    /// Input files replaced by merges.
    pub merged_files: Counter,
    /// Merges given up because an input had gone.
    pub lost_races: Counter,
    /// Merges and passes that failed (retried at the next pass).
    pub failures: Counter,
    /// Bytes of Parquet read by merges.
    pub read_bytes: Counter,
    /// Bytes of Parquet and indexes written by merges.
    pub written_bytes: Counter,
    /// Duration of merges.
    pub merge_seconds: Histogram,
    /// Files expired by retention.
    pub retention_expired_files: Counter,
    /// Objects deleted after their grace period.
    pub deleted_objects: Counter,
    /// Objects waiting for their grace period to pass.
    pub pending_deletions: Gauge,
    /// Rows left out of merges as copies of an earlier row with the same `_id`.
    pub duplicates: Counter,
}

impl CompactMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &mut Registry) -> CompactMetrics {
        let m = CompactMetrics {
            merges: Counter::default(),
            merged_files: Counter::default(),
            lost_races: Counter::default(),
            failures: Counter::default(),
            read_bytes: Counter::default(),
            written_bytes: Counter::default(),
            merge_seconds: Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
            retention_expired_files: Counter::default(),
            deleted_objects: Counter::default(),
            pending_deletions: Gauge::default(),
            duplicates: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("kansoku_compactor");
        r.register(
            "duplicates",
            "Rows left out of merges as copies of an earlier row with the same _id (streams that deduplicate)",
            m.duplicates.clone(),
        );
        r.register(
            "merges",
            "Merges of small files committed",
            m.merges.clone(),
        );
        r.register(
            "merged_files",
            "Files replaced by merges",
            m.merged_files.clone(),
        );
        r.register(
            "lost_races",
            "Merges given up because an input had left the manifest",
            m.lost_races.clone(),
        );
        r.register(
            "failures",
            "Merges and passes that failed (retried at the next pass)",
            m.failures.clone(),
        );
        r.register(
            "read_bytes",
            "Parquet bytes read by merges",
            m.read_bytes.clone(),
        );
        r.register(
            "written_bytes",
            "Parquet and index bytes written by merges",
            m.written_bytes.clone(),
        );
        r.register(
            "merge_seconds",
            "Duration of merges",
            m.merge_seconds.clone(),
        );
        r.register(
            "retention_expired_files",
            "Stored files expired by retention",
            m.retention_expired_files.clone(),
        );
        r.register(
            "deleted_objects",
            "Replaced or expired objects deleted after the grace period",
            m.deleted_objects.clone(),
        );
        r.register(
            "pending_deletions",
            "Objects waiting for their grace period to pass",
            m.pending_deletions.clone(),
        );
        m
    }
}
