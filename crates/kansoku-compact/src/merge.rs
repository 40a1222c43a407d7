//! Running one merge: read the inputs, write one compacted file with the flush's encoder, swap
//! it in.
//!
//! ```text
//! read every input (object store) and decode it (blocking pool)
//! → conform to the stream's newest schema, encode clustered records + trigram index or
//!   series-sorted samples + series index (kansoku_storage::data_file, blocking pool)
//! → queue the objects about to be written as deletion intents (a crash leaves no orphan)
//! → put the index and data objects (durable)
//! → MetaStore::swap_files: inputs out (their objects queued for after the grace period),
//!   output in, intents dropped — or nothing at all if an input has gone, and the output is
//!   deleted at once
//! ```

use std::time::Instant;

use arrow::array::RecordBatch;
use kansoku_core::StreamKey;
use kansoku_meta::{DeletionReason, FileEntry};
use kansoku_storage::DATA_FORMAT_VERSION;
use kansoku_storage::data_file::{self, Layout};
use kansoku_storage::layout::{self, compacted_file_stem};
use kansoku_storage::partition::PartitionGroup;
use kansoku_storage::schema::arrow_schema;

use crate::config::micros;
use crate::plan::Merge;
use crate::{Compactor, Error, PassReport, Result};

/// Small files of one stream planned per pass at most (the oldest; the rest wait for the next).
const PLANNED_FILES: i64 = 10_000;

/// How a merge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The output replaced the inputs.
    Committed(Box<FileEntry>),
    /// An input had left the manifest before the swap; nothing changed.
    InputGone,
    /// The merge took too long to commit safely; it was abandoned before the swap.
    TooSlow,
}

