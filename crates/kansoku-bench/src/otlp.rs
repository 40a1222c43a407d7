//! The OTLP benchmark: pre-encoded batches of realistic spans and log records replayed over
//! OTLP/HTTP (protobuf) and OTLP/gRPC with concurrent clients; spans/s and log records/s per
//! server CPU-second and stored bytes per span, against a baseline measured in the same run: the
//! same batches only decoded by prost on one thread (what any OTLP receiver must at least do).

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::Value;

use crate::process::{PASSWORD, Server, USER};
use crate::random::Rng;

/// Spans (and log records) per request.
const BATCH: usize = 500;
const SERVICES: [&str; 8] = [
    "checkout",
    "cart",
    "payment",
    "shipping",
    "catalog",
    "frontend",
    "auth",
    "recommendation",
];
const ROUTES: [&str; 10] = [
    "/api/cart",
    "/api/checkout",
    "/api/pay",
    "/api/ship",
    "/api/products",
    "/api/login",
    "/api/recommend",
    "/healthz",
    "/api/orders",
    "/api/users",
];

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

fn resource(random: &mut Rng, service: &str) -> Option<Resource> {
    let pod = format!(
        "{service}-{:x}-{:x}",
        random.next() % 4096,
        random.next() % 65536
    );
    Some(Resource {
        attributes: vec![
            text("service.name", service),
            text("service.version", "1.4.2"),
            text("k8s.namespace.name", "shop"),
            text("k8s.pod.name", pod),
            text("k8s.node.name", format!("node-{}", random.next() % 6)),
            text("host.arch", "amd64"),
        ],
        ..Resource::default()
    })
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// `count` spans in traces of 5, as requests of [`BATCH`] spans.
fn span_batches(count: usize, random: &mut Rng) -> Vec<ExportTraceServiceRequest> {
    let now = now_nanos();
    let mut batches = Vec::new();
    for _ in 0..count.div_ceil(BATCH) {
        let mut resource_spans = Vec::new();
        for _ in 0..BATCH / 5 {
            let trace_id = random.bytes(16);
            let root_id = random.bytes(8);
            let start = now - (random.next() % 3_000_000) * 1_000_000;
            let service = random.pick(&SERVICES);
            let route = random.pick(&ROUTES);
            let failed = random.next().is_multiple_of(20);
            let mut spans = Vec::with_capacity(5);
            for index in 0..5u64 {
                let span_start = start + index * 2_000_000;
                let length = 1_000_000 + random.next() % 80_000_000;
                spans.push(Span {
                    trace_id: trace_id.clone(),
                    span_id: if index == 0 {
                        root_id.clone()
                    } else {
                        random.bytes(8)
                    },
                    parent_span_id: if index == 0 {
                        Vec::new()
                    } else {
                        root_id.clone()
                    },
                    name: if index == 0 {
                        format!("GET {route}")
                    } else {
                        format!(
                            "{} {}",
                            random.pick(&["SELECT", "call", "publish", "GET"]),
                            random.pick(&ROUTES)
                        )
                    },
                    kind: if index == 0 { 2 } else { 3 },
                    start_time_unix_nano: span_start,
                    end_time_unix_nano: span_start + length,
                    attributes: vec![
                        text("http.method", "GET"),
                        text("http.route", route),
                        int(
                            "http.status_code",
                            if failed && index == 4 { 500 } else { 200 },
                        ),
                        text(
                            "net.peer.name",
                            format!("{}.shop.svc", random.pick(&SERVICES)),
                        ),
                    ],
                    status: Some(Status {
                        code: if failed && index == 4 { 2 } else { 1 },
                        message: if failed && index == 4 {
                            "upstream timeout".to_string()
                        } else {
                            String::new()
                        },
                    }),
                    ..Span::default()
                });
            }
            resource_spans.push(ResourceSpans {
                resource: resource(random, service),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            });
        }
        batches.push(ExportTraceServiceRequest { resource_spans });
    }
    batches
}

/// `count` log records as requests of [`BATCH`].
fn log_batches(count: usize, random: &mut Rng) -> Vec<ExportLogsServiceRequest> {
    let now = now_nanos();
    let mut batches = Vec::new();
    for _ in 0..count.div_ceil(BATCH) {
        let mut resource_logs = Vec::new();
        for _ in 0..BATCH / 50 {
            let service = random.pick(&SERVICES);
            let records = (0..50)
                .map(|_| {
                    let error = random.next().is_multiple_of(10);
                    LogRecord {
                        time_unix_nano: now - (random.next() % 3_000_000) * 1_000_000,
                        severity_number: if error { 17 } else { 9 },
                        severity_text: if error { "ERROR" } else { "INFO" }.to_string(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!(
                                "{} {} handled in {} ms for user {} {}",
                                random.pick(&["GET", "POST"]),
                                random.pick(&ROUTES),
                                random.next() % 900,
                                random.next() % 100_000,
                                if error {
                                    "— upstream timeout, retrying"
                                } else {
                                    ""
                                }
                            ))),
                        }),
                        trace_id: random.bytes(16),
                        span_id: random.bytes(8),
                        attributes: vec![
                            text("logger", "http"),
                            int("thread.id", (random.next() % 64) as i64),
                        ],
                        ..LogRecord::default()
                    }
                })
                .collect();
            resource_logs.push(ResourceLogs {
                resource: resource(random, service),
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            });
        }
        batches.push(ExportLogsServiceRequest { resource_logs });
    }
    batches
}

