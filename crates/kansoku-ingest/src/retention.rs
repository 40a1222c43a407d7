//! Retention: deleting stored files older than a stream's `data_retention` (days), or the
//! server default `KANSOKU_RETENTION_DAYS`; 0 keeps data forever.
//!
//! A file is deleted when its newest record is older than the cutoff. Its manifest row goes first
//! (queries stop seeing it), then the data and index objects. A query that listed the file just
//! before may fail to read it; it can be retried.

use std::time::Duration;

use kansoku_core::time::MICROS_PER_HOUR;

use crate::Ingester;
use crate::error::Result;

/// What one retention pass deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    /// Data files deleted.
    pub files: usize,
    /// Streams that had expired files.
    pub streams: usize,
}

impl Ingester {
    /// Deletes every expired file now.
    pub async fn enforce_retention(&self) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        let now = kansoku_meta::now_micros();
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
            let paths: Vec<String> = expired.iter().map(|file| file.path.clone()).collect();
            self.meta.remove_files(&paths).await?;
            for file in &expired {
                for path in file.objects() {
                    if let Err(error) = self.store.delete(path).await {
                        tracing::warn!(%path, %error, "could not delete an expired file");
                    }
                }
            }
            self.metrics
                .retention_deleted_files
                .inc_by(expired.len() as u64);
            tracing::info!(stream = %stream.key, files = expired.len(), days, "deleted expired files");
            report.files += expired.len();
            report.streams += 1;
        }
        Ok(report)
    }
}

/// Runs retention passes every `interval` until shutdown.
pub(crate) async fn run_retention(
    ingester: std::sync::Arc<Ingester>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = ingester.enforce_retention().await {
            tracing::warn!(%error, "retention pass failed; retrying at the next interval");
        }
    }
}
