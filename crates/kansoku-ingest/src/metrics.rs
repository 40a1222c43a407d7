//! Metrics of the write path (`kansoku_ingest_*`, `kansoku_memtable_*`, `kansoku_flush_*`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of per-stream series.
pub type StreamLabels = Vec<(String, String)>;

/// Everything the write path counts.
#[derive(Clone, Debug)]
pub struct IngestMetrics {
    /// Records stored, per org/type/stream.
    pub records: Family<StreamLabels, Counter>,
    /// Ingested bytes stored, per org/type/stream.
    pub bytes: Family<StreamLabels, Counter>,
    /// Records refused, per reason.
    pub discarded: Family<StreamLabels, Counter>,
    /// Values converted to a wider column type, per org/type/stream.
    pub coercions: Family<StreamLabels, Counter>,
    /// Stream schema versions written.
    pub schema_changes: Counter,
    /// Fields repeated within a record (the later value kept).
    pub duplicate_fields: Counter,
    /// Requests refused before reading them, per reason.
    pub rejected_requests: Family<StreamLabels, Counter>,
    /// Requests refused because their organisation was over a quota, per org and quota.
    pub quota_refusals: Family<StreamLabels, Counter>,
    /// Bytes in the active in-memory table.
    pub memtable_active_bytes: Gauge,
    /// Bytes frozen and waiting to be flushed.
    pub memtable_frozen_bytes: Gauge,
    /// Flushes completed.
    pub flushes: Counter,
    /// Flush attempts that failed (and will be retried).
    pub flush_failures: Counter,
    /// Parquet files written.
    pub flushed_files: Counter,
    /// Parquet bytes written.
    pub flushed_bytes: Counter,
    /// Duration of flushes.
    pub flush_seconds: Histogram,
    /// Records restored from the WAL at start-up.
    pub replayed_records: Counter,
    /// Records whose stream's pipeline dropped, routed or failed them, per outcome.
    pub pipeline_records: Family<StreamLabels, Counter>,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        IngestMetrics {
            records: Family::default(),
            bytes: Family::default(),
            discarded: Family::default(),
            coercions: Family::default(),
            schema_changes: Counter::default(),
            duplicate_fields: Counter::default(),
            rejected_requests: Family::default(),
            quota_refusals: Family::default(),
            memtable_active_bytes: Gauge::default(),
            memtable_frozen_bytes: Gauge::default(),
            flushes: Counter::default(),
            flush_failures: Counter::default(),
            flushed_files: Counter::default(),
            flushed_bytes: Counter::default(),
            flush_seconds: Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            replayed_records: Counter::default(),
            pipeline_records: Family::default(),
        }
    }
}

impl IngestMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &mut Registry) -> IngestMetrics {
        let m = IngestMetrics::default();
        let ingest = registry.sub_registry_with_prefix("kansoku_ingest");
        ingest.register("records", "Records stored", m.records.clone());
        ingest.register("bytes", "Ingested bytes stored", m.bytes.clone());
        ingest.register(
            "discarded_records",
            "Records refused, by reason",
            m.discarded.clone(),
        );
        ingest.register(
            "type_coercions",
            "Values converted to a wider column type",
            m.coercions.clone(),
        );
        ingest.register(
            "schema_changes",
            "Stream schema versions written",
            m.schema_changes.clone(),
        );
        ingest.register(
            "duplicate_fields",
            "Fields repeated within a record",
            m.duplicate_fields.clone(),
        );
        ingest.register(
            "rejected_requests",
            "Requests refused, by reason",
            m.rejected_requests.clone(),
        );
        ingest.register(
            "quota_refusals",
            "Requests refused because their organisation was over a quota, by org and quota",
            m.quota_refusals.clone(),
        );
        ingest.register(
            "replayed_records",
            "Records restored from the WAL at start-up",
            m.replayed_records.clone(),
        );
        registry.sub_registry_with_prefix("kansoku_pipeline").register(
            "records",
            "Records a stream's pipeline dropped, routed to another stream, or failed on (stored unprocessed), by outcome",
            m.pipeline_records.clone(),
        );
        let memtable = registry.sub_registry_with_prefix("kansoku_memtable");
        memtable.register(
            "active_bytes",
            "Bytes in the active in-memory table",
            m.memtable_active_bytes.clone(),
        );
        memtable.register(
            "frozen_bytes",
            "Bytes frozen and waiting to be flushed",
            m.memtable_frozen_bytes.clone(),
        );
        let flush = registry.sub_registry_with_prefix("kansoku_flush");
        flush.register("flushes", "Flushes completed", m.flushes.clone());
        flush.register(
            "failures",
            "Flush attempts that failed",
            m.flush_failures.clone(),
        );
        flush.register("files", "Parquet files written", m.flushed_files.clone());
        flush.register("bytes", "Parquet bytes written", m.flushed_bytes.clone());
        flush.register("seconds", "Duration of flushes", m.flush_seconds.clone());
        m
    }
}

/// The labels of one stream.
pub fn stream_labels(org: &str, stream_type: &str, stream: &str) -> StreamLabels {
    vec![
        ("org".to_string(), org.to_string()),
        ("stream_type".to_string(), stream_type.to_string()),
        ("stream".to_string(), stream.to_string()),
    ]
}

/// The labels of one reason.
pub fn reason_labels(reason: &str) -> StreamLabels {
    vec![("reason".to_string(), reason.to_string())]
}
