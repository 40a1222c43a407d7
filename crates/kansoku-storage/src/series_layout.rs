//! Data files of metrics streams: rows sorted by series, encodings chosen for samples, and the
//! series index that goes with each file (see ARCHITECTURE.md "Metrics").
//!
//! - rows are sorted by `__name__`, then every other label column in name order (nulls first),
//!   then `_timestamp`, so every series is one contiguous run;
//! - `_timestamp` is DELTA_BINARY_PACKED and `value` BYTE_STREAM_SPLIT, neither dictionary
//!   encoded; label columns keep dictionary + RLE; row groups of up to 1Mi rows;
//! - label columns stay Arrow dictionaries from the memtable to the Parquet writer, so a flush
//!   never expands them into one string per sample; the file carries no Arrow schema hint, so
//!   readers see plain UTF-8 columns.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{SortOptions, concat_batches, take_record_batch};
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::schema::metrics::{NAME_COLUMN, VALUE_COLUMN, is_label_column};
use kansoku_index::{SeriesIndex, SeriesIndexBuilder};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Encoding;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::Result;
use crate::parquet_file::{EncodedFile, writer_properties_builder};
use crate::schema::conform_batch;

/// Rows per row group of a metrics file.
pub const SERIES_ROW_GROUP_ROWS: usize = 1024 * 1024;

/// The dictionary type label columns have in memory.
pub fn label_dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `schema` with its text columns as dictionaries (the in-memory and writing form of metrics
/// batches).
pub fn dictionary_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            if field.data_type() == &DataType::Utf8 {
                Field::new(field.name(), label_dictionary_type(), true)
            } else {
                field.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The label columns of `schema` in series order: `__name__` first, then by name.
pub fn label_columns(schema: &Schema) -> Vec<usize> {
    let mut columns: Vec<(bool, &str, usize)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| {
            is_label_column(field.name())
                && matches!(field.data_type(), DataType::Utf8 | DataType::Dictionary(..))
        })
        .map(|(index, field)| (field.name() != NAME_COLUMN, field.name().as_str(), index))
        .collect();
    columns.sort();
    columns.into_iter().map(|(_, _, index)| index).collect()
}

/// Reads the text of a label column row by row (dictionary or plain UTF-8).
pub struct TextColumn<'a> {
    keys: Option<&'a arrow::array::PrimitiveArray<Int32Type>>,
    values: &'a arrow::array::StringArray,
}

impl<'a> TextColumn<'a> {
    /// A reader over `array`, if it is text.
    pub fn new(array: &'a ArrayRef) -> Option<TextColumn<'a>> {
        match array.data_type() {
            DataType::Utf8 => Some(TextColumn {
                keys: None,
                values: array.as_string::<i32>(),
            }),
            DataType::Dictionary(key, value)
                if key.as_ref() == &DataType::Int32 && value.as_ref() == &DataType::Utf8 =>
            {
                let dictionary = array.as_dictionary::<Int32Type>();
                Some(TextColumn {
                    keys: Some(dictionary.keys()),
                    values: dictionary.values().as_string::<i32>(),
                })
            }
            _ => None,
        }
    }

    /// The value of `row`; `None` for null or empty.
    pub fn get(&self, row: usize) -> Option<&'a str> {
        let index = match self.keys {
            Some(keys) => {
                if keys.is_null(row) {
                    return None;
                }
                keys.value(row) as usize
            }
            None => row,
        };
        if self.values.is_null(index) {
            return None;
        }
        Some(self.values.value(index)).filter(|v| !v.is_empty())
    }
}

/// Writer settings of metrics files: the data files' settings with bigger row groups, delta
/// timestamps and byte-stream-split values.
fn writer_properties(schema_version: i64) -> Result<WriterProperties> {
    let timestamp = ColumnPath::from(TIMESTAMP_COLUMN);
    let value = ColumnPath::from(VALUE_COLUMN);
    Ok(
        writer_properties_builder(schema_version, &[("kansoku.layout", "series")])?
            .set_max_row_group_row_count(Some(SERIES_ROW_GROUP_ROWS))
            .set_column_dictionary_enabled(timestamp.clone(), false)
            .set_column_encoding(timestamp, Encoding::DELTA_BINARY_PACKED)
            .set_column_dictionary_enabled(value.clone(), false)
            .set_column_encoding(value, Encoding::BYTE_STREAM_SPLIT)
            .build(),
    )
}

