//! OpenObserve ingest routes: `POST /api/{org}/{stream}/_json` and `POST /api/{org}/{stream}/_multi`.
//!
//! Response: `{"code":200,"status":[{"name":"s","successful":N,"failed":M,"error":"…"}]}`.
//! Records refused individually are counted in `failed` with the reasons in `error`; the status
//! is 200 when at least one record was stored, 400 when every record was refused.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kansoku_core::{OrgId, StreamName, StreamType};
use kansoku_ingest::pipeline::Unrouted;
use kansoku_ingest::{IngestReport, JsonFormat, StreamReport};
use serde_json::json;

use super::body::{admit, read_body};
use super::error::ApiError;
use crate::app::App;
use crate::auth::Access;

/// `POST /api/{org}/{stream}/_json`
pub async fn json_array(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(app, org, stream, access, headers, body, JsonFormat::Array).await
}

/// `POST /api/{org}/{stream}/_multi`
pub async fn json_lines(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(app, org, stream, access, headers, body, JsonFormat::Lines).await
}

async fn ingest(
    app: App,
    org: String,
    stream: String,
    access: Access,
    headers: HeaderMap,
    body: Body,
    format: JsonFormat,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stream = StreamName::normalise(&stream)?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let body = read_body(&headers, body, &app.body_limits).await?;
    let report = ingester
        .ingest_json(org, StreamType::Logs, stream, format, body.bytes.clone())
        .await?;
    Ok(status_response(&report.streams))
}

/// What a request of items that name their own streams (Loki entries, HEC events) had refused:
/// `"{refused} of {total} {items} refused, the others stored: {reasons}"`, or `None` when
/// everything was stored.
pub fn refused_summary(report: &IngestReport, unrouted: &Unrouted, items: &str) -> Option<String> {
    let refused = report.failed() + unrouted.count;
    if refused == 0 {
        return None;
    }
    let mut reasons: Vec<String> = unrouted.first_error.iter().cloned().collect();
    reasons.extend(report.streams.iter().filter_map(|s| {
        s.error_summary()
            .map(|summary| format!("stream '{}': {summary}", s.stream))
    }));
    let dropped: u64 = report
        .streams
        .iter()
        .map(|s| s.dropped + s.duplicates)
        .sum();
    Some(format!(
        "{refused} of {} {items} refused, the others stored: {}",
        refused + report.successful() + dropped,
        reasons.join("; ")
    ))
}

/// The OpenObserve-shaped per-stream response.
pub fn status_response(streams: &[StreamReport]) -> Response {
    let successful: u64 = streams.iter().map(|s| s.successful).sum();
    let failed: u64 = streams.iter().map(|s| s.failed).sum();
    // Copies of records stored before count as stored: the sender must not retry them.
    let duplicates: u64 = streams.iter().map(|s| s.duplicates).sum();
    let status = if successful == 0 && duplicates == 0 && failed > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let entries: Vec<serde_json::Value> = streams
        .iter()
        .map(|stream| {
            let mut entry = json!({
                "name": stream.stream,
                "successful": stream.successful,
                "failed": stream.failed,
            });
            if let Some(error) = stream.error_summary() {
                entry["error"] = json!(error);
            }
            if stream.dropped > 0 {
                entry["dropped"] = json!(stream.dropped);
            }
            if stream.duplicates > 0 {
                entry["duplicates"] = json!(stream.duplicates);
            }
            entry
        })
        .collect();
    (
        status,
        Json(json!({"code": status.as_u16(), "status": entries})),
    )
        .into_response()
}
