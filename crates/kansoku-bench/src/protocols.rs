//! The protocols benchmark: the same records sent through every way in — `_multi` (the
//! baseline, measured in the same run), Loki push (JSON), Splunk HEC, Fluentd forward (with
//! acknowledgements), syslog over TCP, and `_multi` through a `parse_json` pipeline — each into
//! its own stream of a server started for this section (pinned to the same core) after an
//! unmeasured warm-up. Records per server CPU-second include each protocol's final flush; every
//! stream is counted afterwards, so a protocol that lost records cannot look fast.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::process::{PASSWORD, Server, USER};

/// What one protocol's run measured.
struct Measured {
    name: &'static str,
    stored: u64,
    cpu_seconds: f64,
    wall_seconds: f64,
}

/// A free loopback port.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Runs the section on `records` (NDJSON lines) and prints its table.
pub async fn run(
    binary: &std::path::Path,
    dir: &std::path::Path,
    core: usize,
    records: &[String],
    clients: usize,
    batch: usize,
) -> anyhow::Result<()> {
    let forward_port = free_port()?;
    let syslog_port = free_port()?;
    let env = vec![
        (
            "KANSOKU_FORWARD_ADDR".to_string(),
            format!("127.0.0.1:{forward_port}"),
        ),
        (
            "KANSOKU_SYSLOG_TCP_ADDR".to_string(),
            format!("127.0.0.1:{syslog_port}"),
        ),
        (
            "KANSOKU_SYSLOG_STREAM".to_string(),
            "proto_syslog".to_string(),
        ),
    ];
    let server = Server::start(binary, dir, core, &env).await?;
    let pipeline = json!({"steps": [{"type": "parse_json", "field": "log", "drop_source": true}]});
    let response = server
        .client
        .put(format!(
            "{}/api/default/streams/proto_pipeline/pipeline",
            server.base
        ))
        .basic_auth(USER, Some(PASSWORD))
        .json(&pipeline)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "setting the pipeline: {}",
        response.text().await?
    );
    let batches: Vec<&[String]> = records.chunks(batch.max(1)).collect();
    let mut results = Vec::new();

    // Warm-up, not measured: the first requests of a new process pay for its allocator's
    // growth and the first schema commits, which would otherwise count against the baseline.
    let warm_up: Vec<Vec<u8>> = batches
        .iter()
        .take(20)
        .map(|b| b.join("\n").into_bytes())
        .collect();
    post_all(
        &server,
        "/api/default/proto_warmup/_multi",
        "application/x-ndjson",
        &warm_up,
        clients,
    )
    .await?;
    flush(&server).await?;

    let bodies: Vec<Vec<u8>> = batches.iter().map(|b| b.join("\n").into_bytes()).collect();
    results.push(
        measure(
            &server,
            "`_multi` (baseline)",
            "proto_multi",
            records.len(),
            || {
                post_all(
                    &server,
                    "/api/default/proto_multi/_multi",
                    "application/x-ndjson",
                    &bodies,
                    clients,
                )
            },
        )
        .await?,
    );

    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            b.iter()
                .map(|line| json!({"log": line}).to_string())
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        })
        .collect();
    results.push(
        measure(
            &server,
            "`_multi` + `parse_json` pipeline",
            "proto_pipeline",
            records.len(),
            || {
                post_all(
                    &server,
                    "/api/default/proto_pipeline/_multi",
                    "application/x-ndjson",
                    &bodies,
                    clients,
                )
            },
        )
        .await?,
    );

    // Bulk with an `_id` per document: every id is looked up and remembered (deduplication);
    // then the same bodies again, every document a copy (answered "noop", nothing stored).
    let mut document = 0usize;
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            let mut body = String::new();
            for line in b.iter() {
                body.push_str(&format!(
                    "{{\"create\":{{\"_index\":\"proto_bulk\",\"_id\":\"doc-{document}\"}}}}\n"
                ));
                body.push_str(line);
                body.push('\n');
                document += 1;
            }
            body.into_bytes()
        })
        .collect();
    for name in [
        "`_bulk`, an `_id` per document",
        "the same `_bulk` again (every document a copy, none stored)",
    ] {
        results.push(
            measure(&server, name, "proto_bulk", records.len(), || {
                post_all(
                    &server,
                    "/api/default/_bulk",
                    "application/x-ndjson",
                    &bodies,
                    clients,
                )
            })
            .await?,
        );
    }

    let now_nanos = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos()) as i64;
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            let values: Vec<Value> = b
                .iter()
                .enumerate()
                .map(|(i, line)| json!([(now_nanos + i as i64).to_string(), line]))
                .collect();
            json!({"streams": [{"stream": {"o2_stream_name": "proto_loki", "job": "bench"}, "values": values}]})
                .to_string()
                .into_bytes()
        })
        .collect();
    results.push(
        measure(
            &server,
            "Loki push (JSON; the line as `message`)",
            "proto_loki",
            records.len(),
            || {
                post_all(
                    &server,
                    "/api/default/loki/api/v1/push",
                    "application/json",
                    &bodies,
                    clients,
                )
            },
        )
        .await?,
    );

    let token = ingestion_token(&server).await?;
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            let mut body = String::new();
            for line in b.iter() {
                body.push_str("{\"index\":\"proto_hec\",\"sourcetype\":\"_json\",\"event\":");
                body.push_str(line);
                body.push_str("}\n");
            }
            body.into_bytes()
        })
        .collect();
    results.push(
        measure(
            &server,
            "Splunk HEC (`/event`)",
            "proto_hec",
            records.len(),
            || post_hec(&server, &token, &bodies, clients),
        )
        .await?,
    );

    let messages: Vec<Vec<u8>> = batches
        .iter()
        .enumerate()
        .map(|(index, b)| forward_message(b, index))
        .collect::<anyhow::Result<_>>()?;
    results.push(
        measure(
            &server,
            "Fluentd forward (acknowledged)",
            "proto_forward",
            records.len(),
            || send_forward(forward_port, messages, clients),
        )
        .await?,
    );

    let frames: Vec<Vec<u8>> = batches.iter().map(|b| syslog_frames(b)).collect();
    results.push(
        measure(
            &server,
            "syslog over TCP (RFC 5424, the JSON as `message`)",
            "proto_syslog",
            records.len(),
            || send_syslog(syslog_port, frames, clients),
        )
        .await?,
    );

    println!(
        "\n## Protocols ({} records of the same data per protocol, {} per request or message, {} clients, fsync on, final flush included)\n",
        records.len(),
        batch,
        clients
    );
    println!("| way in | stored | server CPU | records per CPU-second | vs `_multi` |");
    println!("|---|---|---|---|---|");
    let baseline = results
        .first()
        .map(|m| m.stored as f64 / m.cpu_seconds)
        .unwrap_or(1.0);
    for m in &results {
        let rate = m.stored as f64 / m.cpu_seconds;
        println!(
            "| {} | {} of {} | {:.2} s ({:.1} s wall) | {:.0} | {:.2} |",
            m.name,
            m.stored,
            records.len(),
            m.cpu_seconds,
            m.wall_seconds,
            rate,
            rate / baseline
        );
    }
    server.stop().await
}

