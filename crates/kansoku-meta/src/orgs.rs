//! Organisations.

use kansoku_core::OrgId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Error, MetaStore, Result, now_micros};

/// An organisation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Org {
    /// Its id (the `{org}` path segment).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, µs.
    pub created_at: i64,
}

impl MetaStore {
    /// Creates the organisation unless it exists; returns whether it was created.
    pub async fn ensure_org(&self, org: &OrgId) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(org.as_str())
        .bind(org.as_str())
        .bind(now_micros())
        .execute(self.pool())
        .await
        .map_err(Error::query("create org"))?;
        Ok(result.rows_affected() > 0)
    }

    /// The organisation, if it exists.
    pub async fn get_org(&self, org: &OrgId) -> Result<Option<Org>> {
        let row = sqlx::query("SELECT id, name, created_at FROM orgs WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(Error::query("get org"))?;
        row.map(|row| org_from_row(&row)).transpose()
    }

    /// Every organisation, by id.
    pub async fn list_orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM orgs ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(Error::query("list orgs"))?;
        rows.iter().map(org_from_row).collect()
    }
}

/// Quotas set for one organisation, in bytes (at most `i64::MAX`); `None` leaves the server-wide
/// setting in force; `Some(0)` means no limit (for the burst: one second of the rate).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrgQuotas {
    /// Ingested bytes per second.
    pub ingest_rate_bytes: Option<u64>,
    /// Bytes that may be ingested at once above the rate.
    pub ingest_burst_bytes: Option<u64>,
    /// Stored bytes (data files and their indexes).
    pub storage_bytes: Option<u64>,
}

impl MetaStore {
    /// The quotas set for `org`, or `None` when the organisation does not exist.
    pub async fn org_quotas(&self, org: &OrgId) -> Result<Option<OrgQuotas>> {
        let row = sqlx::query(
            "SELECT q.ingest_rate, q.ingest_burst, q.storage FROM orgs o \
             LEFT JOIN org_quotas q ON q.org = o.id WHERE o.id = $1",
        )
        .bind(org.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get org quotas"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let column = |name: &str| -> Result<Option<u64>> {
            let value: Option<i64> = row.try_get(name).map_err(Error::query("read org quotas"))?;
            // A negative number (written by hand) is read as "not set".
            Ok(value.and_then(|v| u64::try_from(v).ok()))
        };
        Ok(Some(OrgQuotas {
            ingest_rate_bytes: column("ingest_rate")?,
            ingest_burst_bytes: column("ingest_burst")?,
            storage_bytes: column("storage")?,
        }))
    }

    /// Replaces the quotas set for `org`; returns whether the organisation exists.
    pub async fn set_org_quotas(&self, org: &OrgId, quotas: &OrgQuotas) -> Result<bool> {
        if self.get_org(org).await?.is_none() {
            return Ok(false);
        }
        let stored = |value: Option<u64>| value.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO org_quotas (org, ingest_rate, ingest_burst, storage, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org) DO UPDATE SET \
             ingest_rate = excluded.ingest_rate, ingest_burst = excluded.ingest_burst, \
             storage = excluded.storage, updated_at = excluded.updated_at",
        )
        .bind(org.as_str())
        .bind(stored(quotas.ingest_rate_bytes))
        .bind(stored(quotas.ingest_burst_bytes))
        .bind(stored(quotas.storage_bytes))
        .bind(now_micros())
        .execute(self.pool())
        .await
        .map_err(Error::query("set org quotas"))?;
        Ok(true)
    }
}

fn org_from_row(row: &sqlx::any::AnyRow) -> Result<Org> {
    Ok(Org {
        id: row.try_get("id").map_err(Error::query("read org"))?,
        name: row.try_get("name").map_err(Error::query("read org"))?,
        created_at: row
            .try_get("created_at")
            .map_err(Error::query("read org"))?,
    })
}
