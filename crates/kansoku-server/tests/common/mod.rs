//! A real node on a random loopback port, and helpers to talk to it over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod otlp;
pub mod prometheus;

use std::time::Duration;

use clap::Parser;
use kansoku_server::{Cli, Command, Config, Node};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const ROOT: &str = "root@example.com";
pub const ROOT_PASSWORD: &str = "Complexpass#123";

/// Where [`TestServer::start_overloaded`] puts a file so that uploads of `default` fail.
const STORE_BLOCKER: &str = "storage/files/default";

pub struct TestServer {
    pub node: Option<Node>,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// The configuration a test node starts from.
pub fn test_config(dir: &std::path::Path) -> Config {
    let cli = Cli::try_parse_from([
        "kansoku",
        "serve",
        "--data-dir",
        dir.to_str().unwrap(),
        "--http-addr",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--cluster-port",
        "0",
        "--root-user-password",
        ROOT_PASSWORD,
        "--flush-interval",
        "3600s",
    ])
    .unwrap();
    match cli.command {
        Command::Serve(config) => *config,
        _ => unreachable!(),
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        adjust(&mut config);
        TestServer::start_config(config, dir).await
    }

    pub async fn start_config(config: Config, dir: tempfile::TempDir) -> TestServer {
        let node = kansoku_server::start(config).await.unwrap();
        let base = format!("http://{}", node.http_addr);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        TestServer {
            node: Some(node),
            base,
            client,
            dir,
        }
    }

    /// A node whose memory is full because its object store fails: 64 KiB of memtable, every
    /// upload of organisation `default` refused (a file stands where its directory goes), 2000
    /// records of stream `app` waiting in memory. Writes are refused until
    /// [`TestServer::repair_store`].
    pub async fn start_overloaded() -> TestServer {
        TestServer::start_overloaded_with(|_| {}).await
    }

    /// [`TestServer::start_overloaded`] with further settings.
    pub async fn start_overloaded_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join(STORE_BLOCKER);
        std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
        std::fs::write(&blocker, b"a file where a directory goes: uploads fail").unwrap();
        let mut config = test_config(dir.path());
        config.memtable_max_bytes = 64 * 1024;
        config.memtable_flush_bytes = usize::MAX;
        adjust(&mut config);
        let server = TestServer::start_config(config, dir).await;
        let records: Vec<Value> = (0..2000)
            .map(|i| json!({"i": i, "log": "some text to take room"}))
            .collect();
        server.ingest("default", "app", &records).await;
        server
    }

    /// Lets [`TestServer::start_overloaded`]'s store take uploads again and flushes.
    pub async fn repair_store(&self) {
        std::fs::remove_file(self.dir.path().join(STORE_BLOCKER)).unwrap();
        self.flush().await;
    }

