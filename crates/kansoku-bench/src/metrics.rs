//! The metrics benchmark: the same Prometheus remote_write requests sent to kansoku and to
//! Debian's Prometheus (`--web.enable-remote-write-receiver`), both pinned to the same core, in
//! one run:
//!
//! - samples/s per server CPU-second (the requests are pre-encoded, sharded by series like
//!   Prometheus' own remote-write queue, each shard in time order);
//! - bytes per sample on disk (kansoku: Parquet files and series indexes after a flush;
//!   Prometheus: its data directory — blocks, head chunks and WAL — and its blocks alone);
//! - peak RSS of each server;
//! - `query_range` latency of five typical dashboard queries over the last 1 h and 24 h (median
//!   of three), with the answers of both servers compared before timings count.
//!
//! The data: Kubernetes-shaped series (node, container, HTTP histogram, `up`) at a 15 s interval,
//! counters with realistic increments, gauges as random walks with two decimals.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kansoku_ingest::decode::remote_write::v1;
use prost::Message;
use serde_json::Value;

use crate::process::{PASSWORD, Server, USER};
use crate::random::Rng;

/// Scrape interval of the synthetic data.
const INTERVAL_MS: i64 = 15_000;
/// Consecutive samples of one series in one request (with `SERIES_PER_REQUEST` series: about
/// 2,000 samples per request, Prometheus' default `max_samples_per_send`).
const SAMPLES_PER_SERIES: usize = 4;
const SERIES_PER_REQUEST: usize = 500;
/// Samples sit this far after the 15 s grid the queries evaluate on, so no sample falls on a
/// window's edge: Prometheus 2.42's windows are left-closed, 3.x's (and kansoku's) left-open.
const SCRAPE_OFFSET_MS: i64 = 7_300;

/// How one series' values evolve.
#[derive(Clone, Copy)]
enum Shape {
    /// A counter growing by about `rate` per second.
    Counter { rate: f64 },
    /// A random walk around `level`, two decimals.
    Gauge { level: f64 },
    /// Constant.
    Constant { value: f64 },
    /// A histogram bucket: a share of its series family's request counter.
    Bucket { rate: f64, share: f64 },
}

struct SeriesSpec {
    labels: Vec<(String, String)>,
    shape: Shape,
}

fn labels(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    labels.sort();
    labels
}

/// About `target` series shaped like a Kubernetes cluster's.
fn series(target: usize) -> Vec<SeriesSpec> {
    let mut random = Rng(7);
    let mut out = Vec::new();
    let nodes = (target / 100).clamp(3, 50);
    let pods = (target / 5).max(10);
    for node in 0..nodes {
        let instance = format!("node-{node}:9100");
        for (name, shape) in [
            (
                "node_memory_MemTotal_bytes",
                Shape::Constant { value: 16e9 },
            ),
            (
                "node_memory_MemAvailable_bytes",
                Shape::Gauge { level: 8e9 },
            ),
            ("up", Shape::Constant { value: 1.0 }),
        ] {
            out.push(SeriesSpec {
                labels: labels(&[
                    ("__name__", name.to_string()),
                    ("job", "node".to_string()),
                    ("instance", instance.clone()),
                ]),
                shape,
            });
        }
    }
    let namespaces = ["shop", "payments", "monitoring", "kube-system", "search"];
    for pod in 0..pods {
        let namespace = namespaces[pod % namespaces.len()].to_string();
        let pod_name = format!("app-{pod:04}-7f9c");
        let node = format!("node-{}", pod % nodes);
        out.push(SeriesSpec {
            labels: labels(&[
                ("__name__", "container_cpu_usage_seconds_total".to_string()),
                ("namespace", namespace.clone()),
                ("pod", pod_name.clone()),
                ("container", "app".to_string()),
                ("node", node.clone()),
            ]),
            shape: Shape::Counter {
                rate: 0.05 + random.unit() * 0.5,
            },
        });
        out.push(SeriesSpec {
            labels: labels(&[
                ("__name__", "container_memory_working_set_bytes".to_string()),
                ("namespace", namespace),
                ("pod", pod_name),
                ("container", "app".to_string()),
                ("node", node),
            ]),
            shape: Shape::Gauge {
                level: 2e8 + random.unit() * 8e8,
            },
        });
    }
    let handlers = (target / 60).clamp(2, 40);
    let bounds = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    for handler in 0..handlers {
        let rate = 1.0 + random.unit() * 20.0;
        let route = format!("/api/v1/resource{handler}");
        for (index, bound) in bounds.iter().enumerate() {
            out.push(SeriesSpec {
                labels: labels(&[
                    (
                        "__name__",
                        "http_request_duration_seconds_bucket".to_string(),
                    ),
                    ("handler", route.clone()),
                    ("job", "api".to_string()),
                    ("le", bound.to_string()),
                ]),
                shape: Shape::Bucket {
                    rate,
                    share: ((index + 1) as f64 / bounds.len() as f64).powf(0.5),
                },
            });
        }
        for (suffix, per_request) in [("_count", 1.0), ("_sum", 0.12)] {
            out.push(SeriesSpec {
                labels: labels(&[
                    ("__name__", format!("http_request_duration_seconds{suffix}")),
                    ("handler", route.clone()),
                    ("job", "api".to_string()),
                ]),
                shape: Shape::Counter {
                    rate: rate * per_request,
                },
            });
        }
    }
    out
}

