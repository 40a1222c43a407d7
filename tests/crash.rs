//! Crash test against the real binary: sustained concurrent ingest with unique ids, SIGKILL at
//! random moments (also while flushes run), restart, and every acknowledged id is present exactly
//! once. Repeated over several cycles on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Process, ROOT, ROOT_PASSWORD, count_files, stored_ids};

const WRITERS: usize = 4;
const BATCH: usize = 25;
/// Kills per run; `KANSOKU_CRASH_CYCLES` raises it for longer runs (docs/reliability.md).
const DEFAULT_CYCLES: usize = 5;

fn cycles() -> usize {
    std::env::var("KANSOKU_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES)
}

fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % bound
}

async fn writer(
    base: String,
    cycle: usize,
    writer: usize,
    acknowledged: Arc<Mutex<HashSet<String>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for sequence in 0.. {
        let ids: Vec<String> = (0..BATCH)
            .map(|i| format!("c{cycle}-w{writer}-{sequence}-{i}"))
            .collect();
        let body: Vec<String> = ids
            .iter()
            .map(|id| {
                // A few batches per writer and cycle bring a new field: kills also land in
                // schema changes.
                let mut record = json!({"id": id, "log": format!("crash test record {id}")});
                if sequence % 10 == 0 && sequence <= 20 {
                    record[format!("field_c{cycle}_w{writer}_{sequence}")] = json!(sequence);
                }
                record.to_string()
            })
            .collect();
        let response = client
            .post(format!("{base}/api/default/crash/_multi"))
            .basic_auth(ROOT, Some(ROOT_PASSWORD))
            .body(body.join("\n"))
            .send()
            .await;
        let Ok(response) = response else { return };
        if response.status() != reqwest::StatusCode::OK {
            continue;
        }
        let Ok(report) = response.json::<Value>().await else {
            return;
        };
        if report["status"][0]["successful"] == BATCH {
            acknowledged.lock().unwrap().extend(ids);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_records_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    // Small memtables and a short flush interval so kills also land during flushes.
    let env = [
        ("KANSOKU_MEMTABLE_FLUSH_BYTES", "256KiB"),
        ("KANSOKU_FLUSH_INTERVAL", "1s"),
    ];
    let cycles = cycles();
    for cycle in 0..cycles {
        let data = data.clone();
        let process = tokio::task::spawn_blocking(move || Process::start(&data, &env))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(process.base(), cycle, w, Arc::clone(&acknowledged))))
            .collect();
        tokio::time::sleep(Duration::from_millis(500 + random_below(2000))).await;
        tokio::task::spawn_blocking(move || process.kill())
            .await
            .unwrap();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .unwrap()
                .unwrap();
        }
    }
    let process = tokio::task::spawn_blocking(move || Process::start(&data, &[]))
        .await
        .unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > cycles * BATCH,
        "too few writes acknowledged: {}",
        acknowledged.len()
    );
    let seen = stored_ids(&process.base(), "crash").await;
    let duplicated: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicated.is_empty(),
        "records stored twice: {:?}",
        &duplicated[..duplicated.len().min(5)]
    );
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let parquet_files = count_files(&dir.path().join("data/storage"), "parquet");
    eprintln!(
        "crash test: {} acknowledged, {} stored, {} Parquet files over {cycles} kills",
        acknowledged.len(),
        seen.len(),
        parquet_files
    );
    assert!(
        parquet_files > 0,
        "no flush happened between kills; the test would not cover recovery across flushes"
    );
    drop(process);
}

/// Compaction settings that make the compactor busy: a pass every 100 ms, merges of at most
/// 1 MiB, a grace period of 3 s (the query timeout is 2 s).
const BUSY_COMPACTOR: [(&str, &str); 5] = [
    ("KANSOKU_COMPACT_INTERVAL", "100ms"),
    ("KANSOKU_COMPACT_MIN_AGE", "20s"),
    ("KANSOKU_COMPACT_MAX_BYTES", "1MiB"),
    ("KANSOKU_COMPACT_DELETE_GRACE", "3s"),
    ("KANSOKU_QUERY_TIMEOUT", "2s"),
];

