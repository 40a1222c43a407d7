//! A full disk under the real binary: its data directory (WAL, metadata database, local store) is
//! a 16 MiB tmpfs. Writes are acknowledged until the WAL cannot take a batch; then every write is
//! answered 503 + `Retry-After` naming the full device, nothing half-written stays behind (the
//! segment is cut back), and once space returns the same process takes writes again. After a
//! SIGKILL every acknowledged record is found exactly once and no refused one is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use serde_json::{Value, json};
use support::tmpfs::Tmpfs;
use support::{Answer, Http, Process, ROOT, ROOT_PASSWORD, stored_ids};

const BATCH: usize = 500;

fn send_batch(http: &Http, base: &str, batch: usize) -> Answer {
    let records: Vec<Value> = (0..BATCH)
        .map(|i| json!({"id": format!("b{batch}-{i}"), "log": "x".repeat(200)}))
        .collect();
    http.post(
        &format!("{base}/api/default/full/_json"),
        ROOT,
        ROOT_PASSWORD,
        &Value::Array(records).to_string(),
    )
}

#[test]
fn a_full_wal_disk_refuses_with_a_reason_and_recovers_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disk = Tmpfs::mount(&data, 16);
    // Nothing is flushed during the test: the WAL alone fills the disk.
    let env = [("KANSOKU_FLUSH_INTERVAL", "3600s")];
    let process = Process::start(&data, &env);
    let http = Http::new();
    let base = process.base();

    let mut acknowledged = Vec::new();
    let refusal = loop {
        let batch = acknowledged.len();
        assert!(batch < 2000, "16 MiB never filled up");
        let answer = send_batch(&http, &base, batch);
        if answer.status != 200 {
            break (batch, answer);
        }
        acknowledged.push(batch);
    };
    let (refused_batch, answer) = refusal;
    assert!(
        !acknowledged.is_empty(),
        "the first batch was refused: {answer:?}"
    );
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.retry_after.is_some(), "{answer:?}");
    assert!(
        answer.body.contains("No space left on device"),
        "the refusal names the full device: {answer:?}"
    );
    // Still full: still refused, the process still answers.
    let again = send_batch(&http, &base, refused_batch + 1);
    assert_eq!(again.status, 503, "{again:?}");
    assert_eq!(
        http.get_status(&format!("{base}/api/default/streams"), ROOT, ROOT_PASSWORD),
        200
    );

    // Space returns: the same process takes writes again (the WAL was cut back, not poisoned).
    disk.resize(256);
    let after = refused_batch + 2;
    let answer = send_batch(&http, &base, after);
    assert_eq!(answer.status, 200, "{answer:?}");
    acknowledged.push(after);

    // A crash: the WAL replays whole records only — every acknowledged one, once.
    process.kill();
    let process = Process::start(&data, &env);
    let seen = http.block_on(stored_ids(&process.base(), "full"));
    let twice: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    for batch in &acknowledged {
        for i in 0..BATCH {
            let id = format!("b{batch}-{i}");
            assert!(seen.contains_key(&id), "acknowledged record {id} lost");
        }
    }
    for batch in [refused_batch, refused_batch + 1] {
        assert!(
            !seen.contains_key(&format!("b{batch}-0")),
            "a refused batch ({batch}) was stored"
        );
    }
    assert_eq!(seen.len(), acknowledged.len() * BATCH);
    drop(process);
}
