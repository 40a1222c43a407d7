//! Splunk's HTTP Event Collector (`/services/collector/...`): JSON events and raw lines from
//! hand-built requests as HEC senders make them, the ingestion token naming the organization,
//! `index` naming the stream, HEC's answers and codes for every bad input while the rest of a
//! batch is stored, indexer acknowledgement, health and back-pressure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EVENT: &str = "/services/collector/event";
const RAW: &str = "/services/collector/raw";

async fn token(server: &TestServer, org: &str) -> String {
    let response = server
        .root(Method::POST, &format!("/api/{org}/ingestion-tokens"))
        .json(&json!({"name": "hec"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert!(status.is_success(), "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn send(
    server: &TestServer,
    path: &str,
    authorization: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let response = server
        .anonymous(Method::POST, path)
        .header("authorization", authorization)
        .body(body)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_land_in_the_org_of_the_token_and_the_stream_of_their_index() {
    let server = TestServer::start().await;
    server.create_org("team").await;
    let splunk = format!("Splunk {}", token(&server, "team").await);
    let seconds = now_micros() / 1_000_000 - 60;
    // Concatenated events, as HEC senders batch them: an object event, a text event, a
    // number; metadata, indexed fields, and a time with a fraction.
    let body = format!(
        r#"{{"time": {seconds}.123456, "host": "node-1", "source": "/var/log/pods/shop_cart-1/app/0.log", "sourcetype": "_json", "index": "k8s", "event": {{"level": "error", "http": {{"status": 503}}}}, "fields": {{"cluster": "prod", "level": "not this"}}}}
{{"time": "{seconds}.5", "index": "k8s", "event": "a line of text"}} {{"time": {seconds}, "event": 42}}"#
    );
    let (status, answer) = send(&server, EVENT, &splunk, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"text": "Success", "code": 0}));

    let rows = server
        .search(
            "team",
            "SELECT _timestamp, level, http_status, host, source, sourcetype, \"cluster\", message FROM k8s ORDER BY _timestamp",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["_timestamp"], seconds * 1_000_000 + 123_456);
    assert_eq!(rows[0]["level"], "error");
    assert_eq!(rows[0]["http_status"], 503);
    assert_eq!(rows[0]["host"], "node-1");
    assert_eq!(rows[0]["source"], "/var/log/pods/shop_cart-1/app/0.log");
    assert_eq!(rows[0]["sourcetype"], "_json");
    assert_eq!(rows[0]["cluster"], "prod");
    assert_eq!(rows[1]["message"], "a line of text");
    assert_eq!(rows[1]["_timestamp"], seconds * 1_000_000 + 500_000);
    let fallback = server
        .search("team", "SELECT message FROM \"default\"")
        .await;
    assert_eq!(fallback, vec![json!({"message": "42"})]);
    // The token's organization only: nothing went to `default`.
    server.assert_no_stream("default", "k8s").await;

    // gzip, and the `/services/collector` alias with `index` from the query string.
    let response = server
        .anonymous(
            Method::POST,
            "/services/collector?index=zipped&host=from-query",
        )
        .header("authorization", &splunk)
        .header("content-encoding", "gzip")
        .body(gzip(br#"{"event": {"msg": "compressed"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let rows = server.search("team", "SELECT msg, host FROM zipped").await;
    assert_eq!(
        rows,
        vec![json!({"msg": "compressed", "host": "from-query"})]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_lines_with_basic_credentials_and_indexer_acknowledgement() {
    let server = TestServer::start().await;
    let token = token(&server, "default").await;
    let seconds = now_micros() / 1_000_000 - 30;
    let response = server
        .anonymous(
            Method::POST,
            &format!("{RAW}/1.0?index=nginx&sourcetype=access_combined&host=web-1&time={seconds}"),
        )
        .basic_auth("anything", Some(&token))
        .header(
            "x-splunk-request-channel",
            "0B6A3C5E-1111-2222-3333-444455556666",
        )
        .body("GET / 200\r\nGET /cart 404\n\n")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["code"], 0);
    let ack_id = answer["ackId"]
        .as_u64()
        .expect("an ackId for a request with a channel");
    let rows = server
        .search(
            "default",
            "SELECT message, sourcetype, host, _timestamp FROM nginx ORDER BY message",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["message"], "GET / 200");
    assert_eq!(rows[1]["message"], "GET /cart 404");
    assert_eq!(rows[1]["sourcetype"], "access_combined");
    assert_eq!(rows[1]["host"], "web-1");
    assert_eq!(rows[1]["_timestamp"], seconds * 1_000_000);

    // The ack query: the id handed out is acknowledged (it was durable before it was given).
    let response = server
        .anonymous(Method::POST, "/services/collector/ack?channel=x")
        .header("authorization", format!("Splunk {token}"))
        .json(&json!({"acks": [ack_id]}))
        .send()
        .await
        .unwrap();
    let (status, acks) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(acks["acks"][ack_id.to_string()], true);
    // Without a channel there is no ackId.
    let (status, answer) = send(&server, RAW, &format!("Splunk {token}"), "line").await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.get("ackId").is_none(), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_alone_with_hec_codes_and_counted() {
    let server = TestServer::start().await;
    let splunk = format!("Splunk {}", token(&server, "default").await);

    // Event 1 has no `event`: refused with code 12; the others are stored.
    let body = r#"{"event": "first", "index": "mixed"} {"index": "mixed"} {"event": "third", "index": "mixed"}"#;
    let (status, answer) = send(&server, EVENT, &splunk, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], 12);
    assert_eq!(answer["invalid-event-number"], 1);
    let text = answer["text"].as_str().unwrap();
    assert!(text.starts_with("1 of 3 events refused"), "{text}");
    assert!(text.contains("no \"event\" field"), "{text}");
    let rows = server
        .search("default", "SELECT message FROM mixed ORDER BY message")
        .await;
    assert_eq!(
        rows,
        vec![json!({"message": "first"}), json!({"message": "third"})]
    );

    // A blank event (13), a bad time (6), a syntax error that ends the body (6), an index that
    // cannot name a stream: each refused and named, the good events stored.
    for (body, code, number, says) in [
        (
            r#"{"event": "ok", "index": "more"} {"event": "  "}"#,
            13,
            Some(1),
            "blank",
        ),
        (
            r#"{"event": "x", "time": "yesterday"} {"event": "ok", "index": "more"}"#,
            6,
            Some(0),
            "epoch seconds",
        ),
        (
            r#"{"event": "ok", "index": "more"} {"event": "cut"#,
            6,
            Some(1),
            "invalid JSON",
        ),
        (
            r#"{"event": "ok", "index": "more"} {"event": "x", "index": "bad/name"}"#,
            6,
            None,
            "stream",
        ),
    ] {
        let (status, answer) = send(&server, EVENT, &splunk, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], code, "{body}: {answer}");
        match number {
            Some(number) => assert_eq!(answer["invalid-event-number"], number, "{answer}"),
            None => assert!(answer.get("invalid-event-number").is_none(), "{answer}"),
        }
        assert!(
            answer["text"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    let stored = server
        .search("default", "SELECT count(*) AS n FROM more")
        .await;
    assert_eq!(stored[0]["n"], 4);
    let discarded = server
        .metric_when("kansoku_ingest_discarded", "invalid_hec", 5.0)
        .await;
    assert!(discarded >= 5.0, "{discarded}");

    // No data (5), a bad query-string time (6), a body that is not gzip as it says (6).
    let (status, answer) = send(&server, EVENT, &splunk, " \n").await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(5))
    );
    let (status, answer) = send(&server, &format!("{RAW}?time=noon"), &splunk, "x").await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(6))
    );
    let response = server
        .anonymous(Method::POST, EVENT)
        .header("authorization", &splunk)
        .header("content-encoding", "gzip")
        .body("not gzip")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_before_anything_is_read() {
    let server = TestServer::start().await;
    let body = r#"{"event": "x", "index": "nope"}"#;
    let response = server
        .anonymous(Method::POST, EVENT)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(2))
    );
    for (authorization, expected_status, code) in [
        ("Bearer kso_ingest_x", StatusCode::UNAUTHORIZED, 3),
        (
            "Splunk 00000000-0000-0000-0000-000000000000",
            StatusCode::FORBIDDEN,
            4,
        ),
        (
            "Splunk kso_ingest_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            StatusCode::FORBIDDEN,
            4,
        ),
    ] {
        let (status, answer) = send(&server, EVENT, authorization, body).await;
        assert_eq!(status, expected_status, "{authorization}: {answer}");
        assert_eq!(answer["code"], code, "{authorization}: {answer}");
    }
    // A user's password is not an ingestion token: the organization would be unknown.
    let response = server
        .root(Method::POST, EVENT)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["text"].as_str().unwrap().contains("ingestion token"));
    // A revoked token is refused.
    let token = token(&server, "default").await;
    let revoke = server
        .root(Method::DELETE, "/api/default/ingestion-tokens/hec")
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success());
    let (status, _) = send(&server, EVENT, &format!("Splunk {token}"), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.assert_no_stream("default", "nope").await;

    // Health needs no token and tells only that events are accepted.
    for path in [
        "/services/collector/health",
        "/services/collector/health/1.0",
    ] {
        let response = server.anonymous(Method::GET, path).send().await.unwrap();
        let (status, answer) = json_of(response).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer, json!({"text": "HEC is healthy", "code": 17}));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_server_busy_with_retry_after() {
    let server = TestServer::start_overloaded().await;
    let splunk = format!("Splunk {}", token(&server, "default").await);
    let body = r#"{"event": "later", "index": "busy"}"#;
    let response = server
        .anonymous(Method::POST, EVENT)
        .header("authorization", &splunk)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let (_, answer) = json_of(response).await;
    assert_eq!(answer["code"], 9);
    server.repair_store().await;
    let (status, answer) = send(&server, EVENT, &splunk, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    server.stop().await;
}
