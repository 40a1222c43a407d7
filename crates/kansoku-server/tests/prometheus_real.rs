//! Black-box tests against a real Prometheus (Debian's `prometheus` package, 2.42, which
//! `scripts/test.sh` installs): Prometheus scrapes itself and remote-writes to kansoku; and the
//! differential test, where kansoku and Prometheus receive the same remote_write stream and must
//! answer a corpus of PromQL queries alike.
//!
//! Prometheus 2.x selects left-closed windows `[t-r, t]` where kansoku (like Prometheus 3)
//! selects left-open ones `(t-r, t]`; the two agree when no sample lies exactly on a window
//! boundary, so every sample's millisecond part is jittered (never 0, never [`QUERY_MS`]) and
//! every query time ends in [`QUERY_MS`] milliseconds: neither range windows, lookback windows,
//! offsets nor subquery steps (multiples of whole seconds) ever put a boundary on a sample.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::prometheus::*;
use common::*;
use kansoku_ingest::decode::remote_write::v1;
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const KANSOKU_API: &str = "/api/default/prometheus/api/v1";
const STALE: u64 = 0x7ff0_0000_0000_0002;
/// The millisecond part of every query time; no sample has it.
const QUERY_MS: i64 = 123;
/// Upper bound on any Prometheus this file starts (seconds), should the test process die.
const PROMETHEUS_LIFETIME_SECS: &str = "180";

fn require_prometheus() {
    assert!(
        std::fs::metadata(PROMETHEUS).is_ok(),
        "{PROMETHEUS} not found: run scripts/test.sh, which installs Debian's prometheus package \
         (or `apt-get install -y --no-install-recommends prometheus` as root)"
    );
}

