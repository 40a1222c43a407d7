//! Row order inside a data file: rows are clustered by a few low-cardinality text columns (for
//! logs typically namespace, container, level), then by `_timestamp`.
//!
//! Log lines of one container resemble each other, so putting them next to each other gives
//! zstd and dictionary/RLE encoding long runs to work with; it also concentrates a needle's hits in
//! fewer row groups, which the full-text index then skips. The file's time range is unchanged, so
//! manifest pruning is unaffected; readers must not assume rows are in time order within a file.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{
    SortColumn, SortOptions, concat, interleave_record_batch, lexsort_to_indices,
};
use arrow::datatypes::DataType;

use crate::error::Result;

/// Rows looked at to estimate a column's cardinality.
const SAMPLE_ROWS: usize = 4096;
/// Columns with more distinct values than this in the sample are not used for clustering.
const MAX_DISTINCT: usize = 256;
/// Clustering columns at most.
const MAX_KEYS: usize = 3;

/// The text columns to cluster by, lowest cardinality first: at most [`MAX_KEYS`] columns that
/// are not constant and have at most [`MAX_DISTINCT`] distinct values in the first
/// [`SAMPLE_ROWS`] rows.
pub fn clustering_columns(batches: &[RecordBatch]) -> Vec<usize> {
    let Some(first) = batches.first() else {
        return Vec::new();
    };
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for (index, field) in first.schema().fields().iter().enumerate() {
        if index == 0 || !matches!(field.data_type(), DataType::Utf8) {
            continue;
        }
        let mut distinct: HashSet<Option<&str>> = HashSet::new();
        let mut seen = 0;
        'sample: for batch in batches {
            let values = batch.column(index).as_string::<i32>();
            for value in values.iter() {
                distinct.insert(value);
                seen += 1;
                if distinct.len() > MAX_DISTINCT || seen >= SAMPLE_ROWS {
                    break 'sample;
                }
            }
        }
        if distinct.len() > 1 && distinct.len() <= MAX_DISTINCT {
            candidates.push((distinct.len(), index));
        }
    }
    candidates.sort();
    candidates
        .into_iter()
        .take(MAX_KEYS)
        .map(|(_, index)| index)
        .collect()
}

/// `batches` (all with the same schema, `_timestamp` first) as one batch in clustered order;
/// unchanged when there is nothing to cluster by.
pub fn cluster(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let keys = clustering_columns(&batches);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if keys.is_empty() || rows < 2 {
        return Ok(batches);
    }
    let concat_column = |index: usize| -> Result<ArrayRef> {
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(index).as_ref()).collect();
        Ok(concat(&parts)?)
    };
    let mut sort_columns = Vec::with_capacity(keys.len() + 1);
    for &index in keys.iter().chain(std::iter::once(&0)) {
        sort_columns.push(SortColumn {
            values: concat_column(index)?,
            options: Some(SortOptions {
                descending: false,
                nulls_first: false,
            }),
        });
    }
    let order = lexsort_to_indices(&sort_columns, None)?;
    // Global row number → (batch, row within batch).
    let mut starts = Vec::with_capacity(batches.len());
    let mut start = 0;
    for batch in &batches {
        starts.push(start);
        start += batch.num_rows();
    }
    let positions: Vec<(usize, usize)> = order
        .values()
        .iter()
        .map(|&global| {
            let global = global as usize;
            let batch = starts.partition_point(|&s| s <= global) - 1;
            (batch, global - starts[batch])
        })
        .collect();
    let references: Vec<&RecordBatch> = batches.iter().collect();
    Ok(vec![interleave_record_batch(&references, &positions)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(times: Vec<i64>, pods: Vec<&str>, messages: Vec<String>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new("pod", DataType::Utf8, true),
            Field::new("message", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(times)),
                Arc::new(StringArray::from(pods)),
                Arc::new(StringArray::from(messages)),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rows_are_grouped_by_low_cardinality_text_then_time() {
        let first = batch(
            vec![4, 3],
            vec!["b", "a"],
            vec!["m4".to_string(), "m3".to_string()],
        );
        let second = batch(
            vec![2, 1],
            vec!["a", "b"],
            vec!["m2".to_string(), "m1".to_string()],
        );
        let clustered = cluster(vec![first, second]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(clustered.len(), 1);
        let times = clustered[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(times.values().to_vec(), vec![2, 3, 1, 4]);
        let messages = clustered[0].column(2).as_string::<i32>();
        let messages: Vec<_> = messages.iter().flatten().collect();
        assert_eq!(messages, vec!["m2", "m3", "m1", "m4"], "rows stay whole");
    }

    #[test]
    fn high_cardinality_and_constant_columns_are_not_keys() {
        let rows = 1000;
        let unique: Vec<String> = (0..rows).map(|i| format!("line {i}")).collect();
        let batch = batch((0..rows as i64).rev().collect(), vec!["same"; rows], unique);
        assert!(clustering_columns(std::slice::from_ref(&batch)).is_empty());
        let clustered = cluster(vec![batch.clone()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(clustered[0], batch, "nothing to cluster by: order kept");
    }
}
