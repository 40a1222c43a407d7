//! Exemplars (the `metrics_exemplars` stream): the exemplars of the series a query selects.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use kansoku_core::schema::metrics::EXEMPLARS_STREAM;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_meta::FileEntry;
use kansoku_promql::matcher::all_match;
use kansoku_promql::{LabelMatcher, Labels};

use crate::error::Result;
use crate::stored::{MetricsStore, micros_range};

/// One exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Its labels (`trace_id`…).
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// The exemplars of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesExemplars {
    /// The series.
    pub series: Labels,
    /// Its exemplars in time order.
    pub exemplars: Vec<Exemplar>,
}

impl MetricsStore {
    /// The exemplars in `[start_ms, end_ms]` of series matching any of `selectors`.
    pub async fn exemplars(
        &self,
        org: &OrgId,
        selectors: &[Vec<LabelMatcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SeriesExemplars>> {
        let Ok(name) = StreamName::normalise(EXEMPLARS_STREAM) else {
            return Ok(Vec::new());
        };
        let key = StreamKey::new(org.clone(), StreamType::Metrics, name);
        let (start, end) = micros_range(start_ms, end_ms);
        let range_end = end.saturating_add(1);
        let (snapshot, files) = kansoku_storage::fresh::snapshot_then_list(
            self.fresh().as_ref(),
            &key,
            start,
            range_end,
            || self.meta().list_files(&key, start, range_end),
            FileEntry::path_and_node,
            FileEntry::listing_too_slow,
        )
        .await?;
        let mut out: BTreeMap<Labels, Vec<Exemplar>> = BTreeMap::new();
        for batch in &snapshot.batches {
            collect(batch, selectors, (start, end), &mut out);
        }
        for file in &files {
            let columns = ["_timestamp", "value", "series", "labels"];
            for batch in self.files().read(&file.path, Some(&columns), None).await? {
                collect(&batch, selectors, (start, end), &mut out);
            }
        }
        Ok(out
            .into_iter()
            .map(|(series, mut exemplars)| {
                exemplars.sort_by_key(|e| e.timestamp_ms);
                exemplars.dedup();
                SeriesExemplars { series, exemplars }
            })
            .collect())
    }
}

fn labels_of(json: &str) -> Labels {
    let map: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_default();
    Labels::from_pairs(map)
}

fn collect(
    batch: &RecordBatch,
    selectors: &[Vec<LabelMatcher>],
    (start, end): (i64, i64),
    out: &mut BTreeMap<Labels, Vec<Exemplar>>,
) {
    let column = |name: &str| batch.column_by_name(name);
    let (Some(times), Some(values), Some(series), Some(labels)) = (
        column("_timestamp").and_then(|c| c.as_primitive_opt::<Int64Type>()),
        column("value").and_then(|c| c.as_primitive_opt::<Float64Type>()),
        column("series").and_then(|c| c.as_string_opt::<i32>()),
        column("labels").and_then(|c| c.as_string_opt::<i32>()),
    ) else {
        return;
    };
    for row in 0..batch.num_rows() {
        let t = times.value(row);
        if t < start || t > end || series.is_null(row) {
            continue;
        }
        let series_labels = labels_of(series.value(row));
        if !selectors.iter().any(|m| all_match(m, &series_labels)) {
            continue;
        }
        out.entry(series_labels).or_default().push(Exemplar {
            labels: labels_of(if labels.is_null(row) {
                "{}"
            } else {
                labels.value(row)
            }),
            value: values.value(row),
            timestamp_ms: t.div_euclid(1000),
        });
    }
}