/// A PUT as root; the status.
async fn put(base: &str, path: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .put(format!("{base}{path}"))
        .basic_auth(ROOT, Some(ROOT_PASSWORD))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .status()
}

/// A root GET answered with JSON.
async fn get_json(base: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .basic_auth(ROOT, Some(ROOT_PASSWORD))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_compaction_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 40 small files of 100 records, each flushed on its own.
    let process = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            Process::start(&data, &[("KANSOKU_COMPACT_ENABLED", "false")])
        })
        .await
        .unwrap()
    };
    let client = reqwest::Client::new();
    let mut written = HashSet::new();
    for file in 0..40 {
        let ids: Vec<String> = (0..100).map(|i| format!("f{file}-{i}")).collect();
        let body: Vec<String> = ids
            .iter()
            .map(|id| {
                let level = ["info", "warn", "error"][file % 3];
                json!({"id": id, "log": format!("compaction crash record {id}"), "level": level})
                    .to_string()
            })
            .collect();
        let response = client
            .post(format!("{}/api/default/compaction/_multi", process.base()))
            .basic_auth(ROOT, Some(ROOT_PASSWORD))
            .body(body.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        written.extend(ids);
        assert_eq!(
            put(&process.base(), "/node/flush").await,
            reqwest::StatusCode::OK
        );
    }
    tokio::task::spawn_blocking(move || process.terminate())
        .await
        .unwrap();
    // The files must be older than the compactor's minimum age before it touches them.
    tokio::time::sleep(Duration::from_secs(21)).await;

    for _ in 0..cycles() {
        let data = data.clone();
        let process = tokio::task::spawn_blocking(move || Process::start(&data, &BUSY_COMPACTOR))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(random_below(1500))).await;
        tokio::task::spawn_blocking(move || process.kill())
            .await
            .unwrap();
    }

    let process = tokio::task::spawn_blocking(move || Process::start(&data, &BUSY_COMPACTOR))
        .await
        .unwrap();
    let base = process.base();
    // Let the compactor finish, and the grace period of what it replaced pass.
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = get_json(&base, "/api/default/streams/compaction/schema").await["stats"].clone();
        if stats["compacted_file_num"].as_i64() > Some(0) && stats["file_num"].as_i64() < Some(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        stats["compacted_file_num"].as_i64() > Some(0),
        "nothing was merged: {stats}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(put(&base, "/node/compact").await, reqwest::StatusCode::OK);

    let seen = stored_ids(&base, "compaction").await;
    let duplicated: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicated.is_empty(),
        "records stored twice: {:?}",
        &duplicated[..duplicated.len().min(5)]
    );
    let missing: Vec<_> = written
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} records lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // Every Parquet object left is either in the manifest or queued for deletion (the outputs
    // of killed merges, deleted when their intent expires): nothing is orphaned untracked.
    let stats = get_json(&base, "/api/default/streams/compaction/schema").await["stats"].clone();
    let metrics = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .basic_auth(ROOT, Some(ROOT_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending: usize = metrics
        .lines()
        .find_map(|line| line.strip_prefix("kansoku_compactor_pending_deletions "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    let on_disk = count_files(&dir.path().join("data/storage"), "parquet");
    let listed = stats["file_num"].as_u64().unwrap() as usize;
    eprintln!(
        "compaction crash test: {listed} files listed, {on_disk} on disk, {pending} objects queued"
    );
    assert!(
        on_disk >= listed,
        "a listed file is missing: {on_disk} < {listed}"
    );
    assert!(
        on_disk <= listed + pending,
        "untracked objects: {on_disk} > {listed} + {pending}"
    );
    drop(process);
}
