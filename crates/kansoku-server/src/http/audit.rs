//! `GET /api/{org}/audit` (admins: the organisation's administrative changes) and
//! `GET /node/audit` (root: installation-wide ones — organisations, node operations).
//! Entries are written by the guard (`http/guard.rs`) after each change answered 2xx.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::OrgId;
use kansoku_meta::AuditEntry;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;

/// Most entries one call returns.
const MAX_SIZE: i64 = 10_000;
/// The window read when the call names none: the last 30 days.
const DEFAULT_WINDOW_MICROS: i64 = 30 * 24 * 3_600_000_000;

/// Query parameters: a time window in µs and a size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    start_time: Option<i64>,
    end_time: Option<i64>,
    size: Option<i64>,
}

impl AuditParams {
    fn window(&self) -> Result<(i64, i64, i64), ApiError> {
        let end = self
            .end_time
            .unwrap_or_else(|| kansoku_meta::now_micros().saturating_add(1));
        let start = self
            .start_time
            .unwrap_or_else(|| end.saturating_sub(DEFAULT_WINDOW_MICROS));
        if start > end {
            return Err(ApiError::bad_request(format!(
                "start_time ({start}) is after end_time ({end})"
            )));
        }
        let size = self.size.unwrap_or(100);
        if !(1..=MAX_SIZE).contains(&size) {
            return Err(ApiError::bad_request(format!(
                "size must be between 1 and {MAX_SIZE}"
            )));
        }
        Ok((start, end, size))
    }
}

/// `GET /api/{org}/audit?start_time=&end_time=&size=`
pub async fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let (start, end, size) = params.window()?;
    let entries = app.meta.list_audit(Some(&org), start, end, size).await?;
    Ok(Json(listing(&entries)).into_response())
}

/// `GET /node/audit?start_time=&end_time=&size=`
pub async fn list_installation(
    State(app): State<App>,
    Query(params): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let (start, end, size) = params.window()?;
    let entries = app.meta.list_audit(None, start, end, size).await?;
    Ok(Json(listing(&entries)).into_response())
}

fn listing(entries: &[AuditEntry]) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(|entry| {
            json!({
                "_timestamp": entry.at,
                "org": entry.org,
                "actor": entry.actor,
                "action": entry.action,
                "route": entry.route,
                "path": entry.path,
                "status": entry.status,
            })
        })
        .collect();
    json!({"list": list, "total": entries.len()})
}
