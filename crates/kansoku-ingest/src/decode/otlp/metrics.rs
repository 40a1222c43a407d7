//! OTLP metrics → Prometheus series, named as the OpenTelemetry → Prometheus compatibility
//! specification says, so PromQL finds them under the names Prometheus would give them
//! (`k8s.pod.memory.working_set` in bytes → `k8s_pod_memory_working_set_bytes`):
//!
//! - the metric name: characters outside `[a-zA-Z0-9_:]` become `_`, the unit is appended as a
//!   Prometheus unit word (`By` → `bytes`, `s` → `seconds`, `By/s` → `bytes_per_second`, `1` on a
//!   gauge → `ratio`; `{annotations}` dropped) unless the name already ends with it, and
//!   monotonic sums get `_total`;
//! - labels: every resource attribute, then the point's attributes (which win), names with
//!   characters outside `[a-zA-Z0-9_]` replaced by `_` (`k8s.pod.name` → `k8s_pod_name`) and a
//!   leading digit prefixed with `key_`; `job` from `service.namespace`/`service.name`,
//!   `instance` from `service.instance.id`, `otel_scope_name`/`otel_scope_version` from the
//!   scope;
//! - gauges and non-monotonic sums are `gauge`s, monotonic sums `counter`s; histograms become
//!   `_bucket` series (cumulative, `le` label, `+Inf` last), `_sum` and `_count`; exponential
//!   histograms are degraded to classic buckets (the zero bucket and every negative value under
//!   `le` = the zero threshold, then one bucket per positive exponential bucket); summaries
//!   become the metric with a `quantile` label, `_sum` and `_count`;
//! - a point flagged "no recorded value" becomes a stale marker; delta temporality is refused
//!   (as Prometheus refuses it), each point counted with a message saying how to fix it;
//! - exemplars keep their trace and span ids as `trace_id` / `span_id` labels;
//! - descriptions and units become metric metadata.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, metric::Data, number_data_point};

use kansoku_meta::MetricMetadata;

use super::{any_value_json, hex};
use crate::error::DiscardReason;
use crate::samples::{ExemplarWrite, MetricsWrite, Refusal, SeriesWrite, add_refusal};

const NO_RECORDED_VALUE: u32 = 1;
const DELTA: i32 = 1;
/// The stale marker written for points flagged "no recorded value".
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// What kind of Prometheus metric an OTLP metric becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// The series of a request (`now_ms` stands in for points without a time).
pub fn series(request: &ExportMetricsServiceRequest, now_ms: i64) -> MetricsWrite {
    let mut write = MetricsWrite::default();
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        for scope_metrics in &resource_metrics.scope_metrics {
            let mut base = resource_labels(resource);
            if let Some(scope) = &scope_metrics.scope {
                set(&mut base, "otel_scope_name", &scope.name);
                set(&mut base, "otel_scope_version", &scope.version);
            }
            for metric in &scope_metrics.metrics {
                if metric.name.trim().is_empty() {
                    add_refusal(
                        &mut write.refused,
                        Refusal {
                            reason: DiscardReason::InvalidOtlp,
                            samples: 1,
                            message: "a metric has no name".to_string(),
                        },
                    );
                    continue;
                }
                let Some(data) = &metric.data else {
                    continue;
                };
                let converter = Converter {
                    base: &base,
                    name: &metric.name,
                    unit: &metric.unit,
                    now_ms,
                };
                let kind = converter.convert(data, &mut write);
                if let Some(kind) = kind
                    && (!metric.description.is_empty() || !metric.unit.is_empty())
                {
                    write.metadata.push(MetricMetadata {
                        metric: metric_name(&metric.name, &metric.unit, kind),
                        metric_type: kind.as_str().to_string(),
                        help: metric.description.clone(),
                        unit: prometheus_unit(&metric.unit),
                    });
                }
            }
        }
    }
    write
}

/// Sets `name` (normalised) to `value` unless the value is empty.
fn set(labels: &mut Vec<(String, String)>, name: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let name = label_name(name);
    labels.retain(|(existing, _)| *existing != name);
    labels.push((name, value.to_string()));
}

fn attribute_text(attribute: &KeyValue) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = attribute.value.as_ref()?;
    Some(match value.value.as_ref()? {
        Value::StringValue(text) => text.clone(),
        Value::BoolValue(flag) => flag.to_string(),
        Value::IntValue(number) => number.to_string(),
        Value::DoubleValue(number) => number.to_string(),
        Value::BytesValue(bytes) => hex(bytes),
        Value::ArrayValue(_) | Value::KvlistValue(_) => any_value_json(value, 0).to_string(),
        Value::StringValueStrindex(_) => return None,
    })
}

