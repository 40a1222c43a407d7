//! OTLP metrics → one stream per metric name (normalised like stream names:
//! `http.server.duration` → `http_server_duration`), one row per point, in a Prometheus-shaped
//! model a PromQL engine can read directly:
//!
//! - columns: `__name__`, `__type__` (`gauge`, `counter`, `histogram`, `summary`), the labels
//!   (resource attributes, then the point's attributes, which win), `value` (float) and
//!   `_timestamp`; sums and histograms also carry `aggregation_temporality` (`cumulative` or
//!   `delta`);
//! - gauges and non-monotonic sums are `gauge`s; monotonic sums are `counter`s;
//! - histograms become `<name>_bucket` (cumulative counts with an `le` label, the last `+Inf`),
//!   `<name>_sum`, `<name>_count` and, when sent, `<name>_min` / `<name>_max`;
//! - summaries become `<name>` (one row per quantile, label `quantile`), `<name>_sum`,
//!   `<name>_count`;
//! - exponential histograms are degraded to classic ones: an `le` bucket at the zero threshold
//!   holding the zero bucket and every negative value, then one per positive exponential bucket
//!   with its upper bound `base^(index+1)`, `base = 2^(2^-scale)`.
//!
//! Points flagged "no recorded value" are skipped. Rows of a stream are stored clustered by their
//! low-cardinality label columns and then time (see ARCHITECTURE.md), so a series' points are
//! adjacent in each file.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};

use super::{OtlpItem, RecordBuilder, nanos_to_micros};
use crate::record::Scalar;

const NO_RECORDED_VALUE: u32 = 1;

/// One row under construction.
struct Point<'a> {
    name: String,
    kind: &'static str,
    resource: &'a [KeyValue],
    attributes: &'a [KeyValue],
    time_nanos: u64,
    temporality: Option<&'static str>,
}

impl Point<'_> {
    fn row(&self, suffix: &str, value: f64, extra: Option<(&str, String)>) -> OtlpItem {
        let name = format!("{}{suffix}", self.name);
        let mut record = RecordBuilder::default();
        record.attributes(self.resource, "");
        record.attributes(self.attributes, "");
        if let Some((label, text)) = extra {
            record.text(label, text);
        }
        if let Some(temporality) = self.temporality {
            record.text("aggregation_temporality", temporality);
        }
        record.text("__name__", name.clone());
        record.text("__type__", self.kind);
        record.set("value", Scalar::Float(value));
        if self.time_nanos > 0 {
            record.set(
                kansoku_core::schema::TIMESTAMP_COLUMN,
                Scalar::Int(nanos_to_micros(self.time_nanos)),
            );
        }
        OtlpItem {
            stream: name,
            record: Ok(record.finish()),
        }
    }
}

fn temporality(value: i32) -> &'static str {
    if value == 1 { "delta" } else { "cumulative" }
}

/// A bound as Prometheus writes it.
pub fn bound_text(bound: f64) -> String {
    if bound == f64::INFINITY {
        return "+Inf".to_string();
    }
    format!("{bound}")
}

/// The rows of a request (each names its own stream).
pub fn records(request: &ExportMetricsServiceRequest) -> Vec<OtlpItem> {
    let mut items = Vec::new();
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        for scope in &resource_metrics.scope_metrics {
            for metric in &scope.metrics {
                let name = kansoku_core::names::normalise_field_name(&metric.name);
                if metric.name.trim().is_empty() {
                    items.push(OtlpItem {
                        stream: String::new(),
                        record: Err("a metric has no name".to_string()),
                    });
                    continue;
                }
                let Some(data) = &metric.data else {
                    continue;
                };
                metric_rows(&name, data, resource, &mut items);
            }
        }
    }
    items
}

