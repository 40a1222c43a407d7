//! `POST /api/{org}/prometheus/api/v1/write`: Prometheus remote_write 1.0 and 2.0.
//!
//! Answers as the remote-write specification asks: 204 with the
//! `X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written` headers; 415 for a content
//! type or encoding remote_write does not use; 400 naming the problem for a corrupt body, or
//! when part of the request was refused (invalid series, samples outside the accepted window,
//! native histograms) — the rest is stored and the headers count it; 503 with `Retry-After`
//! under back-pressure (Prometheus drops a batch answered with 429, but retries a 503).

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::schema::metrics::DEFAULT_STREAM;
use kansoku_core::{OrgId, StreamName};
use kansoku_ingest::MetricsReport;
use kansoku_ingest::decode::remote_write;

use crate::app::App;
use crate::auth::Access;
use crate::http::body::{admit, read_raw_body};
use crate::http::error::{ApiError, plain_text_error};

/// `POST /api/{org}/prometheus/api/v1/write`
pub async fn write(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match store(app, org, access, headers, body).await {
        Ok(report) => written(&report),
        // Prometheus drops a batch answered 429 but retries a 503.
        Err(error) => plain_text_error(error, true),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn store(
    app: App,
    org: String,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<MetricsReport, ApiError> {
    let org = OrgId::parse(&org)?;
    let version = remote_write::version_of(header_text(&headers, header::CONTENT_TYPE))
        .map_err(kansoku_ingest::Error::from)?;
    remote_write::check_encoding(header_text(&headers, header::CONTENT_ENCODING))
        .map_err(kansoku_ingest::Error::from)?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let compressed = read_raw_body(&headers, body, &app.body_limits).await?;
    let stream = StreamName::normalise(DEFAULT_STREAM)?;
    let max = app.body_limits.max_bytes;
    // `compressed` holds the body's memory permits until the request is stored.
    let report = ingester
        .ingest_remote_write(org, stream, compressed.bytes.clone(), version, max)
        .await?;
    drop(compressed);
    Ok(report)
}

fn count_headers(report: &MetricsReport, response: &mut Response) {
    let headers = response.headers_mut();
    for (name, count) in [
        (
            "x-prometheus-remote-write-samples-written",
            report.samples_written,
        ),
        ("x-prometheus-remote-write-histograms-written", 0),
        (
            "x-prometheus-remote-write-exemplars-written",
            report.exemplars_written,
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&count.to_string()) {
            headers.insert(name, value);
        }
    }
}

fn written(report: &MetricsReport) -> Response {
    let mut response = if report.refused.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            format!("{}\n", report.message()),
        )
            .into_response()
    };
    count_headers(report, &mut response);
    response
}
