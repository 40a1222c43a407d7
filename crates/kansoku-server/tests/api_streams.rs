//! `GET /api/{org}/streams`, `GET …/streams/{s}/schema`, `PUT …/streams/{s}/settings`,
//! `DELETE …/streams/{s}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_report_stats_schema_and_settings() {
    let server = TestServer::start().await;
    server
        .ingest(
            "default",
            "app",
            &[
                json!({"log": "a", "code": 1}),
                json!({"log": "b", "code": "x"}),
            ],
        )
        .await;
    server.flush().await;
    server
        .ingest("default", "app", &[json!({"log": "c", "extra": true})])
        .await;
    server.ingest("default", "other", &[json!({"a": 1})]).await;
    let (status, list) = json_of(
        server
            .root(Method::GET, "/api/default/streams")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 2);
    let app = &list["list"][0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["stream_type"], "logs");
    assert_eq!(app["stats"]["doc_num"], 3);
    assert_eq!(app["stats"]["doc_num_unflushed"], 1);
    assert_eq!(app["stats"]["file_num"], 1);
    assert!(app["stats"]["raw_bytes"].as_i64().unwrap() > 0);
    assert!(app["stats"]["stored_bytes"].as_i64().unwrap() > 0);
    assert!(
        app["stats"]["doc_time_min"].as_i64().unwrap()
            <= app["stats"]["doc_time_max"].as_i64().unwrap()
    );
    assert!(app.get("schema").is_none());
    let (_, with_schema) = json_of(
        server
            .root(
                Method::GET,
                "/api/default/streams?fetchSchema=true&type=logs",
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(with_schema["list"][0]["schema"].is_array());
    let (_, metrics_only) = json_of(
        server
            .root(Method::GET, "/api/default/streams?type=metrics")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(metrics_only["total"], 0);
    let (status, schema) = json_of(
        server
            .root(Method::GET, "/api/default/streams/app/schema")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        schema["schema"],
        json!([
            {"name": "_timestamp", "type": "Int64"},
            {"name": "code", "type": "Utf8"},
            {"name": "extra", "type": "Boolean"},
            {"name": "log", "type": "Utf8"}
        ])
    );
    assert_eq!(
        server
            .root(Method::GET, "/api/default/streams/nope/schema")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_ingest_and_search_behaviour() {
    let server = TestServer::start().await;
    server
        .ingest("default", "app", &[json!({"msg": "x"})])
        .await;
    let put = |body: Value| {
        server
            .root(Method::PUT, "/api/default/streams/app/settings")
            .json(&body)
            .send()
    };
    let (status, body) = json_of(
        put(json!({"timestamp_fields": ["event.time"], "timezone": "Asia/Tokyo", "full_text_search_keys": {"add": ["detail"]}, "data_retention": 7}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["timestamp_fields"], json!(["event_time"]));
    assert_eq!(body["settings"]["timezone"], "Asia/Tokyo");
    assert_eq!(body["settings"]["full_text_search_keys"], json!(["detail"]));
    let (_, body) = json_of(
        put(json!({"full_text_search_keys": {"add": ["msg"], "remove": ["detail"]}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["settings"]["full_text_search_keys"], json!(["msg"]));
    let (_, body) = json_of(put(json!({"message_field": "event.text"})).await.unwrap()).await;
    assert_eq!(body["settings"]["message_field"], "event_text");
    // Empty is back to automatic, not a field named "_".
    let (_, body) = json_of(put(json!({"message_field": ""})).await.unwrap()).await;
    assert_eq!(body["settings"]["message_field"], "", "{body}");
    // The deduplication window: the server's 10 minutes until set, 0 = off, null = default again.
    let (_, body) = json_of(put(json!({})).await.unwrap()).await;
    assert_eq!(body["stats"]["dedup_window_secs"], 600, "{body}");
    let (_, body) = json_of(put(json!({"dedup_window_secs": 0})).await.unwrap()).await;
    assert_eq!(body["settings"]["dedup_window_secs"], 0, "{body}");
    assert_eq!(body["stats"]["dedup_window_secs"], 0, "{body}");
    let (_, body) = json_of(put(json!({"dedup_window_secs": 3600})).await.unwrap()).await;
    assert_eq!(body["stats"]["dedup_window_secs"], 3600, "{body}");
    let (_, body) = json_of(put(json!({"dedup_window_secs": null})).await.unwrap()).await;
    assert_eq!(body["settings"].get("dedup_window_secs"), None, "{body}");
    assert_eq!(body["stats"]["dedup_window_secs"], 600, "{body}");
    let (status, body) = json_of(put(json!({"dedup_window_secs": 604_801})).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("dedup_window_secs"),
        "{body}"
    );
    for bad in [
        json!({"dedup_window_secs": -1}),
        json!({"dedup_window_secs": "10m"}),
        json!({"message_field": "x".repeat(300)}),
        json!({"timezone": "Mars/Base"}),
        json!({"data_retention": -1}),
        json!({"unknown": 1}),
        json!({"flatten_level": 1000}),
        json!({"timestamp_fields": [""]}),
    ] {
        let status = put(bad.clone()).await.unwrap().status();
        assert!(status.is_client_error(), "{bad}: {status}");
    }
    // A zone-less time in the configured field is read in Asia/Tokyo: 09:00 JST = 00:00 UTC.
    let today = now_micros() / 86_400_000_000 * 86_400_000_000;
    let day = today / 86_400_000_000;
    let date = civil_date(day);
    server
        .ingest(
            "default",
            "app",
            &[json!({"event": {"time": format!("{date}T09:00:00")}, "detail": "tz"})],
        )
        .await;
    let hits = server
        .search("default", "SELECT _timestamp FROM app WHERE detail = 'tz'")
        .await;
    assert_eq!(hits, vec![json!({"_timestamp": today})]);
    // match_all now searches `msg` only.
    let hits = server
        .search("default", "SELECT msg FROM app WHERE match_all('x')")
        .await;
    assert_eq!(hits, vec![json!({"msg": "x"})]);
    assert_eq!(
        server
            .root(Method::PUT, "/api/default/streams/nope/settings")
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_stream_removes_its_files_and_data() {
    let server = TestServer::start().await;
    server.ingest("default", "gone", &[json!({"a": 1})]).await;
    server.flush().await;
    server.ingest("default", "gone", &[json!({"a": 2})]).await;
    let storage = server.dir.path().join("storage/files/default/logs/gone");
    assert!(std::fs::read_dir(&storage).is_ok());
    let (editor, password) = server
        .create_user("default", "editor@example.com", "editor")
        .await;
    let denied = server
        .as_user(
            &editor,
            &password,
            Method::DELETE,
            "/api/default/streams/gone",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let (status, body) = json_of(
        server
            .root(Method::DELETE, "/api/default/streams/gone")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["files_deleted"], 1);
    let remaining: Vec<_> = walk(&storage);
    assert!(remaining.is_empty(), "{remaining:?}");
    let (status, _) = server
        .search_as((ROOT, ROOT_PASSWORD), "default", "SELECT * FROM gone", 10)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server
            .root(Method::DELETE, "/api/default/streams/gone")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Ingesting again starts a fresh stream.
    server.ingest("default", "gone", &[json!({"a": 3})]).await;
    assert_eq!(
        server.search("default", "SELECT a FROM gone").await,
        vec![json!({"a": 3})]
    );
    server.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_expired_files_and_only_those() {
    let server = TestServer::start_with(|c| {
        c.retention_interval = std::time::Duration::from_millis(200);
        c.compact_interval = std::time::Duration::from_millis(200);
        c.compact_delete_grace = std::time::Duration::ZERO;
    })
    .await;
    let day = 86_400_000_000i64;
    let now = now_micros();
    let old: Vec<Value> = (0..10)
        .map(|i| json!({"_timestamp": now - 3 * day + i, "age": "old"}))
        .collect();
    let recent: Vec<Value> = (0..10)
        .map(|i| json!({"_timestamp": now - i, "age": "new"}))
        .collect();
    server.ingest("default", "kept", &old).await;
    server.ingest("default", "short", &old).await;
    server.ingest("default", "short", &recent).await;
    server.flush().await;
    let (status, _) = json_of(
        server
            .root(Method::PUT, "/api/default/streams/short/settings")
            .json(&json!({"data_retention": 2}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut remaining = Vec::new();
    for _ in 0..100 {
        let now = now_micros();
        let (_, body) = json_of(
            server
                .root(Method::POST, "/api/default/_search")
                .json(&json!({"query": {"sql": "SELECT age, count(*) AS n FROM short GROUP BY age", "start_time": now - 10 * day, "end_time": now + day}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        remaining = body["hits"].as_array().cloned().unwrap_or_default();
        if remaining.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(remaining, vec![json!({"age": "new", "n": 10})]);
    let now = now_micros();
    let (_, kept) = json_of(
        server
            .root(Method::POST, "/api/default/_search")
            .json(&json!({"query": {"sql": "SELECT count(*) AS n FROM kept", "start_time": now - 10 * day, "end_time": now + day}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        kept["hits"],
        json!([{"n": 10}]),
        "streams without retention keep everything"
    );
    let metrics = server
        .root(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kansoku_compactor_retention_expired_files_total 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_keys_split_files_and_prune_scans() {
    let server = TestServer::start().await;
    server
        .ingest("default", "part", &[json!({"ns": "seed", "id": "seed"})])
        .await;
    let (status, body) = json_of(
        server
            .root(Method::PUT, "/api/default/streams/part/settings")
            .json(&json!({"partition_keys": ["kubernetes.namespace_name"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["settings"]["partition_keys"],
        json!(["kubernetes_namespace_name"])
    );
    let writer = async {
        for round in 0..6 {
            let records: Vec<Value> = (0..60)
                .map(|i| {
                    let namespace = ["kube-system", "prod", "dev/x"][i % 3];
                    json!({"id": format!("{round}-{i}"), "kubernetes": {"namespace_name": namespace}})
                })
                .collect();
            server.ingest("default", "part", &records).await;
            server.flush().await;
        }
    };
    let reader = async {
        let mut checks = 0;
        for _ in 0..30 {
            let hits = server.search("default", "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM part WHERE id IS NOT NULL").await;
            assert_eq!(
                hits[0]["n"], hits[0]["ids"],
                "a record was visible twice: {hits:?}"
            );
            checks += 1;
        }
        checks
    };
    let ((), checks) = tokio::join!(writer, reader);
    assert!(checks > 0);
    let files = walk(&server.dir.path().join("storage/files/default/logs/part"));
    for namespace in [
        "kubernetes_namespace_name=kube-system",
        "kubernetes_namespace_name=prod",
        "kubernetes_namespace_name=dev+2Fx",
    ] {
        assert!(
            files
                .iter()
                .any(|f| f.to_string_lossy().contains(namespace)),
            "no file under {namespace}: {files:?}"
        );
    }
    let now = now_micros();
    let (status, body) = json_of(
        server
            .root(Method::POST, "/api/default/_search")
            .json(&json!({"query": {"sql": "SELECT count(*) AS n FROM part WHERE kubernetes_namespace_name = 'prod'", "start_time": now - 3_600_000_000i64, "end_time": now + 60_000_000}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"], json!([{"n": 120}]));
    assert!(
        body["files_skipped_by_partition"].as_u64().unwrap() >= 12,
        "{body}"
    );
    let all = server
        .search("default", "SELECT count(*) AS n FROM part")
        .await;
    assert_eq!(all, vec![json!({"n": 361})]);
    server.stop().await;
}
