//! Start-up: restoring unflushed data from the WAL.
//!
//! Segments at or below the node's checkpoint (whose data is already in the manifest) are deleted;
//! the rest are read in order. A torn or corrupt tail is cut at the last good record, counted and
//! logged, and start-up continues.

use std::sync::Arc;

use arrow::array::AsArray;
use kansoku_core::schema::ID_COLUMN;
use kansoku_meta::MetaStore;
use kansoku_wal::{
    TailState, WalMetrics, list_segments, read_segment, remove_segments_through, segment_path,
};

use crate::config::IngestConfig;
use crate::dedup::DedupIndex;
use crate::error::{Error, Result};
use crate::walrec::{self, WalBatch};

/// What replay restored.
pub struct Replayed {
    /// The id the next segment must have.
    pub next_segment: u64,
    /// The batches, in append order.
    pub batches: Vec<WalBatch>,
    /// Segments whose tail was torn or corrupt.
    pub corrupt_segments: usize,
    /// Payloads that passed the CRC but could not be decoded.
    pub undecodable_payloads: usize,
}

/// Reads the WAL of this node.
pub async fn replay(
    config: &IngestConfig,
    meta: &MetaStore,
    wal_metrics: &WalMetrics,
) -> Result<Replayed> {
    let checkpoint = meta
        .wal_checkpoint(&config.node_id)
        .await?
        .map(|segment| segment.max(0) as u64);
    let dir = config.wal_dir.clone();
    let metrics = wal_metrics.clone();
    tokio::task::spawn_blocking(move || read_all(&dir, checkpoint, &metrics))
        .await
        .map_err(|e| Error::Internal(format!("wal replay task failed: {e}")))?
}

fn read_all(
    dir: &std::path::Path,
    checkpoint: Option<u64>,
    metrics: &WalMetrics,
) -> Result<Replayed> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
    if let Some(checkpoint) = checkpoint {
        let removed = remove_segments_through(dir, checkpoint)?;
        if removed > 0 {
            tracing::info!(removed, checkpoint, "removed wal segments already stored");
        }
    }
    let segments = list_segments(dir)?;
    let mut replayed = Replayed {
        next_segment: segments
            .last()
            .copied()
            .max(checkpoint)
            .map_or(1, |last| last + 1),
        batches: Vec::new(),
        corrupt_segments: 0,
        undecodable_payloads: 0,
    };
    for segment in segments {
        let path = segment_path(dir, segment);
        let contents = read_segment(&path, segment)?;
        if let TailState::Corrupt {
            valid_len,
            file_len,
            reason,
        } = &contents.tail
        {
            replayed.corrupt_segments += 1;
            metrics.corrupt_tails.inc();
            metrics.corrupt_bytes.inc_by(file_len - valid_len);
            tracing::warn!(
                segment,
                valid_len,
                file_len,
                %reason,
                "wal segment has a torn or corrupt tail; replaying up to the last good record"
            );
        }
        for payload in &contents.records {
            match walrec::decode(payload) {
                Ok(batch) => replayed.batches.push(batch),
                Err(error) => {
                    replayed.undecodable_payloads += 1;
                    metrics.corrupt_tails.inc();
                    tracing::error!(segment, %error, "skipping undecodable wal payload");
                }
            }
        }
    }
    Ok(replayed)
}

/// Restores the remembered record ids from the snapshot of the last flush; a missing snapshot
/// starts empty, a damaged one too (logged: copies of records flushed before may then be stored
/// again, never lost).
pub async fn restore_dedup_snapshot(config: &IngestConfig, dedup: &Arc<DedupIndex>) {
    let dir = config.wal_dir.clone();
    let read = tokio::task::spawn_blocking(move || crate::dedup::snapshot::read(&dir)).await;
    let streams = match read {
        Ok(Ok(Some(streams))) => streams,
        Ok(Ok(None)) => return,
        Ok(Err(error)) => {
            tracing::warn!(%error, "dedup snapshot unreadable; starting without remembered ids");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "dedup snapshot task failed; starting without remembered ids");
            return;
        }
    };
    dedup.restore(streams, kansoku_meta::now_micros().div_euclid(1_000_000));
    tracing::info!(ids = dedup.len(), "dedup ids restored");
}

/// Remembers the text `_id`s of a replayed batch, in a stream that deduplicates.
pub fn remember_ids(dedup: &DedupIndex, batch: &WalBatch, window_secs: u32, now_secs: i64) {
    if window_secs == 0 {
        return;
    }
    let Some(column) = batch.batch.column_by_name(ID_COLUMN) else {
        return;
    };
    let Some(ids) = column.as_string_opt::<i32>() else {
        return;
    };
    let keys = ids.iter().flatten().map(crate::dedup::ids::id_key);
    dedup.insert_durable(&batch.key, window_secs, keys, now_secs);
}
