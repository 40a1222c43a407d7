//! The [`Ingester`]: the write path's one public entry point.
//!
//! ```text
//! request body ─► (blocking pool) decode → flatten → limits → event time → Arrow batch → WAL payload
//!              ─► merge batch schemas into the stored stream schemas
//!              ─► generation read lock: WAL append (group commit, fsync) → memtable insert
//!              ─► report (the 2xx is sent only now)
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_meta::MetaStore;
use kansoku_storage::{FreshData, FreshSnapshot, ObjectStore};
use kansoku_wal::{WalMetrics, WalWriter};
use prometheus_client::registry::Registry;
use tokio::sync::{Mutex, Notify, RwLock, broadcast, watch};

use crate::catalog::{Catalog, CatalogDefaults};
use crate::config::IngestConfig;
use crate::dedup::{DedupIndex, DedupMetrics};
use crate::error::{DiscardReason, Error, Result};
use crate::gate::WriteGate;
use crate::memtable::{MemBatch, Memtable};
use crate::metrics::{IngestMetrics, reason_labels, stream_labels};
use crate::pipeline::{self, BulkOptions, JsonFormat};
use crate::prepare::{Prepared, Preparer};
use crate::quota::QuotaConfig;
use crate::report::{BulkReport, IngestReport};
use crate::timestamp::parse_time_zone;

/// A batch that was just acknowledged (for live tails).
#[derive(Debug)]
pub struct CommittedBatch {
    /// Its stream.
    pub stream: StreamKey,
    /// Its rows (the batch's own schema).
    pub batch: arrow::array::RecordBatch,
}

/// Flushes failing since a moment (the object store or the metadata database is down): the data
/// stays in the WAL and in memory, and `/readyz` says so.
#[derive(Debug, Clone)]
pub struct FlushFailure {
    /// When the first flush of the run of failures failed.
    pub since: std::time::Instant,
    /// Failed attempts in a row.
    pub attempts: u64,
    /// The last error.
    pub error: String,
}

/// Batches a slow live-tail subscriber may lag behind before it skips ahead.
const COMMITTED_CAPACITY: usize = 1024;
/// Longest wait for the metadata database when reading quota settings or an organisation's
/// stored size; past it the last ones read stay in force (quotas never hold data back).
const QUOTA_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Where a quota refusal's limit comes from, for its message.
const QUOTA_SOURCES: &str = "the organisation's quota: GET /api/{org}/quotas; server-wide \
     KANSOKU_ORG_INGEST_RATE / KANSOKU_ORG_STORAGE_QUOTA";

/// A metadata read for the quotas, abandoned after [`QUOTA_READ_WAIT`].
async fn quota_read<T>(
    operation: &'static str,
    read: impl std::future::Future<Output = kansoku_meta::Result<T>>,
) -> kansoku_meta::Result<T> {
    tokio::time::timeout(QUOTA_READ_WAIT, read)
        .await
        .unwrap_or(Err(kansoku_meta::Error::TooSlow {
            operation,
            elapsed: QUOTA_READ_WAIT,
        }))
}

/// The write path of one node.
pub struct Ingester {
    pub(crate) config: IngestConfig,
    pub(crate) meta: MetaStore,
    pub(crate) store: ObjectStore,
    pub(crate) catalog: Catalog,
    pub(crate) memtable: Arc<Memtable>,
    pub(crate) wal: WalWriter,
    /// Held (read) by writers across WAL append + memtable insert; held (write) by a freeze, so a
    /// freeze never separates a record's WAL segment from its generation.
    pub(crate) generation: RwLock<()>,
    /// Serialises flushes and stream deletions.
    pub(crate) flush_lock: Mutex<()>,
    pub(crate) flush_wakeup: Notify,
    pub(crate) metrics: IngestMetrics,
    pub(crate) metadata: crate::metrics_ingest::MetadataCache,
    /// Since when flushes fail, and the last error (none while they succeed).
    pub(crate) flush_failing: std::sync::Mutex<Option<FlushFailure>>,
    pub(crate) quotas: crate::quota::Quotas,
    /// The record ids stored lately, per stream (`crate::dedup`).
    pub(crate) dedup: Arc<DedupIndex>,
    accepting: AtomicBool,
    /// What the node's lease allows (`crate::gate`).
    pub(crate) gate: crate::gate::GateCell,
    shutdown: watch::Sender<bool>,
    committed: broadcast::Sender<Arc<CommittedBatch>>,
}

