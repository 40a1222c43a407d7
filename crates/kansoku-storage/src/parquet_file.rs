//! Encoding stream data as Parquet (data format version 1).
//!
//! - zstd compression, dictionary encoding, page-level statistics on every column;
//! - row groups of at most [`ROW_GROUP_ROWS`] rows, so statistics and index pruning can skip
//!   parts of a file;
//! - rows clustered by low-cardinality text columns, then time (see [`crate::cluster`]);
//! - key-value metadata `kansoku.format_version` and `kansoku.schema_version`.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};

use crate::DATA_FORMAT_VERSION;
use crate::error::Result;
use crate::schema::conform_batch;

/// Rows per row group.
pub const ROW_GROUP_ROWS: usize = 32 * 1024;
/// zstd level used for data files.
pub const ZSTD_LEVEL: i32 = 3;

/// An encoded file and what it holds.
#[derive(Debug)]
pub struct EncodedFile {
    /// The Parquet bytes.
    pub bytes: Vec<u8>,
    /// Number of rows.
    pub rows: usize,
    /// Smallest `_timestamp`.
    pub min_ts: i64,
    /// Largest `_timestamp`.
    pub max_ts: i64,
}

/// Writer settings for data files.
pub fn writer_properties(schema_version: i64) -> Result<WriterProperties> {
    Ok(writer_properties_builder(schema_version, &[])?.build())
}

/// The settings every data file shares (zstd, dictionaries, page statistics,
/// [`ROW_GROUP_ROWS`], format and schema versions in the footer) plus `extra_metadata`, for a
/// layout to refine.
pub fn writer_properties_builder(
    schema_version: i64,
    extra_metadata: &[(&str, &str)],
) -> Result<WriterPropertiesBuilder> {
    let mut metadata = vec![
        KeyValue::new(
            "kansoku.format_version".to_string(),
            DATA_FORMAT_VERSION.to_string(),
        ),
        KeyValue::new(
            "kansoku.schema_version".to_string(),
            schema_version.to_string(),
        ),
    ];
    metadata.extend(
        extra_metadata
            .iter()
            .map(|(key, value)| KeyValue::new(key.to_string(), value.to_string())),
    );
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(metadata)))
}

/// Encodes `batches` (each conformed to `schema`) into one Parquet file; `on_batch` sees every
/// conformed batch in the order it is written (to build an index with the same row positions).
pub fn encode<'a>(
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    schema_version: i64,
    mut on_batch: impl FnMut(&RecordBatch),
) -> Result<EncodedFile> {
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(
        &mut bytes,
        schema.clone(),
        Some(writer_properties(schema_version)?),
    )?;
    let mut rows = 0;
    let mut min_ts = i64::MAX;
    let mut max_ts = i64::MIN;
    let conformed = batches
        .into_iter()
        .map(|batch| conform_batch(batch, schema))
        .collect::<Result<Vec<_>>>()?;
    for conformed in crate::cluster::cluster(conformed)? {
        let timestamps = conformed.column(0).as_primitive::<Int64Type>();
        if let Some(min) = arrow::compute::min(timestamps) {
            min_ts = min_ts.min(min);
        }
        if let Some(max) = arrow::compute::max(timestamps) {
            max_ts = max_ts.max(max);
        }
        rows += conformed.num_rows();
        on_batch(&conformed);
        writer.write(&conformed)?;
    }
    writer.close()?;
    Ok(EncodedFile {
        bytes,
        rows,
        min_ts,
        max_ts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::arrow_schema;
    use arrow::array::{Int64Array, StringArray};
    use kansoku_core::{FieldType, StreamSchema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    #[test]
    fn encoded_files_read_back_with_metadata() {
        let (schema, _) = StreamSchema::default().merged([("msg", FieldType::Utf8)]);
        let arrow = arrow_schema(&schema);
        let batch = RecordBatch::try_new(
            arrow.clone(),
            vec![
                Arc::new(Int64Array::from(vec![30, 10, 20])),
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
            ],
        )
        .unwrap();
        let file = encode(&arrow, [&batch], schema.version, |_| {}).unwrap();
        assert_eq!((file.rows, file.min_ts, file.max_ts), (3, 10, 30));
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.bytes)).unwrap();
        let metadata = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        assert!(metadata.iter().any(|kv| kv.key == "kansoku.format_version"));
        let batches: Vec<_> = reader.build().unwrap().map(|b| b.unwrap()).collect();
        assert_eq!(batches[0], batch);
    }
}
