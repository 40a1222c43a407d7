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
