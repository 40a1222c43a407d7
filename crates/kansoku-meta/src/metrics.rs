//! Metric metadata (Prometheus' `# TYPE`, `# HELP` and unit), per organisation and metric family.
//!
//! Written by remote_write metadata, remote_write 2.0 series metadata and OTLP metric
//! descriptions; served by `/api/v1/metadata` and the metrics explorer.

use kansoku_core::OrgId;
use sqlx::Row;

use crate::{Error, MetaStore, Result};

/// What is known about one metric family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// The metric family name.
    pub metric: String,
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`.
    pub metric_type: String,
    /// The help text.
    pub help: String,
    /// The unit.
    pub unit: String,
}

impl MetaStore {
    /// Stores `entries` (replacing what was known of the same metrics), in one transaction.
    pub async fn put_metric_metadata(&self, org: &OrgId, entries: &[MetricMetadata]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin metric metadata"))?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO metric_metadata (org, metric, metric_type, help, unit, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (org, metric) DO UPDATE SET metric_type = excluded.metric_type,
                   help = excluded.help, unit = excluded.unit, updated_at = excluded.updated_at",
            )
            .bind(org.as_str())
            .bind(&entry.metric)
            .bind(&entry.metric_type)
            .bind(&entry.help)
            .bind(&entry.unit)
            .bind(crate::now_micros())
            .execute(&mut *transaction)
            .await
            .map_err(Error::query("store metric metadata"))?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit metric metadata"))
    }

    /// The metadata of `org`, by metric name; only `metric` when given.
    pub async fn list_metric_metadata(
        &self,
        org: &OrgId,
        metric: Option<&str>,
    ) -> Result<Vec<MetricMetadata>> {
        let rows = sqlx::query(
            "SELECT metric, metric_type, help, unit FROM metric_metadata
             WHERE org = $1 AND ($2 = '' OR metric = $2) ORDER BY metric",
        )
        .bind(org.as_str())
        .bind(metric.unwrap_or_default())
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list metric metadata"))?;
        rows.iter()
            .map(|row| {
                let read = || Error::query("read metric metadata");
                Ok(MetricMetadata {
                    metric: row.try_get("metric").map_err(read())?,
                    metric_type: row.try_get("metric_type").map_err(read())?,
                    help: row.try_get("help").map_err(read())?,
                    unit: row.try_get("unit").map_err(read())?,
                })
            })
            .collect()
    }
}
