//! `GET /api/{org}/{stream}/_tail`: live tail over Server-Sent Events — records acknowledged
//! after the tail opened arrive filtered by its query; bad queries and other orgs are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Reads SSE frames until one `records` event arrives; returns its rows.
async fn next_records(response: &mut reqwest::Response, buffer: &mut String) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut event = "";
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim();
                } else if let Some(chunk) = line.strip_prefix("data:") {
                    data.push_str(chunk.trim_start());
                }
            }
            match event {
                "records" => return serde_json::from_str(&data).unwrap(),
                "" => continue,
                other => panic!("unexpected event {other}: {data}"),
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("no tail event within 20 s")
            .unwrap()
            .expect("the tail ended");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

fn encoded(sql: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_streams_new_matching_records_of_its_stream_only() {
    let server = TestServer::start().await;
    server
        .ingest(
            "default",
            "app",
            &[json!({"log": "before the tail", "level": "error"})],
        )
        .await;
    let sql = encoded("SELECT log, level FROM app WHERE level = 'error'");
    let mut response = server
        .root(Method::GET, &format!("/api/default/app/_tail?sql={sql}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // Give the subscription a moment to be in place before ingesting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server
        .ingest(
            "default",
            "other",
            &[json!({"log": "other stream", "level": "error"})],
        )
        .await;
    server
        .ingest(
            "default",
            "app",
            &[
                json!({"log": "fine", "level": "info"}),
                json!({"log": "broken", "level": "error"}),
            ],
        )
        .await;
    let mut buffer = String::new();
    let rows = next_records(&mut response, &mut buffer).await;
    assert_eq!(rows, vec![json!({"log": "broken", "level": "error"})]);

    // A new field arriving after the tail opened is tailed too.
    server
        .ingest(
            "default",
            "app",
            &[json!({"log": "again", "level": "error", "pod": "p-1"})],
        )
        .await;
    let rows = next_records(&mut response, &mut buffer).await;
    assert_eq!(rows, vec![json!({"log": "again", "level": "error"})]);
    drop(response);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_without_a_query_sends_whole_records() {
    let server = TestServer::start().await;
    server
        .ingest("default", "app", &[json!({"log": "seed"})])
        .await;
    let mut response = server
        .root(Method::GET, "/api/default/app/_tail")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let timestamp = now_micros() / 1_000_000 * 1_000_000 - 60_000_000;
    server
        .ingest(
            "default",
            "app",
            &[json!({"log": "live", "_timestamp": timestamp})],
        )
        .await;
    let mut buffer = String::new();
    let rows = next_records(&mut response, &mut buffer).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["log"], "live");
    assert_eq!(rows[0]["_timestamp"], timestamp);
    drop(response);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tails_are_refused_before_streaming() {
    let server = TestServer::start().await;
    server.ingest("team-a", "app", &[json!({"log": "a"})]).await;
    server
        .ingest("default", "app", &[json!({"log": "d"})])
        .await;
    let (email, password) = server
        .create_user("default", "viewer@example.com", "viewer")
        .await;
    let cases = [
        (
            format!("/api/default/app/_tail?sql={}", encoded("DELETE FROM app")),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/api/default/app/_tail?sql={}",
                encoded("SELECT * FROM app JOIN app2 ON true")
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/api/default/app/_tail?sql={}",
                encoded("SELECT nope FROM app")
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/api/default/app/_tail?sql={}",
                encoded("SELECT * FROM other")
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/default/app/_tail?sql=%%".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/default/app/_tail?type=bogus".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        ("/api/team-a/app/_tail".to_string(), StatusCode::FORBIDDEN),
    ];
    for (path, expected) in cases {
        let (status, body) = json_of(
            server
                .as_user(&email, &password, Method::GET, &path)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    let response = server
        .anonymous(Method::GET, "/api/default/app/_tail")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}
