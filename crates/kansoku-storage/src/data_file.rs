//! One stored data file with its index, as the flush and the compactor both write it.
//!
//! The layout follows the stream: metrics streams (a `__name__` column) get files sorted by series
//! with a series index ([`crate::series_layout`]); other streams get records clustered by
//! low-cardinality text with a trigram index of their full-text fields ([`crate::parquet_file`],
//! `kansoku-index`), or no index when nothing can be searched as text.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use kansoku_core::StreamSchema;
use kansoku_core::schema::metrics::is_metrics_layout;
use kansoku_core::settings::StreamSettings;
use kansoku_index::IndexBuilder;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet_file::{self, EncodedFile};
use crate::{ObjectStore, Result, series_layout};

/// How a stream's files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Records clustered by low-cardinality text, with a full-text index of these columns
    /// (none when empty).
    Records(Vec<String>),
    /// Metric samples sorted by series, with a series index.
    Series,
}

impl Layout {
    /// The layout of a stream with this schema and these settings.
    pub fn of(schema: &StreamSchema, settings: &StreamSettings) -> Layout {
        if is_metrics_layout(schema.fields.keys().map(String::as_str)) {
            return Layout::Series;
        }
        if settings.full_text_fields(schema).is_empty() {
            return Layout::Records(Vec::new());
        }
        Layout::Records(settings.indexed_fields(schema))
    }
}

/// An encoded data file and the bytes of its index, if its layout has one.
#[derive(Debug)]
pub struct EncodedDataFile {
    /// The Parquet file.
    pub file: EncodedFile,
    /// The full-text index (`.idx`), for [`Layout::Records`] with indexed fields.
    pub index: Option<Vec<u8>>,
    /// The series index (`.series`), for [`Layout::Series`].
    pub series_index: Option<Vec<u8>>,
}

/// Encodes `parts` (any schema older than or equal to `schema`) into one data file of `layout`.
pub fn encode(
    schema: &SchemaRef,
    parts: &[RecordBatch],
    schema_version: i64,
    layout: &Layout,
) -> Result<EncodedDataFile> {
    match layout {
        Layout::Series => {
            let encoded = series_layout::encode(schema, parts, schema_version)?;
            Ok(EncodedDataFile {
                file: encoded.file,
                index: None,
                series_index: Some(encoded.index.to_bytes()),
            })
        }
        Layout::Records(indexed) => {
            let mut index = IndexBuilder::new(indexed.to_vec(), parquet_file::ROW_GROUP_ROWS);
            let file =
                parquet_file::encode(schema, parts, schema_version, |batch| index.add(batch))?;
            let index = (!index.is_empty()).then(|| index.finish().to_bytes());
            Ok(EncodedDataFile {
                file,
                index,
                series_index: None,
            })
        }
    }
}

impl EncodedDataFile {
    /// The objects [`upload`] writes for this file at `path`: the data file and its index, if any.
    pub fn object_paths(&self, path: &str) -> Vec<String> {
        let mut paths = vec![path.to_string()];
        if self.index.is_some() {
            paths.push(crate::layout::index_path(path));
        }
        if self.series_index.is_some() {
            paths.push(crate::layout::series_index_path(path));
        }
        paths
    }
}

/// Where [`upload`] put a data file and its index, and their sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// Bytes of the Parquet file.
    pub stored_bytes: i64,
    /// Path of the full-text index, if any.
    pub index_path: Option<String>,
    /// Path of the series index, if any.
    pub series_path: Option<String>,
    /// Bytes of both indexes.
    pub index_bytes: i64,
}

/// Writes the indexes, then the data file (each put is durable), at `path` and the index paths
/// derived from it.
pub async fn upload(
    store: &ObjectStore,
    path: &str,
    encoded: EncodedDataFile,
) -> Result<UploadedFile> {
    let mut uploaded = UploadedFile {
        stored_bytes: encoded.file.bytes.len() as i64,
        index_path: None,
        series_path: None,
        index_bytes: 0,
    };
    if let Some(index) = encoded.index {
        let index_path = crate::layout::index_path(path);
        uploaded.index_bytes += index.len() as i64;
        store.put(&index_path, Bytes::from(index)).await?;
        uploaded.index_path = Some(index_path);
    }
    if let Some(series_index) = encoded.series_index {
        let series_path = crate::layout::series_index_path(path);
        uploaded.index_bytes += series_index.len() as i64;
        store.put(&series_path, Bytes::from(series_index)).await?;
        uploaded.series_path = Some(series_path);
    }
    store.put(path, Bytes::from(encoded.file.bytes)).await?;
    Ok(uploaded)
}

/// Every record batch of a stored data file, as written (its own schema).
pub fn decode(bytes: Bytes) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
        .with_batch_size(parquet_file::ROW_GROUP_ROWS)
        .build()?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch?);
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::arrow_schema;
    use arrow::array::{Int64Array, StringArray};
    use kansoku_core::FieldType;
    use std::sync::Arc;

    #[test]
    fn records_round_trip_through_encode_and_decode_with_their_index() {
        let (schema, _) = StreamSchema::default().merged([("msg", FieldType::Utf8)]);
        let arrow = arrow_schema(&schema);
        let batch = RecordBatch::try_new(
            arrow.clone(),
            vec![
                Arc::new(Int64Array::from(vec![3, 1, 2])),
                Arc::new(StringArray::from(vec!["c", "a", "b"])),
            ],
        )
        .unwrap();
        let layout = Layout::of(&schema, &StreamSettings::default());
        assert!(
            matches!(&layout, Layout::Records(fields) if fields.iter().any(|f| f == "msg")),
            "{layout:?}"
        );
        let encoded = encode(&arrow, &[batch], schema.version, &layout).unwrap();
        assert!(encoded.index.is_some() && encoded.series_index.is_none());
        assert_eq!((encoded.file.min_ts, encoded.file.max_ts), (1, 3));
        let decoded = decode(Bytes::from(encoded.file.bytes)).unwrap();
        let rows: usize = decoded.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 3);
    }

    #[test]
    fn metrics_streams_get_the_series_layout() {
        let (schema, _) = StreamSchema::default().merged([
            ("__name__", FieldType::Utf8),
            ("value", FieldType::Float64),
            ("job", FieldType::Utf8),
        ]);
        assert_eq!(
            Layout::of(&schema, &StreamSettings::default()),
            Layout::Series
        );
    }
}
