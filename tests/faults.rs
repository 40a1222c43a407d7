//! Faults injected into the real binary's surroundings. The object store (a real S3 server,
//! s3s-fs) is stopped outright while records keep arriving, or answers through a proxy that
//! fails, stalls or loses calls one by one: ingest keeps answering 2xx (the WAL holds the data),
//! `/readyz` reports the failing flushes, a search never answers a partial count, and once the
//! store is back every acknowledged record is uploaded and found exactly once — also after a
//! SIGKILL.
// Synchronous helpers run on blocking threads; std::thread::sleep is fine there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fault_proxy::{FaultProxy, Faults};
use support::{
    Http, Process, ROOT, ROOT_PASSWORD, count_files, counted, free_port, search_count, stored_ids,
    wait_for,
};

/// An s3s-fs server on a fixed port and directory, so it can be stopped and started again.
struct S3Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl S3Server {
    fn binary() -> String {
        std::env::var("KANSOKU_TEST_S3S_FS").unwrap_or_else(|_| {
            panic!(
                "KANSOKU_TEST_S3S_FS is not set: run the README's test command (scripts/test.sh), \
                 which builds s3s-fs"
            )
        })
    }

    fn start(dir: &Path) -> S3Server {
        let mut server = S3Server {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
        };
        server.restart();
        server
    }

