//! Elasticsearch compatibility: `_bulk` (POST/PUT, vendor content types), single documents, the
//! handshake endpoints, and real clients — elasticsearch-py, opensearch-py and syslog-ng's
//! `elasticsearch-http()` — sending unchanged except for the host.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BULK: &str = concat!(
    "{\"index\":{\"_index\":\"golang-app-metrics-2020.03.02\",\"_id\":\"a1\"}}\n",
    "{\"level\":\"info\",\"count\":3,\"msg\":\"hello\"}\n",
    "\n",
    "{\"create\":{\"_index\":\"golang-app-metrics-2020.03.03\"}}\n",
    "{\"level\":\"warn\",\"count\":4,\"msg\":\"world\"}\n",
    "{\"delete\":{\"_index\":\"golang-app-metrics\",\"_id\":\"a1\"}}\n",
    "{\"index\":{\"_index\":\"../bad\"}}\n",
    "{\"msg\":\"never\"}\n",
    "{\"index\":{\"_index\":\"other\"}}\n",
    "{\"msg\":\"last line without newline\"}",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_answers_per_item_like_elasticsearch() {
    let server = TestServer::start().await;
    for (round, method) in [Method::POST, Method::PUT].into_iter().enumerate() {
        let response = server
            .root(method.clone(), "/api/default/_bulk")
            .header(
                "content-type",
                "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
            )
            .header(
                "accept",
                "application/vnd.elasticsearch+json; compatible-with=9",
            )
            .body(BULK)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"], true);
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 5, "{body}");
        if round == 0 {
            assert_eq!(items[0]["index"]["status"], 201);
        } else {
            // The same _id again: stored once, answered "noop" (never a 409 conflict).
            assert_eq!(items[0]["index"]["status"], 200, "{body}");
            assert_eq!(items[0]["index"]["result"], "noop");
        }
        assert_eq!(items[0]["index"]["_id"], "a1");
        assert_eq!(items[0]["index"]["_index"], "golang-app-metrics-2020.03.02");
        assert_eq!(items[1]["create"]["status"], 201);
        assert_eq!(items[2]["delete"]["status"], 400);
        assert_eq!(items[3]["index"]["status"], 400);
        assert_eq!(
            items[3]["index"]["error"]["type"],
            "invalid_index_name_exception"
        );
        assert_eq!(items[4]["index"]["status"], 201, "{method}");
    }
    // Daily indexes land in one stream named by the prefix; the original name and _id are kept.
    let hits = server
        .search(
            "default",
            "SELECT _index, _id, level FROM golang_app_metrics ORDER BY level, _index",
        )
        .await;
    assert_eq!(hits.len(), 3, "a1 once, the document without an id twice");
    assert_eq!(
        hits[0],
        json!({"_index": "golang-app-metrics-2020.03.02", "_id": "a1", "level": "info"})
    );
    let other = server.search("default", "SELECT msg FROM other").await;
    assert_eq!(other.len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_endpoints_satisfy_agents() {
    let server = TestServer::start().await;
    let info = server
        .root(Method::GET, "/api/default/")
        .header("user-agent", "Elastic-filebeat/8.5.1 (linux; amd64; abc)")
        .send()
        .await
        .unwrap();
    assert_eq!(info.headers()["x-elastic-product"], "Elasticsearch");
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["version"]["number"], "8.5.1");
    assert_eq!(info["tagline"], "You Know, for Search");
    let head = server
        .root(Method::HEAD, "/api/default")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    for path in [
        "/api/default/_license",
        "/api/default/_xpack",
        "/api/default/_cluster/health",
    ] {
        let response = server.root(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    for path in [
        "_ilm/policy/filebeat",
        "_index_template/logs",
        "_template/logstash",
        "_ingest/pipeline/p",
        "_data_stream/ds",
        "_component_template/c",
    ] {
        let path = format!("/api/default/{path}");
        let put = server
            .root(Method::PUT, &path)
            .json(&json!({"x": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::OK, "{path}");
        assert_eq!(
            put.json::<Value>().await.unwrap(),
            json!({"acknowledged": true})
        );
        assert_eq!(
            server
                .root(Method::GET, &path)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    let anonymous = server
        .anonymous(Method::GET, "/api/default/_license")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_sent_bulk_batch_is_stored_once_across_a_restart() {
    let server = TestServer::start().await;
    let body = concat!(
        "{\"create\":{\"_index\":\"resent\",\"_id\":\"r1\"}}\n",
        "{\"msg\":\"one\"}\n",
        "{\"create\":{\"_index\":\"resent\",\"_id\":\"r2\"}}\n",
        "{\"msg\":\"two\"}\n",
    );
    let send = |server: &TestServer| {
        server
            .root(Method::POST, "/api/default/_bulk")
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    let (status, first) = json_of(send(&server).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["items"][1]["create"]["status"], 201, "{first}");
    let server = server.restart_with(|_| {}).await;
    let (status, again) = json_of(send(&server).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["errors"], false, "{again}");
    for item in again["items"].as_array().unwrap() {
        assert_eq!(item["create"]["status"], 200, "{again}");
        assert_eq!(item["create"]["result"], "noop", "{again}");
    }
    let counts = server
        .search("default", "SELECT count(*) AS n FROM resent")
        .await;
    assert_eq!(counts, vec![json!({"n": 2})]);
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric_value(
            &metrics,
            "kansoku_dedup_duplicates_total{org=\"default\",stream_type=\"logs\",stream=\"resent\"}"
        ),
        2.0,
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_documents_with_and_without_ids() {
    let server = TestServer::start().await;
    let pretty = "{\n  \"msg\": \"pretty\",\n  \"n\": 1\n}\n";
    let response = server
        .root(Method::POST, "/api/default/docs/_doc")
        .header("content-type", "application/json")
        .body(pretty)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let response = server
        .root(Method::PUT, "/api/default/docs/_doc/id-7")
        .json(&json!({"msg": "with id"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["_id"], "id-7");
    let response = server
        .root(Method::POST, "/api/default/docs/_doc")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let hits = server
        .search("default", "SELECT msg, _id FROM docs ORDER BY msg")
        .await;
    assert_eq!(
        hits,
        vec![
            json!({"msg": "pretty"}),
            json!({"msg": "with id", "_id": "id-7"})
        ]
    );
    server.stop().await;
}

async fn run_python(script: &str, base: &str) -> String {
    common::run_python(script, &[("BASE", base)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_py_bulk_helper_and_index() {
    let server = TestServer::start().await;
    let script = r#"
import os
from elasticsearch import Elasticsearch, helpers
es = Elasticsearch(os.environ["BASE"] + "/api/default", basic_auth=(os.environ["USER"], os.environ["PASSWORD"]))
actions = ({"_index": "es_py", "_id": f"doc-{i}", "_source": {"msg": f"hello {i}", "level": "info" if i % 2 else "error", "n": i}} for i in range(250))
ok, errors = helpers.bulk(es, actions, chunk_size=100)
assert ok == 250 and not errors, (ok, errors)
# A retry of the whole batch (the answer was lost): every item succeeds, nothing is stored twice.
again = ({"_index": "es_py", "_id": f"doc-{i}", "_source": {"msg": f"hello {i}", "level": "info" if i % 2 else "error", "n": i}} for i in range(250))
ok, errors = helpers.bulk(es, again, chunk_size=100)
assert ok == 250 and not errors, (ok, errors)
resp = es.index(index="es_py", document={"msg": "single", "n": -1})
assert resp["result"] == "created", resp
print("ok", ok)
"#;
    let out = run_python(script, &server.base).await;
    assert!(out.contains("ok 250"), "{out}");
    let counts = server
        .search(
            "default",
            "SELECT count(*) AS n, count(DISTINCT _id) AS ids FROM es_py",
        )
        .await;
    assert_eq!(counts, vec![json!({"n": 251, "ids": 250})]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_py_bulk_helper() {
    let server = TestServer::start().await;
    let script = r#"
import os
from opensearchpy import OpenSearch, helpers
client = OpenSearch(hosts=[os.environ["BASE"] + "/api/default"], http_auth=(os.environ["USER"], os.environ["PASSWORD"]))
ok, errors = helpers.bulk(client, ({"_index": "os_py", "_source": {"i": i}} for i in range(120)))
assert ok == 120 and not errors, (ok, errors)
print("ok", ok)
"#;
    let out = run_python(script, &server.base).await;
    assert!(out.contains("ok 120"), "{out}");
    assert_eq!(
        server
            .search("default", "SELECT count(*) AS n FROM os_py")
            .await,
        vec![json!({"n": 120})]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_ng_elasticsearch_http_destination() {
    let server = TestServer::start().await;
    let syslog_port = free_port();
    let work = tempfile::tempdir().unwrap();
    let config = format!(
        r#"@version: 3.38
@include "scl.conf"
source s_net {{ network(ip("127.0.0.1") port({syslog_port}) transport("tcp")); }};
destination d_es {{
  elasticsearch-http(
    url("{base}/api/default/_bulk")
    index("syslog_es") type("")
    user("{ROOT}") password("{ROOT_PASSWORD}")
    workers(1) batch-lines(20) batch-timeout(500));
}};
log {{ source(s_net); destination(d_es); }};
"#,
        base = server.base
    );
    let mut daemon = syslog_ng(work.path(), &config);
    let mut connection = connect_when_listening(syslog_port).await;
    use tokio::io::AsyncWriteExt;
    // Stamped now (ISO 8601, which syslog-ng's RFC 3164 parser accepts), so the records fall in
    // the search's default recent window on any day the test runs.
    let stamp = common::rfc3339_utc(common::now_micros() / 1_000_000);
    for i in 0..50 {
        let line = format!("<13>{stamp} testhost myapp[42]: kansoku syslog test {i}\n");
        connection.write_all(line.as_bytes()).await.unwrap();
    }
    connection.flush().await.unwrap();
    let mut delivered = 0;
    for _ in 0..150 {
        let (status, body) = server
            .search_as((ROOT, ROOT_PASSWORD), "default", "SELECT count(*) AS n FROM syslog_es WHERE str_match(message, 'kansoku syslog test')", 10)
            .await;
        if status == StatusCode::OK {
            delivered = body["hits"][0]["n"].as_i64().unwrap_or(0);
            if delivered == 50 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = daemon.kill().await;
    assert_eq!(
        delivered, 50,
        "syslog-ng delivered {delivered} of 50 messages"
    );
    // syslog-ng replaces the host with the sender's (keep-hostname(no) is its default).
    let hits = server
        .search(
            "default",
            "SELECT program, host IS NOT NULL AS has_host FROM syslog_es LIMIT 1",
        )
        .await;
    assert_eq!(hits, vec![json!({"program": "myapp", "has_host": true})]);
    server.stop().await;
}

#[test]
fn syslog_stamps_are_civil_dates() {
    assert_eq!(common::rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(common::rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(common::rfc3339_utc(1_795_952_096), "2026-11-29T11:34:56Z");
}
