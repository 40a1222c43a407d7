//! What the write path's integration tests share: a node on either storage back-end and ways to
//! look at what it stores.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use bytes::Bytes;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_ingest::{IngestConfig, Ingester, JsonFormat};
use kansoku_meta::MetaStore;
use kansoku_storage::ObjectStore;
use kansoku_testkit::Backend;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prometheus_client::registry::Registry;

pub struct Node {
    pub ingester: Arc<Ingester>,
    pub meta: MetaStore,
    pub store: ObjectStore,
    pub config: IngestConfig,
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub dsn: String,
    pub storage: kansoku_storage::StorageConfig,
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (dsn, storage) = backend.fresh(dir.path()).await;
        Env { dir, dsn, storage }
    }

    pub fn config(&self) -> IngestConfig {
        let mut config = IngestConfig::with_defaults("node1", self.dir.path().join("wal"));
        config.flush_interval = Duration::from_secs(3600);
        config
    }

    pub async fn start(&self, config: IngestConfig) -> Node {
        let meta = MetaStore::connect(&self.dsn).await.unwrap();
        let store = ObjectStore::open(&self.storage).unwrap();
        let ingester = Ingester::start(
            config.clone(),
            meta.clone(),
            store.clone(),
            &mut Registry::default(),
        )
        .await
        .unwrap();
        Node {
            ingester,
            meta,
            store,
            config,
        }
    }
}

pub fn key(stream: &str) -> StreamKey {
    StreamKey::new(
        org(),
        StreamType::Logs,
        StreamName::normalise(stream).unwrap(),
    )
}

pub fn org() -> OrgId {
    OrgId::parse("default").unwrap()
}

pub fn now_secs() -> i64 {
    kansoku_meta::now_micros() / 1_000_000
}

pub async fn ingest_lines(
    node: &Node,
    stream: &str,
    lines: &[String],
) -> kansoku_ingest::IngestReport {
    node.ingester
        .ingest_json(
            org(),
            StreamType::Logs,
            StreamName::normalise(stream).unwrap(),
            JsonFormat::Lines,
            Bytes::from(lines.join("\n")),
        )
        .await
        .unwrap()
}

/// Every batch a query would read now: fresh batches, then stored files not pending.
pub async fn visible_batches(node: &Node, stream: &StreamKey) -> Vec<RecordBatch> {
    let snapshot = node
        .ingester
        .fresh_data()
        .snapshot(stream, i64::MIN, i64::MAX)
        .await;
    let files = node
        .meta
        .list_files(stream, i64::MIN, i64::MAX)
        .await
        .unwrap();
    let mut batches = snapshot.batches.clone();
    for file in files {
        if snapshot.covers(&file.path, &file.node) {
            continue;
        }
        let bytes = node.store.get(&file.path).await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        batches.extend(reader.map(|b| b.unwrap()));
    }
    batches
}

/// The values of string column `column` across `batches`, counted.
pub fn counted(batches: &[RecordBatch], column: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for batch in batches {
        let Some(values) = batch.column_by_name(column) else {
            continue;
        };
        let values = arrow::compute::cast(values, &DataType::Utf8).unwrap();
        let values = values.as_string::<i32>();
        for i in 0..values.len() {
            if values.is_valid(i) {
                *counts.entry(values.value(i).to_string()).or_default() += 1;
            }
        }
    }
    counts
}

pub fn wal_segments(node: &Node) -> Vec<u64> {
    kansoku_wal::list_segments(&node.config.wal_dir).unwrap()
}