/// The pre-encoded requests, in time blocks: every block holds each shard's requests for the
/// same minute of samples, and blocks are sent one after the other (as a live Prometheus sends
/// its shards' queues: roughly in time order). Prometheus refuses samples more than an hour
/// older than its newest ones, so shards must not drift apart.
pub struct Requests {
    /// Snappy-compressed `WriteRequest`s per time block.
    pub blocks: Vec<Vec<Vec<u8>>>,
    /// Shards the series are spread over.
    pub shards: usize,
    /// Samples in all.
    pub samples: u64,
    /// Series.
    pub series: usize,
    /// First and last sample time (ms).
    pub range: (i64, i64),
}

/// Builds the requests: `series_target` series, `hours` of samples ending now, `shards` shards.
pub fn requests(series_target: usize, hours: f64, shards: usize) -> Requests {
    let specs = series(series_target);
    let end = now_ms() / INTERVAL_MS * INTERVAL_MS;
    let points = (hours * 3_600_000.0 / INTERVAL_MS as f64) as i64;
    let start = end - points * INTERVAL_MS;
    let mut random = Rng(42);
    let mut values: Vec<f64> = specs
        .iter()
        .map(|spec| match spec.shape {
            Shape::Counter { .. } | Shape::Bucket { .. } => 0.0,
            Shape::Gauge { level } => level,
            Shape::Constant { value } => value,
        })
        .collect();
    let shards = shards.max(1);
    let mut blocks: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut pending: Vec<v1::WriteRequest> =
        (0..shards).map(|_| v1::WriteRequest::default()).collect();
    let mut samples = 0u64;
    let mut t = start;
    while t <= end {
        let mut block = Vec::new();
        let times: Vec<i64> = (0..SAMPLES_PER_SERIES as i64)
            .map(|i| t + i * INTERVAL_MS + SCRAPE_OFFSET_MS)
            .filter(|time| *time <= end)
            .collect();
        if times.is_empty() {
            break;
        }
        for (index, spec) in specs.iter().enumerate() {
            let mut points = Vec::with_capacity(times.len());
            for time in &times {
                let seconds = INTERVAL_MS as f64 / 1000.0;
                values[index] = match spec.shape {
                    Shape::Counter { rate } => {
                        values[index] + (rate * seconds * (0.5 + random.unit())).round()
                    }
                    Shape::Bucket { rate, share } => {
                        values[index] + (rate * share * seconds * (0.5 + random.unit())).round()
                    }
                    Shape::Gauge { level } => {
                        let step = level * 0.01 * (random.unit() - 0.5);
                        ((values[index] + step) * 100.0).round() / 100.0
                    }
                    Shape::Constant { value } => value,
                };
                points.push(v1::Sample {
                    value: values[index],
                    timestamp: *time,
                });
            }
            samples += points.len() as u64;
            let shard = index % shards;
            pending[shard].timeseries.push(v1::TimeSeries {
                labels: spec
                    .labels
                    .iter()
                    .map(|(name, value)| v1::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                samples: points,
                exemplars: Vec::new(),
                histograms: Vec::new(),
            });
            if pending[shard].timeseries.len() >= SERIES_PER_REQUEST {
                let request = std::mem::take(&mut pending[shard]);
                block.push(encode(&request));
            }
        }
        for request in &mut pending {
            if !request.timeseries.is_empty() {
                block.push(encode(&std::mem::take(request)));
            }
        }
        if !block.is_empty() {
            blocks.push(block);
        }
        t += SAMPLES_PER_SERIES as i64 * INTERVAL_MS;
    }
    Requests {
        blocks,
        shards,
        samples,
        series: specs.len(),
        range: (start, end),
    }
}

fn encode(request: &v1::WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Debian's Prometheus as a remote-write receiver, pinned to one core.
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub dir: PathBuf,
}

impl Prometheus {
    /// Starts `binary` with its data in `dir`.
    pub async fn start(binary: &Path, dir: &Path, core: usize) -> anyhow::Result<Prometheus> {
        std::fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.with_extension("yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n")?;
        let log = std::fs::File::create(dir.with_extension("log"))?;
        let child = Command::new("taskset")
            .arg("-c")
            .arg(core.to_string())
            .arg(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .arg("--storage.tsdb.retention.time=30d")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{base}/-/ready")).send().await
                && response.status().is_success()
            {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "Prometheus did not start (see {})",
                dir.with_extension("log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Prometheus {
            child,
            base,
            dir: dir.to_path_buf(),
        })
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        crate::process::cpu_seconds_of(self.child.id())
    }

    /// Peak resident set size, bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        crate::process::peak_rss_of(self.child.id())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One receiver of the requests.
struct Target {
    name: &'static str,
    write_url: String,
    query_url: String,
    basic_auth: bool,
}

async fn send_all(
    client: &reqwest::Client,
    target: &Target,
    requests: &Requests,
) -> anyhow::Result<()> {
    let mut failed = 0u64;
    for block in &requests.blocks {
        let sends = block.iter().map(|body| send_one(client, target, body));
        failed += futures::future::join_all(sends)
            .await
            .into_iter()
            .filter(|ok| !ok)
            .count() as u64;
    }
    anyhow::ensure!(failed == 0, "{}: {failed} requests failed", target.name);
    Ok(())
}

/// Sends one request, retrying on 503 and connection errors as Prometheus' queue does; false
/// when it was refused.
async fn send_one(client: &reqwest::Client, target: &Target, body: &[u8]) -> bool {
    for _ in 0..50 {
        let mut request = client
            .post(&target.write_url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body.to_vec());
        if target.basic_auth {
            request = request.basic_auth(USER, Some(PASSWORD));
        }
        let status = request
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if (200..300).contains(&status) {
            return true;
        }
        if status != 503 && status != 0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => directory_bytes(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes and samples of Prometheus' persisted blocks (each block directory's `meta.json`
/// counts its samples).
fn prometheus_blocks(dir: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let mut bytes = 0;
    let mut samples = 0;
    for entry in entries.filter_map(Result::ok) {
        let Ok(meta) = std::fs::read(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_slice::<Value>(&meta) else {
            continue;
        };
        samples += meta["stats"]["numSamples"].as_u64().unwrap_or(0);
        bytes += directory_bytes(&entry.path());
    }
    (bytes, samples)
}

/// Waits until Prometheus has cut the blocks its head allows (its head keeps about the last
/// 3 h; it compacts on its own after appends and every minute) and its block set has been
/// stable for 15 s, at most 5 minutes.
async fn wait_for_compaction(dir: &Path, expect_blocks: bool) {
    let started = Instant::now();
    let mut last = prometheus_blocks(dir);
    let mut stable_since = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = prometheus_blocks(dir);
        if now != last {
            last = now;
            stable_since = Instant::now();
            continue;
        }
        let settled = stable_since.elapsed() >= Duration::from_secs(15);
        if settled && (last.1 > 0 || !expect_blocks) {
            return;
        }
    }
}

/// The typical dashboard queries.
const QUERIES: [&str; 5] = [
    "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    "topk(5, sum by (pod) (container_memory_working_set_bytes))",
    "avg_over_time(up[10m])",
];

async fn query_range(
    client: &reqwest::Client,
    target: &Target,
    query: &str,
    (start, end, step): (i64, i64, i64),
) -> anyhow::Result<(Duration, Value)> {
    let form = [
        ("query", query.to_string()),
        ("start", format!("{}", start as f64 / 1000.0)),
        ("end", format!("{}", end as f64 / 1000.0)),
        ("step", format!("{}", step as f64 / 1000.0)),
    ];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let mut request = client
        .post(&target.query_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    if target.basic_auth {
        request = request.basic_auth(USER, Some(PASSWORD));
    }
    let started = Instant::now();
    let answer: Value = request.send().await?.json().await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        answer["status"] == "success",
        "{}: {query}: {answer}",
        target.name
    );
    Ok((elapsed, answer["data"]["result"].clone()))
}

/// `None` when two matrices hold the same series and values (relative 1e-6), else the first
/// difference.
fn answer_difference(a: &Value, b: &Value) -> Option<String> {
    let index = |matrix: &Value| -> Vec<(String, Vec<(f64, f64)>)> {
        let mut series: Vec<(String, Vec<(f64, f64)>)> = matrix
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| {
                let points = s["values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        (
                            p[0].as_f64().unwrap_or(0.0),
                            p[1].as_str()
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(f64::NAN),
                        )
                    })
                    .collect();
                (s["metric"].to_string(), points)
            })
            .collect();
        series.sort_by(|x, y| x.0.cmp(&y.0));
        series
    };
    let (left, right) = (index(a), index(b));
    if left.len() != right.len() {
        return Some(format!("{} series against {}", left.len(), right.len()));
    }
    for ((la, pa), (lb, pb)) in left.iter().zip(&right) {
        if la != lb {
            return Some(format!("series {la} against {lb}"));
        }
        if pa.len() != pb.len() {
            return Some(format!("{la}: {} points against {}", pa.len(), pb.len()));
        }
        for ((ta, va), (tb, vb)) in pa.iter().zip(pb) {
            let same_value = (va.is_nan() && vb.is_nan())
                || va == vb
                || (va - vb).abs() <= 1e-6 * va.abs().max(vb.abs());
            if ta != tb || !same_value {
                return Some(format!("{la}: ({ta}, {va}) against ({tb}, {vb})"));
            }
        }
    }
    None
}

/// Runs the metrics section and prints its report.
pub async fn run(
    kansoku: &Server,
    prometheus_binary: &Path,
    work: &Path,
    core: usize,
    series_target: usize,
    hours: f64,
    shards: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let requests = requests(series_target, hours, shards);
    eprintln!(
        "metrics: {} series, {} samples in {} requests, built in {:?}",
        requests.series,
        requests.samples,
        requests.blocks.iter().map(Vec::len).sum::<usize>(),
        started.elapsed()
    );
    let prometheus = Prometheus::start(prometheus_binary, &work.join("prometheus"), core).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let targets = [
        Target {
            name: "kansoku",
            write_url: format!("{}/api/default/prometheus/api/v1/write", kansoku.base),
            query_url: format!("{}/api/default/prometheus/api/v1/query_range", kansoku.base),
            basic_auth: true,
        },
        Target {
            name: "Prometheus",
            write_url: format!("{}/api/v1/write", prometheus.base),
            query_url: format!("{}/api/v1/query_range", prometheus.base),
            basic_auth: false,
        },
    ];
    let mut ingest_cpu = Vec::new();
    let mut total_cpu = Vec::new();
    for target in &targets {
        let cpu = || match target.name {
            "kansoku" => kansoku.cpu_seconds(),
            _ => prometheus.cpu_seconds(),
        };
        let before = cpu()?;
        let wall = Instant::now();
        send_all(&client, target, &requests).await?;
        let after = cpu()?;
        eprintln!("metrics: {} took {:?}", target.name, wall.elapsed());
        ingest_cpu.push((after - before).max(1e-9));
        match target.name {
            "kansoku" => {
                kansoku
                    .client
                    .put(format!("{}/node/flush", kansoku.base))
                    .basic_auth(USER, Some(PASSWORD))
                    .send()
                    .await?
                    .error_for_status()?;
            }
            _ => wait_for_compaction(&prometheus.dir, hours > 4.0).await,
        }
        total_cpu.push((cpu()? - before).max(1e-9));
    }
    let kansoku_bytes = metrics_stream_bytes(kansoku).await?;
    let prometheus_bytes = directory_bytes(&prometheus.dir);
    let (block_bytes, block_samples) = prometheus_blocks(&prometheus.dir);
    let samples = requests.samples as f64;
    println!(
        "\n## Metrics: Prometheus remote_write in, PromQL out (against Debian's Prometheus, same requests, same core)\n"
    );
    println!(
        "- data: {} series, {} samples over {hours} h at 15 s, in {} remote_write 1.0 requests from {} shards",
        requests.series,
        requests.samples,
        requests.blocks.iter().map(Vec::len).sum::<usize>(),
        requests.shards
    );
    println!("\n| measure | kansoku | Prometheus | ratio (kansoku / Prometheus) |");
    println!("|---|---|---|---|");
    let rate = |cpu: f64| samples / cpu;
    println!(
        "| samples/s per server CPU-second, write path | {:.0} | {:.0} | {:.2} |",
        rate(ingest_cpu[0]),
        rate(ingest_cpu[1]),
        rate(ingest_cpu[0]) / rate(ingest_cpu[1])
    );
    println!(
        "| samples/s per server CPU-second, with flush (kansoku) / compaction (Prometheus) | {:.0} | {:.0} | {:.2} |",
        rate(total_cpu[0]),
        rate(total_cpu[1]),
        rate(total_cpu[0]) / rate(total_cpu[1])
    );
    let kansoku_per_sample = kansoku_bytes as f64 / samples;
    println!(
        "| bytes per sample on disk (kansoku: Parquet + series indexes after flush; Prometheus: data directory — blocks, head chunks, WAL) | {kansoku_per_sample:.2} | {:.2} | {:.2} |",
        prometheus_bytes as f64 / samples,
        kansoku_bytes as f64 / prometheus_bytes.max(1) as f64
    );
    if block_samples > 0 {
        let block_per_sample = block_bytes as f64 / block_samples as f64;
        println!(
            "| bytes per sample on disk, compacted (Prometheus: its blocks alone, holding {:.0} % of the samples) | {kansoku_per_sample:.2} | {block_per_sample:.2} | {:.2} |",
            block_samples as f64 * 100.0 / samples,
            kansoku_per_sample / block_per_sample
        );
    }
    let (kansoku_rss, prometheus_rss) = (kansoku.peak_rss_bytes()?, prometheus.peak_rss_bytes()?);
    println!(
        "| peak RSS (whole run) | {} MiB | {} MiB | {:.2} |",
        kansoku_rss >> 20,
        prometheus_rss >> 20,
        kansoku_rss as f64 / prometheus_rss.max(1) as f64
    );
    println!(
        "\n| query_range (median of 3) | range, step | kansoku | Prometheus | ratio | same answer |"
    );
    println!("|---|---|---|---|---|---|");
    let end = requests.range.1;
    for (label, range, step) in [("1 h", 3_600_000, 15_000), ("24 h", 86_400_000, 90_000)] {
        // Windows start once every series has 15 minutes of history: at a series' first
        // samples Prometheus 2.42 extrapolates `rate` differently from 3.x (it limits the
        // extrapolation to the counter's zero point before, not after, the half-interval rule).
        let window = ((end - range).max(requests.range.0 + 15 * 60_000), end, step);
        for query in QUERIES {
            let mut timings = [Vec::new(), Vec::new()];
            let mut answers = [Value::Null, Value::Null];
            for _ in 0..3 {
                for (index, target) in targets.iter().enumerate() {
                    let (elapsed, answer) = query_range(&client, target, query, window).await?;
                    timings[index].push(elapsed.as_secs_f64() * 1000.0);
                    answers[index] = answer;
                }
            }
            let (kansoku_ms, prometheus_ms) =
                (crate::median(&timings[0]), crate::median(&timings[1]));
            println!(
                "| `{query}` | {label}, {} s | {kansoku_ms:.1} ms | {prometheus_ms:.1} ms | {:.2} | {} |",
                step / 1000,
                kansoku_ms / prometheus_ms,
                match answer_difference(&answers[0], &answers[1]) {
                    None => "yes",
                    Some(difference) => {
                        eprintln!("metrics: {query} over {label}: kansoku {difference}");
                        "**no**"
                    }
                }
            );
        }
    }
    Ok(())
}

async fn metrics_stream_bytes(server: &Server) -> anyhow::Result<u64> {
    let streams: Value = server
        .client
        .get(format!("{}/api/default/streams?type=metrics", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?
        .json()
        .await?;
    Ok(streams["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            s["stats"]["stored_bytes"].as_u64().unwrap_or(0)
                + s["stats"]["index_bytes"].as_u64().unwrap_or(0)
        })
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cover_every_series_in_time_blocks_of_every_shard() {
        let built = requests(200, 0.5, 3);
        assert!(built.series > 100);
        // Half an hour at 15 s; the samples sit 7.3 s after the grid, so the last grid point
        // has none.
        let points = 1800 / 15;
        assert_eq!(built.samples, (built.series * points) as u64);
        assert_eq!(built.shards, 3);
        assert_eq!(built.blocks.len(), points.div_ceil(SAMPLES_PER_SERIES));
        assert!(built.blocks.iter().all(|block| block.len() == 3));
        let written: u64 = built
            .blocks
            .iter()
            .flatten()
            .map(|body| {
                let bytes = snap::raw::Decoder::new().decompress_vec(body).unwrap();
                let request = v1::WriteRequest::decode(bytes.as_slice()).unwrap();
                request
                    .timeseries
                    .iter()
                    .map(|series| series.samples.len() as u64)
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(written, built.samples);
    }
}