fn resource_labels(resource: &[KeyValue]) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let find = |key: &str| {
        resource
            .iter()
            .find(|a| a.key == key)
            .and_then(attribute_text)
    };
    for attribute in resource {
        if let Some(value) = attribute_text(attribute) {
            set(&mut labels, &attribute.key, &value);
        }
    }
    let job = match (find("service.namespace"), find("service.name")) {
        (Some(namespace), Some(name)) => Some(format!("{namespace}/{name}")),
        (None, Some(name)) => Some(name),
        _ => None,
    };
    if let Some(job) = job {
        set(&mut labels, "job", &job);
    }
    if let Some(instance) = find("service.instance.id") {
        set(&mut labels, "instance", &instance);
    }
    labels
}

/// A label name as Prometheus' OTLP translation writes it.
pub fn label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        out = format!("key_{out}");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out = format!("key{out}");
    }
    out
}

/// A metric name as Prometheus' OTLP translation writes it.
fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut base = String::with_capacity(name.len() + 16);
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        };
        if c == '_' && base.ends_with('_') {
            continue;
        }
        base.push(c);
    }
    if base.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        base.insert(0, '_');
    }
    let tokens: Vec<&str> = base.split('_').collect();
    let suffix = prometheus_unit(unit);
    if !suffix.is_empty()
        && !base.ends_with(&format!("_{suffix}"))
        && !tokens.contains(&suffix.as_str())
    {
        base.push('_');
        base.push_str(&suffix);
    }
    if kind == Kind::Gauge && unit.trim() == "1" && !base.ends_with("_ratio") {
        base.push_str("_ratio");
    }
    if kind == Kind::Counter && !base.ends_with("_total") {
        base.push_str("_total");
    }
    base
}

/// An OTLP (UCUM) unit as Prometheus' unit word: `By` → `bytes`, `By/s` → `bytes_per_second`,
/// `1` → none, `{packets}` → none.
pub fn prometheus_unit(unit: &str) -> String {
    let mut plain = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim();
    if plain.is_empty() || plain == "1" {
        return String::new();
    }
    let word = |unit: &str, per: bool| -> String {
        let known = if per {
            match unit {
                "s" => Some("second"),
                "m" => Some("minute"),
                "h" => Some("hour"),
                "d" => Some("day"),
                "w" => Some("week"),
                "mo" => Some("month"),
                "y" => Some("year"),
                _ => None,
            }
        } else {
            match unit {
                "d" => Some("days"),
                "h" => Some("hours"),
                "min" => Some("minutes"),
                "s" => Some("seconds"),
                "ms" => Some("milliseconds"),
                "us" => Some("microseconds"),
                "ns" => Some("nanoseconds"),
                "By" => Some("bytes"),
                "KiBy" => Some("kibibytes"),
                "MiBy" => Some("mebibytes"),
                "GiBy" => Some("gibibytes"),
                "TiBy" => Some("tibibytes"),
                "KBy" => Some("kilobytes"),
                "MBy" => Some("megabytes"),
                "GBy" => Some("gigabytes"),
                "TBy" => Some("terabytes"),
                "m" => Some("meters"),
                "V" => Some("volts"),
                "A" => Some("amperes"),
                "J" => Some("joules"),
                "W" => Some("watts"),
                "g" => Some("grams"),
                "Cel" => Some("celsius"),
                "Hz" => Some("hertz"),
                "%" => Some("percent"),
                _ => None,
            }
        };
        known.map(str::to_string).unwrap_or_else(|| {
            unit.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        })
    };
    match plain.split_once('/') {
        Some((main, per)) => {
            let main = word(main.trim(), false);
            let per = word(per.trim(), true);
            if main.is_empty() {
                format!("per_{per}")
            } else {
                format!("{main}_per_{per}")
            }
        }
        None => word(plain, false),
    }
}

struct Converter<'a> {
    base: &'a [(String, String)],
    name: &'a str,
    unit: &'a str,
    now_ms: i64,
}

