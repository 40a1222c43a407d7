//! The trace explorer's API: trace search with span filters, the services summary and one
//! trace's spans, over spans sent by OTLP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::otlp::*;
use common::*;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn child(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &str,
    offset_ms: u64,
    length_ms: u64,
    error: bool,
) -> Span {
    let base = now_nanos() - 60_000_000_000;
    let start = base + offset_ms * 1_000_000 + u64::from(trace) * 1_000_000_000;
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.to_string(),
        kind: if parent.is_none() { 2 } else { 3 },
        start_time_unix_nano: start,
        end_time_unix_nano: start + length_ms * 1_000_000,
        attributes: vec![attribute("http.method", if error { "POST" } else { "GET" })],
        status: Some(Status {
            code: if error { 2 } else { 1 },
            message: String::new(),
        }),
        ..Span::default()
    }
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    json_of(server.root(Method::GET, path).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_searched_summarised_and_shown() {
    let server = TestServer::start().await;
    // Trace 1 (older): checkout, 100 ms, a failing child. Trace 2 (newer): checkout, 20 ms, fine.
    let request = trace_request(vec![
        child(1, 1, None, "POST /checkout", 0, 100, false),
        child(1, 2, Some(1), "charge card", 10, 80, true),
        child(2, 3, None, "GET /cart", 0, 20, false),
        child(2, 4, Some(3), "load cart", 2, 10, false),
    ]);
    let response = server
        .root(Method::POST, "/api/default/v1/traces")
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let from = now_micros() - 600_000_000;
    let window = format!("start_time={from}&end_time={}", now_micros() + 1_000_000);

    let (status, all) = get(
        &server,
        &format!("/api/default/default/traces/latest?{window}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let hits = all["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{all}");
    assert_eq!(
        hits[0]["trace_id"], "02020202020202020202020202020202",
        "newest first"
    );
    assert_eq!(
        hits[1]["operation_name"], "POST /checkout",
        "the root's operation"
    );
    assert_eq!(hits[1]["service_name"], "checkout");
    assert_eq!(hits[1]["spans"], 2);
    assert_eq!(hits[1]["errors"], 1);
    assert_eq!(hits[1]["duration"], 100_000);

    let only = |query: &'static str| {
        let path = format!("/api/default/default/traces/latest?{window}&{query}");
        let server = &server;
        async move {
            let (status, body) = get(server, &path).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["trace_id"].as_str().unwrap()[..2].to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(only("status=error").await, ["01"]);
    assert_eq!(only("operation=load%20cart").await, ["02"]);
    assert_eq!(only("min_duration=50000").await, ["01"]);
    assert_eq!(only("max_duration=15000").await, ["02"]);
    assert_eq!(only("filter=http.method%3DPOST").await, ["01"]);
    assert_eq!(only("service=checkout&status=ok").await, ["02", "01"]);
    assert!(only("filter=no.such.attribute%3Dx").await.is_empty());
    assert!(
        only("service=it%27s%20quoted").await.is_empty(),
        "quotes are literal text"
    );
    let (status, body) = get(
        &server,
        &format!("/api/default/default/traces/latest?{window}&status=weird"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, services) = get(
        &server,
        &format!("/api/default/default/traces/services?{window}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{services}");
    let checkout = &services["services"][0];
    assert_eq!(checkout["service_name"], "checkout");
    assert_eq!(checkout["spans"], 4);
    assert_eq!(checkout["requests"], 2, "the two server (root) spans");
    assert_eq!(checkout["errors"], 1);
    assert!(checkout["p99"].as_f64().unwrap() >= 80_000.0, "{checkout}");

    let (status, trace) = get(
        &server,
        "/api/default/default/traces/01010101010101010101010101010101",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    let spans = trace["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0]["operation_name"], "POST /checkout");
    assert_eq!(spans[1]["reference_parent_span_id"], "0101010101010101");
    let (status, _) = get(
        &server,
        "/api/default/default/traces/09090909090909090909090909090909",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&server, "/api/default/default/traces/x'%20OR%20'1'='1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A stream with no spans yet: nothing, not an error.
    let (status, empty) = get(&server, "/api/default/nothing/traces/latest").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["total"], 0);
    server.stop().await;
}