impl Ingester {
    /// Replays the WAL, then starts accepting writes and flushing in the background.
    pub async fn start(
        config: IngestConfig,
        meta: MetaStore,
        store: ObjectStore,
        registry: &mut Registry,
    ) -> Result<Arc<Ingester>> {
        let metrics = IngestMetrics::register(registry);
        let config_quotas = config.quotas;
        let wal_metrics = WalMetrics::register(registry);
        let zone = parse_time_zone(&config.default_time_zone).map_err(Error::InvalidBody)?;
        let catalog = Catalog::new(
            meta.clone(),
            CatalogDefaults {
                zone,
                flatten_level: config.flatten_level,
                dedup_window_secs: u32::try_from(config.dedup_window.as_secs()).unwrap_or(u32::MAX),
            },
        );
        let dedup = Arc::new(DedupIndex::new(
            config.dedup_max_ids,
            DedupMetrics::register(registry),
        ));
        crate::replay::restore_dedup_snapshot(&config, &dedup).await;
        let replayed = crate::replay::replay(&config, &meta, &wal_metrics).await?;
        let wal = WalWriter::start(
            &config.wal_dir,
            replayed.next_segment,
            config.wal_fsync,
            wal_metrics,
        )?;
        // Every stored file of this node holds segments before the first one written now.
        let memtable = Arc::new(Memtable::new(
            &config.node_id,
            config.lease.as_ref().map(|lease| lease.epoch),
            replayed.next_segment.saturating_sub(1),
        ));
        let restored = replayed.batches.len();
        let mut replayed_rows = 0u64;
        let now_secs = kansoku_meta::now_micros().div_euclid(1_000_000);
        for wal_batch in replayed.batches {
            catalog
                .merge_batch_schema(&wal_batch.key, &wal_batch.batch)
                .await?;
            let window_secs = catalog.entry(&wal_batch.key).await?.dedup_window_secs;
            crate::replay::remember_ids(&dedup, &wal_batch, window_secs, now_secs);
            replayed_rows += wal_batch.batch.num_rows() as u64;
            memtable.insert([(
                wal_batch.key,
                MemBatch::new(wal_batch.batch, wal_batch.raw_bytes),
            )]);
        }
        metrics.replayed_records.inc_by(replayed_rows);
        tracing::info!(
            batches = restored,
            records = replayed_rows,
            corrupt_segments = replayed.corrupt_segments,
            next_segment = replayed.next_segment,
            "wal replayed"
        );
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let ingester = Arc::new(Ingester {
            config,
            meta,
            store,
            catalog,
            memtable,
            wal,
            generation: RwLock::new(()),
            flush_lock: Mutex::new(()),
            flush_wakeup: Notify::new(),
            metrics,
            metadata: crate::metrics_ingest::MetadataCache::default(),
            flush_failing: std::sync::Mutex::new(None),
            quotas: crate::quota::Quotas::new(config_quotas),
            dedup,
            accepting: AtomicBool::new(true),
            gate: crate::gate::GateCell::open(),
            shutdown,
            committed: broadcast::channel(COMMITTED_CAPACITY).0,
        });
        ingester.update_memory_gauges();
        tokio::spawn(crate::flush::run_flusher(
            Arc::clone(&ingester),
            shutdown_receiver,
        ));
        Ok(ingester)
    }

