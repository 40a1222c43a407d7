//! Storing metric samples ([`Ingester::ingest_metrics`] for decoded OTLP,
//! [`Ingester::ingest_remote_write`] for a remote_write body): the same WAL, memtable and flush
//! as every record, with samples built straight into columnar batches (no per-sample records).
//!
//! ```text
//! remote_write body ─► (blocking pool, one task) snappy ─► protobuf, labels borrowed from
//!   the body ─► samples::build_batches: series checked, samples in the time window,
//!   label columns as dictionaries ─► WAL payloads
//! OTLP MetricsWrite ─► (blocking pool) samples::build_batches ─► WAL payloads
//!   ─► metadata: stored when it changed
//!   ─► commit (WAL append + fsync, memtable) ─► MetricsReport (the 2xx is sent only now)
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kansoku_core::schema::metrics::EXEMPLARS_STREAM;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_meta::MetricMetadata;

use crate::Ingester;
use crate::decode::remote_write::{self, Version};
use crate::error::{Error, Result};
use crate::prepare::{Prepared, prepare_batch};
use crate::samples::{MetricsReport, MetricsWrite, Refusal, build_batches};

/// Metric metadata seen by this node, to store only changes and to type series sent without
/// a type (remote_write 1.0 sends metadata in separate requests).
#[derive(Debug, Default)]
pub struct MetadataCache {
    entries: RwLock<HashMap<(OrgId, String), MetricMetadata>>,
}

impl MetadataCache {
    /// The entries of `metadata` that differ from what is cached.
    fn changed(&self, org: &OrgId, metadata: &[MetricMetadata]) -> Vec<MetricMetadata> {
        let Ok(entries) = self.entries.read() else {
            return metadata.to_vec();
        };
        metadata
            .iter()
            .filter(|m| entries.get(&(org.clone(), m.metric.clone())) != Some(*m))
            .cloned()
            .collect()
    }

    fn remember(&self, org: &OrgId, metadata: &[MetricMetadata]) {
        if let Ok(mut entries) = self.entries.write() {
            for entry in metadata {
                entries.insert((org.clone(), entry.metric.clone()), entry.clone());
            }
        }
    }

    /// The type of series `name`: its own metadata, or its family's (`x_bucket` → `x`).
    pub fn type_of(&self, org: &OrgId, name: &str) -> Option<String> {
        let entries = self.entries.read().ok()?;
        family_type(name, |family| {
            entries
                .get(&(org.clone(), family.to_string()))
                .map(|m| m.metric_type.clone())
        })
    }
}

/// The type of series `name` given the types of metric families: its own, or its family's
/// (`x_bucket` → `x`); `unknown` counts as none.
fn family_type(name: &str, type_of_family: impl Fn(&str) -> Option<String>) -> Option<String> {
    let lookup = |family: &str| type_of_family(family).filter(|t| t != "unknown");
    if let Some(found) = lookup(name) {
        return Some(found);
    }
    ["_bucket", "_sum", "_count", "_total", "_created", "_info"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix).and_then(lookup))
}

impl Ingester {
    /// Stores a decoded metrics request in the metrics stream `stream` of `org` (exemplars in
    /// `metrics_exemplars`). Refused series and samples are counted and reported; the rest is
    /// durable when this returns.
    pub async fn ingest_metrics(
        self: &Arc<Self>,
        org: OrgId,
        stream: StreamName,
        mut write: MetricsWrite,
    ) -> Result<MetricsReport> {
        self.check_admission(&org).await?;
        self.store_metadata(&org, &write.metadata).await?;
        let this = Arc::clone(self);
        let now = kansoku_meta::now_micros();
        let (prepared, report) = tokio::task::spawn_blocking(move || {
            let refused = std::mem::take(&mut write.refused);
            let types = |name: &str| this.metadata.type_of(&org, name);
            this.prepare_metrics(org.clone(), stream, &write, &types, refused, now)
        })
        .await
        .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))??;
        self.commit(prepared).await?;
        Ok(report)
    }

    /// Stores a remote_write request as received (`compressed`: snappy block format, at most
    /// `max_bytes` once decompressed): decompressed, decoded and built into batches in one
    /// blocking task, label strings never copied until they become dictionary values.
    pub async fn ingest_remote_write(
        self: &Arc<Self>,
        org: OrgId,
        stream: StreamName,
        compressed: bytes::Bytes,
        version: Version,
        max_bytes: usize,
    ) -> Result<MetricsReport> {
        self.check_admission(&org).await?;
        let this = Arc::clone(self);
        let now = kansoku_meta::now_micros();
        let task_org = org.clone();
        let (prepared, report, metadata) = tokio::task::spawn_blocking(move || {
            let org = task_org;
            let body = remote_write::decompress(&compressed, max_bytes).map_err(Error::from)?;
            let mut write = remote_write::decode(&body, version).map_err(Error::from)?;
            let refused = std::mem::take(&mut write.refused);
            let metadata = std::mem::take(&mut write.metadata);
            // A request may carry metadata with its series: its own types come first.
            let types = |name: &str| {
                family_type(name, |family| {
                    metadata
                        .iter()
                        .find(|m| m.metric == family)
                        .map(|m| m.metric_type.clone())
                })
                .or_else(|| this.metadata.type_of(&org, name))
            };
            let (prepared, report) =
                this.prepare_metrics(org.clone(), stream, &write, &types, refused, now)?;
            Ok::<_, Error>((prepared, report, metadata))
        })
        .await
        .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))??;
        self.store_metadata(&org, &metadata).await?;
        self.commit(prepared).await?;
        Ok(report)
    }

    /// Stores the entries of `metadata` that changed since this node last saw them.
    async fn store_metadata(&self, org: &OrgId, metadata: &[MetricMetadata]) -> Result<()> {
        let changed = self.metadata.changed(org, metadata);
        if !changed.is_empty() {
            self.meta.put_metric_metadata(org, &changed).await?;
            self.metadata.remember(org, &changed);
        }
        Ok(())
    }

    /// The WAL payloads of `write` and what storing them will report (blocking work).
    fn prepare_metrics<L: AsRef<str>>(
        &self,
        org: OrgId,
        stream: StreamName,
        write: &MetricsWrite<L>,
        types: &dyn Fn(&str) -> Option<String>,
        mut refused: Vec<Refusal>,
        now: i64,
    ) -> Result<(Prepared, MetricsReport)> {
        let built = build_batches(write, &self.config, now, types, &mut refused)
            .map_err(|e| Error::Internal(format!("building metric batches: {e}")))?;
        let mut prepared = Prepared::default();
        if let Some(samples) = built.samples {
            let key = StreamKey::new(org.clone(), StreamType::Metrics, stream);
            prepared
                .batches
                .push(prepare_batch(key, samples, built.raw_bytes)?);
        }
        if let Some(exemplars) = built.exemplars {
            let name = StreamName::normalise(EXEMPLARS_STREAM).map_err(Error::InvalidName)?;
            let key = StreamKey::new(org, StreamType::Metrics, name);
            let raw = exemplars.get_array_memory_size() as u64;
            prepared.batches.push(prepare_batch(key, exemplars, raw)?);
        }
        for refusal in &refused {
            *prepared.discarded.entry(refusal.reason).or_default() += refusal.samples;
        }
        let report = MetricsReport {
            samples_written: built.sample_rows,
            exemplars_written: built.exemplar_rows,
            refused,
        };
        Ok((prepared, report))
    }

    /// The metric metadata this node has seen (for tests and diagnostics).
    pub fn metric_type(&self, org: &OrgId, name: &str) -> Option<String> {
        self.metadata.type_of(org, name)
    }
}
