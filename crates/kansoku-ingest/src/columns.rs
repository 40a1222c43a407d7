//! Rows → one Arrow record batch, resolving each column's type.
//!
//! A column's type in a batch is the widest of (a) the stream's stored type and (b) the natural
//! types of the batch's values, along `Boolean → Int64 → Float64 → Utf8`. Values narrower than the
//! column type are converted losslessly (`true` → `1`, `5` → `5.0`, anything → its JSON text);
//! if an integer cannot be represented exactly as a float, the column becomes text instead. No
//! value is ever dropped or rounded, and every converted value is counted as a coercion.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Array, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{Field, Schema};
use kansoku_core::{FieldType, StreamSchema};
use kansoku_storage::schema::{arrow_type, timestamp_field};

use crate::record::{FlatRecord, Scalar};

/// Integers up to this magnitude convert to `f64` exactly.
const MAX_EXACT_FLOAT_INT: u64 = 1 << 53;

/// Accumulates rows column by column.
#[derive(Default)]
pub struct ColumnSet<'a> {
    names: Vec<Cow<'a, str>>,
    index: HashMap<Cow<'a, str>, usize>,
    values: Vec<Vec<(u32, Scalar<'a>)>>,
    timestamps: Vec<i64>,
    raw_bytes: usize,
    /// A record repeated a field name (after normalisation); the later value was kept.
    pub duplicate_fields: u64,
}

/// A built batch and what building it found.
pub struct BuiltBatch {
    /// The batch: `_timestamp` first, then the columns present, each with its resolved type.
    pub batch: RecordBatch,
    /// Values converted to a wider type.
    pub coercions: u64,
    /// Ingested bytes of the rows.
    pub raw_bytes: usize,
    /// Smallest and largest `_timestamp`.
    pub min_ts: i64,
    /// See `min_ts`.
    pub max_ts: i64,
}

impl<'a> ColumnSet<'a> {
    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// Ingested bytes added so far.
    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// Whether `name` is a column of this set.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Adds one row.
    pub fn push(&mut self, record: FlatRecord<'a>, timestamp: i64, raw_bytes: usize) {
        let row = self.timestamps.len() as u32;
        self.timestamps.push(timestamp);
        self.raw_bytes += raw_bytes;
        for (name, value) in record.fields {
            let column = match self.index.get(&name) {
                Some(column) => *column,
                None => {
                    let column = self.names.len();
                    self.names.push(name.clone());
                    self.index.insert(name, column);
                    self.values.push(Vec::new());
                    column
                }
            };
            let values = &mut self.values[column];
            match values.last_mut() {
                Some((last_row, last_value)) if *last_row == row => {
                    *last_value = value;
                    self.duplicate_fields += 1;
                }
                _ => values.push((row, value)),
            }
        }
    }

    /// Builds the batch, reading stored column types from `stored`.
    pub fn build(self, stored: &StreamSchema) -> Result<BuiltBatch, arrow::error::ArrowError> {
        let rows = self.timestamps.len();
        let mut fields = Vec::with_capacity(self.names.len() + 1);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.names.len() + 1);
        let min_ts = self.timestamps.iter().copied().min().unwrap_or(0);
        let max_ts = self.timestamps.iter().copied().max().unwrap_or(0);
        fields.push(timestamp_field());
        columns.push(Arc::new(Int64Array::from(self.timestamps)));
        let mut coercions = 0;
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|a, b| self.names[*a].cmp(&self.names[*b]));
        for column in order {
            let name = &self.names[column];
            let values = &self.values[column];
            let target = resolve_type(stored.field_type(name), values.iter().map(|(_, v)| v));
            coercions += values
                .iter()
                .filter(|(_, value)| natural_type(value) != target)
                .count() as u64;
            fields.push(Field::new(name.as_ref(), arrow_type(target), true));
            columns.push(build_array(target, values, rows));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(BuiltBatch {
            batch,
            coercions,
            raw_bytes: self.raw_bytes,
            min_ts,
            max_ts,
        })
    }
}

/// The type a value has on its own.
pub fn natural_type(value: &Scalar<'_>) -> FieldType {
    match value {
        Scalar::Bool(_) => FieldType::Boolean,
        Scalar::Int(_) => FieldType::Int64,
        Scalar::UInt(_) => FieldType::Utf8,
        Scalar::Float(_) => FieldType::Float64,
        Scalar::Str(_) => FieldType::Utf8,
    }
}

/// The column type for `values` given the stored type.
pub fn resolve_type<'v, 'a: 'v>(
    stored: Option<FieldType>,
    values: impl Iterator<Item = &'v Scalar<'a>> + Clone,
) -> FieldType {
    let observed = values
        .clone()
        .map(natural_type)
        .fold(stored, |acc, t| Some(acc.map_or(t, |acc| acc.widen(t))));
    let target = observed.unwrap_or(FieldType::Utf8);
    if target == FieldType::Float64 {
        let inexact = values.into_iter().any(|value| match value {
            Scalar::Int(n) => n.unsigned_abs() > MAX_EXACT_FLOAT_INT,
            _ => false,
        });
        if inexact {
            return FieldType::Utf8;
        }
    }
    target
}

