//! `KANSOKU_ROLES`: a node that runs only some roles, over one PostgreSQL database, S3 bucket
//! and NATS server shared with the others — what it mounts, what it answers 421 to, what the
//! registry says about it, a router in front of ingesters and a querier, changes made on one
//! node seen by the others — and the settings refused at start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use kansoku_storage::StorageConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "test-cluster-secret-0123";

/// What the nodes of one test cluster share.
#[derive(Clone)]
struct Shared {
    dsn: String,
    storage: StorageConfig,
    prefix: String,
}

impl Shared {
    async fn fresh() -> Shared {
        Shared {
            dsn: kansoku_testkit::fresh_postgres_dsn().await,
            storage: kansoku_testkit::fresh_s3_storage(),
            prefix: format!("roles{}", kansoku_testkit::random_suffix()),
        }
    }

    /// Sets `config` up as node `node` of this cluster with `roles`.
    fn apply(&self, config: &mut kansoku_server::Config, node: &str, roles: &str) {
        config.roles = roles.to_string();
        config.node_id = Some(node.to_string());
        config.meta_dsn = Some(self.dsn.clone());
        config.nats_url = Some(kansoku_testkit::nats_url());
        config.nats_prefix = self.prefix.clone();
        config.cluster_secret = Some(SECRET.to_string());
        config.node_lease = Duration::from_secs(12);
        let StorageConfig::S3 {
            endpoint,
            bucket,
            access_key,
            secret_key,
            prefix,
            ..
        } = &self.storage
        else {
            unreachable!("fresh_s3_storage is S3")
        };
        config.s3_endpoint = endpoint.clone();
        config.s3_bucket = Some(bucket.clone());
        config.s3_access_key = access_key.clone();
        config.s3_secret_key = secret_key.clone();
        config.s3_prefix = prefix.clone();
    }

    async fn start(&self, node: &str, roles: &str) -> TestServer {
        let (shared, node, roles) = (self.clone(), node.to_string(), roles.to_string());
        TestServer::start_with(move |config| {
            shared.apply(config, &node, &roles);
            // Configured everywhere (one configuration for every role), bound by ingesters only.
            config.syslog.syslog_tcp_addr = Some("127.0.0.1:0".parse().unwrap());
        })
        .await
    }
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    json_of(request.send().await.unwrap()).await
}

/// `POST /api/default/_search` with `search` on `server`, as root.
async fn search_on(server: &TestServer, search: &Value) -> (StatusCode, Value) {
    send(
        server
            .root(Method::POST, "/api/default/_search")
            .json(search),
    )
    .await
}

