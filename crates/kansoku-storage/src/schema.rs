//! From stream schemas to Arrow schemas, and reading data written with an older schema.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::{FieldType, StreamSchema};

use crate::error::Result;

/// The Arrow type a column of `field_type` is stored as.
pub fn arrow_type(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::Boolean => DataType::Boolean,
        FieldType::Int64 => DataType::Int64,
        FieldType::Float64 => DataType::Float64,
        FieldType::Utf8 => DataType::Utf8,
    }
}

/// The stream type of an Arrow type, for the types kansoku stores.
pub fn field_type_of(data_type: &DataType) -> Option<FieldType> {
    match data_type {
        DataType::Boolean => Some(FieldType::Boolean),
        DataType::Int64 => Some(FieldType::Int64),
        DataType::Float64 => Some(FieldType::Float64),
        DataType::Utf8 => Some(FieldType::Utf8),
        DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => {
            Some(FieldType::Utf8)
        }
        _ => None,
    }
}

/// The `_timestamp` field: non-null `Int64` microseconds.
pub fn timestamp_field() -> Field {
    Field::new(TIMESTAMP_COLUMN, DataType::Int64, false)
}

/// The Arrow schema of a stream: `_timestamp` first, then every field by name, all nullable.
pub fn arrow_schema(schema: &StreamSchema) -> SchemaRef {
    let mut fields = Vec::with_capacity(schema.fields.len() + 1);
    fields.push(timestamp_field());
    fields.extend(
        schema
            .fields
            .iter()
            .map(|(name, field_type)| Field::new(name, arrow_type(*field_type), true)),
    );
    Arc::new(Schema::new(fields))
}

/// Reshapes `batch` to `target`: columns reordered, missing ones null, narrower types cast up.
/// Columns of `batch` absent from `target` are dropped.
pub fn conform_batch(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema().as_ref() == target.as_ref() {
        return Ok(batch.clone());
    }
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let column = match batch.column_by_name(field.name()) {
            Some(column) if column.data_type() == field.data_type() => Arc::clone(column),
            Some(column) => cast(column, field.data_type())?,
            None => new_null_array(field.data_type(), rows),
        };
        columns.push(column);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(target),
        columns,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, BooleanArray, Int64Array};
    use arrow::datatypes::Int64Type;

    #[test]
    fn older_batches_are_widened_and_padded() {
        let old_schema = Arc::new(Schema::new(vec![
            timestamp_field(),
            Field::new("flag", DataType::Boolean, true),
        ]));
        let old = RecordBatch::try_new(
            old_schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
            ],
        )
        .unwrap();
        let (newer, _) = StreamSchema::default()
            .merged([("flag", FieldType::Int64), ("level", FieldType::Utf8)]);
        let target = arrow_schema(&newer);
        let conformed = conform_batch(&old, &target).unwrap();
        assert_eq!(conformed.schema(), target);
        let flag = conformed
            .column_by_name("flag")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(flag.value(0), 1);
        assert!(flag.is_null(1));
        assert_eq!(conformed.column_by_name("level").unwrap().null_count(), 2);
    }
}
