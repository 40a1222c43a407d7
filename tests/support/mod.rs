//! Running the real `kansoku` binary in tests: start on a free loopback port, wait until ready,
//! stop by PID (SIGTERM or SIGKILL), always bounded in time.
// Synchronous helpers (never run on an async runtime), so std::thread::sleep is fine here.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

pub mod fault_proxy;
pub mod postgres;
pub mod tmpfs;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ROOT: &str = "root@example.com";
pub const ROOT_PASSWORD: &str = "Complexpass#123";

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kansoku"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status of `GET path` on `127.0.0.1:port`, or `None` if nothing answers.
pub fn probe(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A `kansoku serve` child process.
pub struct Process {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Process {
    /// Starts `kansoku serve` on `data_dir` (root password set unless `env` overrides it) and
    /// waits for `/readyz`.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Process {
        let process = Process::spawn(data_dir, Some(ROOT_PASSWORD), env);
        process.wait_ready(Duration::from_secs(60));
        process
    }

    /// Starts `kansoku serve` without waiting; `password` `None` leaves the variable unset.
    pub fn spawn(data_dir: &Path, password: Option<&str>, env: &[(&str, &str)]) -> Process {
        let port = free_port();
        let log = data_dir.with_extension(format!("{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("KANSOKU_DATA_DIR", data_dir)
            .env("KANSOKU_HTTP_ADDR", "127.0.0.1")
            .env("KANSOKU_HTTP_PORT", port.to_string())
            .env("KANSOKU_GRPC_PORT", "0")
            .env("KANSOKU_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file);
        if let Some(password) = password {
            command.env("KANSOKU_ROOT_USER_PASSWORD", password);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Process {
            child: command.spawn().unwrap(),
            port,
            log,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if probe(self.port, "/readyz") == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("kansoku did not become ready; log:\n{}", self.log_text());
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        signal(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (at most 60 s) for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        signal(self.child.id(), libc::SIGTERM);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                signal(self.child.id(), libc::SIGKILL);
                panic!("kansoku did not stop within 60 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

#[allow(unsafe_code)]
fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a child we spawned and have not reaped yet.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// Polls `done` every 200 ms until it holds; fails the test naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `SELECT count(*) AS n FROM {stream}` of organisation `default` over the last and next hour,
/// through the search API as root: the answer as it came.
pub fn search_count(http: &Http, base: &str, stream: &str) -> Answer {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let hour = 3_600_000_000i64;
    let body = serde_json::json!({"query": {
        "sql": format!("SELECT count(*) AS n FROM {stream}"),
        "start_time": now - hour,
        "end_time": now + hour,
    }});
    http.post_json(
        &format!("{base}/api/default/_search"),
        ROOT,
        ROOT_PASSWORD,
        &body,
    )
}

/// The count of a successful [`search_count`].
pub fn counted(answer: &Answer) -> u64 {
    assert_eq!(answer.status, 200, "{answer:?}");
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    body["hits"][0]["n"]
        .as_u64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// Files ending in `.extension` under `dir`, at any depth.
pub fn count_files(dir: &Path, extension: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                count_files(&path, extension)
            } else {
                usize::from(path.extension().is_some_and(|e| e == extension))
            }
        })
        .sum()
}

/// How many times each `id` of stream `stream` (organisation `default`, the last and next hour)
/// is stored, read back through the NDJSON export as root.
pub async fn stored_ids(base: &str, stream: &str) -> HashMap<String, usize> {
    stored_ids_within(base, stream, 1).await
}

/// [`stored_ids`] over the last and next `hours`.
pub async fn stored_ids_within(base: &str, stream: &str, hours: i64) -> HashMap<String, usize> {
    stored_values(base, stream, "id", hours).await
}

/// How many times each value of text column `column` of stream `stream` (organisation
/// `default`, the last and next `hours`) is stored, read back through the NDJSON export as root.
pub async fn stored_values(
    base: &str,
    stream: &str,
    column: &str,
    hours: i64,
) -> HashMap<String, usize> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let hour = hours * 3_600_000_000i64;
    let export = reqwest::Client::new()
        .post(format!("{base}/api/default/_download?format=ndjson"))
        .basic_auth(ROOT, Some(ROOT_PASSWORD))
        .json(&serde_json::json!({"query": {"sql": format!("SELECT {column} AS id FROM {stream}"), "start_time": now - hour, "end_time": now + hour}}))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut seen = HashMap::new();
    for line in export.lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("{export}"));
        *seen
            .entry(row["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    seen
}

/// What [`Http::post`] got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// A blocking HTTP client for synchronous tests (reqwest on a private runtime).
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Http {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = {
            let _context = runtime.enter();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap()
        };
        Http { runtime, client }
    }

    /// Runs `future` on the client's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `GET url` without credentials, the body as JSON (`Null` when it is not).
    pub fn get_json(&self, url: &str) -> serde_json::Value {
        let request = self.client.get(url);
        self.runtime.block_on(async {
            let text = request.send().await.unwrap().text().await.unwrap();
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        })
    }

    /// `GET url` as root, the body as JSON (`Null` when it is not).
    pub fn get_json_as_root(&self, url: &str) -> serde_json::Value {
        let request = self.client.get(url).basic_auth(ROOT, Some(ROOT_PASSWORD));
        self.runtime.block_on(async {
            let text = request.send().await.unwrap().text().await.unwrap();
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        })
    }

    pub fn get_status(&self, url: &str, user: &str, password: &str) -> u16 {
        let request = self.client.get(url).basic_auth(user, Some(password));
        self.runtime
            .block_on(async { request.send().await })
            .unwrap()
            .status()
            .as_u16()
    }

    /// `POST url` as `user`: the status, the `Retry-After` header and the body.
    pub fn post(&self, url: &str, user: &str, password: &str, body: &str) -> Answer {
        let request = self
            .client
            .post(url)
            .basic_auth(user, Some(password))
            .body(body.to_string());
        self.answer(request)
    }

    /// `POST url` as `user` with a JSON body (`Content-Type: application/json`).
    pub fn post_json(
        &self,
        url: &str,
        user: &str,
        password: &str,
        body: &serde_json::Value,
    ) -> Answer {
        let request = self
            .client
            .post(url)
            .basic_auth(user, Some(password))
            .json(body);
        self.answer(request)
    }

    fn answer(&self, request: reqwest::RequestBuilder) -> Answer {
        self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response.text().await.unwrap_or_default();
            Answer {
                status,
                retry_after,
                body,
            }
        })
    }

    /// `PUT url` as `user` with an empty body; the status.
    pub fn put_status(&self, url: &str, user: &str, password: &str) -> u16 {
        let request = self.client.put(url).basic_auth(user, Some(password));
        self.runtime
            .block_on(async { request.send().await })
            .unwrap()
            .status()
            .as_u16()
    }

    pub fn post_status(&self, url: &str, user: &str, password: &str, body: &str) -> u16 {
        let request = self
            .client
            .post(url)
            .basic_auth(user, Some(password))
            .body(body.to_string());
        self.runtime
            .block_on(async { request.send().await })
            .unwrap()
            .status()
            .as_u16()
    }
}