fn metric_rows(name: &str, data: &Data, resource: &[KeyValue], items: &mut Vec<OtlpItem>) {
    let point = |kind, attributes, time_nanos, temporality| Point {
        name: name.to_string(),
        kind,
        resource,
        attributes,
        time_nanos,
        temporality,
    };
    match data {
        Data::Gauge(gauge) => {
            for p in &gauge.data_points {
                if let Some(value) = number(p.value.as_ref(), p.flags) {
                    items.push(
                        point("gauge", &p.attributes, p.time_unix_nano, None).row("", value, None),
                    );
                }
            }
        }
        Data::Sum(sum) => {
            let kind = if sum.is_monotonic { "counter" } else { "gauge" };
            let temporality = Some(temporality(sum.aggregation_temporality));
            for p in &sum.data_points {
                if let Some(value) = number(p.value.as_ref(), p.flags) {
                    items.push(
                        point(kind, &p.attributes, p.time_unix_nano, temporality)
                            .row("", value, None),
                    );
                }
            }
        }
        Data::Histogram(histogram) => {
            let temporality = Some(temporality(histogram.aggregation_temporality));
            for p in &histogram.data_points {
                if p.flags & NO_RECORDED_VALUE != 0 {
                    continue;
                }
                let row = point("histogram", &p.attributes, p.time_unix_nano, temporality);
                let mut cumulative = 0u64;
                for (index, count) in p.bucket_counts.iter().enumerate() {
                    cumulative = cumulative.saturating_add(*count);
                    let bound = p
                        .explicit_bounds
                        .get(index)
                        .copied()
                        .unwrap_or(f64::INFINITY);
                    items.push(row.row(
                        "_bucket",
                        cumulative as f64,
                        Some(("le", bound_text(bound))),
                    ));
                }
                if p.bucket_counts.is_empty() {
                    items.push(row.row(
                        "_bucket",
                        p.count as f64,
                        Some(("le", "+Inf".to_string())),
                    ));
                }
                summary_rows(&row, p.sum, p.count, p.min, p.max, items);
            }
        }
        Data::ExponentialHistogram(histogram) => {
            let temporality = Some(temporality(histogram.aggregation_temporality));
            for p in &histogram.data_points {
                if p.flags & NO_RECORDED_VALUE != 0 {
                    continue;
                }
                let row = point("histogram", &p.attributes, p.time_unix_nano, temporality);
                let negative: u64 = p
                    .negative
                    .as_ref()
                    .map(|b| b.bucket_counts.iter().sum())
                    .unwrap_or(0);
                let mut cumulative = negative.saturating_add(p.zero_count);
                items.push(row.row(
                    "_bucket",
                    cumulative as f64,
                    Some(("le", bound_text(p.zero_threshold))),
                ));
                let base = 2f64.powf(2f64.powi(-p.scale));
                if let Some(positive) = &p.positive {
                    for (i, count) in positive.bucket_counts.iter().enumerate() {
                        cumulative = cumulative.saturating_add(*count);
                        let index = i64::from(positive.offset) + i as i64 + 1;
                        let bound = base.powf(index as f64);
                        items.push(row.row(
                            "_bucket",
                            cumulative as f64,
                            Some(("le", bound_text(bound))),
                        ));
                    }
                }
                items.push(row.row("_bucket", p.count as f64, Some(("le", "+Inf".to_string()))));
                summary_rows(&row, p.sum, p.count, p.min, p.max, items);
            }
        }
        Data::Summary(summary) => {
            for p in &summary.data_points {
                if p.flags & NO_RECORDED_VALUE != 0 {
                    continue;
                }
                let row = point("summary", &p.attributes, p.time_unix_nano, None);
                for quantile in &p.quantile_values {
                    items.push(row.row(
                        "",
                        quantile.value,
                        Some(("quantile", bound_text(quantile.quantile))),
                    ));
                }
                summary_rows(&row, Some(p.sum), p.count, None, None, items);
            }
        }
    }
}

fn summary_rows(
    row: &Point<'_>,
    sum: Option<f64>,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
    items: &mut Vec<OtlpItem>,
) {
    if let Some(sum) = sum {
        items.push(row.row("_sum", sum, None));
    }
    items.push(row.row("_count", count as f64, None));
    if let Some(min) = min {
        items.push(row.row("_min", min, None));
    }
    if let Some(max) = max {
        items.push(row.row("_max", max, None));
    }
}

