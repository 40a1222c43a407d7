//! Reading stored files of metrics streams: series indexes and Parquet footers (both cached,
//! committed files never change), and the rows of chosen series.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use kansoku_index::SeriesIndex;
use kansoku_storage::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, RowSelection};
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use crate::error::{Error, Result};

/// Memory kept for parsed series indexes.
const INDEX_CACHE_BYTES: usize = 256 * 1024 * 1024;
/// Footers kept.
const MAX_FOOTERS: usize = 10_000;

/// Caches of one node.
#[derive(Debug, Default)]
pub struct Caches {
    indexes: Mutex<(usize, HashMap<String, Arc<SeriesIndex>>)>,
    footers: Mutex<HashMap<String, ArrowReaderMetadata>>,
}

/// Reads metrics files through the caches.
#[derive(Debug, Clone)]
pub struct FileReader {
    store: ObjectStore,
    caches: Arc<Caches>,
}

impl FileReader {
    /// A reader over `store`.
    pub fn new(store: ObjectStore) -> FileReader {
        FileReader {
            store,
            caches: Arc::new(Caches::default()),
        }
    }

    /// The series index at `path`.
    pub async fn series_index(&self, path: &str) -> Result<Arc<SeriesIndex>> {
        if let Some(index) = self
            .caches
            .indexes
            .lock()
            .ok()
            .and_then(|cache| cache.1.get(path).cloned())
        {
            return Ok(index);
        }
        let bytes = self
            .store
            .get(path)
            .await
            .map_err(|e| Error::Storage(format!("{path}: {e}")))?;
        let index = Arc::new(
            SeriesIndex::from_bytes(&bytes).map_err(|e| Error::Storage(format!("{path}: {e}")))?,
        );
        if let Ok(mut cache) = self.caches.indexes.lock() {
            let size = index.memory_size();
            if cache.0 + size > INDEX_CACHE_BYTES {
                cache.1.clear();
                cache.0 = 0;
            }
            cache.0 += size;
            cache.1.insert(path.to_string(), Arc::clone(&index));
        }
        Ok(index)
    }

    async fn footer(&self, path: &str, reader: &mut ObjectReader) -> Result<ArrowReaderMetadata> {
        if let Some(footer) = self
            .caches
            .footers
            .lock()
            .ok()
            .and_then(|cache| cache.get(path).cloned())
        {
            return Ok(footer);
        }
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let footer = ArrowReaderMetadata::load_async(reader, options)
            .await
            .map_err(|e| Error::Storage(format!("{path}: {e}")))?;
        if let Ok(mut cache) = self.caches.footers.lock() {
            if cache.len() >= MAX_FOOTERS {
                cache.clear();
            }
            cache.insert(path.to_string(), footer.clone());
        }
        Ok(footer)
    }

    /// The rows of `path` with only the `columns` that exist in it (all when `None`), restricted
    /// to `selection` when given.
    pub async fn read(
        &self,
        path: &str,
        columns: Option<&[&str]>,
        selection: Option<RowSelection>,
    ) -> Result<Vec<RecordBatch>> {
        let mut reader = ObjectReader {
            store: self.store.inner(),
            path: ObjectPath::from(path),
        };
        let footer = self.footer(path, &mut reader).await?;
        let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, footer)
            .with_batch_size(64 * 1024);
        if let Some(columns) = columns {
            let schema = builder.schema().clone();
            let indices: Vec<usize> = columns
                .iter()
                .filter_map(|name| schema.index_of(name).ok())
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection);
        }
        let stream = builder
            .build()
            .map_err(|e| Error::Storage(format!("{path}: {e}")))?;
        stream
            .try_collect()
            .await
            .map_err(|e| Error::Storage(format!("{path}: {e}")))
    }
}

/// Byte ranges of one object, for the Parquet reader.
struct ObjectReader {
    store: Arc<dyn object_store::ObjectStore>,
    path: ObjectPath,
}

fn parquet_error(error: object_store::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(error))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ObjectReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Suffix(suffix as u64)),
            ..Default::default()
        };
        async move {
            let response = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(parquet_error)?;
            response.bytes().await.map_err(parquet_error)
        }
        .boxed()
    }
}
