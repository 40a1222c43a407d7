//! Prometheus remote_write 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`): protobuf bodies in snappy's block format.
//!
//! The messages are written out here with prost (the field numbers are the wire contract of
//! prometheus/prompb); the crates on crates.io are built on older prost versions. Native
//! histograms are refused with a count (Prometheus sends them only with
//! `send_native_histograms: true`); their bytes are skipped, not decoded.

use kansoku_meta::MetricMetadata;

use crate::error::DiscardReason;
use crate::samples::{ExemplarWrite, MetricsWrite, Refusal, SeriesWrite, add_refusal};

/// Which message a body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `prometheus.WriteRequest`.
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// Why a body was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Content type or encoding not supported (415).
    Unsupported(String),
    /// The body is not what it claims (400).
    Invalid(String),
    /// The decompressed body would exceed the limit (413).
    TooLarge(String),
}

/// The message version a `Content-Type` names; `Err` for anything remote_write does not send.
pub fn version_of(content_type: Option<&str>) -> Result<Version, BodyError> {
    let Some(content_type) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Version::V1);
    };
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    if media != "application/x-protobuf" {
        return Err(BodyError::Unsupported(format!(
            "unsupported content type {content_type:?}: remote write sends application/x-protobuf"
        )));
    }
    for parameter in parts {
        let Some((key, value)) = parameter.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        return match value.trim().trim_matches('"') {
            "prometheus.WriteRequest" => Ok(Version::V1),
            "io.prometheus.write.v2.Request" => Ok(Version::V2),
            other => Err(BodyError::Unsupported(format!(
                "unsupported remote write message {other:?}: use prometheus.WriteRequest or io.prometheus.write.v2.Request"
            ))),
        };
    }
    Ok(Version::V1)
}

/// Checks `Content-Encoding` (snappy, the only one remote_write allows; absent means snappy).
pub fn check_encoding(encoding: Option<&str>) -> Result<(), BodyError> {
    match encoding.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(()),
        Some(e) if e.eq_ignore_ascii_case("snappy") => Ok(()),
        Some(other) => Err(BodyError::Unsupported(format!(
            "unsupported content encoding {other:?}: remote write bodies are snappy-compressed (block format)"
        ))),
    }
}

