//! Retention: files whose newest record is older than the stream's `data_retention` (days), or
//! the server default `KANSOKU_RETENTION_DAYS`, leave the manifest and have their objects queued
//! for deletion after the grace period, in one transaction per stream (0 days keeps data forever).

use kansoku_core::time::MICROS_PER_HOUR;

use crate::merge::micros;
use crate::{Compactor, Result};

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
            let expired = self.meta.files_older_than(&stream.key, cutoff).await?;
            if expired.is_empty() {
                continue;
            }
            let removed = self.meta.expire_files(&expired, delete_after).await?;
            self.metrics.retention_expired_files.inc_by(removed as u64);
            tracing::info!(stream = %stream.key, files = removed, days, "expired files past retention");
            expired_total += removed;
        }
        Ok(expired_total)
    }
}
