//! A cluster of real `kansoku` processes on loopback — a router, two ingesters and a querier
//! over one fresh PostgreSQL database, one s3s-fs bucket and the machine's NATS: writes through
//! the router under load from two writers, one ingester killed with SIGKILL mid-load and
//! restarted on its volume. Every acknowledged record is found exactly once through the
//! querier while it is down (the answer then names it: partial), after its restart (its WAL
//! replayed), and after both ingesters flushed; SIGTERM stops every node cleanly.
// Writers are plain threads (never on an async runtime): std::thread::sleep is fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Http, Process, ROOT, ROOT_PASSWORD, stored_values, wait_for};

const STREAMS: usize = 4;
const BATCH: usize = 20;
const SECRET: &str = "cluster-test-secret-0123456789";

/// What the cluster's nodes share, and where each keeps its data directory.
struct Shared {
    dsn: String,
    bucket: String,
    prefix: String,
    dirs: tempfile::TempDir,
}

impl Shared {
    fn new() -> Shared {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dsn = runtime.block_on(kansoku_testkit::fresh_postgres_dsn());
        let s3 = kansoku_testkit::s3_settings();
        Shared {
            dsn,
            bucket: kansoku_testkit::fresh_bucket_name(&s3),
            prefix: format!("black{}", kansoku_testkit::random_suffix()),
            dirs: tempfile::tempdir().unwrap(),
        }
    }

    fn data_dir(&self, node: &str) -> PathBuf {
        self.dirs.path().join(node)
    }

    /// Starts `node` with `roles` and waits until it is ready.
    fn start(&self, node: &str, roles: &str) -> Process {
        let s3 = kansoku_testkit::s3_settings();
        let nats = kansoku_testkit::nats_url();
        let env: Vec<(&str, &str)> = vec![
            ("KANSOKU_ROLES", roles),
            ("KANSOKU_NODE_ID", node),
            ("KANSOKU_META_DSN", &self.dsn),
            ("KANSOKU_S3_BUCKET", &self.bucket),
            ("KANSOKU_S3_ENDPOINT", &s3.endpoint),
            ("KANSOKU_S3_ACCESS_KEY", &s3.access_key),
            ("KANSOKU_S3_SECRET_KEY", &s3.secret_key),
            ("KANSOKU_NATS_URL", &nats),
            ("KANSOKU_NATS_PREFIX", &self.prefix),
            ("KANSOKU_CLUSTER_SECRET", SECRET),
            ("KANSOKU_CLUSTER_PORT", "0"),
            // Records stay in memory until the test flushes: queries must read them there.
            ("KANSOKU_FLUSH_INTERVAL", "3600s"),
        ];
        Process::start(&self.data_dir(node), &env)
    }
}

