//! `POST /api/{org}/loki/api/v1/push`: Loki's push API (Promtail, Grafana Alloy, Fluent Bit's
//! `loki` output, Loki logging handlers). Protobuf (`application/x-protobuf`, snappy block
//! format; the default when no type is sent) or JSON (`application/json`, optionally gzip,
//! deflate or zstd). Answers as Loki does: 204 when every entry was stored; 400 naming the
//! refused entries (the others are stored), or for a body that is neither; 429/503 with
//! `Retry-After` under back-pressure (Loki clients retry both). Error bodies are plain text,
//! which is what Loki clients log.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::IngestReport;
use kansoku_ingest::decode::loki::Format;
use kansoku_ingest::pipeline::Unrouted;

use crate::app::App;
use crate::auth::Access;
use crate::http::body::{admit, read_body, read_raw_body};
use crate::http::error::{ApiError, plain_text_error};
use crate::http::ingest::refused_summary;

/// `POST /api/{org}/loki/api/v1/push`
pub async fn push(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match store(app, org, access, headers, body).await {
        Ok((report, unrouted)) => answer(&report, &unrouted),
        Err(error) => plain_text_error(error, false),
    }
}

/// As Loki: JSON when the content type says so, protobuf otherwise.
fn format_of(headers: &HeaderMap) -> Format {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if content_type == "application/json" {
        Format::Json
    } else {
        Format::Protobuf
    }
}

/// Whether the body is snappy-framed by the client's `Content-Encoding` (some clients say so;
/// Promtail does not): then it is read as it is and snappy-decoded by the protobuf decoder.
fn says_snappy(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("snappy"))
}

async fn store(
    app: App,
    org: String,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<(IngestReport, Unrouted), ApiError> {
    let org = OrgId::parse(&org)?;
    let format = format_of(&headers);
    if format == Format::Json && says_snappy(&headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "a JSON Loki push may be gzip, deflate or zstd encoded, not snappy",
        ));
    }
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let read = if says_snappy(&headers) {
        read_raw_body(&headers, body, &app.body_limits).await?
    } else {
        read_body(&headers, body, &app.body_limits).await?
    };
    let max = app.body_limits.max_bytes;
    // `read` holds the body's memory permits until the request is stored.
    let outcome = ingester
        .ingest_loki(org, read.bytes.clone(), format, max)
        .await?;
    drop(read);
    Ok(outcome)
}

fn answer(report: &IngestReport, unrouted: &Unrouted) -> Response {
    let Some(summary) = refused_summary(report, unrouted, "entries") else {
        return StatusCode::NO_CONTENT.into_response();
    };
    (
        StatusCode::BAD_REQUEST,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        format!("{summary}\n"),
    )
        .into_response()
}