fn build_array(target: FieldType, values: &[(u32, Scalar<'_>)], rows: usize) -> ArrayRef {
    match target {
        FieldType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(rows);
            fill(
                &mut builder,
                values,
                rows,
                |b| b.append_null(),
                |b, v| match v {
                    Scalar::Bool(x) => b.append_value(*x),
                    _ => b.append_null(),
                },
            );
            Arc::new(builder.finish())
        }
        FieldType::Int64 => {
            let mut builder = Int64Builder::with_capacity(rows);
            fill(
                &mut builder,
                values,
                rows,
                |b| b.append_null(),
                |b, v| match v {
                    Scalar::Int(x) => b.append_value(*x),
                    Scalar::Bool(x) => b.append_value(i64::from(*x)),
                    _ => b.append_null(),
                },
            );
            Arc::new(builder.finish())
        }
        FieldType::Float64 => {
            let mut builder = Float64Builder::with_capacity(rows);
            fill(
                &mut builder,
                values,
                rows,
                |b| b.append_null(),
                |b, v| match v {
                    Scalar::Float(x) => b.append_value(*x),
                    Scalar::Int(x) => b.append_value(*x as f64),
                    Scalar::Bool(x) => b.append_value(if *x { 1.0 } else { 0.0 }),
                    _ => b.append_null(),
                },
            );
            Arc::new(builder.finish())
        }
        FieldType::Utf8 => {
            let bytes: usize = values.iter().map(|(_, v)| v.approx_len()).sum();
            let mut builder = StringBuilder::with_capacity(rows, bytes);
            fill(
                &mut builder,
                values,
                rows,
                |b| b.append_null(),
                |b, v| match v {
                    Scalar::Str(x) => b.append_value(x),
                    Scalar::Int(x) => b.append_value(x.to_string()),
                    Scalar::UInt(x) => b.append_value(x.to_string()),
                    Scalar::Float(x) => b.append_value(float_text(*x)),
                    Scalar::Bool(x) => b.append_value(if *x { "true" } else { "false" }),
                },
            );
            Arc::new(builder.finish())
        }
    }
}

/// A float as JSON writes it (`1.0`, `1.5e300`), so text columns keep the sender's number.
pub fn float_text(value: f64) -> String {
    serde_json::Number::from_f64(value)
        .map(|n| n.to_string())
        .unwrap_or_else(|| value.to_string())
}

fn fill<B>(
    builder: &mut B,
    values: &[(u32, Scalar<'_>)],
    rows: usize,
    null: impl Fn(&mut B),
    value: impl Fn(&mut B, &Scalar<'_>),
) {
    let mut next_row = 0u32;
    for (row, scalar) in values {
        while next_row < *row {
            null(builder);
            next_row += 1;
        }
        value(builder, scalar);
        next_row += 1;
    }
    while (next_row as usize) < rows {
        null(builder);
        next_row += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type, Int64Type};

    fn record(fields: Vec<(&'static str, Scalar<'static>)>) -> FlatRecord<'static> {
        FlatRecord {
            fields: fields
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
        }
    }

    #[test]
    fn conflicting_types_widen_and_keep_every_value() {
        let mut set = ColumnSet::default();
        set.push(
            record(vec![("code", Scalar::Int(200)), ("ok", Scalar::Bool(true))]),
            1,
            10,
        );
        set.push(record(vec![("code", Scalar::Str("E42".into()))]), 2, 10);
        set.push(
            record(vec![("ok", Scalar::Int(0)), ("took", Scalar::Float(1.5))]),
            3,
            10,
        );
        let built = set.build(&StreamSchema::default()).unwrap();
        let batch = built.batch;
        assert_eq!(batch.num_rows(), 3);
        let code = batch.column_by_name("code").unwrap().as_string::<i32>();
        assert_eq!(code.value(0), "200");
        assert_eq!(code.value(1), "E42");
        assert!(code.is_null(2));
        let ok = batch
            .column_by_name("ok")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!((ok.value(0), ok.is_null(1), ok.value(2)), (1, true, 0));
        assert_eq!(built.coercions, 2, "200 → text and true → 1");
        assert_eq!(batch.schema().field(0).name(), "_timestamp");
        assert_eq!((built.min_ts, built.max_ts), (1, 3));
    }

    #[test]
    fn stored_types_are_respected() {
        let (stored, _) = StreamSchema::default().merged([("took", FieldType::Float64)]);
        let mut set = ColumnSet::default();
        set.push(record(vec![("took", Scalar::Int(3))]), 1, 1);
        let built = set.build(&stored).unwrap();
        let took = built.batch.column_by_name("took").unwrap();
        assert_eq!(took.data_type(), &DataType::Float64);
        assert_eq!(took.as_primitive::<Float64Type>().value(0), 3.0);
        assert_eq!(built.coercions, 1);
    }

    #[test]
    fn integers_too_large_for_floats_make_the_column_text() {
        let (stored, _) = StreamSchema::default().merged([("id", FieldType::Float64)]);
        let mut set = ColumnSet::default();
        set.push(
            record(vec![("id", Scalar::Int(9_007_199_254_740_993))]),
            1,
            1,
        );
        set.push(record(vec![("big", Scalar::UInt(u64::MAX))]), 1, 1);
        let built = set.build(&stored).unwrap();
        let id = built.batch.column_by_name("id").unwrap().as_string::<i32>();
        assert_eq!(id.value(0), "9007199254740993");
        let big = built
            .batch
            .column_by_name("big")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(big.value(1), "18446744073709551615");
    }

    #[test]
    fn duplicate_names_keep_the_last_value() {
        let mut set = ColumnSet::default();
        set.push(
            record(vec![("a_b", Scalar::Int(1)), ("a_b", Scalar::Int(2))]),
            1,
            1,
        );
        assert_eq!(set.duplicate_fields, 1);
        let built = set.build(&StreamSchema::default()).unwrap();
        let a = built
            .batch
            .column_by_name("a_b")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(a.value(0), 2);
    }

    #[test]
    fn floats_as_text_look_like_json() {
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(0.1), "0.1");
    }
}