    /// The not-yet-flushed data, for the read path.
    pub fn fresh_data(&self) -> Arc<dyn FreshData> {
        Arc::clone(&self.memtable) as Arc<dyn FreshData>
    }

    /// This node's memory of `stream` over `[start, end)` µs, taken at once (stream statistics).
    pub fn memory_snapshot(&self, stream: &StreamKey, start: i64, end: i64) -> FreshSnapshot {
        self.memtable.snapshot_now(stream, start, end)
    }

    /// Every batch acknowledged from now on, in commit order (for live tails). A subscriber
    /// that falls more than 1024 batches behind is told how many it missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBatch>> {
        self.committed.subscribe()
    }

    /// The stream settings/schema cache (invalidate it after changing settings).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The metrics of the write path.
    pub fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }

    /// The configuration.
    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    /// Refuses new work of `org` when it is over a quota, when buffers are full or when the node
    /// is stopping.
    pub async fn check_admission(&self, org: &OrgId) -> Result<()> {
        self.check_node_admission()?;
        self.check_quotas(org).await
    }

    /// `org`'s quota limits: the server-wide ones with the organisation's own settings in their
    /// place (`crate::quota`). The settings are re-read every 30 s; when the metadata database
    /// cannot be read, the last ones read stay in force (quotas never hold data back).
    pub async fn quota_limits(&self, org: &OrgId) -> QuotaConfig {
        let now = std::time::Instant::now();
        let cached = self.quotas.cached_overrides(org, now);
        if let Some((overrides, true)) = cached {
            return self.quotas.config().with_overrides(&overrides);
        }
        let overrides = match quota_read("read organisation quotas", self.meta.org_quotas(org))
            .await
        {
            Ok(read) => read.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(%org, %error, "cannot read the organisation's quotas; the last ones read stay in force");
                cached.map(|(overrides, _)| overrides).unwrap_or_default()
            }
        };
        self.quotas.remember_overrides(org, overrides, now);
        self.quotas.config().with_overrides(&overrides)
    }

    /// Forgets `org`'s cached quota settings after they changed, so they apply at once here.
    pub fn forget_quota_limits(&self, org: &OrgId) {
        self.quotas.forget_overrides(org);
    }

    /// Re-reads what this node cached of `org`'s stream `stream` (every stream without one;
    /// every organisation without `org`) — settings, schemas, pipelines — and `org`'s quota
    /// settings at their next use. For changes made through another node.
    pub fn forget_cached(&self, org: Option<&OrgId>, stream: Option<&str>) {
        self.catalog.mark_stale(org, stream);
        match org {
            Some(org) => self.quotas.forget_overrides(org),
            None => self.quotas.forget_all_overrides(),
        }
    }

    /// `org`'s rate and storage quotas (`crate::quota`).
    async fn check_quotas(&self, org: &OrgId) -> Result<()> {
        let limits = self.quota_limits(org).await;
        let now = std::time::Instant::now();
        if let Err(retry_after_secs) = self.quotas.check_rate(org, &limits, now) {
            return Err(self.quota_refusal(
                org,
                "rate_quota",
                format!(
                    "ingest rate of {} bytes/s ({QUOTA_SOURCES})",
                    limits.rate_bytes_per_sec
                ),
                retry_after_secs,
            ));
        }
        if limits.storage_bytes == 0 {
            return Ok(());
        }
        let Some(stored) = self.stored_bytes(org, now).await else {
            return Ok(());
        };
        if stored < limits.storage_bytes {
            return Ok(());
        }
        Err(self.quota_refusal(
            org,
            "storage_quota",
            format!(
                "storage quota: {} MiB stored, limit {} MiB ({QUOTA_SOURCES})",
                stored >> 20,
                limits.storage_bytes >> 20
            ),
            crate::quota::STORAGE_RETRY_SECS,
        ))
    }

    /// What `org` stores, as the storage quota sees it: re-read every 30 s; when the database
    /// cannot be read, the size last read stays in force (and is not re-read by every request);
    /// `None` when it was never read (the request is admitted).
    async fn stored_bytes(&self, org: &OrgId, now: std::time::Instant) -> Option<u64> {
        if let Some(stored) = self.quotas.cached_stored(org, now) {
            return Some(stored);
        }
        let stored = match quota_read(
            "read organisation stored size",
            self.meta.org_stored_bytes(org),
        )
        .await
        {
            Ok(stored) => u64::try_from(stored).unwrap_or(0),
            Err(error) => {
                let last = self.quotas.last_stored(org);
                tracing::warn!(%org, %error, kept = ?last, "cannot read the organisation's stored size; the last one read stays in force (none: admitted)");
                last?
            }
        };
        self.quotas.remember_stored(org, stored, now);
        Some(stored)
    }

    fn quota_refusal(
        &self,
        org: &OrgId,
        quota: &str,
        what: String,
        retry_after_secs: u64,
    ) -> Error {
        self.metrics
            .quota_refusals
            .get_or_create(&vec![
                ("org".to_string(), org.as_str().to_string()),
                ("quota".to_string(), quota.to_string()),
            ])
            .inc();
        Error::QuotaExceeded {
            org: org.as_str().to_string(),
            what,
            retry_after_secs,
        }
    }

    /// Refuses new work when buffers are full or the node is stopping.
    fn check_node_admission(&self) -> Result<()> {
        // The gate first: a fenced node also stops accepting, and should say why.
        self.gate.check_write()?;
        if !self.accepting.load(Ordering::Acquire) {
            return Err(Error::NotReady("shutting down"));
        }
        let (active, frozen) = self.memtable.bytes();
        if active + frozen >= self.config.memtable_max_bytes {
            self.metrics
                .rejected_requests
                .get_or_create(&reason_labels("memtable_full"))
                .inc();
            // A full memtable is flushed at once; while flushes fail, the flusher's backoff
            // decides when to try again, not every refused request.
            let flush_failing = self.flush_failing.lock().is_ok_and(|f| f.is_some());
            if !flush_failing {
                self.flush_wakeup.notify_one();
            }
            return Err(Error::Overloaded {
                detail: format!(
                    "{} MiB unflushed, limit {} MiB (KANSOKU_MEMTABLE_MAX_BYTES)",
                    (active + frozen) >> 20,
                    self.config.memtable_max_bytes >> 20
                ),
                retry_after_secs: 2,
            });
        }
        Ok(())
    }

    /// Ingests a `_json` or `_multi` body into one stream.
    pub async fn ingest_json(
        self: &Arc<Self>,
        org: OrgId,
        stream_type: StreamType,
        stream: StreamName,
        format: JsonFormat,
        body: Bytes,
    ) -> Result<IngestReport> {
        self.check_admission(&org).await?;
        let this = Arc::clone(self);
        let runtime = tokio::runtime::Handle::current();
        let prepared = tokio::task::spawn_blocking(move || {
            let preparer = this.preparer(runtime, org, stream_type);
            pipeline::run(preparer, |p| {
                pipeline::prepare_json(p, stream, format, &body)
            })
            .map(|((), prepared)| prepared)
        })
        .await
        .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))??;
        let streams = self.commit(prepared).await?;
        Ok(IngestReport { streams })
    }

    /// Ingests decoded OTLP items (log records, spans or metric rows) of one stream type.
    pub async fn ingest_otlp(
        self: &Arc<Self>,
        org: OrgId,
        stream_type: StreamType,
        items: Vec<crate::decode::otlp::DecodedItem>,
    ) -> Result<(IngestReport, pipeline::Unrouted)> {
        let (report, unrouted, ()) = self
            .ingest_items(
                org,
                stream_type,
                DiscardReason::InvalidOtlp,
                Ids::FromContent,
                move || Ok((items, ())),
            )
            .await?;
        Ok((report, unrouted))
    }

    /// Ingests a Loki push body (protobuf in snappy's block format, decompressed up to
    /// `max_bytes`, or JSON): every entry into the stream its labels name. A body that cannot be
    /// decoded at all is an error; a bad stream or entry is refused alone and reported.
    pub async fn ingest_loki(
        self: &Arc<Self>,
        org: OrgId,
        body: Bytes,
        format: crate::decode::loki::Format,
        max_bytes: usize,
    ) -> Result<(IngestReport, pipeline::Unrouted)> {
        let decode = move || Ok((crate::decode::loki::decode(&body, format, max_bytes)?, ()));
        let (report, unrouted, ()) = self
            .ingest_items(
                org,
                StreamType::Logs,
                DiscardReason::InvalidLoki,
                Ids::FromContent,
                decode,
            )
            .await?;
        Ok((report, unrouted))
    }

    /// Ingests syslog frames of `org` received at `received_micros`, each into the stream
    /// `routes` give it; a refused frame is counted.
    pub async fn ingest_syslog(
        self: &Arc<Self>,
        org: OrgId,
        frames: Arc<[crate::decode::syslog::Frame]>,
        routes: Arc<crate::decode::syslog::Routes>,
        received_micros: i64,
    ) -> Result<(IngestReport, pipeline::Unrouted)> {
        let zone = self.catalog.default_zone().clone();
        let decode = move || {
            let items = crate::decode::syslog::decode(&frames, &routes, &zone, received_micros);
            Ok((items, ()))
        };
        let (report, unrouted, ()) = self
            .ingest_items(
                org,
                StreamType::Logs,
                DiscardReason::InvalidSyslog,
                Ids::AsSent,
                decode,
            )
            .await?;
        Ok((report, unrouted))
    }

    /// Ingests whole Fluentd forward messages: every event into the stream its tag names (or
    /// `stream`); returns the chunk ids to acknowledge once they are stored.
    pub async fn ingest_forward(
        self: &Arc<Self>,
        org: OrgId,
        messages: Arc<[Bytes]>,
        stream: Option<Arc<str>>,
        max_bytes: usize,
    ) -> Result<(IngestReport, pipeline::Unrouted, Vec<String>)> {
        let options = crate::decode::flatten::FlattenOptions {
            max_depth: self.config.flatten_level,
        };
        let decode = move || {
            let now = kansoku_meta::now_micros();
            let decoded = crate::decode::forward::decode(
                &messages,
                stream.as_deref(),
                options,
                max_bytes,
                now,
            );
            Ok((decoded.items, decoded.acks))
        };
        self.ingest_items(
            org,
            StreamType::Logs,
            DiscardReason::InvalidForward,
            Ids::FromContent,
            decode,
        )
        .await
    }

    /// Ingests a Splunk HEC body (`/event` or `/raw`): every event into the stream its `index`
    /// names (or the request's). Returns the first refused event too, which HEC's answer names.
    pub async fn ingest_hec(
        self: &Arc<Self>,
        org: OrgId,
        body: Bytes,
        endpoint: crate::decode::hec::Endpoint,
        defaults: crate::decode::hec::Defaults,
        max_bytes: usize,
    ) -> Result<(
        IngestReport,
        pipeline::Unrouted,
        Option<crate::decode::hec::FirstInvalid>,
    )> {
        let options = crate::decode::flatten::FlattenOptions {
            max_depth: self.config.flatten_level,
        };
        let decode = move || {
            let max_events = (max_bytes / 128).max(10_000);
            let decoded =
                crate::decode::hec::decode(&body, endpoint, &defaults, options, max_events);
            Ok((decoded.items, decoded.first_invalid))
        };
        self.ingest_items(
            org,
            StreamType::Logs,
            DiscardReason::InvalidHec,
            Ids::AsSent,
            decode,
        )
        .await
    }

    /// Ingests items that name their own streams (OTLP, Loki, syslog, forward, HEC), `decode`d on the blocking pool;
    /// a refused item is counted under `reason`.
    /// `decode` also returns what the caller needs back besides the report (`T`).
    async fn ingest_items<T: Send + 'static>(
        self: &Arc<Self>,
        org: OrgId,
        stream_type: StreamType,
        reason: DiscardReason,
        ids: Ids,
        decode: impl FnOnce() -> Result<(Vec<crate::decode::DecodedItem>, T)> + Send + 'static,
    ) -> Result<(IngestReport, pipeline::Unrouted, T)> {
        self.check_admission(&org).await?;
        let this = Arc::clone(self);
        let runtime = tokio::runtime::Handle::current();
        let ((unrouted, extra), prepared) = tokio::task::spawn_blocking(move || {
            let (items, extra) = decode()?;
            let mut preparer = this.preparer(runtime, org, stream_type);
            if ids == Ids::FromContent {
                preparer.derive_ids();
            }
            pipeline::run(preparer, |p| {
                pipeline::prepare_items(p, items, reason).map(|unrouted| (unrouted, extra))
            })
        })
        .await
        .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))??;
        let streams = self.commit(prepared).await?;
        Ok((IngestReport { streams }, unrouted, extra))
    }

    /// Ingests an Elasticsearch bulk body (`default_index` from `/{index}/_bulk` routes).
    pub async fn ingest_bulk(
        self: &Arc<Self>,
        org: OrgId,
        body: Bytes,
        default_index: Option<String>,
    ) -> Result<BulkReport> {
        self.check_admission(&org).await?;
        let this = Arc::clone(self);
        let runtime = tokio::runtime::Handle::current();
        let options = BulkOptions {
            strip_date_suffix: self.config.bulk_strip_date_suffix,
        };
        let (items, prepared) = tokio::task::spawn_blocking(move || {
            let preparer = this.preparer(runtime, org, StreamType::Logs);
            pipeline::run(preparer, |p| {
                pipeline::prepare_bulk(p, &body, options, default_index.as_deref())
            })
        })
        .await
        .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))??;
        let streams = self.commit(prepared).await?;
        Ok(BulkReport { items, streams })
    }

    fn preparer<'b>(
        &self,
        runtime: tokio::runtime::Handle,
        org: OrgId,
        stream_type: StreamType,
    ) -> Preparer<'b, '_> {
        Preparer::new(
            &self.config,
            &self.catalog,
            &self.dedup,
            runtime,
            org,
            stream_type,
            kansoku_meta::now_micros(),
        )
    }

    /// Makes prepared batches durable and visible; returns the per-stream reports. Runs as its
    /// own task, so that a request abandoned by its client (a sender's timeout, then its retry)
    /// still finishes what it started: the WAL, the memtable and the remembered ids agree.
    pub(crate) async fn commit(
        self: &Arc<Self>,
        prepared: Prepared,
    ) -> Result<Vec<crate::report::StreamReport>> {
        let this = Arc::clone(self);
        tokio::spawn(async move { this.commit_prepared(prepared).await })
            .await
            .map_err(|e| Error::Internal(format!("commit task failed: {e}")))?
    }

    async fn commit_prepared(
        &self,
        prepared: Prepared,
    ) -> Result<Vec<crate::report::StreamReport>> {
        let Prepared {
            batches,
            streams,
            discarded,
            duplicate_fields,
            pipeline,
            reservation,
            duplicates,
        } = prepared;
        for (outcome, count) in [
            ("dropped", pipeline.dropped),
            ("routed", pipeline.routed),
            ("failed", pipeline.failed),
        ] {
            if count > 0 {
                self.metrics
                    .pipeline_records
                    .get_or_create(&vec![("outcome".to_string(), outcome.to_string())])
                    .inc_by(count);
            }
        }
        for (reason, count) in &discarded {
            self.metrics
                .discarded
                .get_or_create(&reason_labels(reason.as_str()))
                .inc_by(*count);
        }
        self.metrics.duplicate_fields.inc_by(duplicate_fields);
        if batches.is_empty() {
            self.count_duplicates(&duplicates);
            return Ok(streams);
        }
        for batch in &batches {
            if self
                .catalog
                .merge_batch_schema(&batch.key, &batch.mem.batch)
                .await?
            {
                self.metrics.schema_changes.inc();
            }
        }
        let mut payloads = Vec::with_capacity(batches.len());
        let mut mem_batches = Vec::with_capacity(batches.len());
        let mut counts = Vec::with_capacity(batches.len());
        for batch in batches {
            counts.push((
                batch.key.clone(),
                batch.rows,
                batch.mem.raw_bytes,
                batch.coercions,
            ));
            payloads.push(batch.wal_payload);
            mem_batches.push((batch.key, batch.mem));
        }
        {
            let _generation = self.generation.read().await;
            // Checked again here: the lease may have become unsure since admission.
            self.gate.check_write()?;
            if !self.accepting.load(Ordering::Acquire) {
                return Err(Error::NotReady("shutting down"));
            }
            self.wal.append(payloads).await?;
            // Durable now: a freeze (write lock) sees these ids in the index.
            if let Some(reservation) = reservation {
                reservation.confirm();
            }
            let announced: Vec<Arc<CommittedBatch>> = if self.committed.receiver_count() > 0 {
                mem_batches
                    .iter()
                    .map(|(key, mem)| {
                        Arc::new(CommittedBatch {
                            stream: key.clone(),
                            batch: mem.batch.clone(),
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            self.memtable.insert(mem_batches);
            for batch in announced {
                let _ = self.committed.send(batch);
            }
        }
        self.count_duplicates(&duplicates);
        let now = std::time::Instant::now();
        for (key, rows, raw_bytes, coercions) in counts {
            self.quotas.charge(
                &key.org,
                &self.quotas.cached_limits(&key.org),
                raw_bytes,
                now,
            );
            let labels = stream_labels(
                key.org.as_str(),
                key.stream_type.as_str(),
                key.name.as_str(),
            );
            self.metrics.records.get_or_create(&labels).inc_by(rows);
            self.metrics.bytes.get_or_create(&labels).inc_by(raw_bytes);
            if coercions > 0 {
                self.metrics
                    .coercions
                    .get_or_create(&labels)
                    .inc_by(coercions);
            }
        }
        self.update_memory_gauges();
        let (active, _) = self.memtable.bytes();
        if active >= self.config.memtable_flush_bytes {
            self.flush_wakeup.notify_one();
        }
        Ok(streams)
    }

    /// Counts the copies a committed request did not store again.
    fn count_duplicates(&self, duplicates: &[(StreamKey, u64)]) {
        for (key, count) in duplicates {
            self.dedup
                .metrics()
                .duplicates
                .get_or_create(&stream_labels(
                    key.org.as_str(),
                    key.stream_type.as_str(),
                    key.name.as_str(),
                ))
                .inc_by(*count);
        }
    }

    /// Freezes and flushes everything in memory now (tests, `PUT /node/flush`, shutdown).
    pub async fn flush_now(&self) -> Result<()> {
        self.flush_cycle(true).await
    }

    /// Deletes a stream's unflushed data and its metadata; returns the object paths of its files,
    /// which the caller deletes. Everything else in memory is flushed first, so the deleted data
    /// also leaves the WAL and cannot come back at replay.
    pub async fn delete_stream(&self, key: &StreamKey) -> Result<Vec<String>> {
        let _flushing = self.flush_lock.lock().await;
        self.freeze().await?;
        self.memtable.drop_stream(key);
        self.dedup.forget_stream(key);
        self.flush_cycle_locked(false).await?;
        // Even when nothing was flushed: the deleted stream's ids must not come back.
        self.write_dedup_snapshot().await;
        let paths = self.meta.delete_stream(key).await?;
        self.catalog.invalidate(key);
        Ok(paths)
    }

    /// Stops accepting writes, stops the background flusher and flushes what is in memory; with
    /// a lease, then marks the node drained.
    pub async fn shutdown(&self) -> Result<()> {
        self.accepting.store(false, Ordering::Release);
        let _ = self.shutdown.send(true);
        // Fenced: the flush refuses (`Error::Fenced`), leaving the WAL to the instance that took
        // the node over.
        self.flush_cycle(true).await?;
        // Everything acknowledged is committed now, and nothing more can be (writes closed
        // before the forced freeze took the generation lock): the lease row says so.
        let Some(lease) = &self.config.lease else {
            return Ok(());
        };
        if !self
            .meta
            .mark_ingester_drained(&self.config.node_id, &lease.instance)
            .await?
        {
            return Err(Error::Fenced);
        }
        Ok(())
    }

    /// Moves the write gate as the node's lease says (`crate::gate`); `Fenced` is final and
    /// also stops the background flusher.
    pub fn set_write_gate(&self, gate: WriteGate) {
        self.gate.set(gate);
        if gate == WriteGate::Fenced {
            self.accepting.store(false, Ordering::Release);
            let _ = self.shutdown.send(true);
        }
    }

    /// The lease this process holds is sure until `at`: writes are refused after it unless a
    /// later call moves it (`crate::gate`).
    pub fn set_lease_sure_until(&self, at: std::time::Instant) {
        self.gate.set_sure_until(at);
    }

    /// The write gate's position (an open gate past its deadline counts as unsure).
    pub fn write_gate(&self) -> WriteGate {
        self.gate.get()
    }

    /// Every move of the write gate, e.g. to learn that a flush found the node fenced.
    pub fn write_gate_changes(&self) -> watch::Receiver<WriteGate> {
        self.gate.subscribe()
    }

    /// Stops writes and the background flusher *without* flushing, leaving the WAL as a crash
    /// would. For tests of recovery.
    #[doc(hidden)]
    pub fn halt(&self) {
        self.accepting.store(false, Ordering::Release);
        let _ = self.shutdown.send(true);
    }

    /// Whether flushes are failing, since when and why.
    pub fn flush_failure(&self) -> Option<FlushFailure> {
        self.flush_failing.lock().ok()?.clone()
    }

    /// Records the outcome of a flush cycle (`Err`: its error).
    pub(crate) fn record_flush(&self, outcome: std::result::Result<(), String>) {
        let Ok(mut failing) = self.flush_failing.lock() else {
            return;
        };
        match outcome {
            Ok(()) => *failing = None,
            Err(error) => match failing.as_mut() {
                Some(failure) => {
                    failure.attempts += 1;
                    failure.error = error;
                }
                None => {
                    *failing = Some(FlushFailure {
                        since: std::time::Instant::now(),
                        attempts: 1,
                        error,
                    });
                }
            },
        }
    }

    /// Whether the ingester accepts writes.
    pub fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::Acquire)
    }

    /// Bytes of unflushed data, `(active, frozen)`.
    pub fn memtable_bytes(&self) -> (usize, usize) {
        self.memtable.bytes()
    }

    pub(crate) fn update_memory_gauges(&self) {
        let (active, frozen) = self.memtable.bytes();
        self.metrics.memtable_active_bytes.set(active as i64);
        self.metrics.memtable_frozen_bytes.set(frozen as i64);
    }
}

/// Where the ids of a protocol's records come from (`crate::dedup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// From the record's content when it has no `_id` (Loki, forward and OTLP entries: a
    /// re-sent copy is identical).
    FromContent,
    /// Only as sent (`_id`): syslog lines and HEC events may repeat legitimately.
    AsSent,
}
