//! OpenTelemetry (OTLP) ingest over HTTP ([`http`]: `POST /api/{org}/v1/{logs,traces,metrics}`
//! and OpenObserve's aliases) and gRPC ([`grpc`]: the three collector services on
//! `KANSOKU_GRPC_PORT`). Both decode into `opentelemetry-proto` messages, turn them into records
//! with `kansoku_ingest::decode::otlp`, and answer with the signal's `Export*ServiceResponse`,
//! whose `partial_success` counts the refused items and says why.

pub mod grpc;
pub mod http;

use kansoku_core::schema::metrics;
use kansoku_core::{OrgId, StreamName, StreamType};
use kansoku_ingest::MetricsWrite;
use kansoku_ingest::decode::otlp::DecodedItem;

use crate::app::App;
use crate::http::error::ApiError;

/// The stream OTLP logs and traces go to without a `stream-name` header.
pub const DEFAULT_STREAM: &str = "default";

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Log records.
    Logs,
    /// Spans.
    Traces,
    /// Metric points.
    Metrics,
}

impl Signal {
    /// Where its records are stored.
    pub fn stream_type(self) -> StreamType {
        match self {
            Signal::Logs => StreamType::Logs,
            Signal::Traces => StreamType::Traces,
            Signal::Metrics => StreamType::Metrics,
        }
    }
}

/// What an export stored and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// Items stored.
    pub accepted: u64,
    /// Items refused.
    pub rejected: u64,
    /// Why (the first reasons), empty when nothing was refused.
    pub message: String,
}

impl Exported {
    /// Nothing stored and something refused: the whole request was bad.
    pub fn all_rejected(&self) -> bool {
        self.accepted == 0 && self.rejected > 0
    }
}

/// A decoded export request.
#[derive(Debug)]
pub enum Decoded {
    /// Log records or spans, each naming its stream.
    Items(Vec<DecodedItem>),
    /// Metric series and the metrics stream they go to.
    Metrics(String, MetricsWrite),
}

/// The metrics stream named by a `stream-name` header, else `metrics`.
pub fn metrics_stream(header: Option<&str>) -> String {
    header
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(metrics::DEFAULT_STREAM)
        .to_string()
}

/// Stores a decoded request of `org`.
pub async fn store(
    app: &App,
    org: OrgId,
    signal: Signal,
    decoded: Decoded,
) -> Result<Exported, ApiError> {
    let ingester = app.ingester()?;
    let items = match decoded {
        Decoded::Items(items) => items,
        Decoded::Metrics(stream, write) => {
            let stream = StreamName::normalise(&stream)?;
            let report = ingester.ingest_metrics(org, stream, write).await?;
            return Ok(Exported {
                accepted: report.samples_written,
                rejected: report.refused_samples(),
                message: report.message(),
            });
        }
    };
    let (report, unrouted) = ingester
        .ingest_otlp(org, signal.stream_type(), items)
        .await?;
    let mut reasons: Vec<String> = unrouted.first_error.into_iter().collect();
    reasons.extend(report.streams.iter().filter_map(|s| s.error_summary()));
    Ok(Exported {
        // A copy of a record stored before is accepted: the exporter must not retry it.
        accepted: report.successful() + report.duplicates(),
        rejected: report.failed() + unrouted.count,
        message: reasons.join("; "),
    })
}