/// A metrics file and its series index.
#[derive(Debug)]
pub struct EncodedSeriesFile {
    /// The Parquet file.
    pub file: EncodedFile,
    /// Its series index.
    pub index: SeriesIndex,
}

/// Encodes `batches` (any mix of dictionary and plain text label columns) into one metrics
/// file sorted by series, with its series index. `schema` is the stream's Arrow schema.
pub fn encode(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    schema_version: i64,
) -> Result<EncodedSeriesFile> {
    let target = dictionary_schema(schema);
    let conformed = batches
        .iter()
        .map(|batch| conform_batch(batch, &target))
        .collect::<Result<Vec<_>>>()?;
    let combined = concat_batches(&target, &conformed)?;
    let labels = label_columns(&target);
    let (sorted, ranks) = sort_by_series(&combined, &labels)?;
    let index = index_runs(&sorted, &labels, &ranks);
    let mut bytes = Vec::new();
    let options = ArrowWriterOptions::new()
        .with_properties(writer_properties(schema_version)?)
        .with_skip_arrow_metadata(true);
    let mut writer = ArrowWriter::try_new_with_options(&mut bytes, Arc::clone(&target), options)?;
    writer.write(&sorted)?;
    writer.close()?;
    let timestamps = sorted.column(0).as_primitive::<Int64Type>();
    Ok(EncodedSeriesFile {
        file: EncodedFile {
            bytes,
            rows: sorted.num_rows(),
            min_ts: arrow::compute::min(timestamps).unwrap_or(0),
            max_ts: arrow::compute::max(timestamps).unwrap_or(0),
        },
        index,
    })
}

/// `batch` sorted by its label columns (each ascending, nulls first, in `labels` order), then
/// `_timestamp`, stably; with each label column's value ranks in the sorted order.
///
/// Values are compared once per distinct value (a label column is a dictionary), and rows by
/// those ranks, never string by string: sorting millions of samples by a dozen label columns
/// otherwise spends most of a flush in `memcmp`.
fn sort_by_series(batch: &RecordBatch, labels: &[usize]) -> Result<(RecordBatch, Vec<Vec<u32>>)> {
    let ranks = labels
        .iter()
        .map(|&index| value_ranks(batch.column(index)))
        .collect::<Result<Vec<_>>>()?;
    if batch.num_rows() < 2 {
        return Ok((batch.clone(), ranks));
    }
    let timestamps = batch.column(0).as_primitive::<Int64Type>().values();
    let order = series_order(&ranks, timestamps);
    let sorted_ranks = ranks
        .iter()
        .map(|column| order.iter().map(|&row| column[row as usize]).collect())
        .collect();
    let sorted = take_record_batch(batch, &UInt32Array::from(order))?;
    Ok((sorted, sorted_ranks))
}

