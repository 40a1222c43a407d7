//! Retention: files whose newest record is older than the stream's `data_retention` (days), or
//! the server default `KANSOKU_RETENTION_DAYS`, leave the manifest and have their objects queued
//! for deletion after the grace period, in one transaction per stream (0 days keeps data forever).

use kansoku_core::time::MICROS_PER_HOUR;

use crate::config::micros;
use crate::{Compactor, Result};

/// Files expired per transaction.
const BATCH: i64 = 1000;

impl Compactor {
    /// Expires every file past its stream's retention now; returns how many.
    pub async fn enforce_retention(&self) -> Result<usize> {
        let now = kansoku_meta::now_micros();
        let delete_after = now.saturating_add(micros(self.config.delete_grace));
        let mut expired_total = 0;
        for stream in self.meta.list_all_streams().await? {
            let days = match stream.settings.data_retention {
                0 => self.config.retention_days,
                days => days,
            };
            if days <= 0 {
                continue;
            }
            let cutoff = now.saturating_sub(days.saturating_mul(24 * MICROS_PER_HOUR));
            // In batches: a long backlog never holds the database in one huge transaction.
            loop {
                let expired = self
                    .meta
                    .files_older_than(&stream.key, cutoff, BATCH)
                    .await?;
                if expired.is_empty() {
                    break;
                }
                let removed = self.meta.expire_files(&expired, delete_after).await?;
                self.metrics.retention_expired_files.inc_by(removed as u64);
                tracing::info!(stream = %stream.key, files = removed, days, "expired files past retention");
                expired_total += removed;
                if removed == 0 || (expired.len() as i64) < BATCH {
                    break;
                }
            }
        }
        Ok(expired_total)
    }
}
