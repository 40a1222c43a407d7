//! OTLP/HTTP: `POST /api/{org}/v1/logs`, `/v1/traces`, `/v1/metrics` (and OpenObserve's aliases
//! `/api/{org}/traces`, `/api/{org}/otel/v1/traces`). Bodies are protobuf
//! (`application/x-protobuf`, the default without a `Content-Type`) or OTLP/JSON
//! (`application/json`), optionally gzip/zstd/deflate-compressed; the response is the signal's
//! `Export*ServiceResponse` in the request's encoding. Errors carry a `google.rpc.Status` body in
//! that encoding; 429 and 503 come with `Retry-After`, as the OTLP specification asks.
//! Logs and traces go to the stream named by the `stream-name` header (default `default`);
//! metrics, as Prometheus series, to the metrics stream it names (default `metrics`).

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::decode::otlp::{self, Encoding};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::{DEFAULT_STREAM, Decoded, Exported, Signal, metrics_stream, store};
use crate::app::App;
use crate::auth::Access;
use crate::http::body::{admit, read_body};
use crate::http::error::{ApiError, status_of};

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `POST /api/{org}/v1/logs`
pub async fn logs(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(app, org, access, headers, body, Signal::Logs).await
}

/// `POST /api/{org}/v1/traces` (and aliases)
pub async fn traces(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(app, org, access, headers, body, Signal::Traces).await
}

/// `POST /api/{org}/v1/metrics`
pub async fn metrics(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(app, org, access, headers, body, Signal::Metrics).await
}

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Encoding::Protobuf);
    };
    let content_type = content_type
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" | "application/octet-stream" | "" => {
            Ok(Encoding::Protobuf)
        }
        "application/json" => Ok(Encoding::Json),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("content type '{other}' is not application/x-protobuf or application/json"),
        )),
    }
}

/// The `stream-name` header, or the default stream.
pub fn stream_header(value: Option<&str>) -> String {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_STREAM)
        .to_string()
}

async fn handle(
    app: App,
    org: String,
    access: Access,
    headers: HeaderMap,
    body: Body,
    signal: Signal,
) -> Response {
    let encoding = match encoding_of(&headers) {
        Ok(encoding) => encoding,
        Err(error) => return error_response(&error, Encoding::Json),
    };
    match export(app, org, access, headers, body, signal, encoding).await {
        Ok(response) => response,
        Err(error) => error_response(&error, encoding),
    }
}

async fn export(
    app: App,
    org: String,
    access: Access,
    headers: HeaderMap,
    body: Body,
    signal: Signal,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let body = read_body(&headers, body, &app.body_limits).await?;
    let stream = headers
        .get("stream-name")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = body.bytes.clone();
    let items = tokio::task::spawn_blocking(move || {
        decode_items(signal, &bytes, encoding, stream.as_deref())
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("decoding failed: {e}")))?
    .map_err(ApiError::bad_request)?;
    let exported = store(&app, org, signal, items).await?;
    if exported.all_rejected() {
        return Err(ApiError::bad_request(exported.message));
    }
    Ok(success(signal, &exported, encoding))
}

/// Decodes a body of `signal` (`stream`: the `stream-name` header).
pub fn decode_items(
    signal: Signal,
    body: &[u8],
    encoding: Encoding,
    stream: Option<&str>,
) -> Result<Decoded, String> {
    Ok(match signal {
        Signal::Logs => Decoded::Items(otlp::logs::records(
            &otlp::decode::<ExportLogsServiceRequest>(body, encoding)?,
            &stream_header(stream),
        )),
        Signal::Traces => Decoded::Items(otlp::traces::records(
            &otlp::decode::<ExportTraceServiceRequest>(body, encoding)?,
            &stream_header(stream),
        )),
        Signal::Metrics => Decoded::Metrics(
            metrics_stream(stream),
            otlp::metrics::series(
                &otlp::decode::<ExportMetricsServiceRequest>(body, encoding)?,
                kansoku_meta_now_millis(),
            ),
        ),
    })
}

/// Now, in milliseconds (the time of metric points sent without one).
pub fn kansoku_meta_now_millis() -> i64 {
    kansoku_meta::now_micros() / 1000
}

fn encode<T: Message + serde::Serialize>(message: &T, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

fn content_type(encoding: Encoding) -> HeaderValue {
    HeaderValue::from_static(match encoding {
        Encoding::Protobuf => "application/x-protobuf",
        Encoding::Json => "application/json",
    })
}

fn success(signal: Signal, exported: &Exported, encoding: Encoding) -> Response {
    let rejected = i64::try_from(exported.rejected).unwrap_or(i64::MAX);
    let partial = exported.rejected > 0;
    if !partial && encoding == Encoding::Json {
        // Full success: an empty response (no `"partialSuccess": null`).
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type(encoding))],
            "{}",
        )
            .into_response();
    }
    let message = exported.message.clone();
    let body = match signal {
        Signal::Logs => encode(
            &ExportLogsServiceResponse {
                partial_success: partial.then_some(ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message: message,
                }),
            },
            encoding,
        ),
        Signal::Traces => encode(
            &ExportTraceServiceResponse {
                partial_success: partial.then_some(ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message: message,
                }),
            },
            encoding,
        ),
        Signal::Metrics => encode(
            &ExportMetricsServiceResponse {
                partial_success: partial.then_some(ExportMetricsPartialSuccess {
                    rejected_data_points: rejected,
                    error_message: message,
                }),
            },
            encoding,
        ),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type(encoding))],
        body,
    )
        .into_response()
}

/// The `google.rpc.Code` of an error.
pub fn rpc_code(code: ErrorCode) -> i32 {
    match code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedMediaType => 3, // INVALID_ARGUMENT
        ErrorCode::Unauthorized => 16,                                // UNAUTHENTICATED
        ErrorCode::Forbidden => 7,                                    // PERMISSION_DENIED
        ErrorCode::NotFound => 5,                                     // NOT_FOUND
        ErrorCode::Conflict => 6,                                     // ALREADY_EXISTS
        ErrorCode::PayloadTooLarge | ErrorCode::TooManyRequests => 8, // RESOURCE_EXHAUSTED
        ErrorCode::Unavailable => 14,                                 // UNAVAILABLE
        ErrorCode::Timeout | ErrorCode::RequestTimeout => 4,          // DEADLINE_EXCEEDED
        ErrorCode::Unprocessable => 9,                                // FAILED_PRECONDITION
        ErrorCode::MisdirectedRequest => 12,                          // UNIMPLEMENTED
        ErrorCode::Internal => 13,                                    // INTERNAL
    }
}

fn error_response(error: &ApiError, encoding: Encoding) -> Response {
    let status = RpcStatus {
        code: rpc_code(error.code),
        message: error.message.clone(),
    };
    let mut response = (
        status_of(error.code),
        [(header::CONTENT_TYPE, content_type(encoding))],
        encode(&status, encoding),
    )
        .into_response();
    crate::http::error::add_retry_headers(response.headers_mut(), error.retry_after, error.refusal);
    if error.code == ErrorCode::Unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kansoku\""),
        );
    }
    response
}