/// Runs `send`, flushes, waits until `stream` holds `expected` records (syslog has no answer),
/// and measures the server's CPU over all of it.
async fn measure<F, Fut>(
    server: &Server,
    name: &'static str,
    stream: &str,
    expected: usize,
    send: F,
) -> anyhow::Result<Measured>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    send().await?;
    let stored = count_when(server, stream, expected as u64).await?;
    flush(server).await?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = server.cpu_seconds()? - cpu_before;
    eprintln!("{name}: {stored} records, {cpu_seconds:.2} s CPU");
    Ok(Measured {
        name,
        stored,
        cpu_seconds,
        wall_seconds,
    })
}

async fn flush(server: &Server) -> anyhow::Result<()> {
    let response = server
        .client
        .put(format!("{}/node/flush", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "flush: {}",
        response.status()
    );
    Ok(())
}

/// The stream's record count once it reaches `expected` (up to 5 minutes), else the last one.
async fn count_when(server: &Server, stream: &str, expected: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut count = 0;
    while Instant::now() < deadline {
        // start_time 1, not 0: o2's API reads 0 as "unset", i.e. the last 15 minutes.
        let body = json!({"query": {"sql": format!("SELECT count(*) AS n FROM \"{stream}\""),
            "start_time": 1, "end_time": i64::MAX / 2, "size": 1}});
        let response = server
            .client
            .post(format!("{}/api/default/_search", server.base))
            .basic_auth(USER, Some(PASSWORD))
            .json(&body)
            .send()
            .await?;
        if response.status().is_success() {
            let answer: Value = response.json().await?;
            count = answer["hits"][0]["n"].as_u64().unwrap_or(0);
            if count >= expected {
                return Ok(count);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(count)
}

async fn ingestion_token(server: &Server) -> anyhow::Result<String> {
    let response = server
        .client
        .post(format!("{}/api/default/ingestion-tokens", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({"name": "bench-hec"}))
        .send()
        .await?;
    let answer: Value = response.json().await?;
    answer["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no token in {answer}"))
}

/// Sends the bodies over `clients` connections, retrying 429/503.
async fn post_all(
    server: &Server,
    path: &str,
    content_type: &'static str,
    bodies: &[Vec<u8>],
    clients: usize,
) -> anyhow::Result<()> {
    let url = format!("{}{path}", server.base);
    let requests = bodies.iter().map(|body| {
        server
            .client
            .post(&url)
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", content_type)
            .body(body.clone())
    });
    send_requests(requests.collect(), clients).await
}

async fn post_hec(
    server: &Server,
    token: &str,
    bodies: &[Vec<u8>],
    clients: usize,
) -> anyhow::Result<()> {
    let url = format!("{}/services/collector/event", server.base);
    let requests = bodies.iter().map(|body| {
        server
            .client
            .post(&url)
            .header("authorization", format!("Splunk {token}"))
            .body(body.clone())
    });
    send_requests(requests.collect(), clients).await
}

async fn send_requests(
    requests: Vec<reqwest::RequestBuilder>,
    clients: usize,
) -> anyhow::Result<()> {
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(requests.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let queue = std::sync::Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(request) = queue.lock().await.next() else {
                    return Ok::<_, anyhow::Error>(());
                };
                loop {
                    let attempt = request
                        .try_clone()
                        .ok_or_else(|| anyhow::anyhow!("request cannot be repeated"))?;
                    let response = attempt.send().await?;
                    let status = response.status().as_u16();
                    if status == 429 || status == 503 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    anyhow::ensure!(
                        response.status().is_success(),
                        "{status}: {}",
                        response.text().await?
                    );
                    break;
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// A forward-mode message `[tag, [[time, record], …], {"chunk": id}]`.
fn forward_message(lines: &[String], index: usize) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(lines.len() * 1500);
    rmp::encode::write_array_len(&mut out, 3)?;
    rmp::encode::write_str(&mut out, "proto_forward")?;
    rmp::encode::write_array_len(&mut out, lines.len() as u32)?;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as u32;
    for line in lines {
        rmp::encode::write_array_len(&mut out, 2)?;
        rmp::encode::write_u32(&mut out, seconds)?;
        write_msgpack(&mut out, &serde_json::from_str(line)?)?;
    }
    rmp::encode::write_map_len(&mut out, 1)?;
    rmp::encode::write_str(&mut out, "chunk")?;
    rmp::encode::write_str(&mut out, &format!("bench-{index}"))?;
    Ok(out)
}

fn write_msgpack(out: &mut Vec<u8>, value: &Value) -> anyhow::Result<()> {
    match value {
        Value::Null => rmp::encode::write_nil(out)?,
        Value::Bool(b) => rmp::encode::write_bool(out, *b)?,
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                rmp::encode::write_sint(out, i)?;
            }
            (None, Some(f)) => rmp::encode::write_f64(out, f)?,
            _ => rmp::encode::write_str(out, &n.to_string())?,
        },
        Value::String(s) => rmp::encode::write_str(out, s)?,
        Value::Array(items) => {
            rmp::encode::write_array_len(out, items.len() as u32)?;
            for item in items {
                write_msgpack(out, item)?;
            }
        }
        Value::Object(map) => {
            rmp::encode::write_map_len(out, map.len() as u32)?;
            for (key, item) in map {
                rmp::encode::write_str(out, key)?;
                write_msgpack(out, item)?;
            }
        }
    }
    Ok(())
}

/// Sends each message on one of `clients` connections and reads its `{"ack": …}`.
async fn send_forward(port: u16, messages: Vec<Vec<u8>>, clients: usize) -> anyhow::Result<()> {
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(messages.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let queue = std::sync::Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut answer = vec![0u8; 256];
            loop {
                let Some(message) = queue.lock().await.next() else {
                    return Ok::<_, anyhow::Error>(());
                };
                stream.write_all(&message).await?;
                let read = tokio::time::timeout(Duration::from_secs(120), stream.read(&mut answer))
                    .await??;
                anyhow::ensure!(read > 0, "the forward connection closed without an ack");
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Octet-counted RFC 5424 frames, the record's JSON as the message.
fn syslog_frames(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() * 1600);
    for line in lines {
        let message = format!("<14>1 - bench-host bench - - - {line}");
        out.extend_from_slice(format!("{} ", message.len()).as_bytes());
        out.extend_from_slice(message.as_bytes());
    }
    out
}

async fn send_syslog(port: u16, frames: Vec<Vec<u8>>, clients: usize) -> anyhow::Result<()> {
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(frames.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let queue = std::sync::Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            loop {
                let Some(frames) = queue.lock().await.next() else {
                    stream.shutdown().await?;
                    return Ok::<_, anyhow::Error>(());
                };
                stream.write_all(&frames).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
