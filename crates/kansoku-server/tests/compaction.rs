//! Compaction seen through the APIs (`PUT /node/compact`): searches, full-text search, PromQL
//! and stream statistics answer exactly the same before, during and after small files are
//! merged, with unflushed data beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::prometheus::*;
use common::*;
use kansoku_core::time::{MICROS_PER_HOUR, hour_start};
use kansoku_ingest::decode::remote_write::v1;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        // Tests merge files at once; the background pass is kept out of the way.
        c.compact_min_age = Duration::ZERO;
        c.compact_interval = Duration::from_secs(3600);
        c.compact_delete_grace = Duration::from_secs(3600);
    })
    .await
}

async fn compact(server: &TestServer) -> Value {
    let (status, body) = json_of(
        server
            .root(Method::PUT, "/node/compact")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// What the searches of this test answer: total, full-text matches, errors, and the files read.
async fn answers(server: &TestServer) -> (Value, Value, Value) {
    let total = server
        .search("default", "SELECT count(*) AS n FROM app")
        .await;
    let needles = server
        .search(
            "default",
            "SELECT count(*) AS n FROM app WHERE match_all('needle')",
        )
        .await;
    let levels = server
        .search(
            "default",
            "SELECT level, count(*) AS n FROM app GROUP BY level ORDER BY level",
        )
        .await;
    (json!(total), json!(needles), json!(levels))
}

async fn stream_stats(server: &TestServer) -> Value {
    let (status, body) = json_of(
        server
            .root(Method::GET, "/api/default/streams/app/schema?type=logs")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["stats"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_keep_every_search_exact_before_during_and_after() {
    let server = server().await;
    // Six flushes of 50 records in an hour that has ended, then unflushed data of this hour.
    let hour = hour_start(now_micros()) - 2 * MICROS_PER_HOUR;
    for round in 0..6i64 {
        let records: Vec<Value> = (0..50i64)
            .map(|i| {
                let n = round * 50 + i;
                json!({
                    "_timestamp": hour + n * 1000,
                    "level": if n % 3 == 0 { "error" } else { "info" },
                    "msg": if n % 10 == 0 { format!("found a needle {n}") } else { format!("hay {n}") },
                })
            })
            .collect();
        server.ingest("default", "app", &records).await;
        server.flush().await;
    }
    server
        .ingest(
            "default",
            "app",
            &[json!({"level": "info", "msg": "a fresh needle"})],
        )
        .await;
    let before = answers(&server).await;
    assert_eq!(before.0, json!([{"n": 301}]));
    assert_eq!(before.1, json!([{"n": 31}]));
    assert_eq!(
        before.2,
        json!([{"level": "error", "n": 100}, {"level": "info", "n": 201}])
    );
    let stats = stream_stats(&server).await;
    assert_eq!(stats["file_num"], 6, "{stats}");
    assert_eq!(stats["small_file_num"], 6, "{stats}");
    assert_eq!(stats["retention_days"], 0, "{stats}");

    // Searches keep running while the files are merged, and never see a record twice or miss one.
    let compacted = AtomicBool::new(false);
    let compacting = async {
        let report = compact(&server).await;
        compacted.store(true, Ordering::Relaxed);
        report
    };
    let watching = async {
        let mut rounds = 0;
        while !compacted.load(Ordering::Relaxed) || rounds == 0 {
            assert_eq!(answers(&server).await, before, "during compaction");
            rounds += 1;
        }
        rounds
    };
    let (report, rounds) = tokio::join!(compacting, watching);
    assert_eq!(report["merges"], 1, "{report}");
    assert_eq!(report["merged_files"], 6, "{report}");
    assert!(rounds >= 1);

    assert_eq!(answers(&server).await, before, "after compaction");
    let stats = stream_stats(&server).await;
    assert_eq!(stats["file_num"], 1, "{stats}");
    assert_eq!(
        (
            stats["small_file_num"].clone(),
            stats["compacted_file_num"].clone()
        ),
        (json!(1), json!(1)),
        "the merged file is small itself; it is final once its hour is merged: {stats}"
    );
    assert_eq!(stats["doc_num"], 301, "{stats}");
    // The closed hour is one file now, still pruned by the rebuilt full-text index.
    let now = now_micros();
    let (_, body) = json_of(
        server
            .root(Method::POST, "/api/default/_search")
            .json(&json!({"query": {"sql": "SELECT * FROM app WHERE match_all('absent-word')", "start_time": hour, "end_time": hour + MICROS_PER_HOUR, "size": 10}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["total"], 0, "{body}");
    assert_eq!(
        body["scan_files"], 0,
        "the index rules the merged file out: {body}"
    );
    assert!(now > hour);

    // Nothing is left to merge; the replaced files wait for their grace period.
    let again = compact(&server).await;
    assert_eq!(
        (again["merges"].clone(), again["deleted_objects"].clone()),
        (json!(0), json!(0))
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
        metrics.contains("kansoku_compactor_merged_files_total 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kansoku_compactor_pending_deletions 12"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_answers_the_same_from_merged_metrics_files() {
    let server = server().await;
    // `up` of two jobs every 15 s through an hour that has ended, written in three requests,
    // each flushed to its own file.
    let hour_ms = (hour_start(now_micros()) - 2 * MICROS_PER_HOUR) / 1000;
    for part in 0..3i64 {
        let times: Vec<i64> = (0..80)
            .map(|i| hour_ms + (part * 80 + i) * 15_000)
            .collect();
        let series = |job: &str, value: f64| v1::TimeSeries {
            labels: [("__name__", "up"), ("instance", "host:9100"), ("job", job)]
                .iter()
                .map(|(name, value)| v1::Label {
                    name: name.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            samples: times
                .iter()
                .map(|&timestamp| v1::Sample { value, timestamp })
                .collect(),
            exemplars: Vec::new(),
            histograms: Vec::new(),
        };
        let response = write_v1(
            &server,
            "default",
            &v1::WriteRequest {
                timeseries: vec![series("api", 1.0), series("db", 2.0)],
                metadata: Vec::new(),
            },
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.flush().await;
    }
    let end = (hour_ms + 3_600_000) as f64 / 1000.0;
    let query = |server: &TestServer| {
        let path = format!(
            "/api/default/prometheus/api/v1/query_range?query={}&start={}&end={end}&step=600",
            percent_encode(
                "sum by (job) (sum_over_time(up[10m])) or count by (job) (count_over_time(up[10m]))"
            ),
            end - 3600.0,
        );
        let request = server.root(Method::GET, &path);
        async move {
            let (status, body) = json_of(request.send().await.unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"].clone()
        }
    };
    let before = query(&server).await;
    assert_eq!(before["result"].as_array().unwrap().len(), 2, "{before}");
    let report = compact(&server).await;
    assert_eq!(report["merged_files"], 3, "{report}");
    assert_eq!(query(&server).await, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_keep_one_row_per_id_of_the_copies_ingest_let_through() {
    // A node that does not deduplicate at ingest stores every copy of a re-sent batch.
    let server = TestServer::start_with(|c| {
        c.compact_min_age = Duration::ZERO;
        c.compact_interval = Duration::from_secs(3600);
        c.compact_delete_grace = Duration::from_secs(3600);
        c.dedup_window = Duration::ZERO;
    })
    .await;
    let at = hour_start(now_micros()) - 2 * MICROS_PER_HOUR + 1_000_000;
    let mut body = String::new();
    for i in 0..10 {
        body.push_str(&format!(
            "{{\"create\":{{\"_index\":\"resent\",\"_id\":\"d{i}\"}}}}\n{{\"i\":{i},\"_timestamp\":{at}}}\n"
        ));
    }
    body.push_str(&format!(
        "{{\"create\":{{\"_index\":\"resent\"}}}}\n{{\"i\":-1,\"_timestamp\":{at}}}\n"
    ));
    for _ in 0..3 {
        let (status, answer) = json_of(
            server
                .root(Method::POST, "/api/default/_bulk")
                .body(body.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["items"][0]["create"]["status"], 201, "{answer}");
        server.flush().await;
    }
    assert_eq!(
        resent_counts(&server).await,
        vec![json!({"n": 33, "ids": 10})]
    );
    // The stream turns deduplication on: its next merge keeps one row per id (and every row
    // without one).
    let (status, settings) = json_of(
        server
            .root(
                Method::PUT,
                "/api/default/streams/resent/settings?type=logs",
            )
            .json(&json!({"dedup_window_secs": 600}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["stats"]["dedup_window_secs"], 600, "{settings}");
    let report = compact(&server).await;
    assert_eq!(report["merged_files"], 3, "{report}");
    assert_eq!(
        resent_counts(&server).await,
        vec![json!({"n": 13, "ids": 10})]
    );
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric_value(&metrics, "kansoku_compactor_duplicates_total"),
        20.0
    );
    server.stop().await;
}

async fn resent_counts(server: &TestServer) -> Vec<Value> {
    server
        .search(
            "default",
            "SELECT count(*) AS n, count(DISTINCT _id) AS ids FROM resent",
        )
        .await
}