impl Converter<'_> {
    fn labels(
        &self,
        name: String,
        attributes: &[KeyValue],
        extra: Option<(&str, String)>,
    ) -> Vec<(String, String)> {
        let mut labels = self.base.to_vec();
        for attribute in attributes {
            if let Some(value) = attribute_text(attribute) {
                set(&mut labels, &attribute.key, &value);
            }
        }
        if let Some((label, value)) = extra {
            set(&mut labels, label, &value);
        }
        labels.retain(|(n, _)| n != "__name__");
        labels.push(("__name__".to_string(), name));
        labels
    }

    fn time(&self, nanos: u64) -> i64 {
        if nanos == 0 {
            return self.now_ms;
        }
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }

    fn push(
        &self,
        write: &mut MetricsWrite,
        kind: Kind,
        labels: Vec<(String, String)>,
        sample: (i64, f64),
        exemplars: &[Exemplar],
    ) {
        let exemplars = exemplars.iter().filter_map(exemplar).collect();
        write.series.push(SeriesWrite {
            labels,
            metric_type: Some(kind.as_str()),
            samples: vec![sample],
            exemplars,
        });
    }

    fn refuse_delta(&self, write: &mut MetricsWrite, points: usize) {
        add_refusal(
            &mut write.refused,
            Refusal {
                reason: DiscardReason::InvalidOtlp,
                samples: points as u64,
                message: format!(
                    "metric {:?} has delta temporality; configure the exporter for cumulative temporality (Prometheus refuses delta too)",
                    self.name
                ),
            },
        );
    }

    /// Adds the series of one metric; returns its kind (for metadata).
    fn convert(&self, data: &Data, write: &mut MetricsWrite) -> Option<Kind> {
        match data {
            Data::Gauge(gauge) => {
                let name = metric_name(self.name, self.unit, Kind::Gauge);
                for p in &gauge.data_points {
                    let labels = self.labels(name.clone(), &p.attributes, None);
                    let sample = (
                        self.time(p.time_unix_nano),
                        number(p.value.as_ref(), p.flags),
                    );
                    self.push(write, Kind::Gauge, labels, sample, &p.exemplars);
                }
                Some(Kind::Gauge)
            }
            Data::Sum(sum) => {
                let kind = if sum.is_monotonic {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                if sum.is_monotonic && sum.aggregation_temporality == DELTA {
                    self.refuse_delta(write, sum.data_points.len());
                    return None;
                }
                let name = metric_name(self.name, self.unit, kind);
                for p in &sum.data_points {
                    let labels = self.labels(name.clone(), &p.attributes, None);
                    let sample = (
                        self.time(p.time_unix_nano),
                        number(p.value.as_ref(), p.flags),
                    );
                    self.push(write, kind, labels, sample, &p.exemplars);
                }
                Some(kind)
            }
            Data::Histogram(histogram) => {
                if histogram.aggregation_temporality == DELTA {
                    self.refuse_delta(write, histogram.data_points.len());
                    return None;
                }
                let name = metric_name(self.name, self.unit, Kind::Histogram);
                for p in &histogram.data_points {
                    let time = self.time(p.time_unix_nano);
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let mut buckets = Vec::with_capacity(p.bucket_counts.len() + 1);
                    let mut cumulative = 0u64;
                    for (index, count) in p.bucket_counts.iter().enumerate() {
                        cumulative = cumulative.saturating_add(*count);
                        let bound = p
                            .explicit_bounds
                            .get(index)
                            .copied()
                            .unwrap_or(f64::INFINITY);
                        buckets.push((bound, cumulative as f64));
                    }
                    if buckets
                        .last()
                        .is_none_or(|(bound, _)| *bound != f64::INFINITY)
                    {
                        buckets.push((f64::INFINITY, p.count as f64));
                    }
                    self.histogram(
                        write,
                        &name,
                        &p.attributes,
                        time,
                        stale,
                        &buckets,
                        p.sum,
                        p.count,
                        &p.exemplars,
                    );
                }
                Some(Kind::Histogram)
            }
            Data::ExponentialHistogram(histogram) => {
                if histogram.aggregation_temporality == DELTA {
                    self.refuse_delta(write, histogram.data_points.len());
                    return None;
                }
                let name = metric_name(self.name, self.unit, Kind::Histogram);
                for p in &histogram.data_points {
                    let time = self.time(p.time_unix_nano);
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let negative: u64 = p
                        .negative
                        .as_ref()
                        .map(|b| b.bucket_counts.iter().sum())
                        .unwrap_or(0);
                    let mut cumulative = negative.saturating_add(p.zero_count);
                    let mut buckets = vec![(p.zero_threshold, cumulative as f64)];
                    let base = 2f64.powf(2f64.powi(-p.scale));
                    if let Some(positive) = &p.positive {
                        for (i, count) in positive.bucket_counts.iter().enumerate() {
                            cumulative = cumulative.saturating_add(*count);
                            let index = i64::from(positive.offset) + i as i64 + 1;
                            buckets.push((base.powf(index as f64), cumulative as f64));
                        }
                    }
                    buckets.push((f64::INFINITY, p.count as f64));
                    self.histogram(
                        write,
                        &name,
                        &p.attributes,
                        time,
                        stale,
                        &buckets,
                        p.sum,
                        p.count,
                        &p.exemplars,
                    );
                }
                Some(Kind::Histogram)
            }
            Data::Summary(summary) => {
                let name = metric_name(self.name, self.unit, Kind::Summary);
                for p in &summary.data_points {
                    let time = self.time(p.time_unix_nano);
                    let stale = p.flags & NO_RECORDED_VALUE != 0;
                    let value = |v: f64| if stale { f64::from_bits(STALE_NAN) } else { v };
                    for quantile in &p.quantile_values {
                        let labels = self.labels(
                            name.clone(),
                            &p.attributes,
                            Some(("quantile", bound_text(quantile.quantile))),
                        );
                        self.push(
                            write,
                            Kind::Summary,
                            labels,
                            (time, value(quantile.value)),
                            &[],
                        );
                    }
                    let sum = self.labels(format!("{name}_sum"), &p.attributes, None);
                    self.push(write, Kind::Summary, sum, (time, value(p.sum)), &[]);
                    let count = self.labels(format!("{name}_count"), &p.attributes, None);
                    self.push(
                        write,
                        Kind::Summary,
                        count,
                        (time, value(p.count as f64)),
                        &[],
                    );
                }
                Some(Kind::Summary)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn histogram(
        &self,
        write: &mut MetricsWrite,
        name: &str,
        attributes: &[KeyValue],
        time: i64,
        stale: bool,
        buckets: &[(f64, f64)],
        sum: Option<f64>,
        count: u64,
        exemplars: &[Exemplar],
    ) {
        let value = |v: f64| if stale { f64::from_bits(STALE_NAN) } else { v };
        for (index, (bound, cumulative)) in buckets.iter().enumerate() {
            let labels = self.labels(
                format!("{name}_bucket"),
                attributes,
                Some(("le", bound_text(*bound))),
            );
            let attached: &[Exemplar] = if index + 1 == buckets.len() {
                exemplars
            } else {
                &[]
            };
            self.push(
                write,
                Kind::Histogram,
                labels,
                (time, value(*cumulative)),
                attached,
            );
        }
        if let Some(sum) = sum {
            let labels = self.labels(format!("{name}_sum"), attributes, None);
            self.push(write, Kind::Histogram, labels, (time, value(sum)), &[]);
        }
        let labels = self.labels(format!("{name}_count"), attributes, None);
        self.push(
            write,
            Kind::Histogram,
            labels,
            (time, value(count as f64)),
            &[],
        );
    }
}

/// A bucket bound or quantile as Prometheus writes it (`0.5`, `+Inf`).
pub fn bound_text(bound: f64) -> String {
    if bound == f64::INFINITY {
        return "+Inf".to_string();
    }
    if bound == f64::NEG_INFINITY {
        return "-Inf".to_string();
    }
    format!("{bound}")
}

fn number(value: Option<&number_data_point::Value>, flags: u32) -> f64 {
    if flags & NO_RECORDED_VALUE != 0 {
        return f64::from_bits(STALE_NAN);
    }
    match value {
        Some(number_data_point::Value::AsDouble(value)) => *value,
        Some(number_data_point::Value::AsInt(value)) => *value as f64,
        None => f64::from_bits(STALE_NAN),
    }
}

fn exemplar(exemplar: &Exemplar) -> Option<ExemplarWrite> {
    use opentelemetry_proto::tonic::metrics::v1::exemplar::Value;
    let value = match exemplar.value.as_ref()? {
        Value::AsDouble(value) => *value,
        Value::AsInt(value) => *value as f64,
    };
    let mut labels: Vec<(String, String)> = exemplar
        .filtered_attributes
        .iter()
        .filter_map(|a| attribute_text(a).map(|v| (label_name(&a.key), v)))
        .collect();
    if !exemplar.trace_id.is_empty() {
        labels.push(("trace_id".to_string(), hex(&exemplar.trace_id)));
    }
    if !exemplar.span_id.is_empty() {
        labels.push(("span_id".to_string(), hex(&exemplar.span_id)));
    }
    Some(ExemplarWrite {
        labels,
        value,
        timestamp_ms: i64::try_from(exemplar.time_unix_nano / 1_000_000).unwrap_or(i64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
        ScopeMetrics, Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn text(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.to_string())),
            }),
            ..KeyValue::default()
        }
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![
                        text("service.name", "checkout"),
                        text("k8s.pod.name", "api-1"),
                    ],
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
    }

    fn point(value: f64) -> NumberDataPoint {
        NumberDataPoint {
            time_unix_nano: 1_700_000_000_000_000_000,
            value: Some(number_data_point::Value::AsDouble(value)),
            ..NumberDataPoint::default()
        }
    }

    #[test]
    fn names_follow_the_prometheus_compatibility_rules() {
        assert_eq!(
            metric_name("k8s.pod.memory.working_set", "By", Kind::Gauge),
            "k8s_pod_memory_working_set_bytes"
        );
        assert_eq!(
            metric_name("http.server.requests", "{request}", Kind::Counter),
            "http_server_requests_total"
        );
        assert_eq!(
            metric_name("system.cpu.utilization", "1", Kind::Gauge),
            "system_cpu_utilization_ratio"
        );
        assert_eq!(
            metric_name("net.io", "By/s", Kind::Gauge),
            "net_io_bytes_per_second"
        );
        assert_eq!(
            metric_name("rpc.duration_seconds", "s", Kind::Histogram),
            "rpc_duration_seconds"
        );
        assert_eq!(
            metric_name("requests_total", "", Kind::Counter),
            "requests_total"
        );
        assert_eq!(label_name("k8s.pod.name"), "k8s_pod_name");
        assert_eq!(label_name("0day"), "key_0day");
        assert_eq!(prometheus_unit("ms"), "milliseconds");
    }

    #[test]
    fn gauges_counters_and_histograms_become_series() {
        let write = series(
            &request(vec![
                Metric {
                    name: "k8s.pod.memory.working_set".to_string(),
                    unit: "By".to_string(),
                    description: "Working set.".to_string(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: vec![point(5.0)],
                    })),
                    ..Metric::default()
                },
                Metric {
                    name: "orders".to_string(),
                    data: Some(Data::Sum(Sum {
                        data_points: vec![point(3.0)],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Metric::default()
                },
                Metric {
                    name: "deltas".to_string(),
                    data: Some(Data::Sum(Sum {
                        data_points: vec![point(1.0), point(2.0)],
                        aggregation_temporality: DELTA,
                        is_monotonic: true,
                    })),
                    ..Metric::default()
                },
                Metric {
                    name: "latency".to_string(),
                    unit: "s".to_string(),
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
                },
            ]),
            0,
        );
        let names: Vec<String> = write
            .series
            .iter()
            .map(|s| {
                let mut labels = s.labels.clone();
                labels.sort();
                crate::samples::describe(&labels)
            })
            .collect();
        assert_eq!(
            names,
            vec![
                r#"k8s_pod_memory_working_set_bytes{job="checkout", k8s_pod_name="api-1", service_name="checkout"}"#,
                r#"orders_total{job="checkout", k8s_pod_name="api-1", service_name="checkout"}"#,
                r#"latency_seconds_bucket{job="checkout", k8s_pod_name="api-1", le="0.1", service_name="checkout"}"#,
                r#"latency_seconds_bucket{job="checkout", k8s_pod_name="api-1", le="0.5", service_name="checkout"}"#,
                r#"latency_seconds_bucket{job="checkout", k8s_pod_name="api-1", le="+Inf", service_name="checkout"}"#,
                r#"latency_seconds_sum{job="checkout", k8s_pod_name="api-1", service_name="checkout"}"#,
                r#"latency_seconds_count{job="checkout", k8s_pod_name="api-1", service_name="checkout"}"#,
            ]
        );
        assert_eq!(write.series[1].metric_type, Some("counter"));
        assert_eq!(write.series[1].samples, vec![(1_700_000_000_000, 3.0)]);
        assert_eq!(write.series[4].samples[0].1, 6.0, "cumulative +Inf bucket");
        assert_eq!(write.refused[0].samples, 2);
        assert!(write.refused[0].message.contains("cumulative"));
        assert_eq!(write.metadata[0].metric, "k8s_pod_memory_working_set_bytes");
        assert_eq!(write.metadata[0].unit, "bytes");
    }

    #[test]
    fn points_without_a_value_are_stale_markers() {
        let mut empty = point(0.0);
        empty.flags = NO_RECORDED_VALUE;
        let write = series(
            &request(vec![Metric {
                name: "queue".to_string(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![empty],
                })),
                ..Metric::default()
            }]),
            0,
        );
        assert_eq!(write.series[0].samples[0].1.to_bits(), STALE_NAN);
    }
}