fn number(value: Option<&number_data_point::Value>, flags: u32) -> Option<f64> {
    if flags & NO_RECORDED_VALUE != 0 {
        return None;
    }
    match value? {
        number_data_point::Value::AsDouble(value) => Some(*value),
        number_data_point::Value::AsInt(value) => Some(*value as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
    };

    /// Stream, `le`/`quantile` label, value and `__type__` of each row.
    type Row = (
        String,
        Option<String>,
        Option<Scalar<'static>>,
        Option<Scalar<'static>>,
    );

    fn rows_of(data: Data) -> Vec<Row> {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "rpc.latency".to_string(),
                        data: Some(data),
                        ..Metric::default()
                    }],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        };
        records(&request)
            .into_iter()
            .map(|item| {
                let record = item.record.unwrap_or_else(|e| panic!("{e}"));
                let label = ["le", "quantile"]
                    .iter()
                    .find_map(|name| match record.get(name) {
                        Some(Scalar::Str(text)) => Some(text.to_string()),
                        _ => None,
                    });
                (
                    item.stream,
                    label,
                    record.get("value").cloned(),
                    record.get("__type__").cloned(),
                )
            })
            .collect()
    }

    #[test]
    fn summaries_become_quantile_rows_sum_and_count() {
        use opentelemetry_proto::tonic::metrics::v1::{
            Summary, SummaryDataPoint, summary_data_point::ValueAtQuantile,
        };
        let rows = rows_of(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                count: 10,
                sum: 4.5,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.3,
                    },
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 1.2,
                    },
                ],
                ..SummaryDataPoint::default()
            }],
        }));
        let summary = Some(Scalar::Str("summary".into()));
        assert_eq!(
            rows,
            vec![
                (
                    "rpc_latency".to_string(),
                    Some("0.5".to_string()),
                    Some(Scalar::Float(0.3)),
                    summary.clone()
                ),
                (
                    "rpc_latency".to_string(),
                    Some("0.99".to_string()),
                    Some(Scalar::Float(1.2)),
                    summary.clone()
                ),
                (
                    "rpc_latency_sum".to_string(),
                    None,
                    Some(Scalar::Float(4.5)),
                    summary.clone()
                ),
                (
                    "rpc_latency_count".to_string(),
                    None,
                    Some(Scalar::Float(10.0)),
                    summary
                ),
            ]
        );
    }

    #[test]
    fn exponential_histograms_degrade_to_classic_buckets() {
        use opentelemetry_proto::tonic::metrics::v1::{
            ExponentialHistogram, ExponentialHistogramDataPoint,
            exponential_histogram_data_point::Buckets,
        };
        // scale 0: base 2; positive buckets at offset 1 cover (2,4], (4,8], (8,16].
        let rows = rows_of(Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: 2,
            data_points: vec![ExponentialHistogramDataPoint {
                count: 9,
                sum: Some(50.0),
                scale: 0,
                zero_count: 1,
                positive: Some(Buckets {
                    offset: 1,
                    bucket_counts: vec![2, 3, 1],
                }),
                negative: Some(Buckets {
                    offset: 0,
                    bucket_counts: vec![2],
                }),
                ..ExponentialHistogramDataPoint::default()
            }],
        }));
        let buckets: Vec<(Option<String>, Option<Scalar<'_>>)> = rows
            .iter()
            .filter(|row| row.0 == "rpc_latency_bucket")
            .map(|row| (row.1.clone(), row.2.clone()))
            .collect();
        assert_eq!(
            buckets,
            vec![
                (Some("0".to_string()), Some(Scalar::Float(3.0))),
                (Some("4".to_string()), Some(Scalar::Float(5.0))),
                (Some("8".to_string()), Some(Scalar::Float(8.0))),
                (Some("16".to_string()), Some(Scalar::Float(9.0))),
                (Some("+Inf".to_string()), Some(Scalar::Float(9.0))),
            ]
        );
        assert!(
            rows.iter()
                .any(|row| row.0 == "rpc_latency_sum" && row.2 == Some(Scalar::Float(50.0)))
        );
        assert!(
            rows.iter()
                .all(|row| row.3 == Some(Scalar::Str("histogram".into())))
        );
    }

    #[test]
    fn histograms_become_cumulative_buckets_sum_and_count() {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "http.server.duration".to_string(),
                        data: Some(Data::Histogram(Histogram {
                            aggregation_temporality: 2,
                            data_points: vec![HistogramDataPoint {
                                time_unix_nano: 1_700_000_000_000_000_000,
                                count: 6,
                                sum: Some(1.5),
                                bucket_counts: vec![1, 2, 3],
                                explicit_bounds: vec![0.1, 0.5],
                                ..HistogramDataPoint::default()
                            }],
                        })),
                        ..Metric::default()
                    }],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        };
        let items = records(&request);
        let summary: Vec<(String, Option<String>, Option<Scalar<'_>>)> = items
            .iter()
            .map(|item| {
                let record = item.record.as_ref().unwrap_or_else(|e| panic!("{e}"));
                let le = match record.get("le") {
                    Some(Scalar::Str(text)) => Some(text.to_string()),
                    _ => None,
                };
                (item.stream.clone(), le, record.get("value").cloned())
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "http_server_duration_bucket".to_string(),
                    Some("0.1".to_string()),
                    Some(Scalar::Float(1.0))
                ),
                (
                    "http_server_duration_bucket".to_string(),
                    Some("0.5".to_string()),
                    Some(Scalar::Float(3.0))
                ),
                (
                    "http_server_duration_bucket".to_string(),
                    Some("+Inf".to_string()),
                    Some(Scalar::Float(6.0))
                ),
                (
                    "http_server_duration_sum".to_string(),
                    None,
                    Some(Scalar::Float(1.5))
                ),
                (
                    "http_server_duration_count".to_string(),
                    None,
                    Some(Scalar::Float(6.0))
                ),
            ]
        );
    }
}