    /// Stops the node (flushing what is in memory) and starts one on the same data directory,
    /// configured by `adjust`.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> TestServer {
        self.node.take().unwrap().stop().await.unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let mut config = test_config(dir.path());
        adjust(&mut config);
        TestServer::start_config(config, dir).await
    }

    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with no credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request as `user`.
    pub fn as_user(
        &self,
        user: &str,
        password: &str,
        method: Method,
        path: &str,
    ) -> RequestBuilder {
        self.anonymous(method, path)
            .basic_auth(user, Some(password))
    }

    /// A request as root.
    pub fn root(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_user(ROOT, ROOT_PASSWORD, method, path)
    }

    /// Ingests NDJSON records as root into `org`/`stream`; asserts success.
    pub async fn ingest(&self, org: &str, stream: &str, records: &[Value]) -> Value {
        let body: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        let response = self
            .root(Method::POST, &format!("/api/{org}/{stream}/_multi"))
            .body(body.join("\n"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Runs a search as `user` over the last day; returns status and body.
    pub async fn search_as(
        &self,
        user: (&str, &str),
        org: &str,
        sql: &str,
        size: usize,
    ) -> (StatusCode, Value) {
        let now = now_micros();
        let response = self
            .as_user(user.0, user.1, Method::POST, &format!("/api/{org}/_search"))
            .json(&json!({"query": {"sql": sql, "start_time": now - 86_400_000_000i64, "end_time": now + 3_600_000_000i64, "from": 0, "size": size}}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs a search as root; asserts success and returns the hits.
    pub async fn search(&self, org: &str, sql: &str) -> Vec<Value> {
        let (status, body) = self
            .search_as((ROOT, ROOT_PASSWORD), org, sql, 10_000)
            .await;
        assert_eq!(status, StatusCode::OK, "{sql}: {body}");
        body["hits"].as_array().cloned().unwrap_or_default()
    }

    /// Creates the organisation `name` as root; asserts success.
    pub async fn create_org(&self, name: &str) {
        let response = self
            .root(Method::POST, "/api/organizations")
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Creates a user in `org` with `role`; returns its credentials.
    pub async fn create_user(&self, org: &str, email: &str, role: &str) -> (String, String) {
        let password = "Userpass#123".to_string();
        let response = self
            .root(Method::POST, &format!("/api/{org}/users"))
            .json(&json!({"email": email, "password": password, "role": role, "first_name": "T", "last_name": "U"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
        (email.to_string(), password)
    }

    /// Rows of `sql` (organisation `default`) once there are at least `expected` of them;
    /// waits up to 30 s (a stream not created yet counts as no rows), for senders that get no
    /// answer to wait for (syslog over TCP, UDP).
    pub async fn search_until(&self, sql: &str, expected: usize) -> Vec<Value> {
        let mut last = Value::Null;
        for _ in 0..300 {
            let (status, body) = self
                .search_as((ROOT, ROOT_PASSWORD), "default", sql, 10_000)
                .await;
            let rows = body["hits"].as_array().cloned().unwrap_or_default();
            if status == StatusCode::OK && rows.len() >= expected {
                return rows;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{sql}: expected {expected} rows, last answer {last}");
    }

    /// The sum of every `/metrics` series named `name` whose line contains `label` (`""`: all),
    /// once it reaches `at_least` (polled up to 30 s); the last sum seen otherwise.
    pub async fn metric_when(&self, name: &str, label: &str, at_least: f64) -> f64 {
        let mut sum = 0.0;
        for _ in 0..300 {
            let metrics = self.metrics_text().await;
            sum = metrics
                .lines()
                .filter(|line| line.starts_with(name) && line.contains(label))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            if sum >= at_least {
                return sum;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sum
    }

    /// Asserts that `org` has no stream `stream` (nothing was stored there).
    pub async fn assert_no_stream(&self, org: &str, stream: &str) {
        let (status, body) = self
            .search_as(
                (ROOT, ROOT_PASSWORD),
                org,
                &format!("SELECT * FROM \"{stream}\""),
                10_000,
            )
            .await;
        assert_ne!(status, StatusCode::OK, "{org}/{stream} exists: {body}");
    }

    /// `/metrics` as root.
    pub async fn metrics_text(&self) -> String {
        let response = self.root(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    pub async fn flush(&self) {
        let response = self.root(Method::PUT, "/node/flush").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Bodies of admission-refusal tests are larger than this: more than loopback's socket buffers
/// take in (a smaller unread body sits in them and a reset never shows), less than
/// `KANSOKU_MAX_BODY_BYTES`.
pub const LARGER_THAN_SOCKET_BUFFERS: usize = 48 * 1024 * 1024;

/// Sends the request `make` builds three times to a node that refuses it at admission: each
/// refusal must arrive as a 503 with `Retry-After` and `x-kansoku-refusal: overloaded`, not as a
/// reset connection.
pub async fn assert_refusals_are_answered(make: impl Fn() -> RequestBuilder) {
    for _ in 0..3 {
        let refused = make()
            .send()
            .await
            .expect("the refusal arrives as an HTTP answer");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key("retry-after"));
        // Nothing was stored: a router may send it to another ingester.
        assert_eq!(refused.headers()["x-kansoku-refusal"], "overloaded");
    }
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Days since 1970-01-01 → civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The value of the series `series` (name and labels exactly as exposed) in a `/metrics` text;
/// 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// syslog-ng in the foreground with `config`, its state files in `work`; killed when dropped.
pub fn syslog_ng(work: &std::path::Path, config: &str) -> tokio::process::Child {
    let config_path = work.join("syslog-ng.conf");
    std::fs::write(&config_path, config).unwrap();
    tokio::process::Command::new("syslog-ng")
        .args(["-F", "--no-caps", "-f"])
        .arg(&config_path)
        .arg(format!("--persist-file={}", work.join("persist").display()))
        .arg(format!("--pidfile={}", work.join("pid").display()))
        .arg(format!("--control={}", work.join("ctl").display()))
        .kill_on_drop(true)
        .spawn()
        .expect("syslog-ng is not installed: run scripts/test.sh, which installs it")
}

/// A connection to a loopback port once a peer process listens there (10 s at most).
pub async fn connect_when_listening(port: u16) -> tokio::net::TcpStream {
    for _ in 0..100 {
        if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on port {port} after 10 s");
}

/// A loopback port free a moment ago (for a peer process that must be told where to listen).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn now_micros() -> i64 {
    kansoku_meta::now_micros()
}

/// Body of a response as JSON, with the status.
/// `data` gzip-compressed (best compression, for bomb tests).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The test venv's Python (made by `scripts/test.sh`).
pub fn python() -> String {
    let default = format!(
        "{}/.cache/kansoku-tools/venv/bin/python",
        std::env::var("HOME").unwrap_or_default()
    );
    let python = std::env::var("KANSOKU_TEST_PYTHON").unwrap_or(default);
    assert!(
        std::fs::metadata(&python).is_ok(),
        "{python} not found: run scripts/test.sh, which creates the venv with the Python clients"
    );
    python
}

/// Runs a Python client script (at most 120 s) with `USER`/`PASSWORD` of root and `env`;
/// returns its standard output and fails the test when it fails.
pub async fn run_python(script: &str, env: &[(&str, &str)]) -> String {
    let mut command = tokio::process::Command::new(python());
    command
        .arg("-c")
        .arg(script)
        .env("USER", ROOT)
        .env("PASSWORD", ROOT_PASSWORD)
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("python client timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The names of every Parquet file under `dir`, sorted.
pub fn parquet_names(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "parquet") {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names
}