/// The registry as `process` sees it: node id → its state.
fn registered(http: &Http, process: &Process) -> HashMap<String, String> {
    let body = http.get_json_as_root(&format!("{}/node/cluster/ingesters", process.base()));
    body["registry"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|node| {
            (
                node["node"].as_str().unwrap_or_default().to_string(),
                node["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Writes batches through `router` until `stop`, recording the ids of every acknowledged one.
fn writer(
    router: String,
    name: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<HashSet<String>>>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let http = Http::new();
        let mut refused = 0;
        for sequence in 0.. {
            if stop.load(Ordering::Acquire) {
                break;
            }
            let stream = sequence % STREAMS;
            let ids: Vec<String> = (0..BATCH)
                .map(|i| format!("w{name}-{sequence}-{i}"))
                .collect();
            let body: Vec<String> = ids
                .iter()
                .map(|id| json!({"rid": id, "log": format!("cluster record {id}")}).to_string())
                .collect();
            let answer = http.post(
                &format!("{router}/api/default/load_{stream}/_multi"),
                ROOT,
                ROOT_PASSWORD,
                &body.join("\n"),
            );
            if answer.status == 200 {
                acknowledged.lock().unwrap().extend(ids);
            } else {
                // Not acknowledged: not counted (the router may answer 503 while an ingester
                // dies with the batch in flight). Never re-sent, so no copy can appear.
                refused += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        refused
    })
}

/// How many times each acknowledged id is stored, read through `querier` over every stream.
fn stored(querier: &Process) -> HashMap<String, usize> {
    let http = Http::new();
    let mut seen = HashMap::new();
    for stream in 0..STREAMS {
        let counts = http.block_on(stored_values(
            &querier.base(),
            &format!("load_{stream}"),
            "rid",
            1,
        ));
        for (id, count) in counts {
            *seen.entry(id).or_default() += count;
        }
    }
    seen
}

fn assert_exactly_once(when: &str, querier: &Process, acknowledged: &HashSet<String>) {
    let seen = stored(querier);
    let missing = acknowledged
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .count();
    let doubled: Vec<_> = seen
        .iter()
        .filter(|(_, count)| **count > 1)
        .take(5)
        .collect();
    assert_eq!(missing, 0, "{when}: {missing} acknowledged records missing");
    assert!(
        doubled.is_empty(),
        "{when}: stored more than once: {doubled:?}"
    );
}

/// `_search` of stream `load_0` through `querier`: the answer's JSON.
fn search(http: &Http, querier: &Process) -> Value {
    let answer = support::search_count(http, &querier.base(), "load_0");
    assert_eq!(answer.status, 200, "{answer:?}");
    serde_json::from_str(&answer.body).unwrap()
}

fn flush(http: &Http, ingester: &Process) {
    let status = http.put_status(
        &format!("{}/node/flush", ingester.base()),
        ROOT,
        ROOT_PASSWORD,
    );
    assert_eq!(status, 200);
}

/// WAL segments of `dir` that still hold records (a clean stop leaves at most empty headers,
/// of 20 bytes or less).
fn wal_segments_with_records(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.join("wal")];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "wal")
                && std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 20)
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_killed_ingester_loses_nothing_acknowledged_and_queries_say_what_they_miss() {
    let shared = Shared::new();
    let first = shared.start("ingester-0", "ingester");
    let second = shared.start("ingester-1", "ingester");
    let querier = shared.start("querier-0", "querier");
    let router = shared.start("router-0", "router");
    let http = Http::new();
    wait_for(
        "the router to see every node",
        Duration::from_secs(30),
        || {
            let nodes = registered(&http, &router);
            ["ingester-0", "ingester-1", "querier-0"]
                .iter()
                .all(|node| nodes.contains_key(*node))
        },
    );

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let writers: Vec<_> = (0..2)
        .map(|name| {
            writer(
                router.base(),
                name,
                Arc::clone(&stop),
                Arc::clone(&acknowledged),
            )
        })
        .collect();
    wait_for("writes to land", Duration::from_secs(60), || {
        acknowledged.lock().unwrap().len() >= 40 * BATCH
    });

    // SIGKILL mid-load: the router moves its streams to the other ingester.
    second.kill();
    let before_kill = acknowledged.lock().unwrap().len();
    wait_for(
        "writes to go on without it",
        Duration::from_secs(60),
        || acknowledged.lock().unwrap().len() >= before_kill + 40 * BATCH,
    );
    stop.store(true, Ordering::Release);
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // While it is down, the querier cannot read its memory and says so.
    let partial = search(&http, &querier);
    assert_eq!(partial["is_partial"], true, "{partial}");
    assert_eq!(partial["partial_nodes"], json!(["ingester-1"]), "{partial}");

    // Restarted on its volume: it replays its WAL; every acknowledged record is back, once.
    let second = shared.start("ingester-1", "ingester");
    let whole = search(&http, &querier);
    assert_eq!(whole["is_partial"], false, "{whole}");
    assert_exactly_once("after the restart", &querier, &acknowledged);

    // Flushed to the bucket: still each record once.
    flush(&http, &first);
    flush(&http, &second);
    assert_exactly_once("after the flushes", &querier, &acknowledged);

    // SIGTERM drains every node: clean exits, and the ingesters leave no WAL behind.
    for process in [router, querier] {
        assert!(process.terminate().success());
    }
    for (node, process) in [("ingester-0", first), ("ingester-1", second)] {
        assert!(process.terminate().success(), "{node} did not stop cleanly");
        let left = wal_segments_with_records(&shared.data_dir(node));
        assert!(left.is_empty(), "{node} left WAL segments behind: {left:?}");
    }
}
