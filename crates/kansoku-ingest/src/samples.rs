//! Metric samples in the Prometheus data model, whatever protocol brought them (remote_write,
//! OTLP), and their rows in a metrics stream.
//!
//! A request becomes one record batch for the samples stream and one for the exemplars stream
//! (see ARCHITECTURE.md "Metrics"): `_timestamp`, `__name__`, `__type__`, `value` and one
//! column per label, label columns as Arrow dictionaries so a label value is stored once per
//! batch, not once per sample. Series that cannot be stored are refused with a reason and
//! counted; the rest of the request is stored.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::schema::metrics::{NAME_COLUMN, TYPE_COLUMN, VALUE_COLUMN, label_column};
use kansoku_meta::MetricMetadata;

use crate::config::IngestConfig;
use crate::error::DiscardReason;

/// One exemplar of a series; `L` is the label string type (owned, or borrowed from the
/// request body by decoders that do not copy).
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarWrite<L = String> {
    /// Its labels (`trace_id`, `span_id`…).
    pub labels: Vec<(L, L)>,
    /// Its value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// One series with its samples; `L` is the label string type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesWrite<L = String> {
    /// Labels as sent, the metric name under `__name__`.
    pub labels: Vec<(L, L)>,
    /// `counter`, `gauge`, `histogram`, `summary`… when the protocol tells.
    pub metric_type: Option<&'static str>,
    /// `(milliseconds since the epoch, value)`, stale markers bit-exact.
    pub samples: Vec<(i64, f64)>,
    /// Exemplars.
    pub exemplars: Vec<ExemplarWrite<L>>,
}

/// A decoded metrics request; `L` is the label string type.
#[derive(Debug, Clone, Default)]
pub struct MetricsWrite<L = String> {
    /// Series with their samples.
    pub series: Vec<SeriesWrite<L>>,
    /// Metadata of metric families.
    pub metadata: Vec<MetricMetadata>,
    /// Items refused while decoding: reason, how many samples, why.
    pub refused: Vec<Refusal>,
}

/// Samples (or histogram samples) that were not stored, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The reason.
    pub reason: DiscardReason,
    /// Samples concerned.
    pub samples: u64,
    /// A message naming the problem.
    pub message: String,
}

/// What storing a metrics request did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsReport {
    /// Float samples written.
    pub samples_written: u64,
    /// Exemplars written.
    pub exemplars_written: u64,
    /// Samples refused per reason, with the first message of each.
    pub refused: Vec<Refusal>,
}

impl MetricsReport {
    /// Samples refused in all.
    pub fn refused_samples(&self) -> u64 {
        self.refused.iter().map(|r| r.samples).sum()
    }

    /// Native-histogram samples refused.
    pub fn histograms_refused(&self) -> u64 {
        self.refused
            .iter()
            .filter(|r| r.reason == DiscardReason::NativeHistogram)
            .map(|r| r.samples)
            .sum()
    }