/// `ms` as the seconds Prometheus' API takes, exactly (`1717000000.123`).
fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// A Prometheus process under `timeout`, killed by PID when dropped (also on panic).
struct Prometheus {
    child: tokio::process::Child,
    base: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port with `config` (the placeholder `{PORT}` is
    /// replaced by its own port) and waits (at most 30 s) until it is ready.
    async fn start(config: &str, extra_args: &[&str]) -> Prometheus {
        require_prometheus();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config.replace("{PORT}", &port.to_string())).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        // `timeout` bounds its life should this process die without dropping the guard; the
        // guard sends SIGTERM to `timeout`'s PID, which passes it on to Prometheus.
        let child = tokio::process::Command::new("timeout")
            .args(["--kill-after=5", PROMETHEUS_LIFETIME_SECS, PROMETHEUS])
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.remote.flush-deadline=1s")
            .arg("--log.level=info")
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("could not run `timeout` (coreutils)");
        let mut prometheus = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = prometheus
                .client
                .get(format!("{}/-/ready", prometheus.base))
                .send()
                .await
                && response.status() == StatusCode::OK
            {
                return prometheus;
            }
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("Prometheus exited ({status}):\n{}", prometheus.log());
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus was not ready within 30 s:\n{}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        json_of(
            self.client
                .get(format!("{}{path_and_query}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

impl Drop for Prometheus {
    // `drop` cannot await: waiting (at most 5 s) for `timeout` to pass SIGTERM on to
    // Prometheus and exit blocks; a SIGKILL right away would leave Prometheus to its timeout.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.start_kill();
    }
}

async fn kansoku_get(server: &TestServer, path_and_query: &str) -> (StatusCode, Value) {
    json_of(
        server
            .root(Method::GET, &format!("{KANSOKU_API}/{path_and_query}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// 1. Prometheus scrapes itself and remote-writes to kansoku.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_itself_and_remote_writes_to_kansoku() {
    require_prometheus();
    let server = TestServer::start().await;
    let config = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:{{PORT}}"]
remote_write:
  - url: "{base}{KANSOKU_API}/write"
    basic_auth:
      username: "{ROOT}"
      password: "{ROOT_PASSWORD}"
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send: true
      send_interval: 2s
"#,
        base = server.base
    );
    let prometheus = Prometheus::start(&config, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let instant = |query: &str| format!("query?query={}", percent_encode(query));
    loop {
        let (_, up) = kansoku_get(&server, &instant("up{job=\"prometheus\"}")).await;
        let (_, build) = kansoku_get(&server, &instant("prometheus_build_info")).await;
        let (_, rate) = kansoku_get(
            &server,
            &instant("rate(prometheus_http_requests_total[1m])"),
        )
        .await;
        let up_ok = up["data"]["result"][0]["value"][1] == "1"
            && up["data"]["result"][0]["metric"]["instance"]
                == Value::String(prometheus.base.trim_start_matches("http://").to_string());
        let build_ok = build["data"]["result"]
            .as_array()
            .is_some_and(|r| r.len() == 1 && r[0]["metric"]["version"].is_string());
        let rate_ok = rate["data"]["result"].as_array().is_some_and(|r| {
            !r.is_empty()
                && r.iter().all(|s| {
                    s["metric"].get("__name__").is_none()
                        && s["metric"]["job"] == "prometheus"
                        && s["metric"]["handler"].is_string()
                })
        });
        if up_ok && build_ok && rate_ok {
            break;
        }
        let (waiting_for, last) = if !up_ok {
            ("up{job=\"prometheus\"} == 1", up)
        } else if !build_ok {
            ("prometheus_build_info", build)
        } else {
            ("rate(prometheus_http_requests_total[1m])", rate)
        };
        assert!(
            Instant::now() < deadline,
            "kansoku did not get {waiting_for} from Prometheus within 60 s; last answer {last}\n\
             Prometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Metadata comes every `send_interval` (2 s) in requests of its own.
    loop {
        let (_, body) = kansoku_get(&server, "metadata").await;
        let data = &body["data"];
        let found = data["prometheus_http_requests_total"][0]["type"] == "counter"
            && data["prometheus_http_requests_total"][0]["help"]
                .as_str()
                .is_some_and(|h| h.contains("HTTP requests"))
            && data["go_goroutines"][0]["type"] == "gauge"
            && data["prometheus_build_info"][0]["type"] == "gauge";
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kansoku did not get Prometheus' metadata within 60 s; last answer {body}\n\
             Prometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, body) = kansoku_get(&server, "label/__name__/values").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for expected in [
        "up",
        "scrape_duration_seconds",
        "go_goroutines",
        "prometheus_build_info",
        "prometheus_http_requests_total",
        "prometheus_tsdb_head_series",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(names.len() > 100, "Prometheus exposes hundreds: {names:?}");
    // What kansoku received is what Prometheus has: the same value of a constant series.
    let (_, ours) = kansoku_get(&server, &instant("prometheus_build_info")).await;
    let (_, theirs) = prometheus
        .get(&format!(
            "/api/v1/query?query={}",
            percent_encode("prometheus_build_info")
        ))
        .await;
    assert_eq!(
        ours["data"]["result"][0]["metric"],
        theirs["data"]["result"][0]["metric"]
    );
    drop(prometheus);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 2. The differential test: the same remote_write stream into both, the same answers out.
// ---------------------------------------------------------------------------------------------

/// 50 minutes at 15 s.
const STEPS: i64 = 200;
const INTERVAL_MS: i64 = 15_000;
/// Requests carry this many intervals of every series (5 minutes).
const STEPS_PER_REQUEST: i64 = 20;

/// xorshift64*: deterministic data, so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A millisecond part that no query time or window boundary has.
    fn jitter(&mut self) -> i64 {
        loop {
            let ms = 1 + (self.next() % 999) as i64;
            if ms != QUERY_MS {
                return ms;
            }
        }
    }
}

struct Series {
    labels: Vec<(String, String)>,
    samples: Vec<(i64, f64)>,
}

impl Series {
    fn new(name: &str, labels: &[(&str, &str)]) -> Series {
        let mut all: Vec<(String, String)> = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        all.push(("__name__".to_string(), name.to_string()));
        all.sort();
        Series {
            labels: all,
            samples: Vec::new(),
        }
    }
}

/// The time of sample `i` of a series: on the 15 s grid from `t0`, plus jitter.
fn sample_time(t0: i64, i: i64, rng: &mut Rng) -> i64 {
    t0 + i * INTERVAL_MS + rng.jitter()
}

/// ~56 series over 50 minutes from `t0` (a whole second): counters (two with resets), gauges
/// (random walks), a classic histogram, `up`, info series, a series that stops early and one
/// with a stale marker.
fn dataset(t0: i64) -> Vec<Series> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut all = Vec::new();
    let targets: [(&str, &str, &str); 5] = [
        ("api", "host-0:8080", "1.4.2"),
        ("api", "host-1:8080", "1.4.2"),
        ("api", "host-2:8080", "1.5.0"),
        ("web", "web-0:80", "2.0.1"),
        ("web", "web-1:80", "2.0.1"),
    ];
    // http_requests_total: counters; (host-1, GET, 200) resets at step 90, (host-2, POST, 500)
    // at step 150.
    for (job, instance, _) in targets {
        let methods: &[&str] = if job == "api" {
            &["GET", "POST"]
        } else {
            &["GET"]
        };
        for method in methods {
            for code in ["200", "500"] {
                let mut series = Series::new(
                    "http_requests_total",
                    &[
                        ("code", code),
                        ("instance", instance),
                        ("job", job),
                        ("method", method),
                    ],
                );
                let per_second = if code == "200" { 12.0 } else { 0.7 }
                    * if *method == "GET" { 1.0 } else { 0.4 };
                let mut value = (1000.0 + rng.unit() * 5000.0).round();
                for i in 0..STEPS {
                    let reset =
                        (instance == "host-1:8080" && *method == "GET" && code == "200" && i == 90)
                            || (instance == "host-2:8080"
                                && *method == "POST"
                                && code == "500"
                                && i == 150);
                    let increment = (per_second * 15.0 * (0.5 + rng.unit())).round();
                    value = if reset { increment } else { value + increment };
                    let t = sample_time(t0, i, &mut rng);
                    series.samples.push((t, value));
                }
                all.push(series);
            }
        }
    }
    // app_info: one per target, for group_left/group_right.
    for (job, instance, version) in targets {
        let mut series = Series::new(
            "app_info",
            &[("instance", instance), ("job", job), ("version", version)],
        );
        for i in 0..STEPS {
            let t = sample_time(t0, i, &mut rng);
            series.samples.push((t, 1.0));
        }
        all.push(series);
    }
    // up: web-1 is down for steps 60..80, host-2 for 150..155.
    let up_targets: Vec<(&str, &str)> = targets
        .iter()
        .map(|(job, instance, _)| (*job, *instance))
        .chain([("node", "node-0:9100"), ("node", "node-1:9100")])
        .collect();
    for (job, instance) in up_targets {
        let mut series = Series::new("up", &[("instance", instance), ("job", job)]);
        for i in 0..STEPS {
            let down = (instance == "web-1:80" && (60..80).contains(&i))
                || (instance == "host-2:8080" && (150..155).contains(&i));
            let t = sample_time(t0, i, &mut rng);
            series.samples.push((t, if down { 0.0 } else { 1.0 }));
        }
        all.push(series);
    }
    // node_memory_bytes: random walks around 8 GB with a trend.
    for (n, instance) in ["node-0:9100", "node-1:9100", "node-2:9100"]
        .iter()
        .enumerate()
    {
        let mut series = Series::new(
            "node_memory_bytes",
            &[("instance", instance), ("job", "node")],
        );
        let mut value = 8.0e9 + n as f64 * 1.0e9;
        let trend = (n as f64 - 1.0) * 2.0e6;
        for i in 0..STEPS {
            value += trend + (rng.unit() - 0.5) * 1.0e8;
            let t = sample_time(t0, i, &mut rng);
            series.samples.push((t, value.round()));
        }
        all.push(series);
    }
    // cpu_temp_celsius: random walks between 30 and 70, fractional values.
    for instance in ["node-0:9100", "node-1:9100"] {
        for sensor in ["core0", "core1"] {
            let mut series = Series::new(
                "cpu_temp_celsius",
                &[("instance", instance), ("job", "node"), ("sensor", sensor)],
            );
            let mut value = 40.0 + rng.unit() * 20.0;
            for i in 0..STEPS {
                value = (value + (rng.unit() - 0.5) * 3.0).clamp(30.0, 70.0);
                let t = sample_time(t0, i, &mut rng);
                series.samples.push((t, (value * 1000.0).round() / 1000.0));
            }
            all.push(series);
        }
    }
    // queue_depth: queue b gets a stale marker at step 100 and comes back at step 112;
    // queue c stops at step 130 without one.
    for queue in ["a", "b", "c"] {
        let mut series = Series::new(
            "queue_depth",
            &[
                ("instance", "worker-0:9000"),
                ("job", "worker"),
                ("queue", queue),
            ],
        );
        let mut value: f64 = 10.0;
        for i in 0..STEPS {
            if queue == "c" && i >= 130 {
                break;
            }
            if queue == "b" && (101..112).contains(&i) {
                continue;
            }
            value = (value + ((rng.unit() * 7.0).floor() - 3.0)).max(0.0);
            let t = sample_time(t0, i, &mut rng);
            let v = if queue == "b" && i == 100 {
                f64::from_bits(STALE)
            } else {
                value
            };
            series.samples.push((t, v));
        }
        all.push(series);
    }
    // request_duration_seconds: a classic histogram per api instance.
    let bounds = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, f64::INFINITY];
    let les = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
    for (instance, scale) in [("host-0:8080", 0.25), ("host-1:8080", 0.6)] {
        let mut buckets: Vec<Series> = les
            .iter()
            .map(|le| {
                Series::new(
                    "request_duration_seconds_bucket",
                    &[("instance", instance), ("job", "api"), ("le", le)],
                )
            })
            .collect();
        let mut sum = Series::new(
            "request_duration_seconds_sum",
            &[("instance", instance), ("job", "api")],
        );
        let mut count = Series::new(
            "request_duration_seconds_count",
            &[("instance", instance), ("job", "api")],
        );
        let mut counts = [0u64; 7];
        let mut total = 0.0;
        for i in 0..STEPS {
            let observations = 20 + rng.next() % 40;
            for _ in 0..observations {
                let x = -(1.0 - rng.unit()).ln() * scale;
                total += x;
                for (b, bound) in bounds.iter().enumerate() {
                    if x <= *bound {
                        counts[b] += 1;
                    }
                }
            }
            // One scrape: every series of the histogram at the same time, like Prometheus.
            let t = sample_time(t0, i, &mut rng);
            for (b, bucket) in buckets.iter_mut().enumerate() {
                bucket.samples.push((t, counts[b] as f64));
            }
            sum.samples.push((t, (total * 1e6).round() / 1e6));
            count.samples.push((t, counts[6] as f64));
        }
        all.append(&mut buckets);
        all.push(sum);
        all.push(count);
    }
    all
}

/// The remote_write requests of `series`, in time order: each carries the samples of every
/// series in one window of [`STEPS_PER_REQUEST`] intervals.
fn requests(t0: i64, series: &[Series]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut from = t0;
    while from < t0 + STEPS * INTERVAL_MS {
        let to = from + STEPS_PER_REQUEST * INTERVAL_MS;
        let timeseries: Vec<v1::TimeSeries> = series
            .iter()
            .filter_map(|s| {
                let samples: Vec<v1::Sample> = s
                    .samples
                    .iter()
                    .filter(|(t, _)| *t >= from && *t < to)
                    .map(|&(timestamp, value)| v1::Sample { value, timestamp })
                    .collect();
                (!samples.is_empty()).then(|| v1::TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|(name, value)| v1::Label {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    samples,
                    exemplars: Vec::new(),
                    histograms: Vec::new(),
                })
            })
            .collect();
        let request = v1::WriteRequest {
            timeseries,
            metadata: Vec::new(),
        };
        out.push(snappy(&request.encode_to_vec()));
        from = to;
    }
    out
}

/// Queries compared as range queries (over 40 minutes, step 37 s) and as instant queries at
/// several times.
///
/// Left out on purpose, because Prometheus 2.42 and Prometheus 3 differ by design or 2.42 lacks
/// them: `holt_winters` (renamed `double_exponential_smoothing` in 3.0), the experimental 3.x
/// functions (`first_over_time`, `mad_over_time`, `ts_of_*_over_time`, `sort_by_label`,
/// `limitk`, `limit_ratio`, `info`), and the native-histogram functions (`histogram_count` and
/// co.; the data set has classic histograms only). Regexes never meet a newline (`.` matches
/// one in 3.x only).
const CORPUS: &[&str] = &[
    // Selectors.
    "http_requests_total",
    "http_requests_total{method=~\"G.*\", code!=\"500\"}",
    "http_requests_total{instance!~\"host-[01].*\", job=\"api\"}",
    "{__name__=~\"cpu_.*|queue_.*\"}",
    "queue_depth",
    "cpu_temp_celsius offset 10m",
    "cpu_temp_celsius @ end()",
    // Counters.
    "rate(http_requests_total[5m])",
    "rate(http_requests_total{job=\"api\"}[1m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "rate(http_requests_total[5m] offset 5m)",
    "resets(http_requests_total[30m])",
    "rate(request_duration_seconds_count[5m])",
    "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
    // Gauges.
    "delta(cpu_temp_celsius[5m])",
    "idelta(cpu_temp_celsius[2m])",
    "deriv(node_memory_bytes[10m])",
    "predict_linear(node_memory_bytes[10m], 600)",
    "predict_linear(http_requests_total[15m], 3600)",
    "changes(up[10m])",
    "changes(queue_depth[5m])",
    // Histograms.
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le, instance) (rate(request_duration_seconds_bucket[5m])))",
    // Not `...increase(request_duration_seconds_bucket[10m])...`: its first windows reach back
    // before the buckets' first samples, where Prometheus 2.51 changed on purpose how
    // extrapolation to a counter's zero point combines with the half-interval limit
    // (prometheus/prometheus#13725, "Fix limiting of extrapolation to negative values");
    // 2.42 extrapolates up to the zero point whenever that is within 110% of the sample
    // interval, 2.51+ and 3.x never beyond half an interval. 5-minute windows start after.
    "histogram_quantile(0.99, sum without (instance) (increase(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1, rate(request_duration_seconds_bucket[2m]))",
    "max by (le) (request_duration_seconds_bucket)",
    // Aggregations.
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "sum(http_requests_total) by (method, code)",
    "avg by (instance) (cpu_temp_celsius)",
    "avg(rate(http_requests_total[5m])) without (code, method)",
    "min by (job) (cpu_temp_celsius)",
    "max without (sensor) (cpu_temp_celsius)",
    "count by (code) (http_requests_total)",
    "count(count by (instance) (http_requests_total))",
    "stddev by (job) (cpu_temp_celsius)",
    "stdvar(node_memory_bytes)",
    "stddev(up)",
    "topk(3, rate(http_requests_total[5m]))",
    "topk by (job) (1, cpu_temp_celsius)",
    "bottomk(2, cpu_temp_celsius)",
    "bottomk by (instance) (1, node_memory_bytes)",
    "quantile(0.75, cpu_temp_celsius)",
    "quantile by (job) (0.3, rate(http_requests_total[5m]))",
    "quantile(1.5, cpu_temp_celsius)",
    "count_values(\"value\", up)",
    "count_values by (job) (\"v\", up)",
    "group by (job) (http_requests_total)",
    "group(up)",
    "sum(queue_depth)",
    // Arithmetic and comparisons, vector/scalar and vector/vector.
    "cpu_temp_celsius * 2 + 1",
    "node_memory_bytes / 1024 / 1024",
    "2 ^ (cpu_temp_celsius / 20)",
    "cpu_temp_celsius % 7",
    "-cpu_temp_celsius",
    // Not `cpu_temp_celsius atan2 10`: `atan2` drops the metric name since Prometheus 2.46
    // (prometheus/prometheus#12595, "Drop metric name for atan2 binary operator"); 2.42 keeps it.
    "sum by (instance) (cpu_temp_celsius) atan2 10",
    "10 atan2 avg without (sensor) (cpu_temp_celsius)",
    "cpu_temp_celsius > 50",
    "cpu_temp_celsius > bool 50",
    "50 < cpu_temp_celsius",
    "50 >= bool cpu_temp_celsius",
    "up == 1",
    "up != bool 1",
    "sum by (job) (rate(http_requests_total[5m])) > bool 10",
    "1 / (cpu_temp_celsius - cpu_temp_celsius)",
    "(up - up) / (up - up)",
    "cpu_temp_celsius - cpu_temp_celsius offset 1m",
    "sum(up) + sum(up offset 20m)",
    // Vector matching.
    "rate(http_requests_total{code=\"500\"}[5m]) / ignoring(code) rate(http_requests_total{code=\"200\"}[5m])",
    "sum by (instance) (rate(http_requests_total{code=\"500\"}[5m])) / on(instance) sum by (instance) (rate(http_requests_total[5m]))",
    "rate(http_requests_total[5m]) * on(job, instance) group_left(version) app_info",
    "app_info * on(job, instance) group_right(version) rate(http_requests_total[5m])",
    "cpu_temp_celsius > on(instance) group_left avg by (instance) (cpu_temp_celsius)",
    "http_requests_total and on(instance) (up == 1)",
    "cpu_temp_celsius or node_memory_bytes",
    "up or vector(0)",
    "http_requests_total unless on(code) http_requests_total{code=\"500\"}",
    "up unless up offset 10m",
    // *_over_time.
    "avg_over_time(cpu_temp_celsius[5m])",
    "sum_over_time(queue_depth[5m])",
    "count_over_time(queue_depth[10m])",
    "min_over_time(cpu_temp_celsius[5m])",
    "max_over_time(cpu_temp_celsius[5m])",
    "last_over_time(queue_depth[10m])",
    "present_over_time(queue_depth[2m])",
    "stddev_over_time(cpu_temp_celsius[10m])",
    "stdvar_over_time(node_memory_bytes[10m])",
    "quantile_over_time(0.9, cpu_temp_celsius[10m])",
    "quantile_over_time(0.25, queue_depth[5m])",
    "absent_over_time(queue_depth{queue=\"c\"}[2m])",
    "absent_over_time(nonexistent_metric[5m])",
    // Subqueries.
    "max_over_time(rate(http_requests_total[1m])[10m:30s])",
    "avg_over_time(sum(cpu_temp_celsius)[5m:1m])",
    "min_over_time(deriv(node_memory_bytes[5m])[15m:2m])",
    "stddev_over_time(rate(http_requests_total{job=\"web\"}[1m])[10m:1m])",
    "rate(sum(http_requests_total)[5m:30s])",
    // absent, labels.
    "absent(nonexistent_metric{job=\"x\"})",
    "absent(up{job=\"api\"})",
    "absent(queue_depth{queue=\"c\"})",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")",
    "label_replace(up, \"pair\", \"$1-$2\", \"instance\", \"(.*):(.*)\")",
    "label_join(up, \"joined\", \"/\", \"job\", \"instance\")",
    "label_replace(rate(http_requests_total[5m]), \"job\", \"x\", \"code\", \"5..\")",
    // Math.
    "clamp(cpu_temp_celsius, 45, 55)",
    "clamp_min(cpu_temp_celsius, 50)",
    "clamp_max(cpu_temp_celsius, 50)",
    "abs(delta(cpu_temp_celsius[5m]))",
    "ceil(cpu_temp_celsius)",
    "floor(cpu_temp_celsius)",
    "round(cpu_temp_celsius)",
    "round(cpu_temp_celsius, 0.5)",
    "sqrt(node_memory_bytes)",
    "sqrt(-cpu_temp_celsius)",
    "exp(cpu_temp_celsius / 100)",
    "ln(node_memory_bytes)",
    "ln(cpu_temp_celsius - 50)",
    "log2(queue_depth)",
    "log10(node_memory_bytes)",
    "sgn(delta(cpu_temp_celsius[5m]))",
    "sin(cpu_temp_celsius)",
    // Time.
    "timestamp(cpu_temp_celsius)",
    "timestamp(queue_depth)",
    "time() - timestamp(queue_depth)",
    "time()",
    "vector(time())",
    "day_of_week()",
    "day_of_month()",
    "days_in_month()",
    "hour()",
    "minute(timestamp(up))",
    "month()",
    "year()",
    // Scalars.
    "scalar(sum(up))",
    "scalar(up)",
    "vector(1)",
    "cpu_temp_celsius * scalar(up{instance=\"node-0:9100\"})",
    "sum(rate(http_requests_total[5m] offset 1m)) - sum(rate(http_requests_total[5m]))",
];

/// Instant queries only: `sort` orders only instant results.
const INSTANT_ONLY: &[&str] = &[
    "sort(cpu_temp_celsius)",
    "sort_desc(rate(http_requests_total[5m]))",
    "sort_desc(sum by (job) (rate(http_requests_total[5m])))",
];

/// One answer reduced to what is compared: the result type and, per label set, the points.
#[derive(Debug)]
struct Answer {
    kind: String,
    /// Labels (as sorted JSON) → points (ms, value).
    series: BTreeMap<String, Vec<(i64, String)>>,
    /// The values of an instant vector in the answer's order.
    order: Vec<String>,
    raw: Value,
}

fn parse_answer(status: StatusCode, body: Value) -> Answer {
    let mut answer = Answer {
        kind: String::new(),
        series: BTreeMap::new(),
        order: Vec::new(),
        raw: body.clone(),
    };
    if body["status"] != "success" {
        answer.kind = format!("error {} ({})", status.as_u16(), body["errorType"]);
        return answer;
    }
    let data = &body["data"];
    answer.kind = data["resultType"].as_str().unwrap_or("?").to_string();
    let point = |p: &Value| -> (i64, String) {
        let t = p[0].as_f64().unwrap_or(f64::NAN);
        (
            (t * 1000.0).round() as i64,
            p[1].as_str().unwrap_or("?").to_string(),
        )
    };
    match answer.kind.as_str() {
        "scalar" | "string" => {
            answer
                .series
                .insert(String::new(), vec![point(&data["result"])]);
        }
        _ => {
            for item in data["result"].as_array().cloned().unwrap_or_default() {
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(item["metric"].clone()).unwrap_or_default();
                let key = serde_json::to_string(&labels).unwrap();
                let points: Vec<(i64, String)> = if let Some(values) = item["values"].as_array() {
                    values.iter().map(point).collect()
                } else {
                    let p = point(&item["value"]);
                    answer.order.push(p.1.clone());
                    vec![p]
                };
                if answer.series.insert(key.clone(), points).is_some() {
                    answer.kind = format!("{} with duplicate series {key}", answer.kind);
                }
            }
        }
    }
    answer
}

fn number(text: &str) -> f64 {
    match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or(f64::NAN),
    }
}

/// Equal within relative 1e-5 (and absolute 1e-9 around zero, where summation order alone
/// makes the difference); NaN equals NaN; infinities exactly.
fn close(a: &str, b: &str) -> bool {
    let (x, y) = (number(a), number(b));
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if x.is_infinite() || y.is_infinite() {
        return x == y;
    }
    (x - y).abs() <= 1e-5 * x.abs().max(y.abs()) || (x - y).abs() <= 1e-9
}

/// `None` when the answers agree, else what differs (the first few differences).
fn difference(kansoku: &Answer, prometheus: &Answer, ordered: bool) -> Option<String> {
    if kansoku.kind != prometheus.kind {
        return Some(format!(
            "result type: kansoku {} / prometheus {}",
            kansoku.kind, prometheus.kind
        ));
    }
    if kansoku.kind.starts_with("error") {
        return Some("both failed: the query does not belong in the corpus".to_string());
    }
    let mut notes = Vec::new();
    for key in prometheus.series.keys() {
        if !kansoku.series.contains_key(key) {
            notes.push(format!("series only in prometheus: {key}"));
        }
    }
    for key in kansoku.series.keys() {
        if !prometheus.series.contains_key(key) {
            notes.push(format!("series only in kansoku: {key}"));
        }
    }
    for (key, ours) in &kansoku.series {
        let Some(theirs) = prometheus.series.get(key) else {
            continue;
        };
        let our_times: Vec<i64> = ours.iter().map(|p| p.0).collect();
        let their_times: Vec<i64> = theirs.iter().map(|p| p.0).collect();
        if our_times != their_times {
            let only_ours: Vec<String> = our_times
                .iter()
                .filter(|t| !their_times.contains(t))
                .map(|t| seconds(*t))
                .collect();
            let only_theirs: Vec<String> = their_times
                .iter()
                .filter(|t| !our_times.contains(t))
                .map(|t| seconds(*t))
                .collect();
            notes.push(format!(
                "{key}: {} points in kansoku, {} in prometheus; times only in kansoku {only_ours:?}, only in prometheus {only_theirs:?}",
                ours.len(),
                theirs.len()
            ));
        }
        let theirs: BTreeMap<i64, &String> = theirs.iter().map(|(t, v)| (*t, v)).collect();
        let mut bad = 0;
        for (t, v) in ours {
            if let Some(w) = theirs.get(t)
                && !close(v, w)
            {
                bad += 1;
                if bad <= 3 {
                    notes.push(format!(
                        "{key} at {}: kansoku {v} / prometheus {w}",
                        seconds(*t)
                    ));
                }
            }
        }
        if bad > 3 {
            notes.push(format!("{key}: {bad} values differ in all"));
        }
    }
    if ordered && notes.is_empty() {
        let same_order = kansoku.order.len() == prometheus.order.len()
            && kansoku
                .order
                .iter()
                .zip(&prometheus.order)
                .all(|(a, b)| close(a, b));
        if !same_order {
            notes.push(format!(
                "order of values: kansoku {:?} / prometheus {:?}",
                kansoku.order, prometheus.order
            ));
        }
    }
    if notes.is_empty() {
        None
    } else {
        if notes.len() > 12 {
            let more = notes.len() - 12;
            notes.truncate(12);
            notes.push(format!("... and {more} more differences"));
        }
        Some(notes.join("\n      "))
    }
}

fn truncated(value: &Value, limit: usize) -> String {
    let text = value.to_string();
    if text.len() <= limit {
        text
    } else {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes in all)", &text[..end], text.len())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_equal_prometheus_on_the_same_remote_write_stream() {
    require_prometheus();
    let started = Instant::now();
    let server = TestServer::start().await;
    // No scraping: only what remote_write brings.
    let prometheus = Prometheus::start(
        "global:\n  scrape_interval: 1m\n",
        &["--web.enable-remote-write-receiver"],
    )
    .await;

    // 50 minutes of data from a whole second, ending ~15 s ago.
    let t0 = (now_ms() / 1000) * 1000 - STEPS * INTERVAL_MS - 1000;
    let data = dataset(t0);
    let samples: usize = data.iter().map(|s| s.samples.len()).sum();
    for (i, body) in requests(t0, &data).into_iter().enumerate() {
        let response = server
            .root(Method::POST, &format!("{KANSOKU_API}/write"))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "kansoku refused request {i}: {}",
            response.text().await.unwrap()
        );
        let response = prometheus
            .client
            .post(format!("{}/api/v1/write", prometheus.base))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "Prometheus refused request {i}: {}\n{}",
            response.text().await.unwrap(),
            prometheus.log()
        );
    }
    eprintln!(
        "wrote {} series, {samples} samples to both in {:?}",
        data.len(),
        started.elapsed()
    );

    // The data set does what it claims, in Prometheus: queue b is gone right after its stale
    // marker (step 100), queue c lingers for the lookback after its last sample (step 129)
    // and is gone after it.
    let queues_at = |at: i64| {
        let prometheus = &prometheus;
        async move {
            let (_, body) = prometheus
                .get(&format!(
                    "/api/v1/query?query=queue_depth&time={}",
                    seconds(at)
                ))
                .await;
            let mut queues: Vec<String> = body["data"]["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["metric"]["queue"].as_str().unwrap().to_string())
                .collect();
            queues.sort();
            queues
        }
    };
    assert_eq!(
        queues_at(t0 + 26 * 60_000 + 1_000 + QUERY_MS).await,
        ["a", "c"]
    );
    assert_eq!(
        queues_at(t0 + 35 * 60_000 + 11_000 + QUERY_MS).await,
        ["a", "b", "c"]
    );
    assert_eq!(
        queues_at(t0 + 39 * 60_000 + 11_000 + QUERY_MS).await,
        ["a", "b"]
    );

    // Range: 40 minutes ending ~1 minute before the last samples, step 37 s; instants: the end
    // of the range, the middle, and after queue c stopped and queue b went stale.
    let start = t0 + 9 * 60_000 + 7_000 + QUERY_MS;
    let end = start + 40 * 60_000;
    let instants = [
        t0 + 20 * 60_000 + 5_000 + QUERY_MS,
        t0 + 26 * 60_000 + 1_000 + QUERY_MS,
        t0 + 35 * 60_000 + 11_000 + QUERY_MS,
        end,
    ];
    let mut runs: Vec<(&str, String, String, bool)> = Vec::new();
    for query in CORPUS {
        runs.push((
            query,
            format!("range {}..{} step 37s", seconds(start), seconds(end)),
            format!(
                "query_range?query={}&start={}&end={}&step=37",
                percent_encode(query),
                seconds(start),
                seconds(end)
            ),
            false,
        ));
    }
    for query in CORPUS.iter().chain(INSTANT_ONLY) {
        for at in instants {
            runs.push((
                query,
                format!("instant at {}", seconds(at)),
                format!("query?query={}&time={}", percent_encode(query), seconds(at)),
                INSTANT_ONLY.contains(query),
            ));
        }
    }

    let mut mismatches = Vec::new();
    let mut compared = 0;
    let mut empty = 0;
    for (query, how, path, ordered) in &runs {
        let (status, body) = kansoku_get(&server, path).await;
        let ours = parse_answer(status, body);
        let (status, body) = prometheus.get(&format!("/api/v1/{path}")).await;
        let theirs = parse_answer(status, body);
        compared += 1;
        if theirs.series.is_empty() && !theirs.kind.starts_with("error") {
            empty += 1;
        }
        if let Some(diff) = difference(&ours, &theirs, *ordered) {
            mismatches.push((query.to_string(), how.clone(), diff, ours.raw, theirs.raw));
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{compared} answers compared ({} queries; {empty} empty in Prometheus) in {elapsed:?}; {} mismatches",
        CORPUS.len() + INSTANT_ONLY.len(),
        mismatches.len()
    );
    assert!(
        empty * 4 < compared,
        "too many empty answers ({empty} of {compared}): the data did not land?"
    );
    if !mismatches.is_empty() {
        let mut table =
            String::from("\n| # | query | evaluation | difference |\n|---|---|---|---|\n");
        for (n, (query, how, diff, _, _)) in mismatches.iter().enumerate() {
            let first = diff.lines().next().unwrap_or("");
            let _ = writeln!(table, "| {} | `{query}` | {how} | {first} |", n + 1);
        }
        let mut details = String::new();
        for (n, (query, how, diff, ours, theirs)) in mismatches.iter().enumerate() {
            let _ = write!(
                details,
                "\n#{} {query}   [{how}]\n      {diff}\n    kansoku:    {}\n    prometheus: {}\n",
                n + 1,
                truncated(ours, 1500),
                truncated(theirs, 1500)
            );
        }
        let queries: std::collections::BTreeSet<&str> =
            mismatches.iter().map(|m| m.0.as_str()).collect();
        panic!(
            "{} of {compared} answers differ from Prometheus' ({} queries):{table}{details}\nqueries: {queries:#?}",
            mismatches.len(),
            queries.len()
        );
    }
    drop(prometheus);
    server.stop().await;
}
