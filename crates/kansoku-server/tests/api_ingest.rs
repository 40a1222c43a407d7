//! `POST /api/{org}/{stream}/_json` and `_multi`: bodies, status codes, bad input (the rest of the
//! batch still lands), compression, size limits, auth and organisation rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

async fn post(
    server: &TestServer,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    json_of(
        server
            .root(Method::POST, path)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arrays_and_single_objects_land_and_are_searchable_at_once() {
    let server = TestServer::start().await;
    let t = now_secs();
    let body = json!([{"msg": "a", "_timestamp": t}, {"msg": "b", "node": {"hostname": "n1"}, "_timestamp": t}]);
    let (status, response) = post(&server, "/api/default/k8s/_json", body.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response,
        json!({"code": 200, "status": [{"name": "k8s", "successful": 2, "failed": 0}]})
    );
    let (status, _) = post(
        &server,
        "/api/default/k8s/_json",
        json!({"msg": "c"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let hits = server
        .search("default", "SELECT msg, node_hostname FROM k8s ORDER BY msg")
        .await;
    assert_eq!(
        hits,
        vec![
            json!({"msg": "a"}),
            json!({"msg": "b", "node_hostname": "n1"}),
            json!({"msg": "c"})
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_logstash_mapping_keys_are_normalised() {
    let server = TestServer::start().await;
    // Logstash's http output with the mapping from seed 000, as NDJSON to _multi.
    let line = json!({
        "@timestamp": "2026-11-22T00:00:00.000Z".replace("2026-11-22T00:00:00.000Z", &kansoku_now_rfc3339()),
        "message": "hello", "host_name": "h", "cluster_name": "c1",
        "container.name": "myapp", "node.name": "n", "node.hostname": "ip-10-0-0-1", "pod.name": "p", "pod.ip": "10.0.0.1", "namespace": "ns"
    });
    let (status, body) = post(&server, "/api/default/k8s/_multi", format!("{line}\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = server
        .search(
            "default",
            "SELECT container_name, node_hostname, pod_ip FROM k8s",
        )
        .await;
    assert_eq!(
        hits,
        vec![
            json!({"container_name": "myapp", "node_hostname": "ip-10-0-0-1", "pod_ip": "10.0.0.1"})
        ]
    );
    server.stop().await;
}

fn kansoku_now_rfc3339() -> String {
    let secs = now_secs();
    // Seconds → RFC 3339 via the search API's own parser is overkill; compute civil time here.
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_fail_alone_and_the_rest_lands() {
    let server = TestServer::start().await;
    let t = now_secs();
    let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    let huge = json!({"id": "huge", "log": "x".repeat(5 * 1024 * 1024)}).to_string();
    let too_many: serde_json::Map<String, Value> =
        (0..1500).map(|i| (format!("f{i}"), json!(i))).collect();
    let lines = [
        json!({"id": "ok1", "_timestamp": t}).to_string(),
        "{\"id\": \"broken\",".to_string(),
        "\"just a string\"".to_string(),
        deep,
        huge,
        Value::Object(too_many).to_string(),
        json!({"id": "old", "_timestamp": 1_000_000_000}).to_string(),
        json!({"id": "badtime", "@timestamp": "not a time"}).to_string(),
        json!({"id": "ok2"}).to_string(),
    ];
    let (status, body) = post(&server, "/api/default/app/_multi", lines.join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stream = &body["status"][0];
    assert_eq!(stream["successful"], 2, "{body}");
    assert_eq!(stream["failed"], 7, "{body}");
    let error = stream["error"].as_str().unwrap();
    assert!(error.contains("line 2: invalid JSON"), "{error}");
    assert!(
        error.contains("line 3: record must be a JSON object"),
        "{error}"
    );
    assert!(error.contains("and 4 more"), "{error}");
    let ids: Vec<Value> = server
        .search("default", "SELECT id FROM app ORDER BY id")
        .await;
    assert_eq!(ids, vec![json!({"id": "ok1"}), json!({"id": "ok2"})]);
    // Each refusal is counted by reason.
    let metrics = server
        .root(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "invalid_json",
        "not_an_object",
        "record_too_large",
        "too_many_fields",
        "timestamp_out_of_window",
        "timestamp_unparsable",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("kansoku_ingest_discarded_records_total")
                    && l.contains(reason)),
            "{reason} not counted"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_body_errors_are_4xx_naming_the_problem() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 1024 * 1024).await;
    let (status, body) = post(&server, "/api/default/app/_json", "[{\"a\":1},\n{\"b\": }]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("line 2 column"),
        "{body}"
    );
    let (status, body) = post(&server, "/api/default/app/_json", "42").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = post(&server, "/api/default/app/_json", "[{\"a\":1},]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, _) = post(&server, "/api/default/app/_json", nested).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut invalid_utf8 = b"[{\"a\":\"".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice(b"\"}]");
    let (status, body) = post(&server, "/api/default/app/_json", invalid_utf8).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Every record refused → 400, with the per-stream status still in the body.
    let (status, body) = post(&server, "/api/default/app/_multi", "[1]\n\"x\"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"][0]["failed"], 2, "{body}");
    // Too large, declared: answered from the headers alone, before any body byte is sent.
    let response = raw_http(&server, "Content-Length: 2097152\r\n", b"").await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("1048576"), "{response}");
    // Too large, chunked: refused once the limit is passed, without reading the rest.
    let mut chunks = Vec::new();
    for _ in 0..17 {
        chunks.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunks.extend_from_slice(&vec![b' '; 64 * 1024]);
        chunks.extend_from_slice(b"\r\n");
    }
    let response = raw_http(&server, "Transfer-Encoding: chunked\r\n", &chunks).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    server.stop().await;
}

/// Sends a POST with `headers` and `body` over a raw connection (the request stays open) and
/// returns what the server answers.
async fn raw_http(server: &TestServer, headers: &str, body: &[u8]) -> String {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{ROOT}:{ROOT_PASSWORD}"));
    let head = format!(
        "POST /api/default/app/_json HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {credentials}\r\n{headers}\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(body).await;
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("no answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_bodies_and_bombs() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 4 * 1024 * 1024).await;
    let body = json!([{"id": "gz"}]).to_string();
    let send = |encoding: &'static str, bytes: Vec<u8>| {
        server
            .root(Method::POST, "/api/default/app/_json")
            .header("content-encoding", encoding)
            .body(bytes)
            .send()
    };
    assert_eq!(
        send("gzip", gzip(body.as_bytes())).await.unwrap().status(),
        StatusCode::OK
    );
    let zstd = zstd::encode_all(json!([{"id": "zstd"}]).to_string().as_bytes(), 3).unwrap();
    assert_eq!(send("zstd", zstd).await.unwrap().status(), StatusCode::OK);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    deflate
        .write_all(json!([{"id": "deflate"}]).to_string().as_bytes())
        .unwrap();
    assert_eq!(
        send("deflate", deflate.finish().unwrap())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ids = server
        .search("default", "SELECT id FROM app ORDER BY id")
        .await;
    assert_eq!(
        ids,
        vec![
            json!({"id": "deflate"}),
            json!({"id": "gz"}),
            json!({"id": "zstd"})
        ]
    );
    // A gzip bomb of 200 MB, small enough to pass the body limit: refused at the decompressed
    // limit, nothing ingested.
    let bomb = gzip(&vec![b' '; 200 * 1024 * 1024]);
    assert!(bomb.len() < 4 * 1024 * 1024);
    let (status, body) = json_of(send("gzip", bomb).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["message"].as_str().unwrap().contains("decompressed"),
        "{body}"
    );
    let (status, _) = json_of(send("gzip", body.to_string().into_bytes()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "says gzip, is not");
    let (status, _) = json_of(send("br", b"x".to_vec()).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_organisations() {
    let server = TestServer::start().await;
    let body = json!([{"a": 1}]).to_string();
    let anonymous = server
        .anonymous(Method::POST, "/api/default/app/_json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    for (user, password) in [
        (ROOT, "wrong"),
        (ROOT, ""),
        (ROOT, "   "),
        ("", ROOT_PASSWORD),
        ("nobody@example.com", ROOT_PASSWORD),
    ] {
        let response = server
            .as_user(user, password, Method::POST, "/api/default/app/_json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{user}:{password}"
        );
    }
    let no_colon = server
        .anonymous(Method::POST, "/api/default/app/_json")
        .header("authorization", "Basic cm9vdEBleGFtcGxlLmNvbQ==")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_colon.status(), StatusCode::UNAUTHORIZED);
    // Root creates an organisation by ingesting into it; other users cannot.
    let (status, _) = post(&server, "/api/neworg/app/_json", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (user, password) = server
        .create_user("default", "editor@example.com", "editor")
        .await;
    let response = server
        .as_user(&user, &password, Method::POST, "/api/neworg/app/_json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(&user, &password, Method::POST, "/api/unknown/app/_json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "unknown and foreign orgs look the same"
    );
    let response = server
        .as_user(&user, &password, Method::POST, "/api/default/app/_json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = post(&server, "/api/Bad.Org/app/_json", body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for path in [
        "/api/default/..%2F..%2Fetc/_json",
        "/api/default/a%252Fb/_json",
    ] {
        let (status, body) = post(&server, path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    // The client itself resolves "%2E%2E" to "..", so this reaches another (GET-only) route.
    let (status, _) = post(&server, "/api/default/%2E%2E/_json", body.clone()).await;
    assert!(status.is_client_error(), "{status}");
    let streams = server
        .root(Method::GET, "/api/default/streams")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !streams.contains("etc") && !streams.contains("2f"),
        "{streams}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_503_with_retry_after_and_recovers() {
    let server = TestServer::start_overloaded().await;
    let response = server
        .root(Method::POST, "/api/default/app/_json")
        .body(json!([{"i": -1}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    server.repair_store().await;
    let response = server
        .root(Method::POST, "/api/default/app/_json")
        .body(json!([{"i": -1}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        server
            .search("default", "SELECT count(*) AS n FROM app")
            .await,
        vec![json!({"n": 2001})]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_whose_flush_hangs_stops_at_its_timeout_and_the_wal_keeps_the_records() {
    // An "S3 server" that takes connections and never answers: the stop's flush hangs (each
    // request would be abandoned only after 10 minutes).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let mut server = TestServer::start_with(|config| {
        config.s3_bucket = Some("silent".to_string());
        config.s3_endpoint = endpoint;
        config.s3_access_key = "AKIATEST".to_string();
        config.s3_secret_key = "SECRETTEST".to_string();
        config.s3_request_timeout = Duration::from_secs(600);
        config.s3_retry_timeout = Duration::from_secs(600);
        config.drain_timeout = Duration::from_secs(1);
    })
    .await;
    server
        .ingest("default", "app", &[json!({"n": 1}), json!({"n": 2})])
        .await;
    let error = server
        .node
        .take()
        .unwrap()
        .stop()
        .await
        .expect_err("a drain that could not flush reported success");
    assert!(
        error.to_string().contains("KANSOKU_DRAIN_TIMEOUT"),
        "{error}"
    );
    held.abort();
    // Nothing acknowledged is lost: the next start (on local disk now) replays the WAL.
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    let server = TestServer::start_config(test_config(dir.path()), dir).await;
    assert_eq!(
        server
            .search("default", "SELECT count(*) AS n FROM app")
            .await,
        vec![json!({"n": 2})]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_server_still_answers_clients_that_are_sending_a_body() {
    let server = TestServer::start_overloaded().await;
    // A large body refused by admission control: the client gets the 503, not a reset.
    let big: Vec<String> = (0..20_000)
        .map(|i| json!({"i": i, "log": "x".repeat(100)}).to_string())
        .collect();
    let body = big.join("\n");
    assert_refusals_are_answered(|| {
        server
            .root(Method::POST, "/api/default/app/_multi")
            .body(body.clone())
    })
    .await;
    server.repair_store().await;
    server.stop().await;
}

/// Found when tried as a new user would: a full memtable waited for the flush size or the flush
/// interval (an hour here), refusing every write meanwhile. Now a full memtable is flushed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_memtable_is_flushed_at_once_not_at_the_next_interval() {
    let server = TestServer::start_with(|c| {
        c.memtable_max_bytes = 64 * 1024;
        c.memtable_flush_bytes = usize::MAX;
    })
    .await;
    let records: Vec<Value> = (0..2000)
        .map(|i| json!({"i": i, "log": "some text to take room"}))
        .collect();
    server.ingest("default", "app", &records).await;
    let started = std::time::Instant::now();
    let mut refusals = 0;
    loop {
        let response = server
            .root(Method::POST, "/api/default/app/_json")
            .body(json!([{"i": -1}]).to_string())
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        refusals += 1;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "writes still refused after a minute ({refusals} refusals): the full memtable was not flushed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        server
            .search("default", "SELECT count(*) AS n FROM app")
            .await,
        vec![json!({"n": 2001})]
    );
    server.stop().await;
}
