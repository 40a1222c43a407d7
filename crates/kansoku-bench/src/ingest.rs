//! Sending the data with concurrent `_multi` clients, and measuring freshness and storage.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::generate::Data;
use crate::process::{PASSWORD, Server, USER};

/// Stream the benchmark writes to.
pub const STREAM: &str = "bench";
/// Stream of the freshness probes (kept out of the compared data).
pub const PROBE_STREAM: &str = "bench_probe";

/// What the ingest run measured.
pub struct Ingested {
    /// Records acknowledged.
    pub records: u64,
    /// Raw bytes acknowledged.
    pub raw_bytes: u64,
    /// Wall seconds from the first request to the last answer (flush excluded).
    pub wall_seconds: f64,
    /// Server CPU seconds for the ingest and the final flush.
    pub cpu_seconds: f64,
    /// 503 answers retried.
    pub retries: u64,
    /// Peak RSS of the server.
    pub peak_rss_bytes: u64,
}

/// Sends every record of `data`.
pub async fn run(
    server: &Server,
    data: &Data,
    clients: usize,
    batch: usize,
) -> anyhow::Result<Ingested> {
    let reader = Arc::new(Mutex::new(
        BufReader::with_capacity(1 << 20, std::fs::File::open(&data.raw_path)?).lines(),
    ));
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let reader = Arc::clone(&reader);
        let client = server.client.clone();
        let url = format!("{}/api/default/{STREAM}/_multi", server.base);
        tasks.push(tokio::spawn(async move {
            let (mut records, mut bytes, mut retries) = (0u64, 0u64, 0u64);
            loop {
                let mut body = String::with_capacity(batch * 2200);
                let mut lines = 0;
                {
                    let mut reader = reader.lock().await;
                    while lines < batch {
                        match reader.next() {
                            Some(Ok(line)) => {
                                body.push_str(&line);
                                body.push('\n');
                                lines += 1;
                            }
                            _ => break,
                        }
                    }
                }
                if lines == 0 {
                    return Ok::<_, anyhow::Error>((records, bytes, retries));
                }
                loop {
                    let response = client
                        .post(&url)
                        .basic_auth(USER, Some(PASSWORD))
                        .body(body.clone())
                        .send()
                        .await?;
                    if response.status().as_u16() == 503 {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    anyhow::ensure!(
                        response.status().is_success(),
                        "ingest failed: {}",
                        response.status()
                    );
                    let report: Value = response.json().await?;
                    records += report["status"][0]["successful"].as_u64().unwrap_or(0);
                    bytes += body.len() as u64;
                    break;
                }
            }
        }));
    }
    let (mut records, mut raw_bytes, mut retries) = (0, 0, 0);
    for task in tasks {
        let (r, b, t) = task.await??;
        records += r;
        raw_bytes += b;
        retries += t;
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let flushed = server
        .client
        .put(format!("{}/node/flush", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?;
    anyhow::ensure!(flushed.status().is_success(), "flush failed");
    Ok(Ingested {
        records,
        raw_bytes,
        wall_seconds,
        cpu_seconds: server.cpu_seconds()? - cpu_before,
        retries,
        peak_rss_bytes: server.peak_rss_bytes()?,
    })
}

/// Milliseconds from a 2xx to the record being found by `_search`, for `probes` records.
pub async fn freshness(server: &Server, probes: usize) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(probes);
    for probe in 0..probes {
        let id = format!("probe-{probe}-{}", std::process::id());
        let response = server
            .client
            .post(format!("{}/api/default/{PROBE_STREAM}/_json", server.base))
            .basic_auth(USER, Some(PASSWORD))
            .body(json!([{"probe_id": id, "log": "freshness probe"}]).to_string())
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "probe ingest failed");
        let acknowledged = Instant::now();
        loop {
            let now = now_micros();
            let found: Value = server
                .client
                .post(format!("{}/api/default/_search", server.base))
                .basic_auth(USER, Some(PASSWORD))
                .json(&json!({"query": {"sql": format!("SELECT count(*) AS n FROM {PROBE_STREAM} WHERE probe_id = '{id}'"), "start_time": now - 60_000_000, "end_time": now + 60_000_000}}))
                .send()
                .await?
                .json()
                .await?;
            if found["hits"][0]["n"] == 1 {
                break;
            }
            anyhow::ensure!(
                acknowledged.elapsed() < Duration::from_secs(30),
                "probe never became searchable"
            );
        }
        times.push(acknowledged.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

/// Stored sizes of the benchmark stream.
pub struct Stored {
    /// Parquet bytes.
    pub stored_bytes: u64,
    /// Index bytes.
    pub index_bytes: u64,
    /// Files.
    pub files: u64,
}

/// Reads the stream's stored sizes (after the final flush).
pub async fn stored_bytes(server: &Server) -> anyhow::Result<Stored> {
    let streams: Value = server
        .client
        .get(format!("{}/api/default/streams", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?
        .json()
        .await?;
    let stream = streams["list"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == STREAM))
        .ok_or_else(|| anyhow::anyhow!("benchmark stream missing"))?;
    Ok(Stored {
        stored_bytes: stream["stats"]["stored_bytes"].as_u64().unwrap_or(0),
        index_bytes: stream["stats"]["index_bytes"].as_u64().unwrap_or(0),
        files: stream["stats"]["file_num"].as_u64().unwrap_or(0),
    })
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
