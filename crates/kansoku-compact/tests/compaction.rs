//! The compactor against real metadata databases and object stores (SQLite + local disk,
//! PostgreSQL + S3): merges, schema changes across inputs, metrics files, racing compactors,
//! retention and the deferred deletion of replaced objects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use kansoku_compact::plan::Merge;
use kansoku_compact::{CompactConfig, Compactor, MergeOutcome};
use kansoku_core::time::hour_start;
use kansoku_core::{FieldType, OrgId, StreamKey, StreamName, StreamSchema, StreamType};
use kansoku_meta::{FileEntry, MetaStore};
use kansoku_storage::data_file::{self, Layout};
use kansoku_storage::layout::{data_file_path, flush_file_stem, is_compacted, stream_prefix};
use kansoku_storage::partition::PartitionGroup;
use kansoku_storage::schema::arrow_schema;
use kansoku_storage::{DATA_FORMAT_VERSION, ObjectStore};
use kansoku_testkit::Backend;
use prometheus_client::registry::Registry;

/// 2020-01-01T10:00:00Z: an hour long closed.
const HOUR: i64 = 1_577_872_800_000_000;

/// The deletion grace period of tests that watch replaced files outlive it.
const GRACE: Duration = Duration::from_secs(1);

struct Fixture {
    meta: MetaStore,
    store: ObjectStore,
    _dir: tempfile::TempDir,
}

async fn fixture(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (dsn, storage) = backend.fresh(dir.path()).await;
    Fixture {
        meta: MetaStore::connect(&dsn).await.unwrap(),
        store: ObjectStore::open(&storage).unwrap(),
        _dir: dir,
    }
}

fn key(stream_type: StreamType, name: &str) -> StreamKey {
    StreamKey::new(
        OrgId::parse("default").unwrap(),
        stream_type,
        StreamName::normalise(name).unwrap(),
    )
}

fn config(node: &str, grace: Duration) -> CompactConfig {
    CompactConfig {
        min_age: Duration::ZERO,
        delete_grace: grace,
        ..CompactConfig::with_defaults(node)
    }
}

fn compactor(fixture: &Fixture, config: CompactConfig) -> Arc<Compactor> {
    Compactor::new(
        fixture.meta.clone(),
        fixture.store.clone(),
        config,
        &mut Registry::default(),
    )
}

/// Writes `batch` as the flush of `segment` would and commits its manifest row.
async fn flush_file(
    fixture: &Fixture,
    stream: &StreamKey,
    schema: &StreamSchema,
    segment: u64,
    batch: RecordBatch,
) -> FileEntry {
    let settings = fixture.meta.ensure_stream(stream).await.unwrap();
    let layout = Layout::of(schema, &settings);
    let encoded =
        data_file::encode(&arrow_schema(schema), &[batch], schema.version, &layout).unwrap();
    let group = PartitionGroup {
        hour: hour_start(encoded.file.min_ts),
        values: Vec::new(),
    };
    let path = data_file_path(stream, &group, &flush_file_stem("n1", None, segment));
    let (rows, min_ts, max_ts) = (encoded.file.rows, encoded.file.min_ts, encoded.file.max_ts);
    let uploaded = data_file::upload(&fixture.store, &path, encoded)
        .await
        .unwrap();
    let entry = FileEntry {
        path,
        stream: stream.clone(),
        min_ts,
        max_ts,
        records: rows as i64,
        raw_bytes: rows as i64 * 100,
        stored_bytes: uploaded.stored_bytes,
        partition: Vec::new(),
        index_path: uploaded.index_path,
        index_bytes: uploaded.index_bytes,
        series_path: uploaded.series_path,
        schema_version: schema.version,
        format_version: DATA_FORMAT_VERSION,
        node: "n1".to_string(),
        created_at: 0,
    };
    fixture
        .meta
        .publish_files(
            std::slice::from_ref(&entry),
            Some(kansoku_meta::Checkpoint::unleased("n1", segment as i64)),
        )
        .await
        .unwrap();
    entry
}

fn log_batch(schema: &StreamSchema, first: i64, rows: i64, with_code: bool) -> RecordBatch {
    let arrow = arrow_schema(schema);
    let mut columns: Vec<Arc<dyn Array>> = Vec::new();
    for field in arrow.fields() {
        let column: Arc<dyn Array> = match field.name().as_str() {
            "_timestamp" => Arc::new(Int64Array::from_iter_values(
                (first..first + rows).map(|i| HOUR + i * 1_000_000),
            )),
            "code" => Arc::new(Int64Array::from_iter_values(first..first + rows)),
            "level" => Arc::new(StringArray::from_iter_values(
                (first..first + rows).map(|i| if i % 3 == 0 { "error" } else { "info" }),
            )),
            "msg" => Arc::new(StringArray::from_iter_values(
                (first..first + rows).map(|i| format!("record number {i}")),
            )),
            other => panic!("unexpected column {other}"),
        };
        columns.push(column);
    }
    assert_eq!(with_code, arrow.field_with_name("code").is_ok());
    RecordBatch::try_new(arrow, columns).unwrap()
}

