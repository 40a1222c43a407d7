//! SQL semantics as golden files (`tests/sql/*.sql`), run against the real write path (data is
//! ingested through the ingester, optionally flushed to Parquet) and the real query engine.
//!
//! File format:
//!
//! ```text
//! # comment
//! ingest <stream>           one NDJSON record per line, until a blank line
//! flush                     write everything in memory to Parquet
//! settings <stream> <json>  change a stream's settings
//! query [<start> <end>]     SQL on the next lines, until "----"; then the expected rows as
//!                           JSON objects (one per line), until a blank line
//! error                     like query, but "----" is followed by a fragment of the message
//! ```
//!
//! `@+N` anywhere stands for the base time plus N seconds, in µs; the base time is the start of
//! the hour two hours ago, so buckets align. A query's time range defaults to
//! `[@+0 - 1 day, now + 1 day)`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use bytes::Bytes;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_ingest::{IngestConfig, Ingester, JsonFormat};
use kansoku_meta::MetaStore;
use kansoku_query::{QueryConfig, QueryEngine, SearchRequest};
use kansoku_storage::ObjectStore;
use prometheus_client::registry::Registry;

struct Harness {
    ingester: Arc<Ingester>,
    engine: QueryEngine,
    meta: MetaStore,
    base: i64,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let (dsn, storage) = kansoku_testkit::Backend::Embedded.fresh(dir.path()).await;
        let meta = MetaStore::connect(&dsn).await.unwrap();
        let store = ObjectStore::open(&storage).unwrap();
        let mut config = IngestConfig::with_defaults("golden", dir.path().join("wal"));
        config.flush_interval = std::time::Duration::from_secs(3600);
        config.wal_fsync = false;
        let ingester = Ingester::start(
            config,
            meta.clone(),
            store.clone(),
            &mut Registry::default(),
        )
        .await
        .unwrap();
        let engine = QueryEngine::new(
            meta.clone(),
            store,
            ingester.fresh_data(),
            QueryConfig::default(),
        );
        let hour = 3_600_000_000i64;
        let base = kansoku_meta::now_micros() / hour * hour - 2 * hour;
        Harness {
            ingester,
            engine,
            meta,
            base,
            _dir: dir,
        }
    }

    fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("@+") {
            out.push_str(&rest[..at]);
            let digits: String = rest[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let seconds: i64 = digits.parse().unwrap_or(0);
            out.push_str(&(self.base + seconds * 1_000_000).to_string());
            rest = &rest[at + 2 + digits.len()..];
        }
        out.push_str(rest);
        out
    }
}

fn org() -> OrgId {
    OrgId::parse("default").unwrap()
}

async fn run_file(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let harness = Harness::new().await;
    let mut lines = text.lines().enumerate().peekable();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    while let Some((number, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let command = words.next().unwrap();
        let args: Vec<&str> = words.collect();
        let location = format!("{name}:{}", number + 1);
        match command {
            "ingest" => {
                let mut body = Vec::new();
                while let Some((_, record)) = lines.next_if(|(_, l)| !l.trim().is_empty()) {
                    body.push(harness.expand(record));
                }
                let report = harness
                    .ingester
                    .ingest_json(
                        org(),
                        StreamType::Logs,
                        StreamName::normalise(args[0]).unwrap(),
                        JsonFormat::Lines,
                        Bytes::from(body.join("\n")),
                    )
                    .await
                    .unwrap();
                assert_eq!(report.failed(), 0, "{location}: {:?}", report.streams);
            }
            "flush" => harness.ingester.flush_now().await.unwrap(),
            "settings" => {
                let key = StreamKey::new(
                    org(),
                    StreamType::Logs,
                    StreamName::normalise(args[0]).unwrap(),
                );
                let settings = serde_json::from_str(&args[1..].join(" ")).unwrap();
                harness
                    .meta
                    .put_stream_settings(&key, &settings)
                    .await
                    .unwrap();
                harness.ingester.catalog().invalidate(&key);
            }
            "query" | "error" => {
                let (start, end) = match args.as_slice() {
                    [start, end] => (
                        harness.expand(start).parse().unwrap(),
                        harness.expand(end).parse().unwrap(),
                    ),
                    _ => (
                        harness.base - 86_400_000_000,
                        kansoku_meta::now_micros() + 86_400_000_000,
                    ),
                };
                let mut sql = Vec::new();
                for (_, l) in lines.by_ref() {
                    if l.trim() == "----" {
                        break;
                    }
                    sql.push(l);
                }
                let mut expected = Vec::new();
                while let Some((_, l)) = lines.next_if(|(_, l)| !l.trim().is_empty()) {
                    expected.push(l.trim().to_string());
                }
                let request = SearchRequest {
                    sql: harness.expand(&sql.join("\n")),
                    start_time: start,
                    end_time: end,
                    from: 0,
                    size: 1000,
                    track_total_hits: false,
                };
                let result = harness
                    .engine
                    .search(&org(), StreamType::Logs, &request)
                    .await;
                if command == "error" {
                    let message = match result {
                        Err(error) => error.to_string(),
                        Ok(response) => {
                            panic!("{location}: expected an error, got {}", response.hits_json)
                        }
                    };
                    let fragment = expected.join(" ");
                    assert!(
                        message.contains(&fragment),
                        "{location}: error '{message}' lacks '{fragment}'"
                    );
                    continue;
                }
                let response = result.unwrap_or_else(|e| panic!("{location}: {e}"));
                let hits: Vec<serde_json::Value> =
                    serde_json::from_str(&response.hits_json).unwrap();
                let actual: Vec<String> = hits.iter().map(|h| h.to_string()).collect();
                let expected: Vec<String> = expected
                    .iter()
                    .map(|e| {
                        let value: serde_json::Value = serde_json::from_str(&harness.expand(e))
                            .unwrap_or_else(|err| {
                                panic!("{location}: bad expected row {e}: {err}")
                            });
                        value.to_string()
                    })
                    .collect();
                assert_eq!(actual, expected, "{location}: {}", request.sql);
            }
            other => panic!("{location}: unknown command {other}"),
        }
    }
    harness.ingester.shutdown().await.unwrap();
}

#[tokio::test]
async fn golden_sql_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        run_file(&file).await;
    }
}