    /// One line per reason: `3 samples refused: …`.
    pub fn message(&self) -> String {
        self.refused
            .iter()
            .map(|r| format!("{} refused: {}", plural(r.samples, "sample"), r.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Adds `refusal` to `list`, keeping one entry per reason (counts summed, first message kept).
pub fn add_refusal(list: &mut Vec<Refusal>, refusal: Refusal) {
    match list.iter_mut().find(|r| r.reason == refusal.reason) {
        Some(existing) => existing.samples += refusal.samples,
        None => list.push(refusal),
    }
}

/// The two batches of a request.
#[derive(Debug, Default)]
pub struct SampleBatches {
    /// Rows of the samples stream, if any.
    pub samples: Option<RecordBatch>,
    /// Rows of the exemplars stream, if any.
    pub exemplars: Option<RecordBatch>,
    /// Samples in `samples`.
    pub sample_rows: u64,
    /// Exemplars in `exemplars`.
    pub exemplar_rows: u64,
    /// Bytes the request's samples stood for (for the ingest counters).
    pub raw_bytes: u64,
}

/// Builds the batches of `write`, refusing invalid series and samples outside the accepted
/// time window (added to `refused`). `known_types` gives the type of metric names sent without
/// one (remote_write 1.0 sends metadata separately).
pub fn build_batches<L: AsRef<str>>(
    write: &MetricsWrite<L>,
    config: &IngestConfig,
    now_micros: i64,
    known_types: &dyn Fn(&str) -> Option<String>,
    refused: &mut Vec<Refusal>,
) -> Result<SampleBatches, arrow::error::ArrowError> {
    let oldest =
        now_micros.saturating_sub(i64::try_from(config.max_age.as_micros()).unwrap_or(i64::MAX));
    let newest =
        now_micros.saturating_add(i64::try_from(config.max_future.as_micros()).unwrap_or(i64::MAX));
    let mut columns: BTreeMap<String, DictionaryColumn> = BTreeMap::new();
    let sample_count: usize = write.series.iter().map(|s| s.samples.len()).sum();
    let mut timestamps: Vec<i64> = Vec::with_capacity(sample_count);
    let mut values: Vec<f64> = Vec::with_capacity(sample_count);
    let mut exemplars = ExemplarRows::default();
    let mut raw_bytes = 0u64;
    // The type of each metric name, looked up once per request (a request repeats names).
    let mut types: HashMap<&str, Option<String>> = HashMap::new();
    for series in &write.series {
        let labels = match checked_labels(series, config) {
            Ok(labels) => labels,
            Err(message) => {
                add_refusal(
                    refused,
                    Refusal {
                        reason: DiscardReason::InvalidSeries,
                        samples: series.samples.len() as u64,
                        message,
                    },
                );
                continue;
            }
        };
        let start = timestamps.len();
        let mut out_of_window = 0u64;
        for &(millis, value) in &series.samples {
            let micros = millis.saturating_mul(1000);
            if micros < oldest || micros > newest {
                out_of_window += 1;
                continue;
            }
            timestamps.push(micros);
            values.push(value);
        }
        if out_of_window > 0 {
            add_refusal(
                refused,
                Refusal {
                    reason: DiscardReason::TimestampOutOfWindow,
                    samples: out_of_window,
                    message: format!(
                        "sample time outside the accepted window (KANSOKU_INGEST_MAX_AGE, KANSOKU_INGEST_MAX_FUTURE), e.g. in {}",
                        describe(&series.labels)
                    ),
                },
            );
        }
        let rows = timestamps.len() - start;
        let name = labels
            .iter()
            .find(|(n, _)| n == NAME_COLUMN)
            .map(|(_, v)| *v)
            .unwrap_or_default();
        let label_bytes: usize = labels.iter().map(|(n, v)| n.len() + v.len()).sum();
        raw_bytes += (rows * (16 + label_bytes)) as u64;
        if rows > 0 {
            let metric_type = match series.metric_type {
                Some(known) => Some(known),
                None => types
                    .entry(name)
                    .or_insert_with(|| known_types(name))
                    .as_deref(),
            };
            let all_labels = labels
                .iter()
                .map(|(n, v)| (n.as_ref(), Some(*v)))
                .chain(std::iter::once((TYPE_COLUMN, metric_type)));
            for (column, value) in all_labels {
                match columns.get_mut(column) {
                    Some(existing) => existing.push(value, rows, start),
                    None => {
                        let mut created = DictionaryColumn::new(start);
                        created.push(value, rows, start);
                        columns.insert(column.to_string(), created);
                    }
                }
            }
        }
        for exemplar in &series.exemplars {
            exemplars.push(exemplar, name, &labels);
        }
    }
    let sample_rows = timestamps.len() as u64;
    let samples = if timestamps.is_empty() {
        None
    } else {
        let rows = timestamps.len();
        let mut fields = vec![
            Field::new(TIMESTAMP_COLUMN, DataType::Int64, false),
            Field::new(VALUE_COLUMN, DataType::Float64, true),
        ];
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(timestamps)),
            Arc::new(Float64Array::from(values)),
        ];
        for (name, column) in columns {
            fields.push(Field::new(
                name,
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ));
            arrays.push(Arc::new(column.finish(rows)?));
        }
        Some(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    };
    let exemplar_rows = exemplars.timestamps.len() as u64;
    Ok(SampleBatches {
        samples,
        exemplars: exemplars.finish()?,
        sample_rows,
        exemplar_rows,
        raw_bytes,
    })
}

/// The series' labels as columns: names checked, empty values dropped, reserved names renamed,
/// sorted by name.
fn checked_labels<'s, L: AsRef<str>>(
    series: &'s SeriesWrite<L>,
    config: &IngestConfig,
) -> Result<Vec<(Cow<'s, str>, &'s str)>, String> {
    let mut labels: Vec<(Cow<'s, str>, &'s str)> = Vec::with_capacity(series.labels.len());
    for (name, value) in &series.labels {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.is_empty() {
            return Err(format!(
                "a label without a name in {}",
                describe(&series.labels)
            ));
        }
        if name.len() > config.max_field_name_bytes {
            return Err(format!(
                "label name of {} bytes exceeds the limit of {} in {}",
                name.len(),
                config.max_field_name_bytes,
                describe(&series.labels)
            ));
        }
        if value.is_empty() {
            continue;
        }
        labels.push((label_column(name), value));
    }
    // Senders sort labels already (remote_write requires it); sort only when they did not.
    if !labels.is_sorted() {
        labels.sort();
    }
    if let Some(pair) = labels.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(format!(
            "label {:?} appears twice in {}",
            pair[0].0,
            describe(&series.labels)
        ));
    }
    if !labels.iter().any(|(name, _)| name == NAME_COLUMN) {
        return Err(format!(
            "series without a metric name (__name__): {}",
            describe(&series.labels)
        ));
    }
    if labels.len() > config.max_fields_per_record {
        return Err(format!(
            "{} labels exceed the limit of {} (KANSOKU_MAX_FIELDS_PER_RECORD) in {}",
            labels.len(),
            config.max_fields_per_record,
            describe(&series.labels)
        ));
    }
    Ok(labels)
}

/// A series in Prometheus' text form, cut short for messages.
pub fn describe<L: AsRef<str>>(labels: &[(L, L)]) -> String {
    let name = labels
        .iter()
        .find(|(n, _)| n.as_ref() == NAME_COLUMN)
        .map(|(_, v)| v.as_ref())
        .unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(n, _)| n.as_ref() != NAME_COLUMN)
        .map(|(n, v)| format!("{}={:?}", n.as_ref(), v.as_ref()))
        .collect();
    let text = format!("{name}{{{}}}", rest.join(", "));
    if text.len() > 200 {
        let cut: String = text.chars().take(200).collect();
        return format!("{cut}…");
    }
    text
}