/// CPU seconds of the calling thread.
fn thread_cpu_seconds() -> f64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time);
    }
    time.tv_sec as f64 + time.tv_nsec as f64 / 1e9
}

/// Items per CPU-second of decoding `bodies` with prost on one thread.
fn decode_baseline<T: Message + Default>(bodies: &[Vec<u8>], items: usize) -> anyhow::Result<f64> {
    let started = thread_cpu_seconds();
    let mut decoded = 0usize;
    for body in bodies {
        let message = T::decode(body.as_slice())?;
        decoded += message.encoded_len().min(1);
    }
    anyhow::ensure!(decoded == bodies.len(), "baseline decode lost messages");
    Ok(items as f64 / (thread_cpu_seconds() - started).max(1e-9))
}

/// Sends every item with `workers` concurrent senders, each taking the next item when done.
async fn in_parallel<T, F, Fut>(items: Vec<T>, workers: usize, send: F) -> anyhow::Result<()>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let queue = Arc::new(tokio::sync::Mutex::new(items));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(item) = queue.lock().await.pop() else {
                    return Ok::<_, anyhow::Error>(());
                };
                send(item).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// OTLP/HTTP protobuf bodies to `path`, retried while the server answers 429/503.
async fn post_all(
    server: &Server,
    path: &str,
    stream: &str,
    bodies: Vec<Vec<u8>>,
    clients: usize,
) -> anyhow::Result<()> {
    let client = server.client.clone();
    let url = format!("{}{path}", server.base);
    let stream = stream.to_string();
    in_parallel(bodies, clients, move |body| {
        let (client, url, stream) = (client.clone(), url.clone(), stream.clone());
        async move {
            loop {
                let response = client
                    .post(&url)
                    .basic_auth(USER, Some(PASSWORD))
                    .header("content-type", "application/x-protobuf")
                    .header("stream-name", &stream)
                    .body(body.clone())
                    .send()
                    .await?;
                let status = response.status().as_u16();
                if status == 429 || status == 503 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                anyhow::ensure!(status == 200, "OTLP/HTTP export failed: {status}");
                return Ok(());
            }
        }
    })
    .await
}