/// A logs stream `app` with the schema `level`, `msg` (version 1) saved.
async fn log_stream(fixture: &Fixture) -> (StreamKey, StreamSchema) {
    let stream = key(StreamType::Logs, "app");
    fixture.meta.ensure_stream(&stream).await.unwrap();
    let (schema, _) =
        StreamSchema::default().merged([("level", FieldType::Utf8), ("msg", FieldType::Utf8)]);
    fixture.meta.save_schema(&stream, &schema).await.unwrap();
    (stream, schema)
}

async fn object_paths(fixture: &Fixture, stream: &StreamKey) -> Vec<String> {
    let mut paths = fixture.store.list(&stream_prefix(stream)).await.unwrap();
    paths.sort();
    paths
}

async fn read_rows(fixture: &Fixture, file: &FileEntry) -> Vec<RecordBatch> {
    data_file::decode(fixture.store.get(&file.path).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_files_merge_into_one_with_every_record_newest_schema_and_index() {
    for backend in Backend::ALL {
        let fixture = fixture(backend).await;
        let (stream, v1) = log_stream(&fixture).await;
        let mut inputs = Vec::new();
        for segment in 0..4 {
            let batch = log_batch(&v1, segment as i64 * 100, 100, false);
            inputs.push(flush_file(&fixture, &stream, &v1, segment, batch).await);
        }
        let (v2, _) = v1.merged([("code", FieldType::Int64)]);
        fixture.meta.save_schema(&stream, &v2).await.unwrap();
        inputs.push(flush_file(&fixture, &stream, &v2, 4, log_batch(&v2, 400, 100, true)).await);

        let compactor = compactor(&fixture, config("c1", GRACE));
        let report = compactor.run_pass(false).await.unwrap();
        assert_eq!((report.merges, report.merged_files), (1, 5), "{backend:?}");

        let files = fixture.meta.list_files(&stream, 0, i64::MAX).await.unwrap();
        assert_eq!(files.len(), 1, "{backend:?}");
        let merged = &files[0];
        assert!(is_compacted(&merged.path), "{}", merged.path);
        assert_eq!(merged.records, 500);
        assert_eq!(merged.raw_bytes, 500 * 100);
        assert_eq!(
            (merged.min_ts, merged.max_ts),
            (HOUR, HOUR + 499 * 1_000_000)
        );
        assert_eq!(merged.schema_version, v2.version);
        assert!(
            merged.index_path.is_some(),
            "the full-text index is rebuilt"
        );
        assert_eq!(hour_start(merged.min_ts), HOUR);

        let batches = read_rows(&fixture, merged).await;
        let mut timestamps = Vec::new();
        let mut codes_present = 0;
        for batch in &batches {
            let ts = batch
                .column_by_name("_timestamp")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>();
            timestamps.extend(ts.values().iter().copied());
            let code = batch
                .column_by_name("code")
                .expect("the newest schema's column");
            codes_present += code.len() - code.null_count();
        }
        timestamps.sort_unstable();
        let expected: Vec<i64> = (0..500).map(|i| HOUR + i * 1_000_000).collect();
        assert_eq!(timestamps, expected, "every record exactly once");
        assert_eq!(
            codes_present, 100,
            "older inputs read with null for the new column"
        );

        // The inputs stay readable for the grace period, queued for deletion.
        for input in &inputs {
            assert!(fixture.store.get(&input.path).await.is_ok());
        }
        assert_eq!(
            fixture.meta.pending_deletions().await.unwrap(),
            10,
            "5 files + 5 indexes"
        );
        assert_eq!(report.deleted_objects, 0);

        // Once the grace period has passed, a pass deletes them; only the merged file is left.
        tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
        assert_eq!(compactor.run_pass(false).await.unwrap().deleted_objects, 10);
        let mut expected_objects = vec![merged.path.clone(), merged.index_path.clone().unwrap()];
        expected_objects.sort();
        assert_eq!(
            object_paths(&fixture, &stream).await,
            expected_objects,
            "{backend:?}"
        );
        assert_eq!(fixture.meta.pending_deletions().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_files_keep_the_series_layout_and_index() {
    for backend in Backend::ALL {
        let fixture = fixture(backend).await;
        let stream = key(StreamType::Metrics, "metrics");
        fixture.meta.ensure_stream(&stream).await.unwrap();
        let (schema, _) = StreamSchema::default().merged([
            ("__name__", FieldType::Utf8),
            ("job", FieldType::Utf8),
            ("value", FieldType::Float64),
        ]);
        fixture.meta.save_schema(&stream, &schema).await.unwrap();
        let arrow = arrow_schema(&schema);
        for segment in 0..3u64 {
            let rows = 50i64;
            let base = segment as i64 * rows;
            let mut columns: Vec<Arc<dyn Array>> = Vec::new();
            for field in arrow.fields() {
                let column: Arc<dyn Array> = match field.name().as_str() {
                    "_timestamp" => Arc::new(Int64Array::from_iter_values(
                        (base..base + rows).map(|i| HOUR + i * 15_000_000),
                    )),
                    "__name__" => Arc::new(StringArray::from_iter_values((0..rows).map(|_| "up"))),
                    "job" => Arc::new(StringArray::from_iter_values(
                        (base..base + rows).map(|i| if i % 2 == 0 { "a" } else { "b" }),
                    )),
                    "value" => Arc::new(Float64Array::from_iter_values(
                        (base..base + rows).map(|i| i as f64),
                    )),
                    other => panic!("unexpected column {other}"),
                };
                columns.push(column);
            }
            let batch = RecordBatch::try_new(arrow.clone(), columns).unwrap();
            let entry = flush_file(&fixture, &stream, &schema, segment, batch).await;
            assert!(entry.series_path.is_some());
        }
        let report = compactor(&fixture, config("c1", Duration::from_secs(3600)))
            .run_pass(false)
            .await
            .unwrap();
        assert_eq!(report.merges, 1, "{backend:?}");
        let files = fixture.meta.list_files(&stream, 0, i64::MAX).await.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].records, 150);
        assert!(
            files[0].series_path.is_some(),
            "the series index is rebuilt"
        );
        assert!(files[0].index_path.is_none());
        let index = fixture
            .store
            .get(files[0].series_path.as_ref().unwrap())
            .await
            .unwrap();
        let index = kansoku_index::SeriesIndex::from_bytes(&index).unwrap();
        assert_eq!(index.series().len(), 2, "two series: job=a and job=b");
        assert_eq!(
            index.series().iter().map(|series| series.rows).sum::<u64>(),
            150
        );
        let rows: usize = read_rows(&fixture, &files[0])
            .await
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 150);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_compactors_commit_one_merge_and_the_loser_leaves_nothing_behind() {
    for backend in Backend::ALL {
        let fixture = fixture(backend).await;
        let (stream, schema) = log_stream(&fixture).await;
        let mut inputs = Vec::new();
        for segment in 0..3 {
            let batch = log_batch(&schema, segment as i64 * 10, 10, false);
            inputs.push(flush_file(&fixture, &stream, &schema, segment, batch).await);
        }
        let merge = Merge { hour: HOUR, inputs };
        let one = compactor(&fixture, config("c1", Duration::ZERO));
        let two = compactor(&fixture, config("c2", Duration::ZERO));
        let (a, b) = tokio::join!(
            one.merge(&stream, merge.clone()),
            two.merge(&stream, merge.clone())
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let committed: Vec<&FileEntry> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                MergeOutcome::Committed(file) => Some(file.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(committed.len(), 1, "{backend:?}: {outcomes:?}");
        assert!(outcomes.contains(&MergeOutcome::InputGone), "{outcomes:?}");
        let winner = committed[0].clone();
        let listed = fixture.meta.list_files(&stream, 0, i64::MAX).await.unwrap();
        let mut expected = winner.clone();
        // The row is stamped with its commit time.
        expected.created_at = listed.first().map_or(0, |file| file.created_at);
        assert_eq!(listed, vec![expected]);
        // The loser deleted its own output; with no grace period, one deletion pass removes the
        // inputs.
        one.delete_due().await.unwrap();
        let mut expected = vec![winner.path.clone(), winner.index_path.clone().unwrap()];
        expected.sort();
        assert_eq!(
            object_paths(&fixture, &stream).await,
            expected,
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expires_files_through_the_deletion_queue() {
    for backend in Backend::ALL {
        let fixture = fixture(backend).await;
        let (stream, schema) = log_stream(&fixture).await;
        let old = flush_file(
            &fixture,
            &stream,
            &schema,
            0,
            log_batch(&schema, 0, 10, false),
        )
        .await;
        let config = CompactConfig {
            retention_days: 1,
            enabled: false,
            ..config("c1", GRACE)
        };
        let compactor = compactor(&fixture, config);
        let report = compactor.run_pass(true).await.unwrap();
        assert_eq!(
            (report.expired_files, report.deleted_objects),
            (1, 0),
            "{backend:?}"
        );
        assert!(
            fixture
                .meta
                .list_files(&stream, 0, i64::MAX)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            fixture.store.get(&old.path).await.is_ok(),
            "readable during the grace period"
        );
        tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
        assert_eq!(compactor.delete_due().await.unwrap(), 2);
        assert!(
            object_paths(&fixture, &stream).await.is_empty(),
            "{backend:?}"
        );
    }
}
