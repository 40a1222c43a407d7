//! OTLP/gRPC on `KANSOKU_GRPC_PORT` (5081): the logs, trace and metrics collector services.
//! Metadata: `authorization` (`Basic …`, required), `organization` (default `default`),
//! `stream-name` (logs and traces; default `default`). gzip-compressed messages are accepted;
//! messages over `KANSOKU_MAX_BODY_BYTES` are refused with `RESOURCE_EXHAUSTED`; overload answers
//! `UNAVAILABLE` / `RESOURCE_EXHAUSTED` (retryable, per the OTLP specification); bad data
//! `INVALID_ARGUMENT` (permanent).

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::decode::otlp::{logs, metrics, traces};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::http::stream_header;
use super::{Exported, Signal, store};
use crate::app::App;
use crate::auth::Permission;
use crate::auth::permission::{Denied, authorize};
use crate::http::error::ApiError;
use crate::http::guard::authenticate;

/// The three services sharing the node's state.
#[derive(Clone)]
pub struct Otlp {
    app: App,
}

/// An API error as a gRPC status.
pub fn status_of(error: &ApiError) -> Status {
    let message = error.message.clone();
    let mut status = match error.code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedMediaType => {
            Status::invalid_argument(message)
        }
        ErrorCode::Unauthorized => Status::unauthenticated(message),
        ErrorCode::Forbidden => Status::permission_denied(message),
        ErrorCode::NotFound => Status::not_found(message),
        ErrorCode::Conflict => Status::already_exists(message),
        ErrorCode::PayloadTooLarge | ErrorCode::TooManyRequests => {
            Status::resource_exhausted(message)
        }
        ErrorCode::Unavailable => Status::unavailable(message),
        ErrorCode::Timeout | ErrorCode::RequestTimeout => Status::deadline_exceeded(message),
        ErrorCode::Unprocessable => Status::failed_precondition(message),
        // UNAVAILABLE, not UNIMPLEMENTED: exporters keep and retry the batch (a node without
        // the ingester role behind an OTLP address is a set-up to fix, not data to drop).
        ErrorCode::MisdirectedRequest => Status::unavailable(message),
        ErrorCode::Internal => Status::internal(message),
    };
    if let Some(seconds) = error.retry_after
        && let Ok(value) = seconds.to_string().parse()
    {
        // A hint for clients that read it (OTLP's RetryInfo needs a details payload).
        status.metadata_mut().insert("retry-after", value);
    }
    if let Some(refusal) = error.refusal
        && let Ok(value) = refusal.as_str().parse()
    {
        status
            .metadata_mut()
            .insert(kansoku_core::REFUSAL_HEADER, value);
    }
    status
}

fn metadata_text<'a>(metadata: &'a MetadataMap, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(|v| v.to_str().ok())
}

impl Otlp {
    /// The services of `app`.
    pub fn new(app: App) -> Otlp {
        Otlp { app }
    }

    /// Authenticates and authorises a call; returns the organisation and the stream name.
    async fn admit(&self, metadata: &MetadataMap) -> Result<(OrgId, String), Status> {
        let mut headers = HeaderMap::new();
        if let Some(value) =
            metadata_text(metadata, "authorization").and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::AUTHORIZATION, value);
        }
        let principal = authenticate(&self.app, &headers, &Method::POST)
            .await
            .map_err(|e| status_of(&e))?
            .ok_or_else(|| Status::unauthenticated("send `authorization: Basic …` metadata"))?;
        let org = OrgId::parse(metadata_text(metadata, "organization").unwrap_or("default"))
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let access = match authorize(
            &self.app.meta,
            principal,
            Some(org.clone()),
            Permission::Ingest,
        )
        .await
        {
            Ok(access) => access,
            Err(Denied::Forbidden(message)) => return Err(Status::permission_denied(message)),
            Err(Denied::Unavailable(message)) => return Err(Status::unavailable(message)),
        };
        self.app
            .ingester()
            .map_err(|e| status_of(&e))?
            .check_admission(&org)
            .await
            .map_err(|e| status_of(&ApiError::from(e)))?;
        self.app
            .ensure_org_for_ingest(&access, &org)
            .await
            .map_err(|e| status_of(&e))?;
        Ok((org, stream_header(metadata_text(metadata, "stream-name"))))
    }

    async fn store(
        &self,
        org: OrgId,
        signal: Signal,
        decoded: super::Decoded,
    ) -> Result<Exported, Status> {
        let exported = store(&self.app, org, signal, decoded)
            .await
            .map_err(|e| status_of(&e))?;
        if exported.all_rejected() {
            return Err(Status::invalid_argument(exported.message));
        }
        Ok(exported)
    }
}

fn rejected(exported: &Exported) -> Option<(i64, String)> {
    (exported.rejected > 0).then(|| {
        (
            i64::try_from(exported.rejected).unwrap_or(i64::MAX),
            exported.message.clone(),
        )
    })
}

#[tonic::async_trait]
impl LogsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let (org, stream) = self.admit(request.metadata()).await?;
        let items = logs::records(request.get_ref(), &stream);
        let exported = self
            .store(org, Signal::Logs, super::Decoded::Items(items))
            .await?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: rejected(&exported).map(|(count, message)| ExportLogsPartialSuccess {
                rejected_log_records: count,
                error_message: message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl TraceService for Otlp {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let (org, stream) = self.admit(request.metadata()).await?;
        let items = traces::records(request.get_ref(), &stream);
        let exported = self
            .store(org, Signal::Traces, super::Decoded::Items(items))
            .await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: rejected(&exported).map(|(count, message)| {
                ExportTracePartialSuccess {
                    rejected_spans: count,
                    error_message: message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let stream = super::metrics_stream(metadata_text(request.metadata(), "stream-name"));
        let (org, _) = self.admit(request.metadata()).await?;
        let write = metrics::series(request.get_ref(), super::http::kansoku_meta_now_millis());
        let exported = self
            .store(org, Signal::Metrics, super::Decoded::Metrics(stream, write))
            .await?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: rejected(&exported).map(|(count, message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points: count,
                    error_message: message,
                }
            }),
        }))
    }
}

/// Serves the three services on `listener` until `stop` resolves.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    max_message_bytes: usize,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let otlp = Otlp::new(app);
    let incoming = kansoku_cluster::fresh::accepted(listener);
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(
            too_large_is_resource_exhausted,
        ))
        .add_service(
            LogsServiceServer::new(otlp.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message_bytes),
        )
        .add_service(
            TraceServiceServer::new(otlp.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message_bytes),
        )
        .add_service(
            MetricsServiceServer::new(otlp)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message_bytes),
        )
        .serve_with_incoming_shutdown(incoming, stop)
        .await
}

/// tonic answers a message over the size limit with `OUT_OF_RANGE`; OTLP clients expect
/// `RESOURCE_EXHAUSTED` for it, so the status is rewritten on its way out.
fn too_large_is_resource_exhausted<B>(
    mut response: axum::http::Response<B>,
) -> axum::http::Response<B> {
    let headers = response.headers();
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        // grpc-message is percent-encoded.
        .is_some_and(|m| m.contains("too large") || m.contains("too%20large"));
    if out_of_range && too_large {
        response
            .headers_mut()
            .insert("grpc-status", axum::http::HeaderValue::from_static("8"));
    }
    response
}

/// The address the gRPC listener bound.
pub fn bound(listener: &tokio::net::TcpListener) -> std::io::Result<SocketAddr> {
    listener.local_addr()
}