fn metadata<T>(message: T, stream: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    let auth = format!("Basic {}", base64_of(&format!("{USER}:{PASSWORD}")));
    request
        .metadata_mut()
        .insert("authorization", auth.parse()?);
    request
        .metadata_mut()
        .insert("organization", "default".parse()?);
    request
        .metadata_mut()
        .insert("stream-name", stream.parse()?);
    Ok(request)
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn grpc_traces(
    server: &Server,
    stream: &str,
    batches: Vec<ExportTraceServiceRequest>,
    clients: usize,
) -> anyhow::Result<()> {
    let client = TraceServiceClient::connect(server.grpc.clone()).await?;
    let stream = stream.to_string();
    in_parallel(batches, clients, move |batch| {
        let (mut client, stream) = (client.clone(), stream.clone());
        async move {
            let response = client.export(metadata(batch, &stream)?).await?;
            anyhow::ensure!(
                response.get_ref().partial_success.is_none(),
                "spans refused"
            );
            Ok(())
        }
    })
    .await
}

async fn grpc_logs(
    server: &Server,
    stream: &str,
    batches: Vec<ExportLogsServiceRequest>,
    clients: usize,
) -> anyhow::Result<()> {
    let client = LogsServiceClient::connect(server.grpc.clone()).await?;
    let stream = stream.to_string();
    in_parallel(batches, clients, move |batch| {
        let (mut client, stream) = (client.clone(), stream.clone());
        async move {
            let response = client.export(metadata(batch, &stream)?).await?;
            anyhow::ensure!(
                response.get_ref().partial_success.is_none(),
                "log records refused"
            );
            Ok(())
        }
    })
    .await
}

async fn stored_bytes(
    server: &Server,
    stream_type: &str,
    stream: &str,
) -> anyhow::Result<(u64, u64)> {
    let streams: Value = server
        .client
        .get(format!(
            "{}/api/default/streams?type={stream_type}",
            server.base
        ))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?
        .json()
        .await?;
    let found = streams["list"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == stream))
        .ok_or_else(|| anyhow::anyhow!("stream {stream} missing"))?;
    Ok((
        found["stats"]["stored_bytes"].as_u64().unwrap_or(0),
        found["stats"]["doc_num"].as_u64().unwrap_or(0),
    ))
}

/// Measures one phase: server CPU seconds used while `work` runs.
async fn measured<F: std::future::Future<Output = anyhow::Result<()>>>(
    server: &Server,
    work: F,
) -> anyhow::Result<(f64, f64)> {
    let cpu = server.cpu_seconds()?;
    let started = Instant::now();
    work.await?;
    Ok((server.cpu_seconds()? - cpu, started.elapsed().as_secs_f64()))
}

