//! Prometheus remote_write 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`): protobuf bodies in snappy's block format.
//!
//! The messages are written out here with prost (the field numbers are the wire contract of
//! prometheus/prompb); the crates on crates.io are built on older prost versions. Native
//! histograms are refused with a count (Prometheus sends them only with
//! `send_native_histograms: true`); their bytes are skipped, not decoded.

use std::borrow::Cow;

use kansoku_meta::MetricMetadata;

use super::remote_write_v1::Decoded;
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

/// Label strings of a decoded body: borrowed from it (1.0) or owned (2.0's symbol table).
pub type Label<'a> = Cow<'a, str>;

/// Decodes a decompressed body. remote_write 1.0, what Prometheus sends, is decoded without
/// copying its label strings ([`super::remote_write_v1`]).
pub fn decode(body: &[u8], version: Version) -> Result<MetricsWrite<Label<'_>>, BodyError> {
    use prost::Message;
    match version {
        Version::V1 => {
            let request = super::remote_write_v1::decode(body).map_err(|e| {
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

/// Owned labels, for comparing decoders.
type OwnedLabels = Vec<(String, String)>;
/// A series as both decoders see it: labels, samples (value bits), native histograms.
type SeriesView = (OwnedLabels, Vec<(i64, u64)>, usize);
/// An exemplar as both decoders see it: labels, value bits, timestamp.
type ExemplarView = (OwnedLabels, u64, i64);

/// Checks that the borrowing 1.0 decoder and prost's (the messages in [`v1`]) read `body` the
/// same way: both refuse it, or both give the same series, samples (bit for bit), exemplars,
/// native histogram counts and metadata. For the property test and the fuzz target; `Err`
/// describes the first difference.
pub fn check_v1_against_prost(body: &[u8]) -> Result<(), String> {
    use prost::Message;
    let reference = v1::WriteRequest::decode(body);
    let borrowed = super::remote_write_v1::decode(body);
    let (reference, borrowed) = match (reference, borrowed) {
        (Err(_), Err(_)) => return Ok(()),
        (Ok(reference), Ok(borrowed)) => (reference, borrowed),
        (reference, borrowed) => {
            return Err(format!(
                "prost: {:?}, borrowed decoder: {:?}",
                reference.err(),
                borrowed.err()
            ));
        }
    };
    let owned = |labels: &[v1::Label]| -> OwnedLabels {
        labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    };
    let expected_series: Vec<SeriesView> = reference
        .timeseries
        .iter()
        .map(|s| {
            let samples = s.samples.iter().map(|p| (p.timestamp, p.value.to_bits()));
            (owned(&s.labels), samples.collect(), s.histograms.len())
        })
        .collect();
    let found_series: Vec<SeriesView> = borrowed
        .series
        .iter()
        .zip(&borrowed.histograms)
        .map(|(s, histograms)| {
            let labels = s.labels.iter().map(|(n, v)| (n.to_string(), v.to_string()));
            let samples = s.samples.iter().map(|(t, v)| (*t, v.to_bits()));
            (labels.collect(), samples.collect(), *histograms)
        })
        .collect();
    if expected_series != found_series {
        return Err(format!(
            "series differ: prost {expected_series:?}, borrowed {found_series:?}"
        ));
    }
    let expected_exemplars: Vec<ExemplarView> = reference
        .timeseries
        .iter()
        .flat_map(|s| &s.exemplars)
        .map(|e| (owned(&e.labels), e.value.to_bits(), e.timestamp))
        .collect();
    let found_exemplars: Vec<ExemplarView> = borrowed
        .series
        .iter()
        .flat_map(|s| &s.exemplars)
        .map(|e| {
            let labels = e.labels.iter().map(|(n, v)| (n.to_string(), v.to_string()));
            (labels.collect(), e.value.to_bits(), e.timestamp_ms)
        })
        .collect();
    if expected_exemplars != found_exemplars {
        return Err(format!(
            "exemplars differ: prost {expected_exemplars:?}, borrowed {found_exemplars:?}"
        ));
    }
    let expected_metadata: Vec<(i32, &str, &str, &str)> = reference
        .metadata
        .iter()
        .map(|m| (m.r#type, &*m.metric_family_name, &*m.help, &*m.unit))
        .collect();
    let found_metadata: Vec<(i32, &str, &str, &str)> = borrowed
        .metadata
        .iter()
        .map(|(t, m)| (*t, &*m.metric, &*m.help, &*m.unit))
        .collect();
    if expected_metadata != found_metadata {
        return Err(format!(
            "metadata differ: prost {expected_metadata:?}, borrowed {found_metadata:?}"
        ));
    }
    Ok(())
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

fn from_v1(request: Decoded<'_>) -> MetricsWrite<Label<'_>> {
    let mut write = MetricsWrite {
        series: request.series,
        ..MetricsWrite::default()
    };
    refuse_histograms(&mut write.refused, request.histograms.iter().sum());
    write.metadata = request
        .metadata
        .into_iter()
        .filter(|(_, m)| !m.metric.is_empty())
        .map(|(type_number, m)| MetricMetadata {
            metric_type: type_name(type_number).unwrap_or("unknown").to_string(),
            ..m
        })
        .collect();
    write
}

fn from_v2(request: v2::Request) -> Result<MetricsWrite<Label<'static>>, BodyError> {
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
    let pairs = |references: &[u32]| -> Result<Vec<(Label<'static>, Label<'static>)>, String> {
        if !references.len().is_multiple_of(2) {
            return Err("odd number of label references".to_string());
        }
        references
            .chunks(2)
            .map(|pair| {
                let name = symbol(pair[0])?.to_string();
                let value = symbol(pair[1])?.to_string();
                Ok((Cow::Owned(name), Cow::Owned(value)))
            })
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
                .map(|(_, v)| v.to_string())
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
        let body = request.encode_to_vec();
        let write = decode(&body, Version::V2).unwrap_or_default();
        assert_eq!(
            write.series[0].labels[1],
            (Cow::Borrowed("job"), Cow::Borrowed("api"))
        );
        assert_eq!(write.series[0].metric_type, Some("counter"));
        assert_eq!(write.series[0].exemplars[0].labels[0].1, "abc");
        assert_eq!(write.metadata[0].help, "Requests.");
        let mut bad = request.clone();
        bad.timeseries[0].labels_refs = vec![1, 99];
        let bad_body = bad.encode_to_vec();
        let write = decode(&bad_body, Version::V2).unwrap_or_default();
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

    fn label_strategy() -> impl proptest::strategy::Strategy<Value = v1::Label> {
        use proptest::prelude::*;
        ("[a-z_]{0,6}", "\\PC{0,6}").prop_map(|(name, value)| v1::Label { name, value })
    }

    fn request_strategy() -> impl proptest::strategy::Strategy<Value = v1::WriteRequest> {
        use proptest::prelude::*;
        let sample = (any::<i64>(), any::<u64>()).prop_map(|(timestamp, bits)| v1::Sample {
            value: f64::from_bits(bits),
            timestamp,
        });
        let exemplar = (
            proptest::collection::vec(label_strategy(), 0..3),
            any::<f64>(),
            any::<i64>(),
        )
            .prop_map(|(labels, value, timestamp)| v1::Exemplar {
                labels,
                value,
                timestamp,
            });
        let series = (
            proptest::collection::vec(label_strategy(), 0..5),
            proptest::collection::vec(sample, 0..4),
            proptest::collection::vec(exemplar, 0..2),
            0usize..3,
        )
            .prop_map(|(labels, samples, exemplars, histograms)| v1::TimeSeries {
                labels,
                samples,
                exemplars,
                histograms: vec![SkippedHistogram {}; histograms],
            });
        let metadata = (any::<i32>(), "[a-z_]{0,6}", "\\PC{0,8}", "[a-z]{0,3}").prop_map(
            |(r#type, metric_family_name, help, unit)| v1::MetricMetadata {
                r#type,
                metric_family_name,
                help,
                unit,
            },
        );
        (
            proptest::collection::vec(series, 0..4),
            proptest::collection::vec(metadata, 0..2),
        )
            .prop_map(|(timeseries, metadata)| v1::WriteRequest {
                timeseries,
                metadata,
            })
    }

    proptest::proptest! {
        #[test]
        fn borrowed_decoder_agrees_with_prost_on_valid_bodies(request in request_strategy()) {
            let body = request.encode_to_vec();
            proptest::prop_assert_eq!(check_v1_against_prost(&body), Ok(()));
            let write = decode(&body, Version::V1).map_err(|e| format!("{e:?}"));
            proptest::prop_assert!(write.is_ok(), "{:?}", write.err());
        }

        #[test]
        fn borrowed_decoder_agrees_with_prost_on_damaged_bodies(
            request in request_strategy(),
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut body = request.encode_to_vec();
            for (position, byte, kind) in edits {
                let index = position % (body.len() + 1);
                match kind {
                    0 if index < body.len() => body[index] = byte,
                    1 => body.insert(index, byte),
                    _ => body.truncate(index),
                }
            }
            proptest::prop_assert_eq!(check_v1_against_prost(&body), Ok(()));
        }
    }

    #[test]
    fn version_one_labels_are_borrowed_from_the_body() {
        let body = v1_body();
        let write = decode(&body, Version::V1).unwrap_or_default();
        assert!(
            write.series[0]
                .labels
                .iter()
                .all(|(n, v)| matches!(n, Cow::Borrowed(_)) && matches!(v, Cow::Borrowed(_)))
        );
        // Unknown fields, including groups, are skipped as prost skips them.
        let mut with_unknown = body.clone();
        with_unknown.extend_from_slice(&[0x3b, 0x08, 0x01, 0x3c, 0x40, 0x07]);
        assert_eq!(check_v1_against_prost(&with_unknown), Ok(()));
        assert_eq!(
            decode(&with_unknown, Version::V1)
                .unwrap_or_default()
                .series
                .len(),
            1
        );
        // A label value that is not UTF-8 is refused by both.
        let bad = v1::WriteRequest {
            timeseries: vec![v1::TimeSeries {
                labels: vec![v1::Label {
                    name: "__name__".to_string(),
                    value: "up\u{e9}".to_string(),
                }],
                ..v1::TimeSeries::default()
            }],
            metadata: Vec::new(),
        }
        .encode_to_vec();
        let mut bad = bad;
        let last = bad.len() - 1;
        bad[last] = 0xff;
        assert_eq!(check_v1_against_prost(&bad), Ok(()));
        assert!(
            matches!(decode(&bad, Version::V1), Err(BodyError::Invalid(m)) if m.contains("UTF-8"))
        );
    }
}
