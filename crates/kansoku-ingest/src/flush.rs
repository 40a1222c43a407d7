//! Freezing the active generation and flushing frozen generations to Parquet.
//!
//! ```text
//! freeze:  generation write lock → WAL rotate (seal segment N) → memtable.freeze(N)
//! flush:   per stream, hour and partition values: encode Parquet (blocking pool) → object store put (durable)
//!          (+ its trigram index for full-text fields, kansoku-index; metrics streams: files sorted
//!          by series with a series index instead, kansoku-storage series_layout)
//!          → one metadata transaction: manifest rows + WAL checkpoint N
//!          → drop the frozen generation from memory → delete WAL segments ≤ N
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use kansoku_meta::FileEntry;
use kansoku_storage::DATA_FORMAT_VERSION;
use kansoku_storage::data_file::{self, EncodedDataFile, Layout};
use kansoku_storage::partition::{Grouping, group_rows};
use kansoku_storage::schema::arrow_schema;
use tokio::sync::watch;

use crate::Ingester;
use crate::error::{Error, Result};
use crate::memtable::{Frozen, MemBatch, PendingFile};

const IDLE_POLL: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs flush cycles until `shutdown` turns true.
pub(crate) async fn run_flusher(ingester: Arc<Ingester>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = IDLE_POLL;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = ingester.flush_wakeup.notified() => {}
            _ = shutdown.changed() => return,
        }
        match ingester.flush_cycle(false).await {
            Ok(()) => {
                ingester.record_flush(Ok(()));
                backoff = IDLE_POLL;
            }
            Err(error) => {
                ingester.record_flush(Err(error.to_string()));
                ingester.metrics.flush_failures.inc();
                backoff = (backoff * 2).min(MAX_BACKOFF);
                tracing::warn!(%error, retry_in = ?backoff, "flush failed; data stays in the wal and in memory");
            }
        }
    }
}

impl Ingester {
    /// Freezes if due (or if `force`), then flushes every frozen generation, oldest first.
    pub(crate) async fn flush_cycle(&self, force: bool) -> Result<()> {
        let _flushing = self.flush_lock.lock().await;
        self.flush_cycle_locked(force).await
    }

    pub(crate) async fn flush_cycle_locked(&self, force: bool) -> Result<()> {
        self.gate.check_flush()?;
        if force || self.freeze_due() {
            self.freeze().await?;
        }
        while let Some(frozen) = self.memtable.oldest_frozen() {
            self.flush_frozen(frozen).await?;
        }
        self.update_memory_gauges();
        Ok(())
    }

    /// Due when the active data reached the flush size or age, or when it alone fills memory:
    /// admission refuses writes then, and waiting for the size or the interval would refuse them
    /// for as long. (When frozen data waits, flushing it is what frees memory; freezing more
    /// would only cut small WAL segments while the store is failing.)
    fn freeze_due(&self) -> bool {
        let (has_data, started) = self.memtable.active_state();
        let (active_bytes, frozen_bytes) = self.memtable.bytes();
        has_data
            && (active_bytes >= self.config.memtable_flush_bytes
                || (frozen_bytes == 0 && active_bytes >= self.config.memtable_max_bytes)
                || started.elapsed() >= self.config.flush_interval)
    }

    /// Seals the current WAL segment and freezes the data written to it.
    pub(crate) async fn freeze(&self) -> Result<()> {
        self.gate.check_flush()?;
        let _generation = self.generation.write().await;
        let (has_data, _) = self.memtable.active_state();
        if !has_data {
            return Ok(());
        }
        // Settings are read under the lock, so the files planned here are the files written.
        let mut partition_keys = HashMap::new();
        for key in self.memtable.active_streams() {
            let keys = &self.catalog.entry(&key).await?.settings.partition_keys;
            if !keys.is_empty() {
                partition_keys.insert(key, keys.clone());
            }
        }
        let sealed = self.wal.rotate().await?;
        self.memtable.freeze(sealed, &partition_keys);
        Ok(())
    }