/// The registry's entries, by node id, once every node of `expected` is in it (10 s at most).
async fn registered(server: &TestServer, expected: &[&str]) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = send(server.root(Method::GET, "/node/cluster/ingesters")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let nodes = body["registry"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = nodes
            .iter()
            .filter_map(|node| node["node"].as_str())
            .collect();
        if expected.iter().all(|node| names.contains(node)) {
            return nodes;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the registry never showed {expected:?}: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingester_and_a_querier_split_the_work_over_shared_storage() {
    let shared = Shared::fresh().await;
    let ingester = shared.start("ingester-0", "ingester").await;
    let querier = shared
        .start("querier-0", "querier,compactor,alert-manager")
        .await;

    // Each node mounts what its roles need: only the ingester listens for syslog.
    assert!(ingester.node.as_ref().unwrap().syslog_addrs.tcp.is_some());
    assert!(querier.node.as_ref().unwrap().syslog_addrs.tcp.is_none());

    // Writes go to the ingester; the querier names the role that takes them.
    let records = [
        json!({"msg": "split one", "n": 1}),
        json!({"msg": "split two", "n": 2}),
    ];
    let answer = ingester.ingest("default", "app", &records).await;
    assert_eq!(answer["status"][0]["successful"], 2, "{answer}");
    let (status, body) = send(
        querier
            .root(Method::POST, "/api/default/app/_json")
            .json(&records),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("querier,compactor,alert-manager") && message.contains("ingester role"),
        "{message}"
    );
    assert_eq!(body["code"], 421, "{body}");

    // Searches go to the querier; the ingester names the role that answers them.
    let search = json!({"query": {"sql": "SELECT * FROM app", "start_time": 0,
        "end_time": now_micros() + 60_000_000, "size": 10}});
    let (status, body) = search_on(&ingester, &search).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("querier role"),
        "{body}"
    );
    let (status, body) =
        send(ingester.root(Method::GET, "/api/default/prometheus/api/v1/query?query=up")).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");

    // Before the flush, the records are in the ingester's memory: the querier reads them
    // over the cluster's Flight service, each once, and the answer is whole.
    let (status, body) = search_on(&querier, &search).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_partial"], false, "{body}");
    assert_eq!(body["hits"].as_array().unwrap().len(), 2, "{body}");
    let (status, body) =
        send(querier.root(Method::GET, "/api/default/prometheus/api/v1/query?query=up")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("warnings").is_none(), "{body}");

    // Flushed to the shared bucket and manifest: still each record once.
    ingester.flush().await;
    let hits = querier
        .search("default", "SELECT msg FROM app ORDER BY n")
        .await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0]["msg"], "split one");
    assert_eq!(hits[1]["msg"], "split two");

    // Only the ingester holds a lease (it alone has a WAL); both are in the registry with
    // their roles.
    let (status, body) = send(querier.root(Method::GET, "/node/cluster/ingesters")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let leased: Vec<&str> = body["ingesters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row["node"].as_str())
        .collect();
    assert_eq!(leased, ["ingester-0"], "{body}");
    let nodes = registered(&querier, &["ingester-0", "querier-0"]).await;
    let roles_of = |name: &str| {
        nodes
            .iter()
            .find(|node| node["node"] == name)
            .map(|node| node["roles"].clone())
            .unwrap()
    };
    assert_eq!(roles_of("ingester-0"), json!(["ingester"]));
    assert_eq!(
        roles_of("querier-0"),
        json!(["querier", "compactor", "alert-manager"])
    );

    // A node without a write path is ready once it started and the database answers.
    let (status, body) = send(querier.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["roles"],
        json!(["querier", "compactor", "alert-manager"])
    );

    // Administration works on every node: a stream setting changed on the querier is what
    // the ingester reads from the shared database.
    let (status, body) = send(
        querier
            .root(Method::PUT, "/api/default/streams/app/settings")
            .json(&json!({"data_retention": 9})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(ingester.root(Method::GET, "/api/default/streams")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = body["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stream| stream["name"] == "app")
        .cloned()
        .unwrap();
    assert_eq!(app["settings"]["data_retention"], 9, "{app}");

    // A drained ingester has committed everything: the answer stays whole without it.
    ingester.stop().await;
    let (status, body) = search_on(&querier, &search).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_partial"], false, "{body}");
    assert_eq!(body["hits"].as_array().unwrap().len(), 2, "{body}");
    querier.stop().await;
}

/// Starts a node with `adjust` applied and returns the start's error.
async fn refused(adjust: impl FnOnce(&mut kansoku_server::Config)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    adjust(&mut config);
    match kansoku_server::start(config).await {
        Ok(node) => {
            node.stop().await.unwrap();
            panic!("the start was not refused");
        }
        Err(error) => error.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_role_lists_without_shared_storage_or_with_unknown_roles_are_refused() {
    // On the embedded default, every missing shared setting is named.
    let error = refused(|config| config.roles = "querier".to_string()).await;
    for setting in [
        "KANSOKU_META_DSN",
        "KANSOKU_S3_BUCKET",
        "KANSOKU_NATS_URL",
        "KANSOKU_CLUSTER_SECRET",
    ] {
        assert!(error.contains(setting), "{setting} missing from: {error}");
    }

    let error = refused(|config| config.roles = "ingester,writer".to_string()).await;
    assert!(error.contains("unknown role \"writer\""), "{error}");
    let error = refused(|config| config.roles = "all,querier".to_string()).await;
    assert!(error.contains("cannot be combined"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_through_one_node_applies_on_the_others_at_once() {
    let shared = Shared::fresh().await;
    let ingester = shared.start("ingester-0", "ingester").await;
    let querier = shared.start("querier-0", "querier").await;
    // Both connected to NATS (the registry shows both), so both receive events.
    registered(&querier, &["ingester-0", "querier-0"]).await;
    registered(&ingester, &["ingester-0", "querier-0"]).await;

    // An ingestion token made on the querier: the ingester verifies it once and caches it
    // for a minute (a token is not looked up again while cached).
    let (status, created) = send(
        querier
            .root(Method::POST, "/api/default/ingestion-tokens")
            .json(&json!({"name": "fluent-bit"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let write = || {
        ingester
            .as_user("fluent-bit", &token, Method::POST, "/api/default/app/_json")
            .json(&json!([{"msg": "from the agent"}]))
            .send()
    };
    let (status, body) = json_of(write().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Revoked through the querier: the ingester refuses it within seconds, not once its cache
    // expired.
    let (status, body) =
        send(querier.root(Method::DELETE, "/api/default/ingestion-tokens/fluent-bit")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..100 {
        last = json_of(write().await.unwrap()).await;
        if last.0 != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        last.0,
        StatusCode::UNAUTHORIZED,
        "the revoked token still wrote through the other node: {last:?}"
    );

    querier.stop().await;
    ingester.stop().await;
}

/// The names of the Parquet files in the cluster's bucket (s3s-fs keeps objects as files).
fn stored_file_names(shared: &Shared) -> Vec<String> {
    let StorageConfig::S3 { bucket, .. } = &shared.storage else {
        unreachable!("fresh_s3_storage is S3")
    };
    parquet_names(&std::path::Path::new(&kansoku_testkit::s3_settings().data_dir).join(bucket))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_spreads_writes_over_ingesters_and_sends_queries_to_a_querier() {
    let shared = Shared::fresh().await;
    let first = shared.start("ingester-0", "ingester").await;
    let second = shared.start("ingester-1", "ingester").await;
    let querier = shared.start("querier-0", "querier").await;
    let router = shared.start("router-0", "router").await;
    registered(
        &router,
        &["ingester-0", "ingester-1", "querier-0", "router-0"],
    )
    .await;

    // Writes to many streams through the router: every one acknowledged, and both ingesters
    // take some (each stream goes to the first of its rendezvous order).
    for n in 0..16 {
        let answer = router
            .ingest("default", &format!("spread_{n}"), &[json!({"n": n})])
            .await;
        assert_eq!(answer["status"][0]["successful"], 1, "{answer}");
    }
    // What the router serves itself: the administration APIs, from the shared database.
    let (status, body) = send(router.root(Method::GET, "/api/default/streams")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["list"].as_array().unwrap().len(), 16, "{body}");

    // Queries pass through to the querier, which reads both ingesters' memory.
    let search = json!({"query": {"sql": "SELECT count(*) AS n FROM spread_3", "start_time": 0,
        "end_time": now_micros() + 60_000_000}});
    let (status, body) = search_on(&router, &search).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_partial"], false, "{body}");
    assert_eq!(body["hits"], json!([{"n": 1}]), "{body}");

    first.flush().await;
    second.flush().await;
    let names = stored_file_names(&shared);
    for node in ["ingester-0", "ingester-1"] {
        assert!(
            names
                .iter()
                .any(|name| name.starts_with(&format!("e1.{node}-"))),
            "{node} took none of the writes: {names:?}"
        );
    }
    for n in [0, 7, 15] {
        let hits = router
            .search_until(&format!("SELECT n FROM spread_{n}"), 1)
            .await;
        assert_eq!(hits[0]["n"], n);
    }

    // An ingester that stops says so first (draining: routers send it nothing new), then
    // leaves; the router sends everything to the other one.
    second.node.as_ref().unwrap().announce_draining();
    let mut state = Value::Null;
    for _ in 0..100 {
        let nodes = registered(&router, &["ingester-1"]).await;
        state = nodes
            .iter()
            .find(|node| node["node"] == "ingester-1")
            .map(|node| node["state"].clone())
            .unwrap_or_default();
        if state == "draining" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "draining");
    second.stop().await;
    for n in 0..16 {
        let answer = router
            .ingest("default", &format!("spread_{n}"), &[json!({"n": n + 100})])
            .await;
        assert_eq!(answer["status"][0]["successful"], 1, "{answer}");
    }
    first.flush().await;
    let hits = router
        .search_until("SELECT n FROM spread_9 ORDER BY n", 2)
        .await;
    assert_eq!(hits[1]["n"], 109);

    // Credentials are checked by the node that answers: the router passes refusals back.
    let (status, _) = send(
        router
            .anonymous(Method::POST, "/api/default/_search")
            .json(&search),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    router.stop().await;
    querier.stop().await;
    first.stop().await;
}
