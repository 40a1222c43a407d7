//! Rows of a metrics stream → series: for data without a series index (fresh batches, older
//! files), every row's labels are read from its label columns.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::schema::metrics::{VALUE_COLUMN, is_label_column};
use kansoku_promql::value::Point;
use kansoku_promql::{LabelMatcher, Labels};
use kansoku_storage::series_layout::TextColumn;

/// Samples gathered per series.
pub type Gathered = HashMap<Labels, Vec<Point>>;

/// Adds the series of `batch` that match every one of `matchers` and have rows in
/// `[start_us, end_us]` to `out`, with those rows' samples when `samples` is set (listings only
/// need the label sets).
pub fn gather(
    batch: &RecordBatch,
    matchers: &[LabelMatcher],
    (start_us, end_us): (i64, i64),
    samples: bool,
    out: &mut Gathered,
) {
    let schema = batch.schema();
    let Some(timestamps) = schema
        .index_of(TIMESTAMP_COLUMN)
        .ok()
        .and_then(|i| batch.column(i).as_primitive_opt::<Int64Type>())
    else {
        return;
    };
    let values: Option<ArrayRef> = schema
        .index_of(VALUE_COLUMN)
        .ok()
        .and_then(|i| float_column(batch.column(i)));
    let Some(values) = values else {
        return;
    };
    let values = values.as_primitive::<Float64Type>();
    let columns: Vec<(&str, TextColumn<'_>)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| is_label_column(field.name()))
        .filter_map(|(index, field)| {
            TextColumn::new(batch.column(index)).map(|column| (field.name().as_str(), column))
        })
        .collect();
    let mut seen: HashMap<Vec<Option<&str>>, Option<Labels>> = HashMap::new();
    let mut key: Vec<Option<&str>> = Vec::with_capacity(columns.len());
    for row in 0..batch.num_rows() {
        let t = timestamps.value(row);
        if t < start_us || t > end_us {
            continue;
        }
        key.clear();
        key.extend(columns.iter().map(|(_, column)| column.get(row)));
        let labels = seen.entry(key.clone()).or_insert_with(|| {
            let labels = Labels::from_pairs(
                columns
                    .iter()
                    .zip(&key)
                    .filter_map(|((name, _), value)| value.map(|v| (*name, v))),
            );
            let wanted = kansoku_promql::matcher::all_match(matchers, &labels);
            (wanted && labels.has(kansoku_promql::labels::METRIC_NAME)).then_some(labels)
        });
        let Some(labels) = labels else {
            continue;
        };
        let points = out.entry(labels.clone()).or_default();
        if samples && !values.is_null(row) {
            points.push(Point {
                t: t.div_euclid(1000),
                v: values.value(row),
            });
        }
    }
}

/// The value column as Float64 (older or hand-written data may hold integers).
fn float_column(column: &ArrayRef) -> Option<ArrayRef> {
    match column.data_type() {
        DataType::Float64 => Some(column.clone()),
        DataType::Int64 | DataType::Boolean => cast(column, &DataType::Float64).ok(),
        _ => None,
    }
}

/// Sorts every series' samples by time and keeps one sample per timestamp (the last one seen:
/// a re-sent batch repeats the same sample).
pub fn finish(gathered: Gathered) -> Vec<kansoku_promql::Series> {
    let mut series: Vec<kansoku_promql::Series> = gathered
        .into_iter()
        .map(|(labels, mut points)| {
            points.sort_by_key(|p| p.t);
            let mut deduplicated: Vec<Point> = Vec::with_capacity(points.len());
            for point in points {
                match deduplicated.last_mut() {
                    Some(last) if last.t == point.t => *last = point,
                    _ => deduplicated.push(point),
                }
            }
            kansoku_promql::Series {
                labels,
                points: deduplicated,
            }
        })
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series
}
