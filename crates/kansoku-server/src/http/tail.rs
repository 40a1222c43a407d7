//! Live tail: `GET /api/{org}/{stream}/_tail?sql=<base64>&type=`, Server-Sent Events.
//!
//! Every batch acknowledged for the stream from the moment of the request on is run through the
//! (validated, read-only) query — by default `SELECT * FROM stream` — and its matching rows are
//! pushed as a `records` event holding a JSON array. A subscriber that falls behind receives a
//! `lagged` event with the number of batches skipped. Comments keep idle connections open.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use kansoku_core::{ErrorCode, OrgId, StreamKey, StreamName};
use kansoku_query::QueryEngine;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::error::ApiError;
use super::search::TypeParam;
use crate::app::App;

/// Live tails one node serves at once.
pub const MAX_TAILS: usize = 64;

/// `?sql=&type=`.
#[derive(Debug, Deserialize)]
pub struct TailParams {
    #[serde(default)]
    sql: Option<String>,
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

struct TailState {
    receiver: broadcast::Receiver<Arc<kansoku_ingest::CommittedBatch>>,
    engine: Arc<QueryEngine>,
    key: StreamKey,
    sql: String,
    _slot: TailSlot,
}

/// Holds one of the node's tail slots while a tail is open.
struct TailSlot(Arc<AtomicUsize>);

impl Drop for TailSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `GET /api/{org}/{stream}/_tail`
pub async fn tail(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TailParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let org = OrgId::parse(&org)?;
    let name = StreamName::normalise(&stream)?;
    let stream_type = TypeParam::from_raw(params.stream_type.clone()).stream_type()?;
    let sql = match params.sql.as_deref().filter(|s| !s.is_empty()) {
        Some(encoded) => super::search::decode_base64(encoded)?,
        None => format!(
            "SELECT * FROM {}",
            kansoku_query::rewrite::quote_identifier(name.as_str())
        ),
    };
    let engine = Arc::clone(app.query_engine()?);
    // The batches this node acknowledges: a tail needs the querier and the ingester roles.
    let receiver = app.ingester()?.subscribe();
    // Validate now, so a bad query is a 400, not an error event.
    engine
        .run_over_batches(&org, stream_type, &name, &sql, &[])
        .await?;
    let open = Arc::clone(&app.open_tails);
    if open.fetch_add(1, Ordering::AcqRel) >= MAX_TAILS {
        open.fetch_sub(1, Ordering::AcqRel);
        return Err(
            ApiError::new(ErrorCode::Unavailable, "too many live tails on this node")
                .with_retry_after(5),
        );
    }
    let state = TailState {
        receiver,
        engine,
        key: StreamKey::new(org, stream_type, name),
        sql,
        _slot: TailSlot(open),
    };
    let events = futures::stream::unfold(state, |mut state| async move {
        let event = next_event(&mut state).await?;
        Some((Ok(event), state))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

async fn next_event(state: &mut TailState) -> Option<Event> {
    loop {
        let committed = match state.receiver.recv().await {
            Ok(committed) => committed,
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                return Some(Event::default().event("lagged").data(skipped.to_string()));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        if committed.stream != state.key {
            continue;
        }
        let rows = state
            .engine
            .run_over_batches(
                &state.key.org,
                state.key.stream_type,
                &state.key.name,
                &state.sql,
                std::slice::from_ref(&committed.batch),
            )
            .await;
        match rows {
            Ok(batches) if batches.iter().all(|b| b.num_rows() == 0) => continue,
            Ok(batches) => match kansoku_query::engine::batches_to_json(&batches) {
                Ok(json) => return Some(Event::default().event("records").data(json)),
                Err(error) => return Some(Event::default().event("error").data(error.to_string())),
            },
            Err(error) => return Some(Event::default().event("error").data(error.to_string())),
        }
    }
}