/// The row order of a stable sort by (label ranks, timestamp), computed run by run.
///
/// Rows arrive in runs: a request holds each series' samples together and in time order. Each
/// run (consecutive rows with the same ranks and non-decreasing timestamps) gets its series'
/// position among the distinct series (rank tuples are hashed, and only distinct ones compared),
/// runs are sorted by (series position, first timestamp, first row), and a series whose runs
/// overlap in time (out-of-order samples) has its rows sorted by (timestamp, row).
fn series_order(ranks: &[Vec<u32>], timestamps: &[i64]) -> Vec<u32> {
    let rows = timestamps.len();
    let same_series = |a: usize, b: usize| ranks.iter().all(|column| column[a] == column[b]);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for row in 1..=rows {
        let continues =
            row < rows && same_series(row - 1, row) && timestamps[row - 1] <= timestamps[row];
        if !continues {
            runs.push((start, row));
            start = row;
        }
    }
    let mut series_ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut key: Vec<u32> = Vec::with_capacity(ranks.len());
    let run_series: Vec<u32> = runs
        .iter()
        .map(|&(run_start, _)| {
            key.clear();
            key.extend(ranks.iter().map(|column| column[run_start]));
            if let Some(&id) = series_ids.get(key.as_slice()) {
                return id;
            }
            let id = series_ids.len() as u32;
            series_ids.insert(key.clone(), id);
            id
        })
        .collect();
    let mut distinct: Vec<(Vec<u32>, u32)> = series_ids.into_iter().collect();
    distinct.sort_unstable();
    let mut position_of = vec![0u32; distinct.len()];
    for (position, (_, id)) in distinct.iter().enumerate() {
        position_of[*id as usize] = position as u32;
    }
    let mut keyed: Vec<(u32, i64, usize, usize)> = runs
        .iter()
        .zip(&run_series)
        .map(|(&(run_start, run_end), &id)| {
            (
                position_of[id as usize],
                timestamps[run_start],
                run_start,
                run_end,
            )
        })
        .collect();
    keyed.sort_unstable();
    let mut order: Vec<u32> = Vec::with_capacity(rows);
    let mut group_start = 0;
    while group_start < keyed.len() {
        let series = keyed[group_start].0;
        let mut group_end = group_start + 1;
        while group_end < keyed.len() && keyed[group_end].0 == series {
            group_end += 1;
        }
        let group = &keyed[group_start..group_end];
        // Concatenating the runs is the stable order when each run starts after the previous
        // one ends (at the same instant, only if it also came later in the batch).
        let disjoint = group.windows(2).all(|pair| {
            let (last, first) = (timestamps[pair[0].3 - 1], timestamps[pair[1].2]);
            last < first || (last == first && pair[0].2 < pair[1].2)
        });
        let before = order.len();
        for &(_, _, run_start, run_end) in group {
            order.extend(run_start as u32..run_end as u32);
        }
        if !disjoint {
            order[before..].sort_unstable_by_key(|&row| (timestamps[row as usize], row));
        }
        group_start = group_end;
    }
    order
}

/// Each row's rank among the column's values: 0 for null, then 1, 2 … in ascending byte order,
/// equal values sharing a rank.
fn value_ranks(column: &ArrayRef) -> Result<Vec<u32>> {
    if let Some(dictionary) = column.as_dictionary_opt::<Int32Type>()
        && let Some(values) = dictionary.values().as_string_opt::<i32>()
    {
        // Rank the dictionary's distinct values (a concatenation repeats them, once per
        // request), then map the keys: values are hashed once and only distinct ones compared.
        let mut distinct: HashMap<&str, u32> = HashMap::new();
        let value_ids: Vec<Option<u32>> = (0..values.len())
            .map(|index| {
                let text = text_at(values, index)?;
                let next = distinct.len() as u32;
                Some(*distinct.entry(text).or_insert(next))
            })
            .collect();
        let mut sorted: Vec<(&str, u32)> = distinct.into_iter().collect();
        sorted.sort_unstable();
        let mut rank_of_id = vec![0u32; sorted.len()];
        for (position, (_, id)) in sorted.iter().enumerate() {
            rank_of_id[*id as usize] = position as u32 + 1;
        }
        let value_rank: Vec<u32> = value_ids
            .iter()
            .map(|id| id.map_or(0, |id| rank_of_id[id as usize]))
            .collect();
        let keys = dictionary.keys();
        return Ok((0..keys.len())
            .map(|row| {
                if keys.is_null(row) {
                    return 0;
                }
                let key = keys.value(row);
                usize::try_from(key)
                    .ok()
                    .and_then(|key| value_rank.get(key).copied())
                    .unwrap_or(0)
            })
            .collect());
    }
    // Any other column type: Arrow's ranking (equal values share the highest rank), nulls first.
    let options = SortOptions {
        descending: false,
        nulls_first: true,
    };
    let ranks = arrow::compute::rank(column.as_ref(), Some(options))?;
    Ok((0..column.len())
        .map(|row| if column.is_null(row) { 0 } else { ranks[row] })
        .collect())
}

fn text_at(values: &arrow::array::StringArray, index: usize) -> Option<&str> {
    (!values.is_null(index)).then(|| values.value(index))
}

