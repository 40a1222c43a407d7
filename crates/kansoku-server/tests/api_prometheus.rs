//! The Prometheus API: remote_write 1.0 and 2.0 in (answers, headers, refusals, back-pressure),
//! PromQL out (`query`, `query_range` in Prometheus' JSON, GET and form POST, errors with
//! Prometheus' types), listings from series indexes, metadata, exemplars, OTLP metrics under
//! Prometheus names, fresh and flushed data read alike, organisations kept apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::prometheus::*;
use common::*;
use kansoku_ingest::decode::remote_write::{v1, v2};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const API: &str = "/api/default/prometheus/api/v1";
const STALE: u64 = 0x7ff0_0000_0000_0002;

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

async fn get(server: &TestServer, path_and_query: &str) -> (StatusCode, Value) {
    json_of(
        server
            .root(Method::GET, &format!("{API}/{path_and_query}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_form(
    server: &TestServer,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, Value) {
    let body: String = url_encoded(form);
    json_of(
        server
            .root(Method::POST, &format!("{API}/{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// `up` of two jobs every 15 s for 10 minutes, ending a few seconds ago, and a counter.
async fn load_sample_data(server: &TestServer, org: &str) -> i64 {
    let end = now_ms() / 15_000 * 15_000 - 15_000;
    let start = end - 600_000;
    let times: Vec<i64> = (0..=40).map(|i| start + i * 15_000).collect();
    let up = |job: &str, value: f64| {
        series(
            &[("__name__", "up"), ("instance", "host:9100"), ("job", job)],
            &times.iter().map(|t| (*t, value)).collect::<Vec<_>>(),
        )
    };
    let counter = series(
        &[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("job", "api"),
        ],
        &times
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, 10.0 * i as f64))
            .collect::<Vec<_>>(),
    );
    let response = write_v1(
        server,
        org,
        &v1::WriteRequest {
            timeseries: vec![up("api", 1.0), up("db", 0.0), counter],
            metadata: Vec::new(),
        },
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(headers["x-prometheus-remote-write-samples-written"], "123");
    assert_eq!(headers["x-prometheus-remote-write-histograms-written"], "0");
    assert_eq!(headers["x-prometheus-remote-write-exemplars-written"], "0");
    end
}

async fn check_queries(server: &TestServer, end: i64) {
    let (status, body) = get(server, &format!("query?query=up&time={}", seconds(end))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    let mut result = body["data"]["result"].as_array().unwrap().clone();
    result.sort_by_key(|r| r["metric"]["job"].as_str().unwrap().to_string());
    for sample in &result {
        assert_eq!(sample["value"][0].as_f64(), Some(seconds(end)));
    }
    let shapes: Vec<(Value, Value)> = result
        .iter()
        .map(|r| (r["metric"].clone(), r["value"][1].clone()))
        .collect();
    assert_eq!(
        shapes,
        vec![
            (
                json!({"__name__": "up", "instance": "host:9100", "job": "api"}),
                json!("1")
            ),
            (
                json!({"__name__": "up", "instance": "host:9100", "job": "db"}),
                json!("0")
            ),
        ],
        "internal columns such as __type__ are never labels"
    );
    let (status, body) = post_form(
        server,
        "query_range",
        &[
            (
                "query",
                "sum by (job) (rate(http_requests_total[2m]))".to_string(),
            ),
            ("start", seconds(end - 300_000).to_string()),
            ("end", seconds(end).to_string()),
            ("step", "60".to_string()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["resultType"], "matrix");
    let series = &body["data"]["result"][0];
    assert_eq!(series["metric"], json!({"job": "api"}));
    let values = series["values"].as_array().unwrap();
    assert_eq!(values.len(), 6);
    for value in values {
        let rate: f64 = value[1].as_str().unwrap().parse().unwrap();
        assert!((rate - 10.0 / 15.0).abs() < 1e-9, "{value}");
    }
    let (_, body) = get(
        server,
        &format!("query?query=count(up)%20%2F%200&time={}", seconds(end)),
    )
    .await;
    assert_eq!(body["data"]["result"][0]["value"][1], "+Inf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_then_promql_from_memory_and_from_files() {
    let server = TestServer::start().await;
    let end = load_sample_data(&server, "default").await;
    check_queries(&server, end).await;
    server.flush().await;
    check_queries(&server, end).await;
    let (_, body) = get(&server, "series?match[]=up&match[]=http_requests_total").await;
    let mut names: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["__name__"].as_str().unwrap(),
                s["job"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["http_requests_total/api", "up/api", "up/db"]);
    let (_, body) = get(&server, "labels").await;
    assert_eq!(body["data"], json!(["__name__", "code", "instance", "job"]));
    let (_, body) = get(&server, "label/__name__/values").await;
    assert_eq!(body["data"], json!(["http_requests_total", "up"]));
    let (_, body) = get(&server, "label/job/values?match[]=up").await;
    assert_eq!(body["data"], json!(["api", "db"]));
    let (_, body) = get(&server, "series?match[]=up&limit=1").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_markers_end_series_and_out_of_order_samples_land() {
    let server = TestServer::start().await;
    let t = now_ms() / 1000 * 1000 - 120_000;
    let stale = f64::from_bits(STALE);
    // Out of order on purpose: the later sample first.
    let request = v1::WriteRequest {
        timeseries: vec![
            series(
                &[("__name__", "queue_depth"), ("q", "a")],
                &[(t + 30_000, stale), (t, 4.0)],
            ),
            series(
                &[("__name__", "queue_depth"), ("q", "b")],
                &[(t + 30_000, 7.0), (t, 6.0)],
            ),
        ],
        metadata: Vec::new(),
    };
    assert_eq!(
        write_v1(&server, "default", &request).await.status(),
        StatusCode::NO_CONTENT
    );
    let at = |ms: i64| format!("query?query=queue_depth&time={}", seconds(ms));
    let (_, body) = get(&server, &at(t + 10_000)).await;
    assert_eq!(
        body["data"]["result"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    let (_, body) = get(&server, &at(t + 40_000)).await;
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "the stale marker ends q=a: {body}");
    assert_eq!(result[0]["metric"]["q"], "b");
    server.flush().await;
    let (_, body) = get(&server, &at(t + 40_000)).await;
    assert_eq!(
        body["data"]["result"].as_array().unwrap().len(),
        1,
        "stale markers survive a flush bit-exact"
    );
    let (_, body) = get(
        &server,
        &format!(
            "query?query=count_over_time(queue_depth[1m])&time={}",
            seconds(t + 40_000)
        ),
    )
    .await;
    let counts: Vec<&str> = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"][1].as_str().unwrap())
        .collect();
    assert_eq!(
        counts.iter().filter(|c| **c == "1").count(),
        1,
        "stale markers are not samples: {body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_statuses_prometheus_senders_expect() {
    let server = TestServer::start().await;
    let write = |content_type: &'static str, encoding: &'static str, body: Vec<u8>| {
        server
            .root(Method::POST, &format!("{API}/write"))
            .header("Content-Type", content_type)
            .header("Content-Encoding", encoding)
            .body(body)
            .send()
    };
    let valid = v1::WriteRequest {
        timeseries: vec![series(&[("__name__", "x")], &[(now_ms(), 1.0)])],
        metadata: Vec::new(),
    }
    .encode_to_vec();
    let response = write("application/json", "snappy", snappy(&valid))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.text().await.unwrap().contains("application/json"));
    let response = write("application/x-protobuf", "gzip", snappy(&valid))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = write(
        "application/x-protobuf;proto=foo.Bar",
        "snappy",
        snappy(&valid),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = write(
        "application/x-protobuf",
        "snappy",
        b"\xff\xff\xff garbage".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("snappy"));
    let response = write(
        "application/x-protobuf",
        "snappy",
        snappy(b"\x0a\xff\xff\xff\x0f"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("protobuf"));

    // One bad series, one old sample, two native histograms: refused and counted; the rest lands.
    let mut with_histograms = series(&[("__name__", "good"), ("job", "a")], &[(now_ms(), 1.0)]);
    with_histograms.histograms = vec![Default::default(), Default::default()];
    let request = v1::WriteRequest {
        timeseries: vec![
            with_histograms,
            series(&[("job", "nameless")], &[(now_ms(), 1.0)]),
            series(
                &[("__name__", "old")],
                &[(now_ms() - 40 * 86_400_000, 1.0), (now_ms(), 2.0)],
            ),
        ],
        metadata: Vec::new(),
    };
    let response = write_v1(&server, "default", &request).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["x-prometheus-remote-write-samples-written"],
        "2"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("2 samples refused: native histograms"),
        "{text}"
    );
    assert!(text.contains("metric name"), "{text}");
    assert!(text.contains("window"), "{text}");
    let (_, body) = get(&server, "query?query=good").await;
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 1);

    // Query errors in Prometheus' shape.
    let (status, body) = get(&server, "query?query=sum(").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    let (status, body) = get(&server, "query_range?query=up[5m]&start=1&end=100&step=10").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid expression type \"range vector\""),
        "{body}"
    );
    let (status, body) = get(&server, "query_range?query=up&start=1&end=100&step=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = get(&server, "query_range?query=up&start=100&end=1&step=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = get(&server, "query_range?query=up&start=0&end=100000&step=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("11,000"), "{body}");
    let (status, body) = get(&server, "query?query=up&time=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid parameter \"time\""),
        "{body}"
    );
    let (status, body) = get(
        &server,
        "query?query=label_replace(vector(1),%22a%22,%22%22,%22b%22,%22(%22)",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errorType"], "execution");
    let (status, _) = get(&server, "series").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "match[] is required");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_two_metadata_and_exemplars() {
    let server = TestServer::start().await;
    let t = now_ms() - 60_000;
    let symbols: Vec<String> = [
        "",
        "__name__",
        "orders_total",
        "job",
        "shop",
        "Orders placed.",
        "trace_id",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let request = v2::Request {
        symbols,
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![
                v2::Sample {
                    value: 1.0,
                    timestamp: t,
                    start_timestamp: 0,
                },
                v2::Sample {
                    value: 3.0,
                    timestamp: t + 15_000,
                    start_timestamp: 0,
                },
            ],
            histograms: Vec::new(),
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![6, 7],
                value: 2.0,
                timestamp: t + 15_000,
            }],
            metadata: Some(v2::Metadata {
                r#type: 1,
                help_ref: 5,
                unit_ref: 0,
            }),
        }],
    };
    let response = server
        .root(Method::POST, &format!("{API}/write"))
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "2.0.0")
        .body(snappy(&request.encode_to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()["x-prometheus-remote-write-samples-written"],
        "2"
    );
    assert_eq!(
        response.headers()["x-prometheus-remote-write-exemplars-written"],
        "1"
    );
    let (_, body) = get(&server, "metadata").await;
    assert_eq!(
        body["data"],
        json!({"orders_total": [{"type": "counter", "help": "Orders placed.", "unit": ""}]})
    );
    let (_, body) = get(&server, "metadata?metric=nothing").await;
    assert_eq!(body["data"], json!({}));
    let (_, body) = get(
        &server,
        &format!(
            "query_exemplars?query=rate(orders_total[5m])&start={}&end={}",
            seconds(t - 1000),
            seconds(t + 60_000)
        ),
    )
    .await;
    assert_eq!(
        body["data"][0]["exemplars"][0]["timestamp"].as_f64(),
        Some(seconds(t + 15_000))
    );
    assert_eq!(
        body["data"],
        json!([{
            "seriesLabels": {"__name__": "orders_total", "job": "shop"},
            "exemplars": [{"labels": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, "value": "2", "timestamp": body["data"][0]["exemplars"][0]["timestamp"].clone()}]
        }])
    );
    // A metadata-only request (what Prometheus sends every minute) is stored too.
    let metadata_only = v1::WriteRequest {
        timeseries: Vec::new(),
        metadata: vec![v1::MetricMetadata {
            r#type: 2,
            metric_family_name: "queue_depth".to_string(),
            help: "Items waiting.".to_string(),
            unit: "items".to_string(),
        }],
    };
    assert_eq!(
        write_v1(&server, "default", &metadata_only).await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, body) = get(&server, "metadata?metric=queue_depth").await;
    assert_eq!(body["data"]["queue_depth"][0]["type"], "gauge");
    let (_, body) = get(&server, "status/buildinfo").await;
    assert!(body["data"]["version"].as_str().unwrap().starts_with('3'));
    assert!(
        body["data"].get("features").is_none(),
        "Grafana would take us for Mimir"
    );
    let (_, body) = get(&server, "format_query?query=sum(rate(x[5m]))by(job)").await;
    assert_eq!(body["data"], "sum by (job) (rate(x[5m]))");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_metrics_are_queried_under_prometheus_names() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let server = TestServer::start().await;
    let text = |key: &str, value: &str| KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..KeyValue::default()
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    text("k8s.pod.name", "api-7f9"),
                    text("k8s.namespace.name", "shop"),
                ],
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "k8s.pod.memory.working_set".to_string(),
                    unit: "By".to_string(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: (now_ms() as u64 - 5_000) * 1_000_000,
                            value: Some(number_data_point::Value::AsInt(123_456_789)),
                            ..NumberDataPoint::default()
                        }],
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    };
    let response = server
        .root(Method::POST, "/api/default/v1/metrics")
        .header("Content-Type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, body) = get(
        &server,
        "query?query=k8s_pod_memory_working_set_bytes%7Bk8s_namespace_name%3D%22shop%22%7D",
    )
    .await;
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{body}");
    assert_eq!(result[0]["metric"]["k8s_pod_name"], "api-7f9");
    assert_eq!(result[0]["value"][1], "123456789");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_see_only_their_metrics_and_viewers_can_query() {
    let server = TestServer::start().await;
    load_sample_data(&server, "default").await;
    let secret = v1::WriteRequest {
        timeseries: vec![series(
            &[("__name__", "up"), ("job", "TOPSECRET")],
            &[(now_ms() - 1000, 1.0)],
        )],
        metadata: Vec::new(),
    };
    assert_eq!(
        write_v1(&server, "other", &secret).await.status(),
        StatusCode::NO_CONTENT
    );
    let (viewer, password) = server
        .create_user("default", "viewer@example.com", "viewer")
        .await;
    for path in [
        "query?query=up",
        "series?match[]=up",
        "label/job/values",
        "labels",
    ] {
        let response = server
            .as_user(&viewer, &password, Method::GET, &format!("{API}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.unwrap();
        assert!(!text.contains("TOPSECRET"), "{path}: {text}");
    }
    let (_, body) = json_of(
        server
            .root(Method::GET, "/api/other/prometheus/api/v1/label/job/values")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"], json!(["TOPSECRET"]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_answers_remote_write_with_503_and_retry_after() {
    let server = TestServer::start_overloaded().await;
    let request = v1::WriteRequest {
        timeseries: vec![series(&[("__name__", "x")], &[(now_ms(), 1.0)])],
        metadata: Vec::new(),
    };
    let response = write_v1(&server, "default", &request).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    server.repair_store().await;
    assert_eq!(
        write_v1(&server, "default", &request).await.status(),
        StatusCode::NO_CONTENT
    );
    server.stop().await;
}

/// Found by the protocols benchmark on Loki's route, which shared the flaw: a refused write was
/// answered before its body was read, so a sender still writing got a reset connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_answers_a_large_remote_write_instead_of_resetting_it() {
    let server = TestServer::start_overloaded().await;
    // Refused before decoding: the bytes need not be a valid request.
    let body = vec![0x5au8; LARGER_THAN_SOCKET_BUFFERS];
    assert_refusals_are_answered(|| {
        server
            .root(Method::POST, &format!("{API}/write"))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", "0.1.0")
            .body(body.clone())
    })
    .await;
    server.repair_store().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_limits_answer_with_prometheus_error_types() {
    let server = TestServer::start_with(|config| config.promql_max_samples = 50).await;
    let end = load_sample_data(&server, "default").await;
    let (status, body) = get(&server, &format!("query?query=up&time={}", seconds(end))).await;
    assert_eq!(status, StatusCode::OK, "few samples pass: {body}");
    let (status, body) = get(
        &server,
        &format!("query?query=sum_over_time(up[10m])&time={}", seconds(end)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errorType"], "execution");
    assert!(
        body["error"].as_str().unwrap().contains("too many samples"),
        "{body}"
    );
    let (status, body) = get(
        &server,
        &format!("query?query=up&time={}&timeout=0.0000001", seconds(end)),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["errorType"], "timeout");
    server.stop().await;
}
