//! `POST /api/{org}/_search`, `GET …/_values`, `GET …/_around`, `POST /api/{org}/_download`:
//! results, o2 shapes, errors, limits, and every attempt to read outside the caller's org.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A fixed instant (ten minutes ago, whole seconds) plus `offset_secs`, the same for the whole run.
fn t(offset_secs: i64) -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| now_micros() / 1_000_000 - 600);
    (base + offset_secs) * 1_000_000
}

async fn seed(server: &TestServer) {
    let records: Vec<Value> = (0..30)
        .map(|i| {
            json!({
                "_timestamp": t(i),
                "log": if i % 3 == 0 { format!("ERROR something failed {i}") } else { format!("request {i} ok") },
                "level": if i % 3 == 0 { "error" } else { "info" },
                "kubernetes": {"pod_name": format!("pod-{}", i % 4), "namespace_name": "prod"},
                "n": i,
            })
        })
        .collect();
    server.ingest("default", "app", &records[..15]).await;
    server.flush().await;
    server.ingest("default", "app", &records[15..]).await;
}

async fn raw_search(
    server: &TestServer,
    user: (&str, &str),
    org: &str,
    query: Value,
) -> (StatusCode, Value) {
    json_of(
        server
            .as_user(user.0, user.1, Method::POST, &format!("/api/{org}/_search"))
            .json(&json!({"query": query}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn range(sql: &str) -> Value {
    json!({"sql": sql, "start_time": t(-10), "end_time": t(100)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_o2_shaped_results_over_stored_and_fresh_data() {
    let server = TestServer::start().await;
    seed(&server).await;
    let root = (ROOT, ROOT_PASSWORD);
    let (status, body) = raw_search(&server, root, "default", json!({"sql": "SELECT n, level FROM app", "start_time": t(-10), "end_time": t(100), "from": 0, "size": 5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"].as_array().unwrap().len(), 5);
    assert_eq!(
        body["hits"][0],
        json!({"n": 29, "level": "info"}),
        "newest first by default"
    );
    for key in [
        "took",
        "total",
        "from",
        "size",
        "scan_size",
        "scan_records",
        "columns",
        "histogram_interval",
        "is_partial",
    ] {
        assert!(body.get(key).is_some(), "missing {key}: {body}");
    }
    assert!(body["scan_records"].as_u64().unwrap() >= 30);
    let (_, page) = raw_search(&server, root, "default", json!({"sql": "SELECT n FROM app", "start_time": t(-10), "end_time": t(100), "from": 5, "size": 5, "track_total_hits": true})).await;
    assert_eq!(page["hits"][0], json!({"n": 24}));
    assert_eq!(page["total"], 30);
    // The time range is applied even though the SQL does not mention it.
    let (_, narrow) = raw_search(
        &server,
        root,
        "default",
        json!({"sql": "SELECT count(*) AS c FROM app", "start_time": t(10), "end_time": t(20)}),
    )
    .await;
    assert_eq!(narrow["hits"], json!([{"c": 10}]));
    // o2 functions and histogram.
    let (_, matched) = raw_search(&server, root, "default", range("SELECT count(*) AS c FROM app WHERE match_all('error') AND str_match(kubernetes_pod_name, 'pod-')")).await;
    assert_eq!(matched["hits"], json!([{"c": 10}]));
    let (_, buckets) = raw_search(&server, root, "default", range("SELECT histogram(_timestamp, '10 seconds') AS b, count(*) AS c FROM app GROUP BY b ORDER BY b")).await;
    let counts: Vec<i64> = buckets["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["c"].as_i64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 30);
    assert!(
        buckets["hits"][0]["b"].as_str().unwrap().contains('T'),
        "{buckets}"
    );
    // base64-encoded SQL.
    let (status, encoded) = json_of(
        server
            .root(Method::POST, "/api/default/_search")
            .json(&json!({"query": {"sql": "U0VMRUNUIGNvdW50KCopIEFTIGMgRlJPTSBhcHA=", "start_time": t(-10), "end_time": t(100)}, "encoding": "base64"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{encoded}");
    assert_eq!(encoded["hits"], json!([{"c": 30}]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_errors_are_useful() {
    let server = TestServer::start().await;
    seed(&server).await;
    let root = (ROOT, ROOT_PASSWORD);
    let (status, body) = raw_search(&server, root, "default", range("SELECT levle FROM app")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 20004);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did you mean 'level'"),
        "{body}"
    );
    let (status, body) = raw_search(&server, root, "default", range("SELECT * FROM missing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], 20002);
    let (status, body) = raw_search(
        &server,
        root,
        "default",
        range("SELECT * FROM app WHERE level = 'x' AND"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 20001);
    assert_eq!(body["position"]["line"], 1, "{body}");
    assert!(body["position"]["column"].as_u64().unwrap() > 30, "{body}");
    let (status, body) = raw_search(
        &server,
        root,
        "default",
        json!({"sql": "SELECT * FROM app", "start_time": t(10), "end_time": t(0)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = raw_search(
        &server,
        root,
        "default",
        json!({"sql": "SELECT * FROM app", "from": -1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = raw_search(
        &server,
        root,
        "default",
        json!({"sql": "SELECT * FROM app", "size": 100_000}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = raw_search(&server, root, "default", json!({"nosql": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let no_json = server
        .root(Method::POST, "/api/default/_search")
        .body(range("SELECT 1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(no_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_type = server
        .root(Method::POST, "/api/default/_search?type=bogus")
        .json(&json!({"query": range("SELECT 1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_type.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_cannot_write_or_reach_outside_the_callers_org() {
    let server = TestServer::start().await;
    seed(&server).await;
    server
        .ingest(
            "other",
            "secret",
            &[json!({"_timestamp": t(1), "log": "TOPSECRET", "n": 1})],
        )
        .await;
    server
        .ingest(
            "other",
            "app",
            &[json!({"_timestamp": t(1), "log": "TOPSECRET", "n": 1})],
        )
        .await;
    let viewer = server
        .create_user("default", "viewer@example.com", "viewer")
        .await;
    let viewer = (viewer.0.as_str(), viewer.1.as_str());
    let attempts = [
        "SELECT * FROM secret",
        "SELECT * FROM \"secret\"",
        "SELECT * FROM other.secret",
        "SELECT * FROM \"other\".\"secret\"",
        "SELECT * FROM other.app",
        "SELECT * FROM kansoku.other.secret",
        "SELECT * FROM app a JOIN other.secret s ON a.n = s.n",
        "SELECT * FROM app WHERE n IN (SELECT n FROM other.secret)",
        "SELECT * FROM (SELECT * FROM \"other\".\"app\") t",
        "WITH s AS (SELECT * FROM other.secret) SELECT * FROM s",
        "SELECT * FROM app UNION ALL SELECT * FROM other.app",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM information_schema.columns",
        "SHOW TABLES",
        "SELECT * FROM read_parquet('files/other/logs/secret')",
        "SELECT * FROM generate_series(1, 3)",
        "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION 'file:///etc/'",
        "COPY (SELECT * FROM app) TO '/tmp/leak.parquet'",
        "INSERT INTO app VALUES (1)",
        "DROP TABLE app",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; DROP TABLE app",
        "EXPLAIN SELECT * FROM app",
    ];
    for sql in attempts {
        let (status, body) = raw_search(&server, viewer, "default", range(sql)).await;
        assert!(status.is_client_error(), "{sql}: {status} {body}");
        assert!(
            !body.to_string().contains("TOPSECRET"),
            "{sql} leaked: {body}"
        );
    }
    // Searching the other org's path directly is forbidden.
    let (status, _) = raw_search(&server, viewer, "other", range("SELECT * FROM secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The viewer's own org works, and never includes the other org's stream of the same name.
    let (status, body) = raw_search(
        &server,
        viewer,
        "default",
        range("SELECT count(*) AS c FROM app WHERE match_all('TOPSECRET')"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hits"], json!([{"c": 0}]));
    assert!(std::fs::metadata("/tmp/leak.parquet").is_err());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_enforced_with_clear_errors() {
    let server = TestServer::start_with(|c| {
        c.query_memory_limit = 64 * 1024;
        c.query_max_hits = 10;
    })
    .await;
    let records: Vec<Value> = (0..5000)
        .map(|i| json!({"_timestamp": t(0), "k": format!("key-{i}"), "v": "x".repeat(50)}))
        .collect();
    server.ingest("default", "big", &records).await;
    let root = (ROOT, ROOT_PASSWORD);
    let (status, body) = raw_search(
        &server,
        root,
        "default",
        range("SELECT k, count(*) AS c, array_agg(v) AS vs FROM big GROUP BY k ORDER BY c DESC"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("memory limit"),
        "{body}"
    );
    let (status, body) = raw_search(
        &server,
        root,
        "default",
        json!({"sql": "SELECT * FROM big", "size": 11}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("download"),
        "{body}"
    );
    server.stop().await;
    let server =
        TestServer::start_with(|c| c.query_timeout = std::time::Duration::from_millis(1)).await;
    server.ingest("default", "big", &records).await;
    let (status, body) = raw_search(
        &server,
        root,
        "default",
        range("SELECT count(*) FROM big a JOIN big b ON a.v = b.v"),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["code"], 20010);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_count_within_range_and_filter_and_never_inject() {
    let server = TestServer::start().await;
    seed(&server).await;
    let values = |query: String| {
        server
            .root(Method::GET, &format!("/api/default/app/_values?{query}"))
            .send()
    };
    let (status, body) = json_of(
        values(format!(
            "fields=level,kubernetes_pod_name&size=3&start_time={}&end_time={}",
            t(-10),
            t(100)
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"][0]["field"], "level");
    assert_eq!(
        body["hits"][0]["values"],
        json!([{"zo_sql_key": "info", "zo_sql_num": 20}, {"zo_sql_key": "error", "zo_sql_num": 10}])
    );
    assert_eq!(body["hits"][1]["values"].as_array().unwrap().len(), 3);
    assert_eq!(body["total_records"], 30);
    let (_, filtered) = json_of(
        values(format!(
            "fields=kubernetes_pod_name&filter=level=error&start_time={}&end_time={}",
            t(-10),
            t(100)
        ))
        .await
        .unwrap(),
    )
    .await;
    let total: i64 = filtered["hits"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["zo_sql_num"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 10);
    // Scoped to a query (base64 SQL) and to the time range.
    let sql = base64_url("SELECT * FROM app WHERE n < 6");
    let (_, scoped) = json_of(
        values(format!(
            "fields=level&sql={sql}&start_time={}&end_time={}",
            t(-10),
            t(100)
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(scoped["total_records"], 6, "{scoped}");
    let (_, ranged) = json_of(
        values(format!(
            "fields=level&start_time={}&end_time={}",
            t(0),
            t(3)
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(ranged["total_records"], 3);
    // GHSA-x5jp-879w-2mx2: parameters are values, never SQL.
    for injection in [
        "fields=level&filter=level%3Dx')%20OR%201%3D1%20--",
        "fields=level%20FROM%20app%20--&filter=",
        "fields=level&filter=level%3Dinfo%27%20UNION%20SELECT%20*%20FROM%20other.secret%20--",
    ] {
        let (status, body) = json_of(
            values(format!(
                "{injection}&start_time={}&end_time={}",
                t(-10),
                t(100)
            ))
            .await
            .unwrap(),
        )
        .await;
        match status {
            StatusCode::OK => assert_eq!(body["total_records"], 0, "{injection}: {body}"),
            status => assert!(status.is_client_error(), "{injection}: {status} {body}"),
        }
    }
    let (status, body) = json_of(values("fields=levle".to_string()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did you mean 'level'")
    );
    server.stop().await;
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn around_returns_neighbours_newest_first() {
    let server = TestServer::start().await;
    seed(&server).await;
    let (status, body) = json_of(
        server
            .root(
                Method::GET,
                &format!("/api/default/app/_around?key={}&size=5", t(10)),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ns: Vec<i64> = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![12, 11, 10, 9, 8]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_stream_every_row_beyond_the_hit_limit() {
    let server = TestServer::start_with(|c| c.query_max_hits = 10).await;
    seed(&server).await;
    let download = |format: &str| {
        server
            .root(
                Method::POST,
                &format!("/api/default/_download?format={format}"),
            )
            .json(&json!({"query": range("SELECT n, level FROM app ORDER BY n")}))
            .send()
    };
    let csv = download("csv").await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "n,level");
    assert_eq!(lines.len(), 31);
    assert_eq!(lines[1], "0,error");
    let ndjson = download("ndjson").await.unwrap().text().await.unwrap();
    assert_eq!(ndjson.lines().count(), 30);
    assert_eq!(
        serde_json::from_str::<Value>(ndjson.lines().last().unwrap()).unwrap(),
        json!({"n": 29, "level": "info"})
    );
    assert_eq!(
        download("xml").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_link_carries_the_query_in_base64() {
    use base64::Engine;
    let server = TestServer::start_with(|c| c.query_max_hits = 10).await;
    seed(&server).await;
    let sql = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode("SELECT n FROM app WHERE level = 'error' ORDER BY n");
    let path = format!(
        "/api/default/_download?sql={sql}&start_time={}&end_time={}&format=ndjson",
        t(-10),
        t(100)
    );
    let response = server.root(Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let ns: Vec<i64> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, vec![0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);

    let (status, body) = json_of(server.anonymous(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = json_of(
        server
            .root(Method::GET, "/api/default/_download?sql=%%%")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let drop_table = base64::engine::general_purpose::STANDARD.encode("DROP TABLE app");
    let (status, body) = json_of(
        server
            .root(
                Method::GET,
                &format!("/api/default/_download?sql={drop_table}"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_during_flushes_sees_each_record_exactly_once() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let writer = {
        let server = std::sync::Arc::clone(&server);
        tokio::spawn(async move {
            for round in 0..20 {
                let records: Vec<Value> = (0..50)
                    .map(|i| json!({"_timestamp": t(0), "id": format!("{round}-{i}")}))
                    .collect();
                server.ingest("default", "race", &records).await;
                if round % 3 == 0 {
                    server.flush().await;
                }
            }
        })
    };
    let mut checks = 0;
    while !writer.is_finished() {
        let (status, body) = raw_search(
            &server,
            (ROOT, ROOT_PASSWORD),
            "default",
            range("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM race"),
        )
        .await;
        if status == StatusCode::OK {
            assert_eq!(
                body["hits"][0]["n"], body["hits"][0]["ids"],
                "a record was counted twice: {body}"
            );
            checks += 1;
        } else {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "only before the first commit: {body}"
            );
        }
    }
    writer.await.unwrap();
    assert!(checks > 0);
    let (_, body) = raw_search(
        &server,
        (ROOT, ROOT_PASSWORD),
        "default",
        range("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM race"),
    )
    .await;
    assert_eq!(body["hits"], json!([{"n": 1000, "ids": 1000}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_text_index_skips_files_but_never_results() {
    let server = TestServer::start().await;
    // Five flushed files; the needle is in one record of the third, in `log`; another word is in
    // `message` of the fifth.
    for file in 0..5 {
        let records: Vec<Value> = (0..200)
            .map(|i| {
                let mut record = json!({"_timestamp": t(file * 10), "log": format!("GET /api/items/{i} 200 took {i}ms"), "n": i});
                if file == 2 && i == 77 {
                    record["log"] = json!("ERROR payment needle-8c1f2a declined");
                }
                if file == 4 && i == 5 {
                    record["message"] = json!("Unusual Checksum Mismatch");
                }
                record
            })
            .collect();
        server.ingest("default", "indexed", &records).await;
        server.flush().await;
    }
    let root = (ROOT, ROOT_PASSWORD);
    let cases = [
        ("str_match(log, 'needle-8c1f2a')", 1, 4),
        ("match_all('NEEDLE-8C1F2A')", 1, 4),
        ("match_all('checksum mismatch')", 1, 4),
        ("log ILIKE '%payment%declined%'", 1, 4),
        ("match_all('needle-8c1f2a') OR n = 3", 6, 0),
        ("NOT match_all('needle-8c1f2a')", 999, 0),
        ("match_all('not-in-any-record')", 0, 5),
    ];
    for (condition, expected_count, expected_skipped) in cases {
        let sql = format!("SELECT count(*) AS c FROM indexed WHERE {condition}");
        let (status, body) = raw_search(&server, root, "default", range(&sql)).await;
        assert_eq!(status, StatusCode::OK, "{sql}: {body}");
        assert_eq!(body["hits"][0]["c"], expected_count, "{sql}: {body}");
        assert_eq!(
            body["files_skipped_by_index"], expected_skipped,
            "{sql}: {body}"
        );
    }
    let streams: Value = server
        .root(Method::GET, "/api/default/streams")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        streams["list"][0]["stats"]["index_bytes"].as_i64().unwrap() > 0,
        "{streams}"
    );
    server.stop().await;
}