/// The series runs of a sorted batch (with its label columns' ranks) as a series index.
fn index_runs(batch: &RecordBatch, labels: &[usize], ranks: &[Vec<u32>]) -> SeriesIndex {
    let schema = batch.schema();
    let columns: Vec<(&str, TextColumn<'_>)> = labels
        .iter()
        .filter_map(|&index| {
            TextColumn::new(batch.column(index))
                .map(|column| (schema.field(index).name().as_str(), column))
        })
        .collect();
    let timestamps = batch.column(0).as_primitive::<Int64Type>();
    let mut builder = SeriesIndexBuilder::new();
    let rows = batch.num_rows();
    let mut start = 0;
    while start < rows {
        let mut end = start + 1;
        while end < rows && ranks.iter().all(|column| column[end] == column[start]) {
            end += 1;
        }
        let series_labels = columns
            .iter()
            .filter_map(|(name, column)| column.get(start).map(|value| (*name, value)));
        let (first, last) = (timestamps.value(start), timestamps.value(end - 1));
        builder.push(
            series_labels,
            (end - start) as u64,
            first.min(last),
            first.max(last),
        );
        start = end;
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Float64Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// The order `series_order` must reproduce: a stable sort of the rows by (ranks, time).
    fn naive_order(ranks: &[Vec<u32>], timestamps: &[i64]) -> Vec<u32> {
        let mut order: Vec<u32> = (0..timestamps.len() as u32).collect();
        order.sort_by_key(|&row| {
            let row = row as usize;
            (
                ranks.iter().map(|c| c[row]).collect::<Vec<_>>(),
                timestamps[row],
            )
        });
        order
    }

    proptest::proptest! {
        #[test]
        fn run_order_equals_a_stable_sort_by_series_then_time(
            rows in proptest::collection::vec((0u32..3, 0u32..3, 0i64..6), 0..80),
        ) {
            let ranks = vec![
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ];
            let timestamps: Vec<i64> = rows.iter().map(|r| r.2).collect();
            proptest::prop_assert_eq!(series_order(&ranks, &timestamps), naive_order(&ranks, &timestamps));
        }
    }

    #[test]
    fn runs_of_requests_in_any_order_sort_like_rows() {
        // Two requests, each with series a then b; the second request is older (a replay).
        let ranks = vec![vec![1, 1, 2, 2, 1, 1, 2, 2]];
        let timestamps = vec![30, 40, 30, 40, 10, 30, 10, 20];
        assert_eq!(
            series_order(&ranks, &timestamps),
            naive_order(&ranks, &timestamps)
        );
        assert_eq!(
            series_order(&ranks, &timestamps),
            vec![4, 0, 5, 1, 6, 7, 2, 3]
        );
    }

    fn batch(rows: &[(i64, &str, Option<&str>, f64)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new("__name__", label_dictionary_type(), true),
            Field::new("job", DataType::Utf8, true),
            Field::new("value", DataType::Float64, true),
        ]));
        let names: DictionaryArray<Int32Type> = rows.iter().map(|r| Some(r.1)).collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(names),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn files_are_sorted_by_series_and_indexed() {
        let stream_schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new("__name__", DataType::Utf8, true),
            Field::new("job", DataType::Utf8, true),
            Field::new("value", DataType::Float64, true),
        ]));
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let first = batch(&[(20, "up", Some("b"), 1.0), (10, "up", None, 2.0)]);
        let second = batch(&[(10, "up", Some("b"), stale), (5, "a_total", Some("b"), 3.0)]);
        let encoded = encode(&stream_schema, &[first, second], 1).unwrap_or_else(|e| panic!("{e}"));
        type Row = (Vec<(String, String)>, u64, i64, i64);
        let series: Vec<Row> = encoded
            .index
            .series()
            .iter()
            .map(|s| {
                (
                    encoded
                        .index
                        .labels(s)
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                    s.rows,
                    s.min_ts,
                    s.max_ts,
                )
            })
            .collect();
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            series,
            vec![
                (pairs(&[("__name__", "a_total"), ("job", "b")]), 1, 5, 5),
                (pairs(&[("__name__", "up")]), 1, 10, 10),
                (pairs(&[("__name__", "up"), ("job", "b")]), 2, 10, 20),
            ]
        );
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(encoded.file.bytes))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader
                .schema()
                .field_with_name("__name__")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Utf8),
            "readers see plain text"
        );
        let read: Vec<RecordBatch> = reader
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|b| b.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let values = read[0]
            .column(3)
            .as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(values.value(3).to_bits(), 1f64.to_bits());
        assert_eq!(
            values.value(2).to_bits(),
            stale.to_bits(),
            "stale markers stay bit-exact"
        );
        assert_eq!(
            (encoded.file.min_ts, encoded.file.max_ts, encoded.file.rows),
            (5, 20, 4)
        );
    }
}
