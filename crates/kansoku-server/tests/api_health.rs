//! `GET /healthz`, `GET /readyz`, `GET /metrics`, `PUT /node/flush`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    let health = server
        .anonymous(Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let ready = server
        .anonymous(Method::GET, "/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    server
        .ingest("default", "app", &[json!({"a": 1}), json!({"a": "x"})])
        .await;
    // Metrics need root.
    assert_eq!(
        server
            .anonymous(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (user, password) = server
        .create_user("default", "admin@example.com", "admin")
        .await;
    assert_eq!(
        server
            .as_user(&user, &password, Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let metrics = server.root(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    for expected in [
        "kansoku_ingest_records_total{org=\"default\",stream_type=\"logs\",stream=\"app\"} 2",
        "kansoku_ingest_bytes_total{org=\"default\",stream_type=\"logs\",stream=\"app\"}",
        "kansoku_ingest_type_coercions_total{org=\"default\",stream_type=\"logs\",stream=\"app\"} 1",
        "kansoku_wal_fsync_seconds_bucket",
        "kansoku_memtable_active_bytes",
        "kansoku_process_resident_memory_bytes",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    server.flush().await;
    let text = server
        .root(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("kansoku_flush_flushes_total 1"), "{text}");
    assert!(text.contains("kansoku_flush_files_total 1"), "{text}");
    assert_eq!(
        server
            .as_user(&user, &password, Method::PUT, "/node/flush")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_made_public() {
    let server = TestServer::start_with(|c| c.metrics_public = true).await;
    assert_eq!(
        server
            .anonymous(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_json_404_and_the_ui_is_served() {
    let server = TestServer::start().await;
    let response = server
        .root(Method::GET, "/api/default/no/such/route")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["code"],
        404
    );
    let page = server.anonymous(Method::GET, "/").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    server.stop().await;
}