/// Decompresses a snappy block body, refusing one that would exceed `max_bytes`.
pub fn decompress(body: &[u8], max_bytes: usize) -> Result<Vec<u8>, BodyError> {
    let length = snap::raw::decompress_len(body)
        .map_err(|e| BodyError::Invalid(format!("corrupt snappy body: {e}")))?;
    // A snappy copy element of two bytes yields at most 64: a body claiming more than that
    // ratio is corrupt, not merely large.
    if length > body.len().saturating_mul(64).max(64) {
        return Err(BodyError::Invalid(format!(
            "corrupt snappy body: it claims {length} bytes from {} compressed bytes",
            body.len()
        )));
    }
    if length > max_bytes {
        return Err(BodyError::TooLarge(format!(
            "decompressed body of {length} bytes exceeds the limit of {max_bytes} bytes"
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| BodyError::Invalid(format!("corrupt snappy body: {e}")))
}

/// Decodes a decompressed body.
pub fn decode(body: &[u8], version: Version) -> Result<MetricsWrite, BodyError> {
    use prost::Message;
    match version {
        Version::V1 => {
            let request = v1::WriteRequest::decode(body).map_err(|e| {
                BodyError::Invalid(format!("invalid remote write 1.0 protobuf: {e}"))
            })?;
            Ok(from_v1(request))
        }
        Version::V2 => {
            let request = v2::Request::decode(body).map_err(|e| {
                BodyError::Invalid(format!("invalid remote write 2.0 protobuf: {e}"))
            })?;
            from_v2(request)
        }
    }
}

/// Prometheus' metric type numbers (the same in 1.0 and 2.0).
fn type_name(number: i32) -> Option<&'static str> {
    match number {
        1 => Some("counter"),
        2 => Some("gauge"),
        3 => Some("histogram"),
        4 => Some("gaugehistogram"),
        5 => Some("summary"),
        6 => Some("info"),
        7 => Some("stateset"),
        _ => None,
    }
}

fn refuse_histograms(refused: &mut Vec<Refusal>, count: usize) {
    if count > 0 {
        add_refusal(
            refused,
            Refusal {
                reason: DiscardReason::NativeHistogram,
                samples: count as u64,
                message: "native histograms are not stored (send classic histograms: send_native_histograms: false)".to_string(),
            },
        );
    }
}

fn from_v1(request: v1::WriteRequest) -> MetricsWrite {
    let mut write = MetricsWrite::default();
    for series in request.timeseries {
        refuse_histograms(&mut write.refused, series.histograms.len());
        write.series.push(SeriesWrite {
            labels: series
                .labels
                .into_iter()
                .map(|l| (l.name, l.value))
                .collect(),
            metric_type: None,
            samples: series
                .samples
                .into_iter()
                .map(|s| (s.timestamp, s.value))
                .collect(),
            exemplars: series
                .exemplars
                .into_iter()
                .map(|e| ExemplarWrite {
                    labels: e.labels.into_iter().map(|l| (l.name, l.value)).collect(),
                    value: e.value,
                    timestamp_ms: e.timestamp,
                })
                .collect(),
        });
    }
    write.metadata = request
        .metadata
        .into_iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| MetricMetadata {
            metric: m.metric_family_name,
            metric_type: type_name(m.r#type).unwrap_or("unknown").to_string(),
            help: m.help,
            unit: m.unit,
        })
        .collect();
    write
}

fn from_v2(request: v2::Request) -> Result<MetricsWrite, BodyError> {
    let symbols = request.symbols;
    if symbols.first().is_some_and(|first| !first.is_empty()) {
        return Err(BodyError::Invalid(
            "invalid remote write 2.0 request: symbols[0] must be the empty string".to_string(),
        ));
    }
    let symbol = |reference: u32| -> Result<&str, String> {
        symbols
            .get(reference as usize)
            .map(String::as_str)
            .ok_or_else(|| {
                format!(
                    "symbol reference {reference} out of range ({} symbols)",
                    symbols.len()
                )
            })
    };
    let pairs = |references: &[u32]| -> Result<Vec<(String, String)>, String> {
        if !references.len().is_multiple_of(2) {
            return Err("odd number of label references".to_string());
        }
        references
            .chunks(2)
            .map(|pair| Ok((symbol(pair[0])?.to_string(), symbol(pair[1])?.to_string())))
            .collect()
    };
    let mut write = MetricsWrite::default();
    for series in request.timeseries {
        refuse_histograms(&mut write.refused, series.histograms.len());
        let labels = match pairs(&series.labels_refs) {
            Ok(labels) => labels,
            Err(message) => {
                add_refusal(
                    &mut write.refused,
                    Refusal {
                        reason: DiscardReason::InvalidSeries,
                        samples: series.samples.len() as u64,
                        message: format!("invalid series: {message}"),
                    },
                );
                continue;
            }
        };
        let mut exemplars = Vec::with_capacity(series.exemplars.len());
        for exemplar in series.exemplars {
            let Ok(labels) = pairs(&exemplar.labels_refs) else {
                continue;
            };
            exemplars.push(ExemplarWrite {
                labels,
                value: exemplar.value,
                timestamp_ms: exemplar.timestamp,
            });
        }
        let metric_type = series.metadata.as_ref().and_then(|m| type_name(m.r#type));
        if let Some(metadata) = &series.metadata {
            let name = labels
                .iter()
                .find(|(n, _)| n == "__name__")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let help = symbol(metadata.help_ref).unwrap_or_default().to_string();
            let unit = symbol(metadata.unit_ref).unwrap_or_default().to_string();
            let known = metric_type.is_some() || !help.is_empty() || !unit.is_empty();
            if known && !name.is_empty() && !write.metadata.iter().any(|m| m.metric == name) {
                write.metadata.push(MetricMetadata {
                    metric: name,
                    metric_type: metric_type.unwrap_or("unknown").to_string(),
                    help,
                    unit,
                });
            }
        }
        write.series.push(SeriesWrite {
            labels,
            metric_type,
            samples: series
                .samples
                .into_iter()
                .map(|s| (s.timestamp, s.value))
                .collect(),
            exemplars,
        });
    }
    Ok(write)
}

/// remote_write 1.0 messages (prometheus/prompb `remote.proto`, `types.proto`).
pub mod v1 {
    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// Series.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        /// Metadata (sent in separate requests by Prometheus).
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// `prometheus.TimeSeries`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Labels, sorted by name.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Samples in time order.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        /// Exemplars.
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Exemplar>,
        /// Native histogram samples (counted, not decoded).
        #[prost(message, repeated, tag = "4")]
        pub histograms: Vec<super::SkippedHistogram>,
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// `prometheus.Exemplar`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Labels (`trace_id`…).
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// `prometheus.MetricMetadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        /// Type (`UNKNOWN` 0 … `STATESET` 7).
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// Family name.
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        /// Help text.
        #[prost(string, tag = "4")]
        pub help: String,
        /// Unit.
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}

/// remote_write 2.0 messages (prometheus/prompb `io/prometheus/write/v2/types.proto`).
pub mod v2 {
    /// `io.prometheus.write.v2.Request`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Request {
        /// The symbol table; `symbols[0]` is `""`.
        #[prost(string, repeated, tag = "4")]
        pub symbols: Vec<String>,
        /// Series.
        #[prost(message, repeated, tag = "5")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// `io.prometheus.write.v2.TimeSeries`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Name and value symbol references, in pairs.
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        /// Samples.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        /// Native histogram samples (counted, not decoded).
        #[prost(message, repeated, tag = "3")]
        pub histograms: Vec<super::SkippedHistogram>,
        /// Exemplars.
        #[prost(message, repeated, tag = "4")]
        pub exemplars: Vec<Exemplar>,
        /// Metadata.
        #[prost(message, optional, tag = "5")]
        pub metadata: Option<Metadata>,
    }

    /// `io.prometheus.write.v2.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
        /// Start (created) timestamp, 0 when unset.
        #[prost(int64, tag = "3")]
        pub start_timestamp: i64,
    }

    /// `io.prometheus.write.v2.Exemplar`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Label symbol references, in pairs.
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        /// Value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// `io.prometheus.write.v2.Metadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Metadata {
        /// Type (`METRIC_TYPE_UNSPECIFIED` 0 … `METRIC_TYPE_STATESET` 7).
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// Help symbol.
        #[prost(uint32, tag = "3")]
        pub help_ref: u32,
        /// Unit symbol.
        #[prost(uint32, tag = "4")]
        pub unit_ref: u32,
    }
}

/// A native histogram whose fields are skipped while decoding (only counted).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SkippedHistogram {}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn v1_body() -> Vec<u8> {
        v1::WriteRequest {
            timeseries: vec![v1::TimeSeries {
                labels: vec![
                    v1::Label {
                        name: "__name__".to_string(),
                        value: "up".to_string(),
                    },
                    v1::Label {
                        name: "job".to_string(),
                        value: "api".to_string(),
                    },
                ],
                samples: vec![v1::Sample {
                    value: f64::from_bits(0x7ff0_0000_0000_0002),
                    timestamp: 1000,
                }],
                exemplars: Vec::new(),
                histograms: vec![SkippedHistogram {}, SkippedHistogram {}],
            }],
            metadata: vec![v1::MetricMetadata {
                r#type: 1,
                metric_family_name: "http_requests_total".to_string(),
                help: "Requests.".to_string(),
                unit: String::new(),
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn content_types_select_the_message() {
        assert_eq!(version_of(None), Ok(Version::V1));
        assert_eq!(version_of(Some("application/x-protobuf")), Ok(Version::V1));
        assert_eq!(
            version_of(Some(
                "application/x-protobuf;proto=io.prometheus.write.v2.Request"
            )),
            Ok(Version::V2)
        );
        assert!(matches!(
            version_of(Some("application/json")),
            Err(BodyError::Unsupported(_))
        ));
        assert!(matches!(
            version_of(Some("application/x-protobuf;proto=foo.Bar")),
            Err(BodyError::Unsupported(_))
        ));
        assert!(check_encoding(Some("snappy")).is_ok());
        assert!(matches!(
            check_encoding(Some("gzip")),
            Err(BodyError::Unsupported(_))
        ));
    }

    #[test]
    fn version_one_bodies_decode_with_metadata_and_refused_histograms() {
        let compressed = snap::raw::Encoder::new()
            .compress_vec(&v1_body())
            .unwrap_or_default();
        let body = decompress(&compressed, 1 << 20).unwrap_or_default();
        let write = decode(&body, Version::V1).unwrap_or_default();
        assert_eq!(write.series.len(), 1);
        assert_eq!(
            write.series[0].samples[0].1.to_bits(),
            0x7ff0_0000_0000_0002
        );
        assert_eq!(write.metadata[0].metric_type, "counter");
        assert_eq!(write.refused[0].samples, 2);
        assert_eq!(write.refused[0].reason, DiscardReason::NativeHistogram);
        assert!(matches!(
            decompress(&compressed, 4),
            Err(BodyError::TooLarge(_))
        ));
        let zeros = snap::raw::Encoder::new()
            .compress_vec(&[0u8; 100_000])
            .unwrap_or_default();
        assert!(matches!(
            decompress(&zeros, 1000),
            Err(BodyError::TooLarge(_))
        ));
        assert!(matches!(
            decompress(b"\xff\xff\xff\xff", 1 << 20),
            Err(BodyError::Invalid(_))
        ));
    }

    #[test]
    fn version_two_bodies_resolve_symbols() {
        let request = v2::Request {
            symbols: [
                "",
                "__name__",
                "http_requests_total",
                "job",
                "api",
                "Requests.",
                "trace_id",
                "abc",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            timeseries: vec![v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![v2::Sample {
                    value: 3.0,
                    timestamp: 5,
                    start_timestamp: 0,
                }],
                histograms: Vec::new(),
                exemplars: vec![v2::Exemplar {
                    labels_refs: vec![6, 7],
                    value: 1.0,
                    timestamp: 5,
                }],
                metadata: Some(v2::Metadata {
                    r#type: 1,
                    help_ref: 5,
                    unit_ref: 0,
                }),
            }],
        };
        let write = decode(&request.encode_to_vec(), Version::V2).unwrap_or_default();
        assert_eq!(
            write.series[0].labels[1],
            ("job".to_string(), "api".to_string())
        );
        assert_eq!(write.series[0].metric_type, Some("counter"));
        assert_eq!(write.series[0].exemplars[0].labels[0].1, "abc");
        assert_eq!(write.metadata[0].help, "Requests.");
        let mut bad = request.clone();
        bad.timeseries[0].labels_refs = vec![1, 99];
        let write = decode(&bad.encode_to_vec(), Version::V2).unwrap_or_default();
        assert!(write.series.is_empty());
        assert!(
            write.refused[0].message.contains("out of range"),
            "{:?}",
            write.refused
        );
        let mut no_empty_symbol = request;
        no_empty_symbol.symbols[0] = "x".to_string();
        assert!(decode(&no_empty_symbol.encode_to_vec(), Version::V2).is_err());
    }
}
