//! The audit log: one row per administrative change that succeeded (users, roles, tokens,
//! organisations, stream settings and deletions, alerts, dashboards, node operations).
//!
//! Rows are appended by the HTTP edge after the change answered 2xx and never updated; they name
//! who, where, which route and path, never request bodies (which can hold passwords and tokens).

use kansoku_core::OrgId;
use sqlx::Row;

use crate::{Error, MetaStore, Result};

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it answered, µs.
    pub at: i64,
    /// The organisation it changed (`""` for installation-wide routes).
    pub org: String,
    /// Who: a user's e-mail or `token:{org}/{name}`.
    pub actor: String,
    /// The HTTP method (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub action: String,
    /// The route pattern, e.g. `/api/{org}/users/{email}`.
    pub route: String,
    /// The path as requested (query string excluded).
    pub path: String,
    /// The HTTP status answered.
    pub status: i64,
}

impl MetaStore {
    /// Appends `entry`.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, org, actor, action, route, path, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.at)
        .bind(&entry.org)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.route)
        .bind(&entry.path)
        .bind(entry.status)
        .execute(self.pool())
        .await
        .map_err(Error::query("record audit entry"))?;
        Ok(())
    }

    /// Entries of `org` (`None`: installation-wide ones) at `[start, end)` µs, newest first, at
    /// most `limit`.
    pub async fn list_audit(
        &self,
        org: Option<&OrgId>,
        start: i64,
        end: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, org, actor, action, route, path, status FROM audit_log
             WHERE org = $1 AND at >= $2 AND at < $3 ORDER BY at DESC LIMIT $4",
        )
        .bind(org.map(OrgId::as_str).unwrap_or_default())
        .bind(start)
        .bind(end)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list audit entries"))?;
        rows.iter()
            .map(|row| {
                let read = || Error::query("read audit entry");
                Ok(AuditEntry {
                    at: row.try_get("at").map_err(read())?,
                    org: row.try_get("org").map_err(read())?,
                    actor: row.try_get("actor").map_err(read())?,
                    action: row.try_get("action").map_err(read())?,
                    route: row.try_get("route").map_err(read())?,
                    path: row.try_get("path").map_err(read())?,
                    status: row.try_get("status").map_err(read())?,
                })
            })
            .collect()
    }
}
