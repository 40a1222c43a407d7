//! Keeping one row per record id (`_id`) in what a merge writes, for streams that deduplicate:
//! the copies that ingest let through (sent to two nodes, sent while the first copy was still
//! being committed, or after the id was forgotten) leave when their files are merged. As at
//! ingest, only within the stream's window: a row is a copy when an earlier kept row has its
//! `_id` and an event time at most the window away (a re-sent copy has the very same time, or
//! the ingest time of its retry when the record carried none).

use std::collections::HashMap;

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Int64Type;
use kansoku_core::schema::{ID_COLUMN, TIMESTAMP_COLUMN};

use crate::{Error, Result};

/// `parts` without rows whose text `_id` an earlier kept row (in order) has, with an event time
/// at most `window_micros` away; rows without an id are all kept. Returns the rows removed.
pub fn drop_duplicate_ids(
    parts: Vec<RecordBatch>,
    window_micros: i64,
) -> Result<(Vec<RecordBatch>, u64)> {
    let masks = {
        // Per id, the event time of the row kept last.
        let mut kept: HashMap<&str, i64> = HashMap::new();
        let mut masks: Vec<Option<BooleanArray>> = Vec::with_capacity(parts.len());
        for part in &parts {
            let ids = part
                .column_by_name(ID_COLUMN)
                .and_then(|column| column.as_string_opt::<i32>());
            let times = part
                .column_by_name(TIMESTAMP_COLUMN)
                .and_then(|column| column.as_primitive_opt::<Int64Type>());
            let (Some(ids), Some(times)) = (ids, times) else {
                masks.push(None);
                continue;
            };
            let keep: BooleanArray = ids
                .iter()
                .zip(times.values().iter())
                .map(|(id, time)| {
                    let Some(id) = id else {
                        return Some(true);
                    };
                    let copy = kept.get(id).is_some_and(|earlier| {
                        earlier.abs_diff(*time) <= window_micros.unsigned_abs()
                    });
                    if !copy {
                        kept.insert(id, *time);
                    }
                    Some(!copy)
                })
                .collect();
            let all_kept = keep.true_count() == keep.len();
            masks.push((!all_kept).then_some(keep));
        }
        masks
    };
    let mut removed = 0u64;
    let mut kept = Vec::with_capacity(parts.len());
    for (part, mask) in parts.into_iter().zip(masks) {
        let Some(mask) = mask else {
            kept.push(part);
            continue;
        };
        removed += (mask.len() - mask.true_count()) as u64;
        let filtered = filter_record_batch(&part, &mask)
            .map_err(|e| Error::Internal(format!("dropping duplicate ids: {e}")))?;
        kept.push(filtered);
    }
    Ok((kept, removed))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn part(ids: &[Option<&str>], start: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new(ID_COLUMN, DataType::Utf8, true),
        ]));
        let times: Int64Array = (start..start + ids.len() as i64).collect();
        let ids: StringArray = ids.iter().copied().collect();
        RecordBatch::try_new(schema, vec![Arc::new(times), Arc::new(ids)]).expect("batch")
    }

    #[test]
    fn keeps_the_first_row_of_each_id_within_the_window_and_every_row_without_one() {
        let parts = vec![
            part(&[Some("a"), Some("b"), None, Some("a")], 0),
            part(&[Some("b"), None, Some("c")], 10),
            // "a" again 100 µs after its kept row: outside a 50 µs window, kept.
            part(&[Some("a")], 100),
        ];
        let (kept, removed) = drop_duplicate_ids(parts, 50).expect("dedup");
        assert_eq!(removed, 2);
        let times: Vec<i64> = kept
            .iter()
            .flat_map(|batch| {
                let column = batch
                    .column(0)
                    .as_primitive::<arrow::datatypes::Int64Type>();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(times, vec![0, 1, 2, 11, 12, 100]);
    }

    #[test]
    fn parts_without_an_id_column_pass_untouched() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "_timestamp",
            DataType::Int64,
            false,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 1]))])
            .expect("batch");
        let (kept, removed) = drop_duplicate_ids(vec![batch.clone()], 600_000_000).expect("dedup");
        assert_eq!(removed, 0);
        assert_eq!(kept, vec![batch]);
    }
}
