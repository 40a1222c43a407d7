//! Metrics of the WAL, registered once into the server's registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Counters and histograms the WAL updates.
#[derive(Clone, Debug)]
pub struct WalMetrics {
    /// Seconds spent in each `fdatasync`.
    pub fsync_seconds: Histogram,
    /// Bytes appended (frames included).
    pub appended_bytes: Counter,
    /// Records appended.
    pub appended_records: Counter,
    /// Group commits performed (one fsync each).
    pub group_commits: Counter,
    /// Segments whose tail was found torn or corrupt while reading.
    pub corrupt_tails: Counter,
    /// Bytes skipped because they followed a torn or corrupt record.
    pub corrupt_bytes: Counter,
}

impl Default for WalMetrics {
    fn default() -> Self {
        WalMetrics {
            fsync_seconds: Histogram::new([
                0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
            ]),
            appended_bytes: Counter::default(),
            appended_records: Counter::default(),
            group_commits: Counter::default(),
            corrupt_tails: Counter::default(),
            corrupt_bytes: Counter::default(),
        }
    }
}

impl WalMetrics {
    /// Creates the metrics and registers them under `kansoku_wal_*`.
    pub fn register(registry: &mut Registry) -> WalMetrics {
        let metrics = WalMetrics::default();
        let sub = registry.sub_registry_with_prefix("kansoku_wal");
        sub.register(
            "fsync_seconds",
            "Latency of WAL fdatasync calls",
            metrics.fsync_seconds.clone(),
        );
        sub.register(
            "appended_bytes",
            "Bytes appended to the WAL",
            metrics.appended_bytes.clone(),
        );
        sub.register(
            "appended_records",
            "Records appended to the WAL",
            metrics.appended_records.clone(),
        );
        sub.register(
            "group_commits",
            "WAL group commits (one fsync each)",
            metrics.group_commits.clone(),
        );
        sub.register(
            "corrupt_tails",
            "WAL segments whose tail was torn or corrupt at replay",
            metrics.corrupt_tails.clone(),
        );
        sub.register(
            "corrupt_bytes",
            "WAL bytes skipped after a torn or corrupt record at replay",
            metrics.corrupt_bytes.clone(),
        );
        metrics
    }
}