impl Compactor {
    /// Plans and runs every merge due now, stream by stream, one at a time.
    pub(crate) async fn compact_all(&self, report: &mut PassReport) -> Result<()> {
        let now = kansoku_meta::now_micros();
        let min_age = micros(self.config.min_age);
        for stream in self.meta.list_all_streams().await? {
            let small = self
                .meta
                .small_files(
                    &stream.key,
                    self.config.small_file_bytes(),
                    now.saturating_sub(min_age),
                    PLANNED_FILES,
                )
                .await?;
            if small.len() < 2 {
                continue;
            }
            for merge in crate::plan::plan(small, now, &self.config) {
                let inputs = merge.inputs.len();
                match self.merge(&stream.key, merge).await {
                    Ok(MergeOutcome::Committed(_)) => {
                        report.merges += 1;
                        report.merged_files += inputs;
                    }
                    Ok(MergeOutcome::InputGone | MergeOutcome::TooSlow) => report.lost_races += 1,
                    Err(error) => {
                        self.metrics.failures.inc();
                        tracing::warn!(stream = %stream.key, %error, "merge failed; retrying at the next pass");
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs one merge of files of `stream`.
    pub async fn merge(&self, stream: &StreamKey, merge: Merge) -> Result<MergeOutcome> {
        let started = Instant::now();
        let Some(first) = merge.inputs.first() else {
            return Err(Error::Internal("a merge without inputs".to_string()));
        };
        let created = kansoku_meta::now_micros();
        let group = PartitionGroup {
            hour: merge.hour,
            values: first.partition.clone(),
        };
        let path = layout::data_file_path(
            stream,
            &group,
            &compacted_file_stem(&self.config.node_id, created, 0),
        );
        let Some(record) = self.meta.get_stream(stream).await? else {
            return Ok(MergeOutcome::InputGone);
        };
        let schema = self.meta.latest_schema(stream).await?;
        let layout = Layout::of(&schema, &record.settings);
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut read_bytes = 0u64;
        for input in &merge.inputs {
            let bytes = self.store.get(&input.path).await?;
            read_bytes += bytes.len() as u64;
            let batches = tokio::task::spawn_blocking(move || data_file::decode(bytes))
                .await
                .map_err(|e| Error::Internal(format!("decoding task failed: {e}")))??;
            parts.extend(batches);
        }
        let arrow = arrow_schema(&schema);
        let version = schema.version;
        let window_secs = match stream.stream_type {
            kansoku_core::StreamType::Metrics => 0,
            _ => record
                .settings
                .dedup_window_secs(self.config.dedup_window_secs),
        };
        let (encoded, duplicates) = tokio::task::spawn_blocking(move || {
            let (parts, duplicates) = if window_secs > 0 {
                crate::dedup::drop_duplicate_ids(parts, i64::from(window_secs) * 1_000_000)?
            } else {
                (parts, 0)
            };
            let encoded = data_file::encode(&arrow, &parts, version, &layout)?;
            Ok::<_, Error>((encoded, duplicates))
        })
        .await
        .map_err(|e| Error::Internal(format!("encoding task failed: {e}")))??;
        let input_records: i64 = merge.inputs.iter().map(|f| f.records).sum();
        let records = input_records - duplicates as i64;
        if encoded.file.rows as i64 != records {
            return Err(Error::Internal(format!(
                "merged {} rows from files holding {input_records} records, {duplicates} of them copies ({} …)",
                encoded.file.rows, first.path
            )));
        }
        let (min_ts, max_ts) = (encoded.file.min_ts, encoded.file.max_ts);
        // The objects about to be written are queued first: if this node dies before the swap,
        // they are deleted once the intent expires. An intent outlives any merge that may still
        // commit (merges slower than half of it give up before the swap).
        let planned = encoded.object_paths(&path);
        let intent_until = created.saturating_add(micros(self.intent_lifetime()));
        self.meta
            .queue_deletions(&planned, intent_until, DeletionReason::Intent)
            .await?;
        let uploaded = data_file::upload(&self.store, &path, encoded).await?;
        let output = FileEntry {
            path,
            stream: stream.clone(),
            min_ts,
            max_ts,
            records,
            raw_bytes: kept_share(
                merge.inputs.iter().map(|f| f.raw_bytes).sum(),
                records,
                input_records,
            ),
            stored_bytes: uploaded.stored_bytes,
            partition: first.partition.clone(),
            index_path: uploaded.index_path,
            index_bytes: uploaded.index_bytes,
            series_path: uploaded.series_path,
            schema_version: version,
            format_version: DATA_FORMAT_VERSION,
            node: self.config.node_id.clone(),
            created_at: created,
        };
        if started.elapsed() > self.intent_lifetime() / 2 {
            tracing::warn!(%stream, elapsed = ?started.elapsed(), "merge too slow to commit safely; abandoned");
            self.discard(&planned).await;
            return Ok(MergeOutcome::TooSlow);
        }
        let delete_after =
            kansoku_meta::now_micros().saturating_add(micros(self.config.delete_grace));
        if !self
            .meta
            .swap_files(&merge.inputs, std::slice::from_ref(&output), delete_after)
            .await?
        {
            self.metrics.lost_races.inc();
            tracing::info!(%stream, "an input of a merge had gone; deleting its output");
            self.discard(&planned).await;
            return Ok(MergeOutcome::InputGone);
        }
        self.metrics.merges.inc();
        self.metrics.duplicates.inc_by(duplicates);
        self.metrics.merged_files.inc_by(merge.inputs.len() as u64);
        self.metrics.read_bytes.inc_by(read_bytes);
        self.metrics
            .written_bytes
            .inc_by((output.stored_bytes + output.index_bytes) as u64);
        self.metrics
            .merge_seconds
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!(%stream, inputs = merge.inputs.len(), records, path = %output.path, elapsed = ?started.elapsed(), "merged");
        Ok(MergeOutcome::Committed(Box::new(output)))
    }

    /// How long a merge's output intents stay queued: twice the grace period, at least an hour.
    fn intent_lifetime(&self) -> std::time::Duration {
        (self.config.delete_grace * 2).max(std::time::Duration::from_secs(3600))
    }

    /// Deletes the objects of an output that will never be committed, then its intents (left
    /// queued if a deletion fails, for the deletion pass to retry).
    async fn discard(&self, planned: &[String]) {
        for path in planned {
            if let Err(error) = self.store.delete(path).await {
                tracing::warn!(%path, %error, "could not delete a discarded merge output; it stays queued");
                return;
            }
        }
        if let Err(error) = self.meta.forget_intents(planned).await {
            tracing::warn!(%error, "could not unqueue a discarded merge output");
        }
    }
}

/// The part of `raw_bytes` (of `total` records) that `kept` records account for.
fn kept_share(raw_bytes: i64, kept: i64, total: i64) -> i64 {
    if total <= 0 || kept >= total {
        return raw_bytes;
    }
    i64::try_from(i128::from(raw_bytes) * i128::from(kept) / i128::from(total)).unwrap_or(raw_bytes)
}
