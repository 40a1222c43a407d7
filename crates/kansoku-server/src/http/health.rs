//! `GET /healthz` (liveness: the process answers), `GET /readyz` (WAL replayed and metadata
//! database reachable; failing flushes reported), `GET /metrics` (Prometheus text), `PUT /node/flush` (root: flush now),
//! `PUT /node/compact` (root: run a compactor pass now — retention, merges, due deletions).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use crate::app::App;

/// `GET /healthz`
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`
pub async fn readyz(State(app): State<App>) -> Response {
    let Some(ready) = app.ready() else {
        return not_ready(app.starting());
    };
    if let Some(reason) = ready.ingester.as_deref().and_then(write_path_not_ready) {
        return not_ready(reason);
    }
    if let Err(error) = app.meta.ping().await {
        tracing::warn!(%error, "readiness: metadata database unreachable");
        return not_ready("metadata database unreachable");
    }
    let Some(ingester) = &ready.ingester else {
        // No write path: ready once started and the metadata database answers.
        return Json(json!({"status": "ready", "roles": app.roles.names()})).into_response();
    };
    // Failing flushes do not make the node unready (the WAL keeps taking writes until memory
    // is full, then ingest answers 503), but they are reported.
    if let Some(failure) = ingester.flush_failure() {
        return Json(json!({
            "status": "ready",
            "flush": {
                "status": "failing",
                "failing_for_seconds": failure.since.elapsed().as_secs(),
                "attempts": failure.attempts,
                "error": failure.error,
            },
        }))
        .into_response();
    }
    Json(json!({"status": "ready", "flush": {"status": "ok"}})).into_response()
}

/// Why this node's write path cannot take writes, if it cannot.
fn write_path_not_ready(ingester: &kansoku_ingest::Ingester) -> Option<&'static str> {
    match ingester.write_gate() {
        kansoku_ingest::WriteGate::Open => {}
        kansoku_ingest::WriteGate::Unsure => {
            return Some("cannot renew this node's lease in the metadata database");
        }
        kansoku_ingest::WriteGate::Fenced => {
            return Some("another process took over this node's id");
        }
    }
    if !ingester.is_accepting() {
        return Some("shutting down");
    }
    None
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "not ready", "reason": reason})),
    )
        .into_response()
}

/// `GET /metrics`
pub async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let ready = app.ready().ok_or_else(|| {
        ApiError::new(kansoku_core::ErrorCode::Unavailable, "starting up").with_retry_after(1)
    })?;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &ready.registry).map_err(|e| {
        ApiError::new(
            kansoku_core::ErrorCode::Internal,
            format!("encoding metrics: {e}"),
        )
    })?;
    text = text.trim_end_matches("# EOF\n").to_string();
    text.push_str(&crate::process::process_metrics(app.started_at));
    text.push_str("# EOF\n");
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `PUT /node/compact`: one compactor pass now, with retention; answers what it did.
pub async fn compact(State(app): State<App>) -> Result<Response, ApiError> {
    let report = app.compactor()?.run_pass(true).await?;
    Ok(Json(json!({
        "code": 200,
        "merges": report.merges,
        "merged_files": report.merged_files,
        "lost_races": report.lost_races,
        "expired_files": report.expired_files,
        "deleted_objects": report.deleted_objects,
    }))
    .into_response())
}

/// `PUT /node/flush`
pub async fn flush(State(app): State<App>) -> Result<Response, ApiError> {
    app.ingester()?.flush_now().await?;
    Ok(Json(json!({"code": 200, "message": "flushed"})).into_response())
}
