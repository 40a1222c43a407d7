//! Reading stored metrics files: through the series index (only the chosen series' rows), the
//! same answer without it (row by row), fresh data and files each seen once, labels listed from
//! indexes alone, a damaged index falling back to reading the rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use kansoku_core::{FieldType, OrgId, StreamKey, StreamName, StreamSchema, StreamType};
use kansoku_meta::{FileEntry, MetaStore};
use kansoku_metrics::MetricsStore;
use kansoku_promql::{LabelMatcher, MatchKind, SeriesSource};
use kansoku_storage::schema::arrow_schema;
use kansoku_storage::{FreshData, FreshSnapshot, NoFreshData, ObjectStore, StorageConfig};

fn key() -> StreamKey {
    StreamKey::new(
        OrgId::parse("default").unwrap(),
        StreamType::Metrics,
        StreamName::normalise("metrics").unwrap(),
    )
}

fn stream_schema() -> StreamSchema {
    StreamSchema::default()
        .merged([
            ("__name__", FieldType::Utf8),
            ("job", FieldType::Utf8),
            ("instance", FieldType::Utf8),
            ("value", FieldType::Float64),
        ])
        .0
}

/// Rows `(ms, name, job, instance, value)`.
fn batch(rows: &[(i64, &str, &str, Option<&str>, f64)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("_timestamp", DataType::Int64, false),
        Field::new("__name__", DataType::Utf8, true),
        Field::new("job", DataType::Utf8, true),
        Field::new("instance", DataType::Utf8, true),
        Field::new("value", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0 * 1000).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap()
}

struct Fixture {
    meta: MetaStore,
    store: ObjectStore,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaStore::connect(&format!("sqlite://{}/meta.sqlite", dir.path().display()))
        .await
        .unwrap();
    meta.ensure_org(&OrgId::parse("default").unwrap())
        .await
        .unwrap();
    meta.save_schema(&key(), &stream_schema()).await.unwrap();
    meta.ensure_stream(&key()).await.unwrap();
    let store = ObjectStore::open(&StorageConfig::Local {
        root: dir.path().join("files"),
    })
    .unwrap();
    Fixture {
        meta,
        store,
        _dir: dir,
    }
}

/// Writes `rows` as one metrics file (with its series index unless `indexed` is false).
async fn write_file(
    fixture: &Fixture,
    name: &str,
    rows: &[(i64, &str, &str, Option<&str>, f64)],
    indexed: bool,
) {
    let schema = arrow_schema(&stream_schema());
    let encoded = kansoku_storage::series_layout::encode(&schema, &[batch(rows)], 1).unwrap();
    let path = format!("files/default/metrics/metrics/{name}.parquet");
    fixture
        .store
        .put(&path, Bytes::from(encoded.file.bytes.clone()))
        .await
        .unwrap();
    let series_path = if indexed {
        let series_path = kansoku_storage::layout::series_index_path(&path);
        fixture
            .store
            .put(&series_path, Bytes::from(encoded.index.to_bytes()))
            .await
            .unwrap();
        Some(series_path)
    } else {
        None
    };
    fixture
        .meta
        .publish_files(
            &[FileEntry {
                path,
                stream: key(),
                min_ts: encoded.file.min_ts,
                max_ts: encoded.file.max_ts,
                records: encoded.file.rows as i64,
                raw_bytes: 1,
                stored_bytes: encoded.file.bytes.len() as i64,
                partition: Vec::new(),
                index_path: None,
                index_bytes: 0,
                series_path,
                schema_version: 1,
                format_version: 1,
                node: "n".to_string(),
                created_at: 1,
            }],
            None,
        )
        .await
        .unwrap();
}

fn name(value: &str) -> LabelMatcher {
    LabelMatcher::new("__name__", MatchKind::Equal, value).unwrap()
}

/// `(labels, [(ms, value)])` of every series the source returns.
async fn select(
    source: &dyn SeriesSource,
    matchers: &[LabelMatcher],
    start: i64,
    end: i64,
) -> Vec<(String, Vec<(i64, f64)>)> {
    source
        .select(matchers, start, end)
        .await
        .unwrap()
        .into_iter()
        .map(|series| {
            (
                series.labels.to_string(),
                series.points.iter().map(|p| (p.t, p.v)).collect(),
            )
        })
        .collect()
}

const ROWS: &[(i64, &str, &str, Option<&str>, f64)] = &[
    (20, "up", "api", Some("a:1"), 1.0),
    (10, "up", "api", Some("a:1"), 1.0),
    (10, "up", "db", None, 0.0),
    (10, "errors_total", "api", Some("a:1"), 5.0),
    (30, "errors_total", "api", Some("a:1"), 7.0),
    (20, "zzz", "api", None, 9.0),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_are_read_through_the_index_or_row_by_row_alike() {
    let indexed = fixture().await;
    write_file(&indexed, "f1", ROWS, true).await;
    let plain = fixture().await;
    write_file(&plain, "f1", ROWS, false).await;
    let mut answers = Vec::new();
    for fixture in [&indexed, &plain] {
        let store = MetricsStore::new(
            fixture.meta.clone(),
            fixture.store.clone(),
            Arc::new(NoFreshData),
        );
        let org = store.org(&OrgId::parse("default").unwrap()).await.unwrap();
        let up = select(&org, &[name("up")], 0, 100_000).await;
        assert_eq!(
            up,
            vec![
                (
                    r#"up{instance="a:1", job="api"}"#.to_string(),
                    vec![(10, 1.0), (20, 1.0)]
                ),
                (r#"up{job="db"}"#.to_string(), vec![(10, 0.0)]),
            ]
        );
        let errors = select(
            &org,
            &[LabelMatcher::new("__name__", MatchKind::Regex, "errors_total|zzz").unwrap()],
            15,
            30,
        )
        .await;
        assert_eq!(
            errors,
            vec![
                (
                    r#"errors_total{instance="a:1", job="api"}"#.to_string(),
                    vec![(30, 7.0)]
                ),
                (r#"zzz{job="api"}"#.to_string(), vec![(20, 9.0)]),
            ],
            "time bounds are applied"
        );
        let by_job = select(
            &org,
            &[LabelMatcher::new("job", MatchKind::Equal, "db").unwrap()],
            0,
            100,
        )
        .await;
        assert_eq!(by_job.len(), 1);
        let read = org.rows_read();
        let sets = org.label_sets(&[], 0, 100).await.unwrap();
        assert_eq!(sets.len(), 4);
        if std::ptr::eq(fixture, &indexed) {
            // up (3 rows), errors_total and zzz (3 rows), job="db" (1 row); listings read none.
            assert_eq!(read, 7, "only the chosen series' rows are read");
            assert_eq!(
                org.rows_read(),
                read,
                "label sets come from the index alone"
            );
        } else {
            assert_eq!(read, 18, "without an index every row is read");
        }
        answers.push((up, errors));
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_series_index_falls_back_to_the_rows() {
    let fixture = fixture().await;
    write_file(&fixture, "f1", ROWS, true).await;
    fixture
        .store
        .put(
            "files/default/metrics/metrics/f1.series",
            Bytes::from_static(b"KSKSER01 not zstd"),
        )
        .await
        .unwrap();
    let store = MetricsStore::new(
        fixture.meta.clone(),
        fixture.store.clone(),
        Arc::new(NoFreshData),
    );
    let org = store.org(&OrgId::parse("default").unwrap()).await.unwrap();
    assert_eq!(select(&org, &[name("up")], 0, 100_000).await.len(), 2);
}

/// Fresh data of the metrics stream, covering the stored file `covered`.
struct Fresh {
    batch: RecordBatch,
    covered: String,
}

#[async_trait::async_trait]
impl FreshData for Fresh {
    async fn snapshot(&self, _stream: &StreamKey, _start: i64, _end: i64) -> FreshSnapshot {
        FreshSnapshot {
            batches: vec![self.batch.clone()],
            pending_paths: [self.covered.clone()].into_iter().collect(),
            ..FreshSnapshot::default()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_rows_and_files_are_each_read_once() {
    let fixture = fixture().await;
    write_file(&fixture, "f1", &[(10, "up", "api", None, 1.0)], true).await;
    write_file(&fixture, "f2", &[(20, "up", "api", None, 2.0)], true).await;
    let fresh = Fresh {
        // f2's rows are still in memory: the file must be skipped, the memory read.
        batch: batch(&[(20, "up", "api", None, 2.0), (30, "up", "api", None, 3.0)]),
        covered: "files/default/metrics/metrics/f2.parquet".to_string(),
    };
    let store = MetricsStore::new(fixture.meta.clone(), fixture.store.clone(), Arc::new(fresh));
    let org = store.org(&OrgId::parse("default").unwrap()).await.unwrap();
    assert_eq!(
        select(&org, &[name("up")], 0, 100).await,
        vec![(
            r#"up{job="api"}"#.to_string(),
            vec![(10, 1.0), (20, 2.0), (30, 3.0)]
        )]
    );
}
