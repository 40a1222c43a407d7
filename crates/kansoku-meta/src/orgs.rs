//! Organisations.

use kansoku_core::OrgId;
use serde::Serialize;
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

fn org_from_row(row: &sqlx::any::AnyRow) -> Result<Org> {
    Ok(Org {
        id: row.try_get("id").map_err(Error::query("read org"))?,
        name: row.try_get("name").map_err(Error::query("read org"))?,
        created_at: row
            .try_get("created_at")
            .map_err(Error::query("read org"))?,
    })
}
