//! OTLP ingest end to end on the real server: HTTP (protobuf and JSON, gzip) and gRPC for logs,
//! traces and metrics; partial success for bad items; bad bodies answered per the specification;
//! and the Python OpenTelemetry SDK's exporters against both transports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::otlp::*;
use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn post_otlp(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (StatusCode, Vec<u8>) {
    let mut request = server
        .root(Method::POST, path)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn search_type(server: &TestServer, stream_type: &str, sql: &str) -> Vec<Value> {
    let now = now_micros();
    let (status, body) = json_of(
        server
            .root(Method::POST, &format!("/api/default/_search?type={stream_type}"))
            .json(&json!({"query": {"sql": sql, "start_time": now - 3_600_000_000i64, "end_time": now + 60_000_000, "from": 0, "size": 100}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sql}: {body}");
    body["hits"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_logs_in_protobuf_json_and_gzip_are_searchable() {
    let server = TestServer::start().await;
    let request = log_request("payment failed", vec![0x11; 16]);
    let (status, body) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "application/x-protobuf",
        request.encode_to_vec(),
        &[("stream-name", "otel_logs")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = ExportLogsServiceResponse::decode(body.as_slice()).unwrap();
    assert_eq!(response.partial_success, None);

    // OTLP/JSON as exporters send it: hex ids, decimal-string nanos, gzip.
    let nanos = now_nanos().to_string();
    let json_body = json!({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
        "scopeLogs": [{"scope": {"name": "web-logger", "version": "1.2"}, "logRecords": [{
            "timeUnixNano": nanos, "severityNumber": 9, "severityText": "INFO",
            "body": {"stringValue": "hello from json"},
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "attributes": [{"key": "retries", "value": {"intValue": "3"}}, {"key": "ratio", "value": {"doubleValue": 0.5}}]}]}]}]});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(json_body.to_string().as_bytes()).unwrap();
    let (status, body) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "application/json",
        gzip.finish().unwrap(),
        &[("stream-name", "otel_logs"), ("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({}));

    let hits = server
        .search("default", "SELECT * FROM otel_logs ORDER BY _timestamp")
        .await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    let proto = &hits[0];
    assert_eq!(proto["body"], "payment failed");
    assert_eq!(proto["severity_text"], "ERROR");
    assert_eq!(proto["severity_number"], 17);
    assert_eq!(proto["k8s_pod_name"], "checkout-7d9f");
    assert_eq!(proto["service_name"], "checkout");
    assert_eq!(proto["http_route"], "/pay");
    assert_eq!(proto["trace_id"], "11111111111111111111111111111111");
    assert_eq!(proto["span_id"], "2222222222222222");
    let from_json = &hits[1];
    assert_eq!(from_json["body"], "hello from json");
    assert_eq!(from_json["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(from_json["retries"], 3);
    assert_eq!(from_json["ratio"], 0.5);
    assert_eq!(from_json["instrumentation_library_name"], "web-logger");
    // Dotted names are facetable through their column.
    let facets = server
        .search(
            "default",
            "SELECT k8s_pod_name, count(*) AS n FROM otel_logs GROUP BY k8s_pod_name",
        )
        .await;
    assert!(
        facets.iter().any(|f| f["k8s_pod_name"] == "checkout-7d9f"),
        "{facets:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_sent_otlp_exports_are_stored_once() {
    let server = TestServer::start().await;
    let post = |path: &'static str, body: Vec<u8>| {
        post_otlp(&server, path, "application/x-protobuf", body, &[])
    };
    // An exporter's retry sends the very same request: its records are known by their content.
    let logs = log_request("sent twice", vec![0x55; 16]).encode_to_vec();
    let spans =
        trace_request(vec![span("GET /", vec![0x66; 16], vec![0x77; 8], false)]).encode_to_vec();
    for _ in 0..2 {
        assert_eq!(
            post("/api/default/v1/logs", logs.clone()).await.0,
            StatusCode::OK
        );
        assert_eq!(
            post("/api/default/v1/traces", spans.clone()).await.0,
            StatusCode::OK
        );
    }
    // A record carrying `log.record.uid` is known by it, whatever else differs.
    for body in ["first copy", "second copy"] {
        let mut request = log_request(body, vec![0x56; 16]);
        request.resource_logs[0].scope_logs[0].log_records[0]
            .attributes
            .push(attribute("log.record.uid", "01JDKZ3Q5V0000000000000000"));
        let (status, _) = post("/api/default/v1/logs", request.encode_to_vec()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let hits = server
        .search("default", "SELECT body, _id FROM \"default\" ORDER BY body")
        .await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0]["body"], "first copy");
    assert_eq!(hits[0]["_id"], "01JDKZ3Q5V0000000000000000");
    assert_eq!(hits[1]["body"], "sent twice");
    assert_eq!(hits[1]["_id"].as_str().unwrap().len(), 32, "{hits:?}");
    let traces = search_type(&server, "traces", "SELECT span_id FROM \"default\"").await;
    assert_eq!(traces.len(), 1, "{traces:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_land_with_their_fields_and_bad_ids_are_partial_failures() {
    let server = TestServer::start().await;
    let good_trace = vec![0xab; 16];
    let request = trace_request(vec![
        span("POST /pay", good_trace.clone(), vec![0x01; 8], true),
        span("zero ids", vec![0; 16], vec![0x02; 8], false),
        span("short id", vec![0xcd; 15], vec![0x03; 8], false),
    ]);
    let (status, body) = post_otlp(
        &server,
        "/api/default/v1/traces",
        "application/x-protobuf",
        request.encode_to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("all zeros"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("16 bytes"),
        "{}",
        partial.error_message
    );

    let hits = search_type(&server, "traces", "SELECT * FROM \"default\"").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let stored = &hits[0];
    assert_eq!(stored["trace_id"], "abababababababababababababababab");
    assert_eq!(stored["span_id"], "0101010101010101");
    assert_eq!(stored["operation_name"], "POST /pay");
    assert_eq!(stored["service_name"], "checkout");
    assert_eq!(stored["service_k8s_pod_name"], "checkout-7d9f");
    assert_eq!(stored["span_kind"], "server");
    assert_eq!(stored["span_status"], "ERROR");
    assert_eq!(stored["status_message"], "card declined");
    assert_eq!(stored["duration"], 3500);
    assert_eq!(stored["http_method"], "POST");
    assert_eq!(stored["attr_duration"], "shadowed");
    assert_eq!(stored["events"], "[]");

    // Every span refused: 400 with a google.rpc.Status body.
    let bad = trace_request(vec![span("zero", vec![0; 16], vec![1; 8], false)]);
    let (status, body) = post_otlp(
        &server,
        "/api/default/v1/traces",
        "application/json",
        serde_json::to_vec(&bad).unwrap(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], 3, "{error}");
    assert!(error["message"].as_str().unwrap().contains("all zeros"));
    // The o2 alias.
    let (status, _) = post_otlp(
        &server,
        "/api/default/traces",
        "application/x-protobuf",
        request.encode_to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_metrics_become_prometheus_series_in_the_metrics_stream() {
    let server = TestServer::start().await;
    let point = |value: f64, route: &str| NumberDataPoint {
        time_unix_nano: now_nanos(),
        attributes: vec![attribute("http.route", route)],
        value: Some(number_data_point::Value::AsDouble(value)),
        ..NumberDataPoint::default()
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "http.requests".to_string(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![point(3.0, "/a"), point(5.0, "/b")],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Metric::default()
                    },
                    Metric {
                        name: "queue.depth".to_string(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point(7.0, "/a")],
                        })),
                        ..Metric::default()
                    },
                ],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    };
    let (status, _) = post_otlp(
        &server,
        "/api/default/v1/metrics",
        "application/x-protobuf",
        request.encode_to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let counter = search_type(
        &server,
        "metrics",
        "SELECT * FROM metrics WHERE __name__ = 'http_requests_total' ORDER BY http_route",
    )
    .await;
    assert_eq!(counter.len(), 2, "{counter:?}");
    assert_eq!(counter[0]["__type__"], "counter");
    assert_eq!(counter[0]["value"], 3.0);
    assert_eq!(counter[0]["http_route"], "/a");
    assert_eq!(counter[0]["service_name"], "checkout");
    assert_eq!(counter[0]["job"], "checkout");
    assert_eq!(counter[0]["k8s_pod_name"], "checkout-7d9f");
    let gauge = search_type(
        &server,
        "metrics",
        "SELECT * FROM metrics WHERE __name__ = 'queue_depth'",
    )
    .await;
    assert_eq!(gauge[0]["__type__"], "gauge");
    assert_eq!(gauge[0]["value"], 7.0);
    server.stop().await;
}

fn varint(mut value: usize, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field: tag, length, bytes.
fn field(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(tag << 3) | 2];
    varint(payload.len(), &mut out);
    out.extend_from_slice(payload);
    out
}

/// An `ExportLogsServiceRequest` whose one log body is an `AnyValue` nested `depth` levels deep
/// in key-value lists, written as raw protobuf (building it as messages would overflow the test's
/// own stack when encoded and dropped).
fn deep_log_request(depth: usize) -> Vec<u8> {
    let mut value = field(1, b"bottom"); // AnyValue.string_value
    for _ in 0..depth {
        let mut key_value = field(1, b"k"); // KeyValue.key
        key_value.extend(field(2, &value)); // KeyValue.value
        let list = field(1, &key_value); // KeyValueList.values
        value = field(6, &list); // AnyValue.kvlist_value
    }
    let record = field(5, &value); // LogRecord.body
    let scope = field(2, &record); // ScopeLogs.log_records
    let resource = field(2, &scope); // ResourceLogs.scope_logs
    field(1, &resource) // ExportLogsServiceRequest.resource_logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_otlp_bodies_are_answered_per_spec_and_the_server_survives() {
    let server = TestServer::start().await;
    let valid = log_request("ok", vec![0x33; 16]).encode_to_vec();
    let truncated = valid[..valid.len() / 2].to_vec();
    let wrong_type = trace_request(vec![span("s", vec![1; 16], vec![1; 8], false)]).encode_to_vec();
    let deep_json = format!(
        "{}\"x\"{}",
        "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":".repeat(10_000),
        "}]}}".repeat(10_000)
    );
    let deep_json = format!(
        "{{\"resourceLogs\":[{{\"scopeLogs\":[{{\"logRecords\":[{{\"body\":{deep_json}}}]}}]}}]}}"
    );
    for (what, content_type, body) in [
        ("truncated protobuf", "application/x-protobuf", truncated),
        (
            "a trace request sent as logs",
            "application/x-protobuf",
            wrong_type,
        ),
        (
            "10,000-deep AnyValue (protobuf)",
            "application/x-protobuf",
            deep_log_request(10_000),
        ),
        (
            "10,000-deep AnyValue (JSON)",
            "application/json",
            deep_json.into_bytes(),
        ),
        (
            "not JSON",
            "application/json",
            b"{\"resourceLogs\": [".to_vec(),
        ),
    ] {
        let (status, body) = post_otlp(
            &server,
            "/api/default/v1/logs",
            content_type,
            body,
            &[("stream-name", "bad")],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            String::from_utf8_lossy(&body)
        );
        if content_type == "application/json" {
            let error: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(error["code"], 3, "{what}");
        } else {
            let error = opentelemetry_proto_status(&body);
            assert_eq!(error.0, 3, "{what}");
            assert!(error.1.contains("invalid OTLP"), "{what}: {}", error.1);
        }
    }
    let (status, _) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "text/plain",
        b"x".to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Moderate nesting is kept (as JSON text of the structure).
    let (status, _) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "application/x-protobuf",
        deep_log_request(20),
        &[("stream-name", "bad")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Still serving; without credentials: 401.
    let (status, _) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "application/x-protobuf",
        valid.clone(),
        &[("stream-name", "bad")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = server
        .anonymous(Method::POST, "/api/default/v1/logs")
        .body(valid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.search("default", "SELECT * FROM bad").await.len(), 2);
    server.stop().await;
}

/// Decodes a `google.rpc.Status` (code 1, message 2) without a generated type.
fn opentelemetry_proto_status(bytes: &[u8]) -> (i32, String) {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let status = RpcStatus::decode(bytes).unwrap();
    (status.code, status.message)
}

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ROOT}:{ROOT_PASSWORD}"))
    )
}

fn grpc_request<T>(message: T, auth: Option<&str>, stream: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(auth) = auth {
        request
            .metadata_mut()
            .insert("authorization", auth.parse().unwrap());
    }
    request
        .metadata_mut()
        .insert("organization", "default".parse().unwrap());
    request
        .metadata_mut()
        .insert("stream-name", stream.parse().unwrap());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_accepts_authenticated_gzip_exports_and_refuses_the_rest() {
    let server = TestServer::start_with(|config| config.max_body_bytes = 256 * 1024).await;
    let address = format!("http://{}", server.node.as_ref().unwrap().grpc_addr);
    let mut logs = LogsServiceClient::connect(address.clone())
        .await
        .unwrap()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let auth = basic();
    let response = logs
        .export(grpc_request(
            log_request("over grpc", vec![0x44; 16]),
            Some(&auth),
            "grpc_logs",
        ))
        .await
        .unwrap();
    assert_eq!(response.get_ref().partial_success, None);
    let hits = server.search("default", "SELECT * FROM grpc_logs").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["body"], "over grpc");

    let status = logs
        .export(grpc_request(log_request("x", vec![]), None, "grpc_logs"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let status = logs
        .export(grpc_request(
            log_request("x", vec![]),
            Some("Basic d3Jvbmc6d3Jvbmc="),
            "grpc_logs",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    // Over the message size limit: RESOURCE_EXHAUSTED (sent uncompressed so the size counts).
    let mut plain = LogsServiceClient::connect(address.clone()).await.unwrap();
    let big = log_request(&"x".repeat(300 * 1024), vec![]);
    let status = plain
        .export(grpc_request(big, Some(&auth), "grpc_logs"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");

    let mut traces = TraceServiceClient::connect(address).await.unwrap();
    let response = traces
        .export(grpc_request(
            trace_request(vec![
                span("grpc span", vec![0x55; 16], vec![0x05; 8], false),
                span("bad", vec![0x55; 16], vec![0; 8], false),
            ]),
            Some(&auth),
            "default",
        ))
        .await
        .unwrap();
    assert_eq!(
        response
            .get_ref()
            .partial_success
            .as_ref()
            .unwrap()
            .rejected_spans,
        1
    );
    let spans = search_type(&server, "traces", "SELECT * FROM \"default\"").await;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0]["operation_name"], "grpc span");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_opentelemetry_sdk_exports_over_http_and_grpc() {
    let server = TestServer::start().await;
    let grpc = format!("http://{}", server.node.as_ref().unwrap().grpc_addr);
    let script = r#"
import base64, logging, os, sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
transport = os.environ["TRANSPORT"]
auth = "Basic " + base64.b64encode((os.environ["USER"] + ":" + os.environ["PASSWORD"]).encode()).decode()
stream = "py_" + transport
if transport == "http":
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    base = os.environ["BASE"] + "/api/default"
    headers = {"Authorization": auth, "stream-name": stream}
    span_exp = OTLPSpanExporter(endpoint=base + "/v1/traces", headers=headers)
    metric_exp = OTLPMetricExporter(endpoint=base + "/v1/metrics", headers=headers)
    log_exp = OTLPLogExporter(endpoint=base + "/v1/logs", headers=headers)
else:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    metadata = (("authorization", auth), ("organization", "default"), ("stream-name", stream))
    kw = dict(endpoint=os.environ["GRPC"], insecure=True, headers=metadata)
    span_exp, metric_exp, log_exp = OTLPSpanExporter(**kw), OTLPMetricExporter(**kw), OTLPLogExporter(**kw)
res = Resource.create({"service.name": "py-" + transport})
tp = TracerProvider(resource=res)
tp.add_span_processor(SimpleSpanProcessor(span_exp))
tracer = tp.get_tracer("probe")
with tracer.start_as_current_span("checkout") as parent:
    parent.set_attribute("cart.items", 3)
    with tracer.start_as_current_span("charge card") as child:
        trace_id = format(child.get_span_context().trace_id, "032x")
        lp = LoggerProvider(resource=res)
        lp.add_log_record_processor(SimpleLogRecordProcessor(log_exp))
        log = logging.getLogger("probe-" + transport)
        log.addHandler(LoggingHandler(logger_provider=lp))
        log.warning("card declined for order 42")
mp = MeterProvider(resource=res, metric_readers=[PeriodicExportingMetricReader(metric_exp, export_interval_millis=60000)])
mp.get_meter("probe").create_counter("orders_" + transport).add(3, {"route": "/x"})
mp.force_flush(); mp.shutdown(); tp.shutdown(); lp.shutdown()
print(trace_id)
"#;
    for transport in ["http", "grpc"] {
        let out = run_python(
            script,
            &[
                ("BASE", server.base.as_str()),
                ("GRPC", grpc.as_str()),
                ("TRANSPORT", transport),
            ],
        )
        .await;
        let trace_id = out.trim().to_string();
        let spans = search_type(
            &server,
            "traces",
            &format!("SELECT * FROM py_{transport} ORDER BY start_time"),
        )
        .await;
        assert_eq!(spans.len(), 2, "{transport}: {spans:?}");
        assert!(spans.iter().all(|s| s["trace_id"] == trace_id.as_str()));
        let child = spans
            .iter()
            .find(|s| s["operation_name"] == "charge card")
            .unwrap();
        let parent = spans
            .iter()
            .find(|s| s["operation_name"] == "checkout")
            .unwrap();
        assert_eq!(child["reference_parent_span_id"], parent["span_id"]);
        assert_eq!(parent["cart_items"], 3);
        assert_eq!(parent["service_name"], format!("py-{transport}").as_str());
        // The log carries the trace id of the span it was written in: trace ↔ log correlation.
        let logs = server
            .search(
                "default",
                &format!("SELECT * FROM py_{transport} WHERE trace_id = '{trace_id}'"),
            )
            .await;
        assert_eq!(logs.len(), 1, "{transport}: {logs:?}");
        assert_eq!(logs[0]["body"], "card declined for order 42");
        assert_eq!(logs[0]["severity_text"], "WARN");
        assert_eq!(logs[0]["span_id"], child["span_id"]);
        let metric = search_type(
            &server,
            "metrics",
            &format!("SELECT * FROM py_{transport} WHERE __name__ = 'orders_{transport}_total'"),
        )
        .await;
        assert!(!metric.is_empty(), "{transport}: no metric rows");
        assert_eq!(metric[0]["value"], 3.0);
        assert_eq!(metric[0]["__type__"], "counter");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_a_retryable_answer_on_both_transports() {
    let server = TestServer::start_overloaded().await;
    let body = log_request("while full", vec![0x66; 16]).encode_to_vec();
    let response = server
        .root(Method::POST, "/api/default/v1/logs")
        .header("content-type", "application/x-protobuf")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["x-kansoku-refusal"], "overloaded");
    let status = opentelemetry_proto_status(&response.bytes().await.unwrap());
    assert_eq!(status.0, 14, "UNAVAILABLE");
    let address = format!("http://{}", server.node.as_ref().unwrap().grpc_addr);
    let mut logs = LogsServiceClient::connect(address).await.unwrap();
    let refused = logs
        .export(grpc_request(
            log_request("while full", vec![0x66; 16]),
            Some(&basic()),
            "full",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.metadata().get("retry-after").is_some());
    assert_eq!(
        refused
            .metadata()
            .get("x-kansoku-refusal")
            .and_then(|value| value.to_str().ok()),
        Some("overloaded")
    );
    // Once memory is flushed, the retried export lands.
    server.repair_store().await;
    let (status, _) = post_otlp(
        &server,
        "/api/default/v1/logs",
        "application/x-protobuf",
        body,
        &[("stream-name", "full")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.search("default", "SELECT * FROM full").await.len(),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_named_like_otlp_path_segments_keep_their_routes() {
    let server = TestServer::start().await;
    for stream in ["v1", "otel", "traces"] {
        let report = server
            .ingest("default", stream, &[json!({"log": stream})])
            .await;
        assert_eq!(report["status"][0]["successful"], 1, "{stream}: {report}");
        let hits = server
            .search("default", &format!("SELECT log FROM \"{stream}\""))
            .await;
        assert_eq!(hits, vec![json!({"log": stream})], "{stream}");
    }
    for stream in ["v1", "otel"] {
        let response = server
            .root(Method::GET, &format!("/api/default/{stream}/traces/latest"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{stream}");
    }
    server.stop().await;
}