/// Runs the OTLP benchmark and prints its section.
pub async fn run(server: &Server, spans: usize, logs: usize, clients: usize) -> anyhow::Result<()> {
    let mut random = Rng(42);
    let http_spans = span_batches(spans, &mut random);
    let grpc_spans = span_batches(spans, &mut random);
    let http_logs = log_batches(logs, &mut random);
    let grpc_logs_batches = log_batches(logs, &mut random);
    let span_bodies: Vec<Vec<u8>> = http_spans.iter().map(Message::encode_to_vec).collect();
    let log_bodies: Vec<Vec<u8>> = http_logs.iter().map(Message::encode_to_vec).collect();
    let span_count = http_spans.len() * BATCH;
    let log_count = http_logs.len() * BATCH;
    let protobuf_bytes_per_span =
        span_bodies.iter().map(Vec::len).sum::<usize>() as f64 / span_count as f64;
    let span_baseline = decode_baseline::<ExportTraceServiceRequest>(&span_bodies, span_count)?;
    let log_baseline = decode_baseline::<ExportLogsServiceRequest>(&log_bodies, log_count)?;

    let (span_http_cpu, span_http_wall) = measured(server, async {
        post_all(
            server,
            "/api/default/v1/traces",
            "otlp_http",
            span_bodies,
            clients,
        )
        .await
    })
    .await?;
    let (span_grpc_cpu, span_grpc_wall) = measured(
        server,
        grpc_traces(server, "otlp_grpc", grpc_spans, clients),
    )
    .await?;
    let (log_http_cpu, log_http_wall) = measured(server, async {
        post_all(
            server,
            "/api/default/v1/logs",
            "otlp_logs_http",
            log_bodies,
            clients,
        )
        .await
    })
    .await?;
    let (log_grpc_cpu, log_grpc_wall) = measured(
        server,
        grpc_logs(server, "otlp_logs_grpc", grpc_logs_batches, clients),
    )
    .await?;
    let flush_cpu = server.cpu_seconds()?;
    let flushed = server
        .client
        .put(format!("{}/node/flush", server.base))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await?;
    anyhow::ensure!(flushed.status().is_success(), "flush failed");
    // The flush (Parquet encoding of everything above) is shared out by item count.
    let flush_seconds = server.cpu_seconds()? - flush_cpu;
    let total_items = (2 * span_count + 2 * log_count) as f64;
    let flush_share = |items: usize| flush_seconds * items as f64 / total_items;
    let (stored_http, rows_http) = stored_bytes(server, "traces", "otlp_http").await?;
    let (stored_grpc, rows_grpc) = stored_bytes(server, "traces", "otlp_grpc").await?;
    anyhow::ensure!(
        rows_http as usize == span_count && rows_grpc as usize == span_count,
        "stored {rows_http} + {rows_grpc} spans of {span_count} + {span_count}"
    );
    let stored_per_span = (stored_http + stored_grpc) as f64 / (2 * span_count) as f64;

    let rate = |items: usize, cpu: f64| items as f64 / (cpu + flush_share(items)).max(1e-9);
    println!(
        "\n## OTLP ({span_count} spans and {log_count} log records per transport, {BATCH} per request, {clients} clients, fsync on)\n"
    );
    println!(
        "| measure | OTLP/HTTP protobuf | OTLP/gRPC | baseline: prost decode only (1 thread) | HTTP ratio | gRPC ratio |"
    );
    println!("|---|---|---|---|---|---|");
    let spans_http = rate(span_count, span_http_cpu);
    let spans_grpc = rate(span_count, span_grpc_cpu);
    println!(
        "| spans/s per server CPU-second | {spans_http:.0} | {spans_grpc:.0} | {span_baseline:.0} | {:.3} | {:.3} |",
        spans_http / span_baseline,
        spans_grpc / span_baseline
    );
    let logs_http = rate(log_count, log_http_cpu);
    let logs_grpc = rate(log_count, log_grpc_cpu);
    println!(
        "| log records/s per server CPU-second | {logs_http:.0} | {logs_grpc:.0} | {log_baseline:.0} | {:.3} | {:.3} |",
        logs_http / log_baseline,
        logs_grpc / log_baseline
    );
    println!("\n| measure | value |\n|---|---|");
    println!(
        "| stored bytes per span (Parquet, after flush) | {stored_per_span:.1} (protobuf on the wire: {protobuf_bytes_per_span:.1}; ratio {:.2}) |",
        stored_per_span / protobuf_bytes_per_span
    );
    println!(
        "| wall time: spans HTTP / gRPC, logs HTTP / gRPC | {span_http_wall:.1} s / {span_grpc_wall:.1} s / {log_http_wall:.1} s / {log_grpc_wall:.1} s |"
    );
    println!("| final flush CPU (shared out by item count above) | {flush_seconds:.1} s |");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(
            base64_of("root@example.com:Complexpass#123"),
            "cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM="
        );
        assert_eq!(base64_of("ab"), "YWI=");
    }

    #[test]
    fn batches_hold_valid_spans() {
        let batches = span_batches(1000, &mut Rng(1));
        assert_eq!(batches.len(), 2);
        let spans: Vec<&Span> = batches[0]
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
        assert_eq!(spans.len(), BATCH);
        assert!(spans.iter().all(|s| s.trace_id.len() == 16
            && s.span_id.len() == 8
            && s.trace_id.iter().all(|b| *b != 0)));
    }
}
