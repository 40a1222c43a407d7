//! Alert definitions, their scheduling state and their evaluation history.
//!
//! Templates, destinations and alerts are stored as JSON documents (`alert_objects`, keyed by
//! organisation, kind and name or id); their shape belongs to `kansoku-alerts`, which versions it
//! by tolerance (defaults for every field). `alert_states` holds when each alert runs next and
//! last fired; `alert_history` one row per evaluation or delivery.

use sqlx::Row;

use crate::{Error, MetaStore, Result, now_micros};

/// What an `alert_objects` row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertObjectKind {
    /// A message template.
    Template,
    /// Where notifications go.
    Destination,
    /// An alert rule.
    Alert,
}

impl AlertObjectKind {
    /// `template`, `destination` or `alert` (as stored, and as named in messages).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertObjectKind::Template => "template",
            AlertObjectKind::Destination => "destination",
            AlertObjectKind::Alert => "alert",
        }
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertObject {
    /// Organisation.
    pub org: String,
    /// Name (templates, destinations) or id (alerts).
    pub key: String,
    /// The JSON document.
    pub body: String,
    /// When it was last written, µs.
    pub updated_at: i64,
}

/// The scheduling state of one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertState {
    /// When it should be evaluated next, µs.
    pub next_run_at: i64,
    /// When it was last evaluated, µs (0: never).
    pub last_run_at: i64,
    /// When it last notified, µs (0: never); silence counts from here.
    pub last_fired_at: i64,
    /// Outcome of the last evaluation.
    pub last_status: String,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Organisation.
    pub org: String,
    /// The alert's id.
    pub alert_id: String,
    /// The alert's name when this happened.
    pub alert_name: String,
    /// When, µs.
    pub timestamp: i64,
    /// `fired`, `not_fired`, `silenced`, `error`, `delivered`, `delivery_failed`.
    pub status: String,
    /// Details as JSON (value, threshold, destination, message, …).
    pub detail: String,
}

impl MetaStore {
    /// Creates (`create_only`) or replaces a document; returns false when `create_only` and it exists.
    pub async fn put_alert_object(
        &self,
        org: &str,
        kind: AlertObjectKind,
        key: &str,
        body: &str,
        create_only: bool,
    ) -> Result<bool> {
        let sql = if create_only {
            "INSERT INTO alert_objects (org, kind, object_key, body, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org, kind, object_key) DO NOTHING"
        } else {
            "INSERT INTO alert_objects (org, kind, object_key, body, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org, kind, object_key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at"
        };
        let result = sqlx::query(sql)
            .bind(org)
            .bind(kind.as_str())
            .bind(key)
            .bind(body)
            .bind(now_micros())
            .execute(self.pool())
            .await
            .map_err(Error::query("write alert object"))?;
        Ok(result.rows_affected() > 0)
    }

