//! `GET /node/cluster/ingesters` and `POST /node/cluster/ingesters/{node}/forget`, with the lease
//! a node takes on its id on PostgreSQL: listed while it runs, its epoch in flushed file names,
//! drained by a clean stop, forgotten by root only when it is not running (audited), and fenced
//! when another process takes the id over — writes refused, nothing flushed, `/readyz` saying
//! why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use kansoku_meta::{ClaimOutcome, LeaseClaim, MetaStore};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Renewed every 2 s: a fenced node learns it within a few seconds.
const LEASE: Duration = Duration::from_secs(12);

async fn start_node(dsn: &str, node: &str) -> TestServer {
    let (dsn, node) = (dsn.to_string(), node.to_string());
    TestServer::start_with(move |config| leased(config, &dsn, &node)).await
}

fn leased(config: &mut kansoku_server::Config, dsn: &str, node: &str) {
    config.meta_dsn = Some(dsn.to_string());
    config.node_id = Some(node.to_string());
    config.node_lease = LEASE;
}

const SECRET: &str = "test-cluster-secret-0123";

/// A node of a cluster with a NATS registry of its own (`prefix`).
async fn start_registered(dsn: &str, node: &str, prefix: &str) -> TestServer {
    let (dsn, node, prefix) = (dsn.to_string(), node.to_string(), prefix.to_string());
    TestServer::start_with(move |config| {
        leased(config, &dsn, &node);
        config.nats_url = Some(kansoku_testkit::nats_url());
        config.nats_prefix = prefix;
        config.cluster_secret = Some(SECRET.to_string());
    })
    .await
}