    async fn flush_frozen(&self, frozen: Frozen) -> Result<()> {
        self.gate.check_flush()?;
        let started = Instant::now();
        let mut entries = Vec::new();
        for (key, buffer) in &frozen.streams {
            let Some(planned) = frozen.files.get(key) else {
                continue;
            };
            let keys = frozen.partition_keys.get(key).cloned().unwrap_or_default();
            let mut schema = self.catalog.stored_schema(key).await?;
            if schema.version == 0 {
                // The stream was deleted while this data (sent after the deletion) was in memory:
                // recreate it rather than lose the data.
                self.catalog.invalidate(key);
                for batch in &buffer.batches {
                    self.catalog.merge_batch_schema(key, &batch.batch).await?;
                }
                schema = self.catalog.stored_schema(key).await?;
            }
            let arrow = arrow_schema(&schema);
            let batches = buffer.batches.clone();
            let planned = planned.clone();
            let version = schema.version;
            let settings = self.catalog.entry(key).await?.settings.clone();
            // Metrics streams get series-sorted files with a series index; other streams a
            // full-text index of their text fields, unless nothing can be searched as text.
            let layout = Layout::of(&schema, &settings);
            let encoded = tokio::task::spawn_blocking(move || {
                encode_stream(&arrow, &batches, &planned, &keys, version, &layout)
            })
            .await
            .map_err(|e| Error::Internal(format!("parquet encoding task failed: {e}")))??;
            for EncodedStreamFile {
                path,
                partition,
                encoded,
                raw_bytes,
            } in encoded
            {
                let rows = encoded.file.rows;
                let (min_ts, max_ts) = (encoded.file.min_ts, encoded.file.max_ts);
                let uploaded = data_file::upload(&self.store, &path, encoded).await?;
                self.metrics.flushed_files.inc();
                self.metrics
                    .flushed_bytes
                    .inc_by((uploaded.stored_bytes + uploaded.index_bytes) as u64);
                entries.push(FileEntry {
                    path,
                    stream: key.clone(),
                    min_ts,
                    max_ts,
                    records: rows as i64,
                    raw_bytes: raw_bytes as i64,
                    stored_bytes: uploaded.stored_bytes,
                    partition,
                    index_path: uploaded.index_path,
                    index_bytes: uploaded.index_bytes,
                    series_path: uploaded.series_path,
                    schema_version: version,
                    format_version: DATA_FORMAT_VERSION,
                    node: self.config.node_id.clone(),
                    created_at: kansoku_meta::now_micros(),
                });
            }
        }
        let checkpoint = i64::try_from(frozen.last_segment)
            .map_err(|_| Error::Internal("wal segment id out of range".to_string()))?;
        // Fenced while uploading: nothing more of this flush touches the WAL directory.
        self.gate.check_flush()?;
        // The ids of the flushed records leave the WAL with its segments: persist them first.
        self.write_dedup_snapshot().await;
        let published = self
            .meta
            .publish_files(
                &entries,
                Some(kansoku_meta::Checkpoint {
                    node: &self.config.node_id,
                    segment: checkpoint,
                    instance: self
                        .config
                        .lease
                        .as_ref()
                        .map(|lease| lease.instance.as_str()),
                    last: false,
                }),
            )
            .await;
        if let Err(kansoku_meta::Error::Fenced { .. }) = &published {
            // Learnt here before the lease's renewal did: stop at once.
            self.set_write_gate(crate::WriteGate::Fenced);
        }
        published?;
        self.memtable.remove_frozen(frozen.id);
        let dir = self.config.wal_dir.clone();
        let last = frozen.last_segment;
        let removed =
            tokio::task::spawn_blocking(move || kansoku_wal::remove_segments_through(&dir, last))
                .await;
        match removed {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not delete flushed wal segments; they are skipped at replay")
            }
            Err(error) => tracing::warn!(%error, "wal cleanup task failed"),
        }
        self.metrics.flushes.inc();
        self.metrics
            .flush_seconds
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!(files = entries.len(), segment = last, elapsed = ?started.elapsed(), "flushed");
        Ok(())
    }
}

impl Ingester {
    /// Writes the remembered ids (`crate::dedup::snapshot`); a failure is counted and logged,
    /// and the flush goes on (the ids of flushed records are then lost at the next restart).
    /// Not with `KANSOKU_WAL_FSYNC=false`: the snapshot would hold ids of records a power loss
    /// can take from the WAL, and the sender's retry of them would be dropped.
    pub(crate) async fn write_dedup_snapshot(&self) {
        if !self.config.wal_fsync {
            return;
        }
        let dir = self.config.wal_dir.clone();
        let dedup = Arc::clone(&self.dedup);
        let now_secs = kansoku_meta::now_micros().div_euclid(1_000_000);
        let written = tokio::task::spawn_blocking(move || {
            let streams = dedup.snapshot(now_secs);
            if streams.is_empty()
                && matches!(crate::dedup::snapshot::path(&dir).try_exists(), Ok(false))
            {
                return Ok(());
            }
            let bytes = crate::dedup::snapshot::encode(&streams, now_secs);
            crate::dedup::snapshot::write(&dir, &bytes)
        })
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("dedup snapshot task failed: {e}"))));
        if let Err(error) = written {
            self.dedup.metrics().snapshot_failures.inc();
            tracing::warn!(%error, "could not write the dedup snapshot; copies of the flushed records may be stored again after a restart");
        }
    }
}

/// One encoded data file of a flush, with its full-text or series index.
struct EncodedStreamFile {
    path: String,
    partition: Vec<(String, Option<String>)>,
    encoded: EncodedDataFile,
    raw_bytes: u64,
}

/// Encodes one stream's frozen batches into the planned files (one per hour and partition
/// values), with the indexes of its layout.
fn encode_stream(
    schema: &SchemaRef,
    batches: &[Arc<MemBatch>],
    planned: &[PendingFile],
    partition_keys: &[String],
    schema_version: i64,
    layout: &Layout,
) -> Result<Vec<EncodedStreamFile>> {
    // Row groups of every batch, computed once; without partition keys only hours matter.
    let groupings: Vec<Option<Grouping>> = batches
        .iter()
        .map(|batch| {
            let single_file = partition_keys.is_empty() && batch.hours.len() == 1;
            (!single_file).then(|| group_rows(&batch.batch, partition_keys))
        })
        .collect();
    let mut files = Vec::with_capacity(planned.len());
    for target in planned {
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut raw_bytes = 0u64;
        for (batch, grouping) in batches.iter().zip(&groupings) {
            let Some(grouping) = grouping else {
                if batch.hours.contains(&target.group.hour) {
                    parts.push(batch.batch.clone());
                    raw_bytes += batch.raw_bytes;
                }
                continue;
            };
            let Some(wanted) = grouping.groups.iter().position(|g| *g == target.group) else {
                continue;
            };
            let mask: BooleanArray = grouping
                .row_groups
                .iter()
                .map(|group| Some(*group as usize == wanted))
                .collect();
            let part = filter_record_batch(&batch.batch, &mask)?;
            let total_rows = batch.batch.num_rows().max(1) as u64;
            raw_bytes += batch.raw_bytes * part.num_rows() as u64 / total_rows;
            parts.push(part);
        }
        let encoded = data_file::encode(schema, &parts, schema_version, layout)?;
        files.push(EncodedStreamFile {
            path: target.path.clone(),
            partition: target.group.values.clone(),
            encoded,
            raw_bytes,
        });
    }
    Ok(files)
}