    /// Starts the server again on the same port and directory; waits until it listens.
    fn restart(&mut self) {
        let child = Command::new(S3Server::binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", "AKIATEST", "--secret-key", "SECRETTEST"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "s3s-fs did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server by its PID (SIGKILL) and reaps it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn parquet_files(&self) -> usize {
        count_files(&self.dir, "parquet")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ingest(http: &Http, base: &str, prefix: &str, count: usize) {
    let records: Vec<Value> = (0..count)
        .map(|i| json!({"id": format!("{prefix}-{i}"), "log": "fault test"}))
        .collect();
    let status = http.post_status(
        &format!("{base}/api/default/faults/_json"),
        ROOT,
        ROOT_PASSWORD,
        &Value::Array(records).to_string(),
    );
    assert_eq!(status, 200, "ingest of {prefix} while testing faults");
}

fn readyz(http: &Http, base: &str) -> Value {
    http.get_json(&format!("{base}/readyz"))
}

#[test]
fn an_object_store_outage_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let s3_dir = dir.path().join("s3");
    std::fs::create_dir_all(s3_dir.join("faults-bucket")).unwrap();
    let mut s3 = S3Server::start(&s3_dir);
    let endpoint = format!("http://127.0.0.1:{}", s3.port);
    let env = [
        ("KANSOKU_S3_BUCKET", "faults-bucket"),
        ("KANSOKU_S3_ENDPOINT", endpoint.as_str()),
        ("KANSOKU_S3_ACCESS_KEY", "AKIATEST"),
        ("KANSOKU_S3_SECRET_KEY", "SECRETTEST"),
        ("KANSOKU_S3_RETRY_TIMEOUT", "1s"),
        ("KANSOKU_FLUSH_INTERVAL", "1s"),
    ];
    let data = dir.path().join("data");
    let process = Process::start(&data, &env);
    let http = Http::new();
    let base = process.base();

    ingest(&http, &base, "before", 100);
    wait_for("the first upload", Duration::from_secs(60), || {
        s3.parquet_files() > 0
    });
    let uploaded_before = s3.parquet_files();

    // The store goes away: writes are still acknowledged (WAL), flushes fail and are reported.
    s3.stop();
    ingest(&http, &base, "during", 100);
    ingest(&http, &base, "during2", 100);
    wait_for(
        "/readyz to report failing flushes",
        Duration::from_secs(90),
        || readyz(&http, &base)["flush"]["status"] == "failing",
    );
    let report = readyz(&http, &base);
    assert_eq!(report["status"], "ready", "{report}");
    assert!(
        report["flush"]["attempts"].as_u64().unwrap_or(0) >= 1,
        "{report}"
    );
    assert_eq!(s3.parquet_files(), uploaded_before);

    // Back: what waited is uploaded, /readyz is clear again.
    s3.restart();
    wait_for(
        "the waiting data to upload",
        Duration::from_secs(120),
        || s3.parquet_files() > uploaded_before && readyz(&http, &base)["flush"]["status"] == "ok",
    );
    ingest(&http, &base, "after", 100);

    // A crash right after: the WAL replays what the store does not hold yet, nothing twice.
    process.kill();
    let process = Process::start(&data, &env);
    let seen = http.block_on(stored_ids(&process.base(), "faults"));
    let twice: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    for prefix in ["before", "during", "during2", "after"] {
        for i in 0..100 {
            let id = format!("{prefix}-{i}");
            assert!(seen.contains_key(&id), "acknowledged record {id} lost");
        }
    }
    assert_eq!(seen.len(), 400);
    drop(process);
}

#[test]
fn object_store_calls_that_fail_stall_or_miss_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let s3_dir = dir.path().join("s3");
    std::fs::create_dir_all(s3_dir.join("faults-bucket")).unwrap();
    let s3 = S3Server::start(&s3_dir);
    let proxy = FaultProxy::start(&format!("http://127.0.0.1:{}", s3.port));
    let endpoint = proxy.endpoint();
    let env = [
        ("KANSOKU_S3_BUCKET", "faults-bucket"),
        ("KANSOKU_S3_ENDPOINT", endpoint.as_str()),
        ("KANSOKU_S3_ACCESS_KEY", "AKIATEST"),
        ("KANSOKU_S3_SECRET_KEY", "SECRETTEST"),
        ("KANSOKU_S3_RETRY_TIMEOUT", "2s"),
        ("KANSOKU_S3_REQUEST_TIMEOUT", "2s"),
        ("KANSOKU_FLUSH_INTERVAL", "1s"),
        // Only the flusher and the searches call the store here.
        ("KANSOKU_COMPACT_ENABLED", "false"),
    ];
    let data = dir.path().join("data");
    let process = Process::start(&data, &env);
    let http = Http::new();
    let base = process.base();

    // Flaky: every 3rd call is a 503, every 4th waits 1.5 s. Retries carry the uploads through.
    proxy.set(Faults::Flaky {
        n: 3,
        delay: Duration::from_millis(1500),
    });
    for batch in 0..4 {
        ingest(&http, &base, &format!("flaky{batch}"), 100);
        std::thread::sleep(Duration::from_millis(1200));
    }
    wait_for(
        "the flaky store to take the uploads",
        Duration::from_secs(120),
        || readyz(&http, &base)["flush"]["status"] == "ok" && s3.parquet_files() >= 1,
    );
    assert!(proxy.injected() > 0, "no fault was injected");
    proxy.set(Faults::None);
    assert_eq!(counted(&search_count(&http, &base, "faults")), 400);

    // A listed file answers NotFound once: the search lists again and answers in full.
    let injected_before = proxy.injected();
    proxy.set(Faults::MissingOnce);
    assert_eq!(counted(&search_count(&http, &base, "faults")), 400);
    assert!(
        proxy.injected() == injected_before + 1 && proxy.current() == Faults::None,
        "the missing file was never read"
    );

    // Listed files that stay missing: an error naming the file, never a partial count.
    proxy.set(Faults::MissingAlways);
    let answer = search_count(&http, &base, "faults");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.body.contains(".parquet"), "{answer:?}");
    proxy.set(Faults::None);

    // Hung: every call waits longer than the request timeout. Writes are still acknowledged
    // (the WAL), flushes fail and /readyz says so; once the store answers, everything uploads.
    proxy.set(Faults::Slow {
        delay: Duration::from_secs(10),
    });
    let files_before = s3.parquet_files();
    ingest(&http, &base, "hung", 100);
    wait_for(
        "/readyz to report failing flushes",
        Duration::from_secs(120),
        || readyz(&http, &base)["flush"]["status"] == "failing",
    );
    assert_eq!(readyz(&http, &base)["status"], "ready");
    proxy.set(Faults::None);
    wait_for("the hung data to upload", Duration::from_secs(120), || {
        s3.parquet_files() > files_before && readyz(&http, &base)["flush"]["status"] == "ok"
    });

    // A crash right after: every acknowledged record exactly once.
    process.kill();
    let process = Process::start(&data, &env);
    let seen = http.block_on(stored_ids(&process.base(), "faults"));
    let twice: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    let prefixes = ["flaky0", "flaky1", "flaky2", "flaky3", "hung"];
    for prefix in prefixes {
        for i in 0..100 {
            let id = format!("{prefix}-{i}");
            assert!(seen.contains_key(&id), "acknowledged record {id} lost");
        }
    }
    assert_eq!(seen.len(), prefixes.len() * 100);
    drop(process);
}