/// A dictionary-encoded column built series by series.
struct DictionaryColumn {
    keys: Vec<Option<i32>>,
    index: HashMap<String, i32>,
    values: Vec<String>,
    /// The key of the last value pushed: consecutive series often share a value.
    last: Option<i32>,
}

impl DictionaryColumn {
    /// A column that is null for the `rows_before` rows already written.
    fn new(rows_before: usize) -> DictionaryColumn {
        DictionaryColumn {
            keys: vec![None; rows_before],
            index: HashMap::new(),
            values: Vec::new(),
            last: None,
        }
    }

    /// Appends `value` for `rows` rows starting at row `start` (nulls fill any gap before).
    fn push(&mut self, value: Option<&str>, rows: usize, start: usize) {
        self.keys.resize(start, None);
        let key = value.map(|value| {
            if let Some(last) = self.last
                && self.values[last as usize] == value
            {
                return last;
            }
            let key = match self.index.get(value) {
                Some(key) => *key,
                None => {
                    let key = self.values.len() as i32;
                    self.values.push(value.to_string());
                    self.index.insert(value.to_string(), key);
                    key
                }
            };
            self.last = Some(key);
            key
        });
        self.keys.extend(std::iter::repeat_n(key, rows));
    }

    fn finish(
        mut self,
        rows: usize,
    ) -> Result<DictionaryArray<Int32Type>, arrow::error::ArrowError> {
        self.keys.resize(rows, None);
        DictionaryArray::try_new(
            Int32Array::from(self.keys),
            Arc::new(StringArray::from(self.values)),
        )
    }
}

