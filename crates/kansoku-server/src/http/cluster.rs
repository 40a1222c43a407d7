//! `GET /node/cluster/ingesters` (root: every node that has held a lease on its id, with its
//! state) and `POST /node/cluster/ingesters/{node}/forget` (root, audited: give up a node whose
//! volume is lost for good, accepting the loss of its unflushed records). `kansoku cluster`
//! calls them.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::ErrorCode;
use kansoku_meta::{ForgetOutcome, IngesterRow};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;

/// `GET /node/cluster/ingesters`
pub async fn list(State(app): State<App>) -> Result<Response, ApiError> {
    let rows = app.meta.list_ingesters().await?;
    let now = app.meta.db_now().await?;
    let ingesters: Vec<Value> = rows.iter().map(|row| describe(row, now)).collect();
    Ok(Json(json!({"ingesters": ingesters})).into_response())
}

/// `POST /node/cluster/ingesters/{node}/forget`
pub async fn forget(
    State(app): State<App>,
    Path(node): Path<String>,
) -> Result<Response, ApiError> {
    match app.meta.forget_ingester(&node).await? {
        ForgetOutcome::Forgotten => {
            tracing::warn!(%node, "node forgotten: its unflushed records, if any, are given up");
            Ok(Json(json!({
                "code": 200,
                "message": format!("node {node} forgotten: queries no longer wait for it; records it acknowledged and never flushed are lost"),
                "node": node,
                "state": "forgotten",
            }))
            .into_response())
        }
        ForgetOutcome::Missing => Err(ApiError::not_found(format!(
            "no node {node} has held a lease in this cluster (GET /node/cluster/ingesters lists them)"
        ))),
        ForgetOutcome::Live {
            instance,
            remaining,
        } => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "node {node} may be running: instance {instance} holds its lease for {} s more; stop it (or wait for the lease to lapse) before forgetting it",
                remaining.as_secs().max(1)
            ),
        )),
    }
}

fn describe(row: &IngesterRow, now: i64) -> Value {
    let lease_left_us = row
        .renewed_at
        .saturating_add(row.lease_us)
        .saturating_sub(now);
    json!({
        "node": row.node,
        "instance": row.instance,
        "epoch": row.epoch,
        "state": row.state.to_string(),
        "http": row.http,
        "renewed_seconds_ago": now.saturating_sub(row.renewed_at).max(0) / 1_000_000,
        "lease_live": row.state == kansoku_meta::IngesterState::Active && lease_left_us > 0,
    })
}