/// The node ids the registry shows through `GET /node/cluster/ingesters` once `done` holds
/// (polled up to 10 s: less than an entry's expiry, 15 s, so a withdrawal seen was one).
async fn registered_until(server: &TestServer, done: impl Fn(&[String]) -> bool) -> Value {
    let mut body = Value::Null;
    for _ in 0..100 {
        let (status, answer) = send(server.root(Method::GET, "/node/cluster/ingesters")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let nodes: Vec<String> = answer["registry"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["node"].as_str().unwrap().to_string())
            .collect();
        if done(&nodes) {
            return answer;
        }
        body = answer;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the registry never showed what was expected: {body}");
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    json_of(request.send().await.unwrap()).await
}

/// The rows of `GET /node/cluster/ingesters`, by node id.
async fn ingesters(server: &TestServer) -> Vec<Value> {
    let (status, body) = send(server.root(Method::GET, "/node/cluster/ingesters")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["ingesters"].as_array().unwrap().clone()
}

fn forget_path(node: &str) -> String {
    format!("/node/cluster/ingesters/{node}/forget")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_lists_the_leases_and_forgets_only_nodes_that_are_not_running() {
    let dsn = kansoku_testkit::fresh_postgres_dsn().await;
    let first = start_node(&dsn, "ingester-0").await;
    let second = start_node(&dsn, "ingester-1").await;

    let rows = ingesters(&first).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["node"], "ingester-0");
    assert_eq!(rows[0]["state"], "active");
    assert_eq!(rows[0]["epoch"], 1);
    assert_eq!(rows[0]["lease_live"], true);
    assert_eq!(
        rows[0]["http"],
        first.node.as_ref().unwrap().http_addr.to_string()
    );
    assert_eq!(rows[1]["node"], "ingester-1");

    // Only root reads or changes the cluster.
    let (admin, password) = first.create_user("default", "admin@x.io", "admin").await;
    for (method, path) in [
        (Method::GET, "/node/cluster/ingesters".to_string()),
        (Method::POST, forget_path("ingester-1")),
    ] {
        let refused = first
            .as_user(&admin, &password, method.clone(), &path)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let anonymous = first.anonymous(method, &path).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    // A running node cannot be forgotten; an unknown one is not found.
    let (status, body) = send(first.root(Method::POST, &forget_path("ingester-1"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("may be running"),
        "{body}"
    );
    let (status, body) = send(first.root(Method::POST, &forget_path("ingester-9"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Flushed files carry the writer's epoch.
    first
        .ingest("default", "leased", &[json!({"n": 1}), json!({"n": 2})])
        .await;
    first.flush().await;
    let names = parquet_names(first.dir.path());
    assert!(!names.is_empty());
    assert!(
        names.iter().all(|name| name.starts_with("e1.ingester-0-")),
        "{names:?}"
    );

    // A clean stop flushes and marks the node drained: nothing of it is waiting anywhere.
    second
        .ingest("default", "drained", &[json!({"n": 1}), json!({"n": 2})])
        .await;
    // Until then, the first node cannot read what the second holds in memory, and says so.
    let search = json!({"query": {"sql": "SELECT * FROM drained", "start_time": 0,
        "end_time": common::now_micros() + 60_000_000}});
    let (status, body) = send(
        first
            .root(Method::POST, "/api/default/_search")
            .json(&search),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_partial"], true, "{body}");
    assert_eq!(body["partial_nodes"], json!(["ingester-1"]), "{body}");
    let mut second = second;
    let second_dir = std::mem::replace(&mut second.dir, tempfile::tempdir().unwrap());
    second.node.take().unwrap().stop().await.unwrap();
    let rows = ingesters(&first).await;
    assert_eq!(rows[1]["state"], "drained", "{rows:?}");
    // Its records are committed (the manifest lists them) before the row says drained.
    let meta = MetaStore::connect(&dsn).await.unwrap();
    let stream = kansoku_core::StreamKey::new(
        kansoku_core::OrgId::parse("default").unwrap(),
        kansoku_core::StreamType::Logs,
        kansoku_core::StreamName::normalise("drained").unwrap(),
    );
    let files = meta.list_files(&stream, 0, i64::MAX).await.unwrap();
    assert_eq!(files.iter().map(|file| file.records).sum::<i64>(), 2);
    assert_eq!(rows[1]["lease_live"], false, "{rows:?}");
    // (Drained, it is no longer named in partial answers: tests/roles.rs, whose nodes share a
    // bucket; these two do not.)
    let (status, body) = send(first.root(Method::POST, &forget_path("ingester-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "forgotten");
    let rows = ingesters(&first).await;
    assert_eq!(rows[1]["state"], "forgotten", "{rows:?}");
    assert_eq!(rows[1]["lease_live"], false, "{rows:?}");
    let (status, audit) = send(first.root(Method::GET, "/node/audit")).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(
        audit["list"].as_array().unwrap().iter().any(|entry| {
            entry["route"] == "/node/cluster/ingesters/{node}/forget"
                && entry["path"] == "/node/cluster/ingesters/ingester-1/forget"
                && entry["actor"] == ROOT
        }),
        "{audit}"
    );

    // A forgotten node that comes back takes its id at once, at the next epoch.
    let mut config = test_config(second_dir.path());
    leased(&mut config, &dsn, "ingester-1");
    let second = TestServer::start_config(config, second_dir).await;
    let rows = ingesters(&first).await;
    assert_eq!(
        (&rows[1]["state"], &rows[1]["epoch"]),
        (&json!("active"), &json!(2)),
        "{rows:?}"
    );
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_id_is_taken_over_stops_writing_and_flushing() {
    let dsn = kansoku_testkit::fresh_postgres_dsn().await;
    let mut server = start_node(&dsn, "ingester-0").await;
    server
        .ingest("default", "leased", &[json!({"n": 1}), json!({"n": 2})])
        .await;
    let wal = server.dir.path().join("wal");
    let wal_before = directory_listing(&wal);

    // Another process claims the id as if it had restarted on this volume.
    let volume = std::fs::read_to_string(wal.join("volume")).unwrap();
    let intruder = MetaStore::connect(&dsn).await.unwrap();
    let claimed = intruder
        .claim_ingester(&LeaseClaim {
            node: "ingester-0",
            instance: "intruder",
            volume: volume.trim(),
            legacy_instance: None,
            http: "127.0.0.1:1",
            cluster: "",
            lease: LEASE,
        })
        .await
        .unwrap();
    assert_eq!(claimed, ClaimOutcome::Claimed { epoch: 2 });
    tokio::time::timeout(
        Duration::from_secs(60),
        server.node.as_ref().unwrap().fenced(),
    )
    .await
    .expect("the node learns it was fenced within a few renewals");
    let mut ready = Value::Null;
    for _ in 0..100 {
        ready = send(server.anonymous(Method::GET, "/readyz")).await.1;
        if ready["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("took over"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        ready["reason"].as_str().unwrap().contains("took over"),
        "{ready}"
    );

    // Nothing is acknowledged or flushed any more, and the node says why.
    let refused = server
        .root(Method::POST, "/api/default/leased/_multi")
        .body("{\"n\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.headers()["x-kansoku-refusal"], "draining");
    let (_, body) = json_of(refused).await;
    assert!(
        body["message"].as_str().unwrap().contains("took over"),
        "{body}"
    );
    let flush = server
        .root(Method::PUT, "/node/flush")
        .send()
        .await
        .unwrap();
    assert_eq!(flush.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = send(server.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    // Stopping flushes nothing: the WAL is left as it was for the process holding the id.
    server.node.take().unwrap().stop().await.unwrap();
    assert_eq!(directory_listing(&wal), wal_before);
    assert!(parquet_names(server.dir.path()).is_empty());
}

/// `(name, length)` of every file in `dir`.
fn directory_listing(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_announce_themselves_in_the_registry_and_withdraw_when_they_stop() {
    let dsn = kansoku_testkit::fresh_postgres_dsn().await;
    let prefix = format!("kt{}", kansoku_testkit::random_suffix());
    let first = start_registered(&dsn, "ingester-0", &prefix).await;
    let second = start_registered(&dsn, "ingester-1", &prefix).await;

    let body = registered_until(&first, |nodes| nodes.len() == 2).await;
    assert_eq!(body["registry"]["enabled"], true);
    let node = &body["registry"]["nodes"][1];
    assert_eq!(node["node"], "ingester-1");
    assert_eq!(node["state"], "active");
    assert_eq!(node["roles"], json!(["all"]));
    assert_eq!(
        node["http"],
        second.node.as_ref().unwrap().http_addr.to_string()
    );
    // The registry's instance is the lease's.
    assert_eq!(node["instance"], body["ingesters"][1]["instance"]);
    assert_eq!(body["ingesters"][1]["registered"], true);

    // A clean stop withdraws the node at once (no waiting for its entry to expire).
    second.stop().await;
    let body = registered_until(&first, |nodes| nodes == ["ingester-0"]).await;
    assert_eq!(body["ingesters"][1]["registered"], false);
    first.stop().await;

    // Without a registry the listing says so.
    let alone = start_node(&dsn, "ingester-2").await;
    let (_, body) = send(alone.root(Method::GET, "/node/cluster/ingesters")).await;
    assert_eq!(body["registry"], json!({"enabled": false}));
    assert_eq!(body["ingesters"][2]["registered"], Value::Null, "{body}");
    alone.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_without_a_cluster_secret_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.nats_url = Some(kansoku_testkit::nats_url());
    let refused = kansoku_server::start(config.clone()).await.err().unwrap();
    assert!(
        refused.to_string().contains("KANSOKU_CLUSTER_SECRET"),
        "{refused}"
    );
    config.cluster_secret = Some("short".to_string());
    let refused = kansoku_server::start(config).await.err().unwrap();
    assert!(
        refused.to_string().contains("at least 16 bytes"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_volume_with_the_same_id_waits_until_the_first_stops() {
    let dsn = kansoku_testkit::fresh_postgres_dsn().await;
    let first = start_node(&dsn, "ingester-0").await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut config = test_config(dir.path());
    leased(&mut config, &dsn, "ingester-0");
    config.http_port = port;
    let starting = tokio::spawn(kansoku_server::start(config));

    // It answers health checks while it waits, and says why it is not ready.
    let client = reqwest::Client::new();
    let mut reason = String::new();
    for _ in 0..200 {
        if let Ok(answer) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            let body: Value = answer.json().await.unwrap_or_default();
            reason = body["reason"].as_str().unwrap_or("").to_string();
            if reason.contains("claiming this node's lease") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reason.contains("claiming this node's lease"), "{reason}");
    assert!(!starting.is_finished());

    // The first stops cleanly (drained): the second takes the id at the next epoch.
    first.stop().await;
    let second = tokio::time::timeout(Duration::from_secs(60), starting)
        .await
        .expect("the second volume never got the drained node's id")
        .unwrap()
        .unwrap();
    let meta = MetaStore::connect(&dsn).await.unwrap();
    let row = meta.ingester("ingester-0").await.unwrap().unwrap();
    assert_eq!(
        (row.epoch, row.state.to_string()),
        (2, "active".to_string())
    );
    second.stop().await.unwrap();
}