/// Rows of the exemplars stream.
#[derive(Default)]
struct ExemplarRows {
    timestamps: Vec<i64>,
    values: Vec<f64>,
    metrics: Vec<String>,
    series: Vec<String>,
    labels: Vec<String>,
    trace_ids: Vec<Option<String>>,
}

impl ExemplarRows {
    fn push<L: AsRef<str>>(
        &mut self,
        exemplar: &ExemplarWrite<L>,
        metric: &str,
        series: &[(Cow<'_, str>, &str)],
    ) {
        self.timestamps
            .push(exemplar.timestamp_ms.saturating_mul(1000));
        self.values.push(exemplar.value);
        self.metrics.push(metric.to_string());
        self.series.push(labels_json(series));
        self.labels.push(labels_json(&exemplar.labels));
        self.trace_ids.push(
            exemplar
                .labels
                .iter()
                .find(|(n, _)| matches!(n.as_ref(), "trace_id" | "traceID" | "traceId"))
                .map(|(_, v)| v.as_ref().to_string()),
        );
    }

    fn finish(self) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
        if self.timestamps.is_empty() {
            return Ok(None);
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new(TIMESTAMP_COLUMN, DataType::Int64, false),
            Field::new("value", DataType::Float64, true),
            Field::new("metric", DataType::Utf8, true),
            Field::new("series", DataType::Utf8, true),
            Field::new("labels", DataType::Utf8, true),
            Field::new("trace_id", DataType::Utf8, true),
        ]));
        Ok(Some(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(self.timestamps)),
                Arc::new(Float64Array::from(self.values)),
                Arc::new(StringArray::from(self.metrics)),
                Arc::new(StringArray::from(self.series)),
                Arc::new(StringArray::from(self.labels)),
                Arc::new(StringArray::from(self.trace_ids)),
            ],
        )?))
    }
}

/// Labels as a JSON object (sorted by name).
pub fn labels_json<N: AsRef<str>, V: AsRef<str>>(labels: &[(N, V)]) -> String {
    let map: BTreeMap<&str, &str> = labels
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> SeriesWrite {
        SeriesWrite {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            metric_type: None,
            samples: samples.to_vec(),
            exemplars: Vec::new(),
        }
    }

    #[test]
    fn series_become_dictionary_rows_and_bad_ones_are_refused() {
        let now_ms = 1_800_000_000_000;
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let write = MetricsWrite {
            series: vec![
                series(
                    &[("__name__", "up"), ("job", "api"), ("value", "x")],
                    &[(now_ms, 1.0), (now_ms + 1, stale)],
                ),
                series(&[("job", "nameless")], &[(now_ms, 1.0)]),
                series(
                    &[("__name__", "up"), ("instance", "b"), ("empty", "")],
                    &[(now_ms, 0.0), (1, 5.0)],
                ),
            ],
            ..MetricsWrite::default()
        };
        let config = IngestConfig::with_defaults("n", "/tmp/unused");
        let mut refused = Vec::new();
        let batches = build_batches(
            &write,
            &config,
            now_ms * 1000,
            &|name| (name == "up").then(|| "gauge".to_string()),
            &mut refused,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batches.sample_rows, 3);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(refused[0].reason, DiscardReason::InvalidSeries);
        assert!(refused[0].message.contains("metric name"), "{refused:?}");
        assert_eq!(refused[1].reason, DiscardReason::TimestampOutOfWindow);
        let batch = batches.samples.unwrap_or_else(|| panic!("no samples"));
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            vec![
                "_timestamp",
                "value",
                "__name__",
                "__type__",
                "exported_value",
                "instance",
                "job"
            ]
        );
        let values = batch
            .column(1)
            .as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(values.value(1).to_bits(), stale.to_bits());
        let instance = batch.column(5).as_dictionary::<Int32Type>();
        assert!(instance.is_null(0));
        assert!(!instance.is_null(2));
        let kinds = batch.column(3).as_dictionary::<Int32Type>();
        assert_eq!(
            kinds.values().len(),
            1,
            "one dictionary entry for every row"
        );
    }
}
