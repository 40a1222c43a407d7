//! `POST /api/{org}/loki/api/v1/push`: Loki's push API as Promtail, Alloy and Loki logging
//! handlers send it — protobuf in snappy's block format and JSON (plain or gzip) — with stream
//! naming by label, 204 on success, 400 naming refused entries while the rest is stored, and a
//! real client (python-logging-loki).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::*;
use kansoku_ingest::decode::loki::{
    EntryAdapter, LabelPair, PushRequest, StreamAdapter, Timestamp,
};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PUSH: &str = "/api/default/loki/api/v1/push";

fn now_nanos() -> i64 {
    now_micros() * 1_000
}

fn entry(nanos: i64, line: &str, metadata: &[(&str, &str)]) -> EntryAdapter {
    EntryAdapter {
        timestamp: Some(Timestamp {
            seconds: nanos / 1_000_000_000,
            nanos: (nanos % 1_000_000_000) as i32,
        }),
        line: line.as_bytes().to_vec(),
        structured_metadata: metadata
            .iter()
            .map(|(name, value)| LabelPair {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect(),
    }
}

async fn push_protobuf(server: &TestServer, request: &PushRequest) -> reqwest::Response {
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap();
    server
        .root(Method::POST, PUSH)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn push_json(server: &TestServer, body: &Value, gzip: bool) -> reqwest::Response {
    let mut request = server
        .root(Method::POST, PUSH)
        .header("content-type", "application/json");
    let bytes = body.to_string().into_bytes();
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&bytes).unwrap();
        request = request
            .header("content-encoding", "gzip")
            .body(encoder.finish().unwrap());
    } else {
        request = request.body(bytes);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_pushes_land_in_the_streams_their_labels_name() {
    let server = TestServer::start().await;
    let now = now_nanos();
    let request = PushRequest {
        streams: vec![
            StreamAdapter {
                labels:
                    r#"{o2_stream_name="k8s", namespace="shop", pod="cart-1", container="app"}"#
                        .to_string(),
                entries: vec![
                    entry(now - 2_000_000, "GET /cart 200", &[("trace_id", "abc123")]),
                    entry(now - 1_000_000, "GET /cart 500", &[]),
                ],
                hash: 0,
            },
            StreamAdapter {
                labels: r#"{stream_name="legacy", job="varlogs"}"#.to_string(),
                entries: vec![entry(now, "from the legacy label", &[])],
                hash: 0,
            },
            StreamAdapter {
                labels: r#"{job="unnamed"}"#.to_string(),
                entries: vec![entry(now, "to the default stream", &[])],
                hash: 0,
            },
        ],
    };
    let response = push_protobuf(&server, &request).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let rows = server
        .search(
            "default",
            "SELECT namespace, pod, container, trace_id, message, _timestamp FROM k8s ORDER BY _timestamp",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["namespace"], "shop");
    assert_eq!(rows[0]["pod"], "cart-1");
    assert_eq!(rows[0]["trace_id"], "abc123");
    assert_eq!(rows[0]["message"], "GET /cart 200");
    assert_eq!(rows[0]["_timestamp"], (now - 2_000_000) / 1_000);
    assert_eq!(rows[1]["message"], "GET /cart 500");
    let legacy = server
        .search("default", "SELECT job, message FROM legacy")
        .await;
    assert_eq!(
        legacy,
        vec![json!({"job": "varlogs", "message": "from the legacy label"})]
    );
    let default = server
        .search("default", "SELECT job FROM \"default\"")
        .await;
    assert_eq!(default, vec![json!({"job": "unnamed"})]);
    // The naming labels are not stored as columns.
    let schema: Value = server
        .root(Method::GET, "/api/default/streams/k8s/schema")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!schema.to_string().contains("o2_stream_name"), "{schema}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_pushes_plain_and_gzip_with_structured_metadata() {
    let server = TestServer::start().await;
    let now = now_nanos();
    for (gzip, host) in [(false, "plain"), (true, "gzipped")] {
        let body = json!({"streams": [{
            "stream": {"o2_stream_name": "web", "host": host},
            "values": [
                [now.to_string(), "line one"],
                [(now + 1).to_string(), "line two", {"user": "u1", "trace.id": "t9"}]
            ]
        }]});
        let response = push_json(&server, &body, gzip).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{host}");
    }
    let rows = server
        .search(
            "default",
            "SELECT host, message, \"user\", trace_id FROM web ORDER BY host, message",
        )
        .await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["host"], "gzipped");
    assert_eq!(rows[1]["user"], "u1");
    assert_eq!(rows[1]["trace_id"], "t9");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_are_refused_with_their_reason_and_the_rest_is_stored() {
    let server = TestServer::start().await;
    let now = now_nanos().to_string();
    let body = json!({"streams": [
        {"stream": {"o2_stream_name": "mixed"}, "values": [
            [now, "good"],
            ["yesterday", "a time that is no number"],
            [now, 42]
        ]},
        {"stream": {"o2_stream_name": "mixed", "bad": 5}, "values": [[now, "label not a string"]]},
        {"stream": {"o2_stream_name": "mixed"}, "values": [["1000", "in 1970"]]}
    ]});
    let response = push_json(&server, &body, false).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("4 of 5 entries refused"), "{text}");
    for reason in ["yesterday", "line must be a string", "\"bad\"", "window"] {
        assert!(text.contains(reason), "{reason}: {text}");
    }
    assert_eq!(
        server.search("default", "SELECT message FROM mixed").await,
        vec![json!({"message": "good"})]
    );

    // Bodies that cannot be read at all.
    let not_snappy = server
        .root(Method::POST, PUSH)
        .header("content-type", "application/x-protobuf")
        .body(b"\xff\xff\xff\xff".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(not_snappy.status(), StatusCode::BAD_REQUEST);
    assert!(not_snappy.text().await.unwrap().contains("snappy"));
    let garbage = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff\xff\xff\xff")
        .unwrap();
    let not_protobuf = server
        .root(Method::POST, PUSH)
        .header("content-type", "application/x-protobuf")
        .body(garbage)
        .send()
        .await
        .unwrap();
    assert_eq!(not_protobuf.status(), StatusCode::BAD_REQUEST);
    assert!(not_protobuf.text().await.unwrap().contains("Loki protobuf"));
    let not_json = push_json(&server, &json!({"stream": []}), false).await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    // Any other content type is read as protobuf, as Loki does.
    let wrong_type = server
        .root(Method::POST, PUSH)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let anonymous = server
        .anonymous(Method::POST, PUSH)
        .header("content-type", "application/json")
        .body(json!({"streams": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_answers_a_loki_push_with_a_retryable_refusal() {
    let server = TestServer::start_overloaded().await;
    let body = json!({"streams": [{"stream": {"o2_stream_name": "full"}, "values": [[now_nanos().to_string(), "x"]]}]});
    let refused = push_json(&server, &body, false).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    server.repair_store().await;
    assert_eq!(
        push_json(&server, &body, false).await.status(),
        StatusCode::NO_CONTENT
    );
    server.stop().await;
}

/// Found by the protocols benchmark: a refused push was answered before its body was read, so a
/// sender still writing a large body got a reset connection instead of the 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_answers_a_large_loki_push_instead_of_resetting_it() {
    let server = TestServer::start_overloaded().await;
    let line = "x".repeat(4_000);
    let values: Vec<Value> = (0..LARGER_THAN_SOCKET_BUFFERS / line.len())
        .map(|i| json!([now_nanos().to_string(), format!("line {i} {line}")]))
        .collect();
    let body =
        json!({"streams": [{"stream": {"o2_stream_name": "full"}, "values": values}]}).to_string();
    assert_refusals_are_answered(|| {
        server
            .root(Method::POST, PUSH)
            .header("content-type", "application/json")
            .body(body.clone())
    })
    .await;
    server.repair_store().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_logging_loki_handler_pushes_records() {
    let server = TestServer::start().await;
    let script = r#"
import logging, os
import logging_loki
handler = logging_loki.LokiHandler(
    url=os.environ["BASE"] + "/api/default/loki/api/v1/push",
    tags={"o2_stream_name": "pyapp", "application": "checkout"},
    auth=(os.environ["USER"], os.environ["PASSWORD"]),
    version="1",
)
logger = logging.getLogger("checkout")
logger.setLevel(logging.INFO)
logger.addHandler(handler)
logger.propagate = False
for i in range(5):
    logger.info("order %d placed", i, extra={"tags": {"region": "eu"}})
logger.error("payment failed")
print("sent 6")
"#;
    let out = run_python(script, &[("BASE", &server.base)]).await;
    assert!(out.contains("sent 6"), "{out}");
    let rows = server
        .search(
            "default",
            "SELECT application, region, severity, logger, message FROM pyapp ORDER BY _timestamp",
        )
        .await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(rows[0]["application"], "checkout");
    assert_eq!(rows[0]["region"], "eu");
    assert_eq!(rows[0]["severity"], "info");
    assert_eq!(rows[0]["logger"], "checkout");
    assert_eq!(rows[0]["message"], "order 0 placed");
    assert_eq!(rows[5]["severity"], "error");
    server.stop().await;
}
