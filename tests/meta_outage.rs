//! The metadata database failing under the real binary: a private PostgreSQL crashed and started
//! again, and the SQLite file held under an exclusive lock by another process. Writes keep being
//! acknowledged (the WAL holds them), what needs the database answers 503 + `Retry-After` (never
//! a partial answer), `/readyz` says so, flushes wait and retry, and afterwards every acknowledged
//! record is found exactly once — also after a SIGKILL. On PostgreSQL a node leases its id: cut
//! off for half the lease it refuses writes (it cannot know whether another process took its
//! id), and a process whose id was taken over exits without flushing, leaving its WAL to the
//! next holder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::postgres::PrivatePostgres;
use support::{
    Answer, Http, Process, ROOT, ROOT_PASSWORD, binary, count_files, search_count, stored_ids,
    wait_for,
};

fn ingest(http: &Http, base: &str, prefix: &str) -> Answer {
    let records: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("{prefix}-{i}"), "log": "metadata outage"}))
        .collect();
    http.post(
        &format!("{base}/api/default/outage/_json"),
        ROOT,
        ROOT_PASSWORD,
        &Value::Array(records).to_string(),
    )
}

fn flush_status(http: &Http, base: &str) -> Value {
    http.get_json(&format!("{base}/readyz"))["flush"]["status"].clone()
}

/// Every id of `prefixes` (100 each) stored exactly once, read after a SIGKILL and a restart.
fn assert_exactly_once(http: &Http, base: &str, prefixes: &[&str]) {
    let seen = http.block_on(stored_ids(base, "outage"));
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

const QUIET: [(&str, &str); 2] = [
    ("KANSOKU_FLUSH_INTERVAL", "1s"),
    ("KANSOKU_COMPACT_ENABLED", "false"),
];

/// A private PostgreSQL and a data directory for one node.
struct OnPostgres {
    postgres: PrivatePostgres,
    dsn: String,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl OnPostgres {
    fn start() -> OnPostgres {
        let postgres = PrivatePostgres::start();
        let dsn = postgres.dsn();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        OnPostgres {
            postgres,
            dsn,
            _dir: dir,
            data,
        }
    }

    /// The node's settings: this database, a lease of `lease`, then `settings` (later ones
    /// win).
    fn env<'a>(
        &'a self,
        lease: &'a str,
        settings: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![
            ("KANSOKU_META_DSN", self.dsn.as_str()),
            ("KANSOKU_NODE_LEASE", lease),
        ];
        env.extend_from_slice(settings);
        env
    }
}

#[test]
fn a_postgresql_crash_and_restart_loses_nothing_acknowledged() {
    let setup = OnPostgres::start();
    let (postgres, data) = (&setup.postgres, &setup.data);
    // A lease long enough that the outage below (11 s) stays within half of it.
    let env = setup.env("60s", &QUIET);
    let process = Process::start(data, &env);
    let http = Http::new();
    let base = process.base();

    assert_eq!(ingest(&http, &base, "before").status, 200);
    wait_for("the first flush", Duration::from_secs(60), || {
        count_files(data, "parquet") > 0
    });

    // Down: writes still land in the WAL; what needs the database is refused, retryably.
    postgres.crash();
    let during = ingest(&http, &base, "during");
    assert_eq!(during.status, 200, "{during:?}");
    // Longer than the stream settings' cache (10 s): the settings last read stay in force.
    std::thread::sleep(Duration::from_secs(11));
    let later = ingest(&http, &base, "later");
    assert_eq!(later.status, 200, "{later:?}");
    let searched = search_count(&http, &base, "outage");
    assert_eq!(searched.status, 503, "{searched:?}");
    assert!(searched.retry_after.is_some(), "{searched:?}");
    let ready = http.get_json(&format!("{base}/readyz"));
    assert_eq!(ready["status"], "not ready", "{ready}");
    assert!(
        ready["reason"].as_str().unwrap_or("").contains("metadata"),
        "{ready}"
    );

    // Back: the waiting flush commits, searches answer in full.
    postgres.restart();
    wait_for(
        "the node to be ready again",
        Duration::from_secs(120),
        || {
            http.get_json(&format!("{base}/readyz"))["status"] == "ready"
                && flush_status(&http, &base) == "ok"
        },
    );
    assert_eq!(ingest(&http, &base, "after").status, 200);
    let searched = search_count(&http, &base, "outage");
    assert_eq!(searched.status, 200, "{searched:?}");
    let body: Value = serde_json::from_str(&searched.body).unwrap();
    assert_eq!(body["hits"][0]["n"], 400, "{body}");

    process.kill();
    let process = Process::start(data, &env);
    assert_exactly_once(
        &http,
        &process.base(),
        &["before", "during", "later", "after"],
    );
    drop(process);
}

fn ready_reason(http: &Http, base: &str) -> String {
    http.get_json(&format!("{base}/readyz"))["reason"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn writes_are_refused_while_the_lease_cannot_be_renewed() {
    let setup = OnPostgres::start();
    let (postgres, data) = (&setup.postgres, &setup.data);
    let env = setup.env("8s", &QUIET);
    let process = Process::start(data, &env);
    let http = Http::new();
    let base = process.base();
    assert_eq!(ingest(&http, &base, "before").status, 200);

    // Half the lease without a renewal: another process may hold the id now, so nothing is
    // acknowledged, retryably, and the node says why.
    postgres.crash();
    wait_for(
        "/readyz to report the unrenewed lease",
        Duration::from_secs(30),
        || ready_reason(&http, &base).contains("lease"),
    );
    let refused = ingest(&http, &base, "refused");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.retry_after.is_some(), "{refused:?}");
    assert!(refused.body.contains("lease"), "{refused:?}");

    // A renewal succeeds again: writes are taken.
    postgres.restart();
    wait_for(
        "the node to be ready again",
        Duration::from_secs(120),
        || http.get_json(&format!("{base}/readyz"))["status"] == "ready",
    );
    assert_eq!(ingest(&http, &base, "after").status, 200);

    process.kill();
    let process = Process::start(data, &env);
    assert_exactly_once(&http, &process.base(), &["before", "after"]);
    drop(process);
}

/// Runs `sql` on the private server's `postgres` database with psql.
fn psql(postgres: &PrivatePostgres, sql: &str) {
    let status = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .arg("-p")
        .arg(postgres.port.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "psql failed: {sql}");
}

/// Whether a file whose name starts with `prefix` is under `dir`, at any depth.
fn has_file_named(dir: &std::path::Path, prefix: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            has_file_named(&path, prefix)
        } else {
            entry.file_name().to_string_lossy().starts_with(prefix)
        }
    })
}

