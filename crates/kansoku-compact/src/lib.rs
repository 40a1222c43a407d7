//! Everything that changes stored files after their flush: compaction, retention and the
//! deferred deletion of replaced objects.
//!
//! ```text
//! Compactor::run, every interval:
//!   retention (retention.rs)   expired files leave the manifest, their objects are queued
//!   compaction (plan.rs → merge.rs)
//!                              small files of one stream, hour and partition → one large file,
//!                              written by the flush's encoder, swapped in one transaction
//!   deletion (deleter.rs)      queued objects whose grace period has passed are deleted
//! ```
//!
//! The rules that keep every query exact while files are replaced (minimum file age, grace
//! period, the swap's "inputs still there" check) are in ARCHITECTURE.md, "Compaction, retention
//! and deferred deletion". This crate writes object storage and the manifest; it never touches
//! the WAL or in-memory data, so it runs beside the ingester or on its own (the compactor role).

mod config;
mod dedup;
mod deleter;
mod error;
mod merge;
mod metrics;
pub mod plan;
mod retention;

use std::sync::Arc;
use std::time::Instant;

use kansoku_meta::MetaStore;
use kansoku_storage::ObjectStore;
use prometheus_client::registry::Registry;
use tokio::sync::{Mutex, watch};

pub use config::CompactConfig;
pub use error::{Error, Result};
pub use merge::MergeOutcome;
pub use metrics::CompactMetrics;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Merges committed.
    pub merges: usize,
    /// Input files they replaced.
    pub merged_files: usize,
    /// Merges given up because an input had gone (another compactor, retention, a deletion).
    pub lost_races: usize,
    /// Files expired by retention.
    pub expired_files: usize,
    /// Objects deleted from storage.
    pub deleted_objects: usize,
}

/// The compactor of one node.
pub struct Compactor {
    meta: MetaStore,
    store: ObjectStore,
    config: CompactConfig,
    metrics: CompactMetrics,
    /// One pass at a time (the background loop and explicit calls in tests and admin routes).
    running: Mutex<()>,
}

impl Compactor {
    /// A compactor over `meta` and `store`, its metrics registered in `registry`.
    pub fn new(
        meta: MetaStore,
        store: ObjectStore,
        config: CompactConfig,
        registry: &mut Registry,
    ) -> Arc<Compactor> {
        Arc::new(Compactor {
            meta,
            store,
            config,
            metrics: CompactMetrics::register(registry),
            running: Mutex::new(()),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &CompactConfig {
        &self.config
    }

    /// Runs one pass now: retention (if `retention` is true), compaction (if enabled), then the
    /// deletion of queued objects whose time has come.
    pub async fn run_pass(&self, retention: bool) -> Result<PassReport> {
        let _one_pass = self.running.lock().await;
        let mut report = PassReport::default();
        if retention {
            report.expired_files = self.enforce_retention().await?;
        }
        if self.config.enabled {
            self.compact_all(&mut report).await?;
        }
        report.deleted_objects = self.delete_due().await?;
        Ok(report)
    }

    /// Runs passes every `interval` (retention every `retention_interval`) until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut last_retention: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                _ = shutdown.changed() => return,
            }
            let retention_due =
                last_retention.is_none_or(|at| at.elapsed() >= self.config.retention_interval);
            match self.run_pass(retention_due).await {
                Ok(report) => {
                    if retention_due {
                        last_retention = Some(Instant::now());
                    }
                    if report != PassReport::default() {
                        tracing::debug!(?report, "compactor pass");
                    }
                }
                Err(error) => {
                    self.metrics.failures.inc();
                    tracing::warn!(%error, "compactor pass failed; retrying at the next interval");
                }
            }
        }
    }
}
