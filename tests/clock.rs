//! The node's own clock stepping under the real binary (libfaketime, Debian's `faketime`, preloaded
//! into the process: its wall clock goes back two hours and forward again while records arrive;
//! its monotonic clock is left alone, as a real step leaves it). WAL order, file names and the
//! manifest's exactly-once rule do not depend on the wall clock: every acknowledged record is
//! found exactly once after flushes, a SIGKILL, a restart and a compaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Http, Process, ROOT, ROOT_PASSWORD, count_files, stored_ids_within, wait_for};

fn faketime_library() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "libfaketime is not installed: run the README's test command (scripts/test.sh), \
                 which installs Debian's faketime"
            )
        })
}

/// Sets the node's clock offset (`-7200` = two hours back) and waits for libfaketime to read it.
fn step_clock(file: &Path, offset: &str) {
    std::fs::write(file, format!("{offset}\n")).unwrap();
    // libfaketime re-reads the file once its 1 s cache expires, on the next clock read of a
    // thread; a loaded machine needs more than one cache period (seen failing at 1.5 s).
    std::thread::sleep(Duration::from_millis(3000));
}

fn ingest(http: &Http, base: &str, prefix: &str, stamp: Option<i64>) {
    let records: Vec<Value> = (0..100)
        .map(|i| {
            let mut record = json!({"id": format!("{prefix}-{i}"), "log": "clock step"});
            if let Some(micros) = stamp {
                record["_timestamp"] = json!(micros);
            }
            record
        })
        .collect();
    let answer = http.post(
        &format!("{base}/api/default/clock/_json"),
        ROOT,
        ROOT_PASSWORD,
        &Value::Array(records).to_string(),
    );
    assert_eq!(answer.status, 200, "{prefix}: {answer:?}");
}

fn real_now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// The newest `_timestamp` of the records whose id is `LIKE pattern`, over the last three hours.
fn newest_timestamp(http: &Http, base: &str, pattern: &str) -> i64 {
    let now = real_now_micros();
    let body = json!({"query": {
        "sql": format!("SELECT max(_timestamp) AS t FROM clock WHERE id LIKE '{pattern}'"),
        "start_time": now - 3 * 3_600_000_000i64,
        "end_time": now + 3_600_000_000i64,
    }});
    let answer = http.post_json(
        &format!("{base}/api/default/_search"),
        ROOT,
        ROOT_PASSWORD,
        &body,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let hits: Value = serde_json::from_str(&answer.body).unwrap();
    hits["hits"][0]["t"]
        .as_i64()
        .unwrap_or_else(|| panic!("{hits}"))
}

fn assert_exactly_once(http: &Http, base: &str, prefixes: &[&str]) {
    let seen = http.block_on(stored_ids_within(base, "clock", 3));
    let twice: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    for prefix in prefixes {
        for i in 0..100 {
            let id = format!("{prefix}-{i}");
            assert!(seen.contains_key(&id), "acknowledged record {id} lost");
        }
    }
    assert_eq!(seen.len(), prefixes.len() * 100);
}

#[test]
fn a_node_clock_stepping_back_and_forward_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "+0\n").unwrap();
    let library = faketime_library();
    let library = library.to_str().unwrap();
    let clock_file = clock.to_str().unwrap();
    let env = [
        ("LD_PRELOAD", library),
        ("FAKETIME_TIMESTAMP_FILE", clock_file),
        ("FAKETIME_CACHE_DURATION", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("KANSOKU_FLUSH_INTERVAL", "1s"),
        ("KANSOKU_COMPACT_MIN_AGE", "20s"),
        ("KANSOKU_COMPACT_INTERVAL", "3600s"),
    ];
    let data = dir.path().join("data");
    let process = Process::start(&data, &env);
    let http = Http::new();
    let base = process.base();

    ingest(&http, &base, "before", None);
    wait_for("the first flush", Duration::from_secs(60), || {
        count_files(&data, "parquet") >= 1
    });
    let files_before = count_files(&data, "parquet");

    // Two hours back: records stamped by the node land two hours earlier; records stamped by
    // their sender are two hours in the node's future (within the accepted skew).
    step_clock(&clock, "-7200");
    ingest(&http, &base, "back", None);
    ingest(&http, &base, "sender-stamped", Some(real_now_micros()));
    wait_for(
        "the flushes under the stepped clock",
        Duration::from_secs(60),
        || count_files(&data, "parquet") > files_before,
    );

    // The step took: the node stamped the `back` records two hours before the real time.
    let stamped = newest_timestamp(&http, &base, "back-%");
    let behind = real_now_micros() - stamped;
    assert!(
        (7_000_000_000..7_400_000_000).contains(&behind),
        "the node's clock did not step back two hours (its records are {behind} µs behind)"
    );

    // Forward again, then a crash: the WAL replays what was not flushed, nothing twice.
    step_clock(&clock, "+0");
    ingest(&http, &base, "forward", None);
    process.kill();
    let process = Process::start(&data, &env);
    let base = process.base();
    let all = ["before", "back", "sender-stamped", "forward"];
    assert_exactly_once(&http, &base, &all);

    // Compaction over files committed under both clocks (the minimum age has passed for all).
    std::thread::sleep(Duration::from_secs(21));
    assert_eq!(
        http.put_status(&format!("{base}/node/compact"), ROOT, ROOT_PASSWORD),
        200
    );
    assert_exactly_once(&http, &base, &all);
    drop(process);
}
