//! `GET /node/cluster/ingesters` (root: every node that has held a lease on its id, with its
//! state, and the nodes the NATS registry shows) and `POST /node/cluster/ingesters/{node}/forget` (root, audited: give up a node whose
//! volume is lost for good, accepting the loss of its unflushed records). `kansoku cluster`
//! calls them.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kansoku_cluster::registry::Members;
use kansoku_core::ErrorCode;
use kansoku_meta::{ForgetOutcome, IngesterRow};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;

/// `GET /node/cluster/ingesters`
pub async fn list(State(app): State<App>) -> Result<Response, ApiError> {
    let rows = app.meta.list_ingesters().await?;
    let now = app.meta.db_now().await?;
    let registered: Option<Members> = app.ready().and_then(|ready| {
        ready
            .registered
            .as_ref()
            .map(|members| members.borrow().clone())
    });
    let ingesters: Vec<Value> = rows
        .iter()
        .map(|row| describe(row, now, registered.as_ref()))
        .collect();
    let registry = match &registered {
        None => json!({"enabled": false}),
        Some(members) => json!({
            "enabled": true,
            "nodes": members.values().map(|node| json!({
                "node": node.node,
                "instance": node.instance,
                "roles": node.roles,
                "http": node.http,
                "state": node.state,
                "load": node.load,
            })).collect::<Vec<Value>>(),
        }),
    };
    Ok(Json(json!({"ingesters": ingesters, "registry": registry})).into_response())
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

/// One lease row; `registered` says whether the node is in the registry (`null` without one).
fn describe(row: &IngesterRow, now: i64, registered: Option<&Members>) -> Value {
    let lease_left_us = row
        .renewed_at
        .saturating_add(row.lease_us)
        .saturating_sub(now);
    json!({
        "node": row.node,
        "instance": row.instance,
        "volume": row.volume,
        "epoch": row.epoch,
        "state": row.state.to_string(),
        "http": row.http,
        "renewed_seconds_ago": now.saturating_sub(row.renewed_at).max(0) / 1_000_000,
        "lease_live": row.state == kansoku_meta::IngesterState::Active && lease_left_us > 0,
        "registered": registered.map(|members| members.contains_key(&row.node)),
    })
}