#[test]
fn a_process_whose_id_is_taken_over_exits_and_its_wal_goes_to_the_next_holder() {
    let setup = OnPostgres::start();
    let (postgres, data) = (&setup.postgres, &setup.data);
    let env = setup.env(
        "6s",
        &[
            QUIET[1],
            ("KANSOKU_FLUSH_INTERVAL", "3600s"),
            ("KANSOKU_NODE_ID", "ingester-0"),
        ],
    );
    let mut process = Process::start(data, &env);
    let http = Http::new();
    assert_eq!(ingest(&http, &process.base(), "acked").status, 200);

    // Another process takes the id over (as a restart on this volume would): this one stops
    // at its next renewal, flushing nothing.
    psql(
        postgres,
        "UPDATE cluster_ingesters SET instance = 'intruder', epoch = epoch + 1 WHERE node = 'ingester-0'",
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = process.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a fenced process kept running; log:\n{}",
            process.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "{status:?}");
    assert!(
        process.log_text().contains("fenced"),
        "{}",
        process.log_text()
    );
    assert_eq!(count_files(data, "parquet"), 0);

    // The next process on this volume takes the id at the next epoch and replays the WAL:
    // nothing acknowledged is lost.
    let process = Process::start(data, &env);
    assert_exactly_once(&http, &process.base(), &["acked"]);
    assert_eq!(
        http.put_status(
            &format!("{}/node/flush", process.base()),
            ROOT,
            ROOT_PASSWORD
        ),
        200
    );
    assert!(has_file_named(data, "e3.ingester-0-"));

    // `kansoku cluster` shows the lease, and refuses to forget a node that holds it.
    let cluster = |args: &[&str]| {
        Command::new(binary())
            .arg("cluster")
            .args(args)
            .args(["--url", &process.base(), "--user", ROOT])
            .args(["--password", ROOT_PASSWORD])
            .output()
            .unwrap()
    };
    let listed = cluster(&["ingesters"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(text.contains("ingester-0\tactive\t3\t"), "{text}");
    assert!(text.contains("\tlive\t-\t127.0.0.1:"), "{text}");
    let refused = cluster(&["forget-node", "ingester-0"]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("may be running"),
        "{refused:?}"
    );
    drop(process);
}

/// A second process holding SQLite's write lock for `seconds` (bounded; killed on drop).
struct SqliteLocker {
    child: Child,
}

impl SqliteLocker {
    fn hold(database: &std::path::Path, seconds: u32) -> SqliteLocker {
        let script = format!(
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep({seconds})\n\
             c.execute('ROLLBACK')\n"
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(database)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "the lock was not taken");
        SqliteLocker { child }
    }

    /// Waits (at most a minute) for the lock to be released.
    fn wait(mut self) {
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "locker hangs");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SqliteLocker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_locked_sqlite_database_delays_flushes_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let process = Process::start(&data, &QUIET);
    let http = Http::new();
    let base = process.base();

    assert_eq!(ingest(&http, &base, "before").status, 200);
    wait_for("the first flush", Duration::from_secs(60), || {
        count_files(&data, "parquet") > 0
    });

    // Another process holds the write lock longer than the busy timeout (10 s).
    let locker = SqliteLocker::hold(&data.join("meta.sqlite"), 25);
    let during = ingest(&http, &base, "during");
    assert_eq!(during.status, 200, "{during:?}");
    wait_for(
        "/readyz to report the failing flush",
        Duration::from_secs(24),
        || flush_status(&http, &base) == "failing",
    );
    // Readers are not blocked by a writer (SQLite's WAL mode): searches answer in full.
    let searched = search_count(&http, &base, "outage");
    assert_eq!(searched.status, 200, "{searched:?}");
    let body: Value = serde_json::from_str(&searched.body).unwrap();
    assert_eq!(body["hits"][0]["n"], 200, "{body}");

    locker.wait();
    wait_for(
        "the waiting flush to commit",
        Duration::from_secs(120),
        || flush_status(&http, &base) == "ok",
    );
    assert_eq!(ingest(&http, &base, "after").status, 200);

    process.kill();
    let process = Process::start(&data, &QUIET);
    assert_exactly_once(&http, &process.base(), &["before", "during", "after"]);
    drop(process);
}