    /// One document.
    pub async fn get_alert_object(
        &self,
        org: &str,
        kind: AlertObjectKind,
        key: &str,
    ) -> Result<Option<AlertObject>> {
        let row = sqlx::query(
            "SELECT org, object_key, body, updated_at FROM alert_objects WHERE org = $1 AND kind = $2 AND object_key = $3",
        )
        .bind(org)
        .bind(kind.as_str())
        .bind(key)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("read alert object"))?;
        row.map(|row| object_of(&row)).transpose()
    }

    /// Every document of a kind in `org` (or in every organisation when `org` is `None`).
    pub async fn list_alert_objects(
        &self,
        org: Option<&str>,
        kind: AlertObjectKind,
    ) -> Result<Vec<AlertObject>> {
        let rows = match org {
            Some(org) => sqlx::query(
                "SELECT org, object_key, body, updated_at FROM alert_objects WHERE org = $1 AND kind = $2 ORDER BY object_key",
            )
            .bind(org)
            .bind(kind.as_str())
            .fetch_all(self.pool())
            .await,
            None => sqlx::query(
                "SELECT org, object_key, body, updated_at FROM alert_objects WHERE kind = $1 ORDER BY org, object_key",
            )
            .bind(kind.as_str())
            .fetch_all(self.pool())
            .await,
        }
        .map_err(Error::query("list alert objects"))?;
        rows.iter().map(object_of).collect()
    }

    /// Deletes a document; returns whether it existed.
    pub async fn delete_alert_object(
        &self,
        org: &str,
        kind: AlertObjectKind,
        key: &str,
    ) -> Result<bool> {
        let result = sqlx::query(
            "DELETE FROM alert_objects WHERE org = $1 AND kind = $2 AND object_key = $3",
        )
        .bind(org)
        .bind(kind.as_str())
        .bind(key)
        .execute(self.pool())
        .await
        .map_err(Error::query("delete alert object"))?;
        if kind == AlertObjectKind::Alert {
            sqlx::query("DELETE FROM alert_states WHERE org = $1 AND alert_id = $2")
                .bind(org)
                .bind(key)
                .execute(self.pool())
                .await
                .map_err(Error::query("delete alert state"))?;
        }
        Ok(result.rows_affected() > 0)
    }

    /// The scheduling state of an alert (default when never run).
    pub async fn alert_state(&self, org: &str, alert_id: &str) -> Result<AlertState> {
        let row = sqlx::query(
            "SELECT next_run_at, last_run_at, last_fired_at, last_status FROM alert_states WHERE org = $1 AND alert_id = $2",
        )
        .bind(org)
        .bind(alert_id)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("read alert state"))?;
        let Some(row) = row else {
            return Ok(AlertState::default());
        };
        let read = || Error::query("read alert state");
        Ok(AlertState {
            next_run_at: row.try_get("next_run_at").map_err(read())?,
            last_run_at: row.try_get("last_run_at").map_err(read())?,
            last_fired_at: row.try_get("last_fired_at").map_err(read())?,
            last_status: row.try_get("last_status").map_err(read())?,
        })
    }

    /// Stores the scheduling state of an alert.
    pub async fn put_alert_state(
        &self,
        org: &str,
        alert_id: &str,
        state: &AlertState,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_states (org, alert_id, next_run_at, last_run_at, last_fired_at, last_status)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (org, alert_id) DO UPDATE SET next_run_at = excluded.next_run_at,
               last_run_at = excluded.last_run_at, last_fired_at = excluded.last_fired_at,
               last_status = excluded.last_status",
        )
        .bind(org)
        .bind(alert_id)
        .bind(state.next_run_at)
        .bind(state.last_run_at)
        .bind(state.last_fired_at)
        .bind(&state.last_status)
        .execute(self.pool())
        .await
        .map_err(Error::query("write alert state"))?;
        Ok(())
    }

    /// Claims the run of an alert that is due: moves its `next_run_at` from `due_at` (what this
    /// node read) to `next_run_at`, and returns whether this node did it. When several nodes
    /// share the database, exactly one of them wins each run.
    pub async fn claim_alert_run(
        &self,
        org: &str,
        alert_id: &str,
        due_at: i64,
        next_run_at: i64,
    ) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE alert_states SET next_run_at = $3 WHERE org = $1 AND alert_id = $2 AND next_run_at = $4",
        )
        .bind(org)
        .bind(alert_id)
        .bind(next_run_at)
        .bind(due_at)
        .execute(self.pool())
        .await
        .map_err(Error::query("claim alert run"))?;
        if updated.rows_affected() > 0 {
            return Ok(true);
        }
        // Never run yet: the first node to insert the state row wins.
        let inserted = sqlx::query(
            "INSERT INTO alert_states (org, alert_id, next_run_at, last_run_at, last_fired_at, last_status)
             VALUES ($1, $2, $3, 0, 0, '') ON CONFLICT (org, alert_id) DO NOTHING",
        )
        .bind(org)
        .bind(alert_id)
        .bind(next_run_at)
        .execute(self.pool())
        .await
        .map_err(Error::query("claim alert run"))?;
        Ok(inserted.rows_affected() > 0)
    }

    /// Appends a history entry.
    pub async fn add_alert_history(&self, entry: &HistoryEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_history (org, alert_id, alert_name, ts, status, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&entry.org)
        .bind(&entry.alert_id)
        .bind(&entry.alert_name)
        .bind(entry.timestamp)
        .bind(&entry.status)
        .bind(&entry.detail)
        .execute(self.pool())
        .await
        .map_err(Error::query("write alert history"))?;
        Ok(())
    }

    /// History of `org`, newest first, optionally of one alert.
    pub async fn alert_history(
        &self,
        org: &str,
        alert_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>> {
        let rows = match alert_id {
            Some(alert_id) => {
                sqlx::query(
                    "SELECT org, alert_id, alert_name, ts, status, detail FROM alert_history
                 WHERE org = $1 AND alert_id = $2 ORDER BY ts DESC LIMIT $3",
                )
                .bind(org)
                .bind(alert_id)
                .bind(limit)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(
                    "SELECT org, alert_id, alert_name, ts, status, detail FROM alert_history
                 WHERE org = $1 ORDER BY ts DESC LIMIT $2",
                )
                .bind(org)
                .bind(limit)
                .fetch_all(self.pool())
                .await
            }
        }
        .map_err(Error::query("read alert history"))?;
        rows.iter()
            .map(|row| {
                let read = || Error::query("read alert history");
                Ok(HistoryEntry {
                    org: row.try_get("org").map_err(read())?,
                    alert_id: row.try_get("alert_id").map_err(read())?,
                    alert_name: row.try_get("alert_name").map_err(read())?,
                    timestamp: row.try_get("ts").map_err(read())?,
                    status: row.try_get("status").map_err(read())?,
                    detail: row.try_get("detail").map_err(read())?,
                })
            })
            .collect()
    }
}

fn object_of(row: &sqlx::any::AnyRow) -> Result<AlertObject> {
    let read = || Error::query("read alert object");
    Ok(AlertObject {
        org: row.try_get("org").map_err(read())?,
        key: row.try_get("object_key").map_err(read())?,
        body: row.try_get("body").map_err(read())?,
        updated_at: row.try_get("updated_at").map_err(read())?,
    })
}
