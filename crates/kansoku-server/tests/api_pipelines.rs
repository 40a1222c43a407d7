//! `GET|PUT|DELETE /api/{org}/streams/{s}/pipeline` and `POST …/pipeline/test`: a stream's
//! ingest pipeline, applied to what every route ingests — CRI lines joined and parsed, JSON in
//! a field turned into columns, pod metadata from paths, renames, drops and routes — with bad
//! definitions refused, drops reported and counted, and test runs that store nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PIPELINE: &str = "/api/default/streams/k8s/pipeline";

fn k8s_pipeline() -> Value {
    json!({"steps": [
        {"type": "parse_cri"},
        {"type": "kubernetes_path"},
        {"type": "parse_json", "drop_source": true},
        {"type": "drop_record", "when": {"field": "level", "op": "eq", "value": "debug"}},
        {"type": "route", "when": {"field": "k8s_namespace_name", "op": "matches", "value": "^kube-"}, "stream": "system"},
        {"type": "rename", "from": "msg", "to": "message"}
    ]})
}

async fn put_pipeline(server: &TestServer, path: &str, pipeline: &Value) -> (StatusCode, Value) {
    json_of(
        server
            .root(Method::PUT, path)
            .json(pipeline)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn cri(time: &str, tag: &str, text: &str, path: &str) -> Value {
    json!({"log": format!("{time} stdout {tag} {text}"), "log_file_path": path})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_processed_by_their_streams_pipeline() {
    let server = TestServer::start().await;
    let (status, answer) = put_pipeline(&server, PIPELINE, &k8s_pipeline()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["version"], 1);

    let shop = "/var/log/pods/shop_cart-1_uid-1/app/0.log";
    let dns = "/var/log/pods/kube-system_coredns-1_uid-2/coredns/0.log";
    let now = rfc3339_utc(now_micros() / 1_000_000 - 60);
    let records = [
        cri(&now, "P", r#"{"level":"error","msg":"payment "#, shop),
        cri(&now, "F", r#"failed","order":42}"#, shop),
        cri(&now, "F", r#"{"level":"debug","msg":"noise"}"#, shop),
        cri(&now, "F", r#"{"level":"info","msg":"dns ok"}"#, dns),
        cri(&now, "F", "plain text, not JSON", shop),
    ];
    let answer = server.ingest("default", "k8s", &records).await;
    let status: Vec<Value> = answer["status"].as_array().unwrap().clone();
    let k8s = status.iter().find(|s| s["name"] == "k8s").unwrap();
    assert_eq!(k8s["successful"], 2, "{answer}");
    assert_eq!(k8s["dropped"], 1, "{answer}");
    let system = status.iter().find(|s| s["name"] == "system").unwrap();
    assert_eq!(system["successful"], 1, "{answer}");

    let rows = server
        .search(
            "default",
            "SELECT level, message, \"order\", k8s_namespace_name, k8s_pod_name, k8s_container_name, stream, log FROM k8s ORDER BY message",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["message"], "payment failed");
    assert_eq!(rows[0]["level"], "error");
    assert_eq!(rows[0]["order"], 42);
    assert_eq!(rows[0]["k8s_namespace_name"], "shop");
    assert_eq!(rows[0]["k8s_pod_name"], "cart-1");
    assert_eq!(rows[0]["k8s_container_name"], "app");
    assert_eq!(rows[0]["stream"], "stdout");
    assert!(rows[0].get("log").is_none_or(Value::is_null), "{rows:?}");
    assert_eq!(rows[1]["log"], "plain text, not JSON");
    let routed = server
        .search("default", "SELECT msg, k8s_namespace_name FROM system")
        .await;
    // Routing ends the pipeline: the rename after it did not run.
    assert_eq!(
        routed,
        vec![json!({"msg": "dns ok", "k8s_namespace_name": "kube-system"})]
    );
    assert_eq!(
        server
            .metric_when("kansoku_pipeline_records", "dropped", 1.0)
            .await,
        1.0
    );
    assert!(
        server
            .metric_when("kansoku_pipeline_records", "routed", 1.0)
            .await
            >= 1.0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_documents_split_by_the_runtime_are_stored_once_joined() {
    let server = TestServer::start().await;
    let (status, _) = put_pipeline(
        &server,
        PIPELINE,
        &json!({"steps": [
            {"type": "parse_cri"},
            {"type": "parse_json"},
            {"type": "drop_record", "when": {"field": "level", "op": "eq", "value": "debug"}}
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let path = "/var/log/pods/shop_api-1_u/api/0.log";
    let now = rfc3339_utc(now_micros() / 1_000_000 - 60);
    let mut body = String::new();
    for document in [
        cri(&now, "P", r#"{"msg":"a very"#, path),
        cri(&now, "P", " long", path),
        cri(&now, "F", r#" line"}"#, path),
        cri(&now, "P", "cut short", path),
        json!({"level": "debug", "log": "dropped by the pipeline"}),
        cri(
            &now,
            "P",
            r#"{"level":"debug","#,
            "/var/log/pods/shop_b_u/b/0.log",
        ),
        cri(
            &now,
            "F",
            r#""msg":"split and dropped"}"#,
            "/var/log/pods/shop_b_u/b/0.log",
        ),
    ] {
        body.push_str("{\"index\":{\"_index\":\"k8s\"}}\n");
        body.push_str(&document.to_string());
        body.push('\n');
    }
    let response = server
        .root(Method::POST, "/api/default/_bulk")
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["errors"], false, "{answer}");
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert!(
        items[..4]
            .iter()
            .all(|item| item["index"]["result"] == "created"),
        "{answer}"
    );
    assert_eq!(
        items[4]["index"]["result"], "noop",
        "a dropped document is not reported created"
    );
    assert_eq!(
        items[5]["index"]["result"], "noop",
        "nor the held part of a dropped line"
    );
    assert_eq!(items[6]["index"]["result"], "noop");
    let rows = server
        .search(
            "default",
            "SELECT msg, log, cri_partial FROM k8s ORDER BY log",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let joined = rows.iter().find(|row| row["msg"] == "a very long line");
    assert!(joined.is_some(), "{rows:?}");
    let alone = rows.iter().find(|row| row["log"] == "cut short").unwrap();
    assert_eq!(alone["cri_partial"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_checked_versioned_and_removable() {
    let server = TestServer::start().await;
    let response = server.root(Method::GET, PIPELINE).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    for (bad, says) in [
        (json!({"steps": [{"type": "explode"}]}), "unknown variant"),
        (
            json!({"steps": [{"type": "rename", "from": "a", "to": " "}]}),
            "step 1: to must name a field",
        ),
        (
            json!({"steps": [{"type": "drop_record", "when": {"field": "a", "op": "matches", "value": "(("}}]}),
            "regular expression",
        ),
        (
            json!({"steps": [{"type": "route", "when": {"field": "a", "op": "exists"}, "stream": "a/b"}]}),
            "step 1",
        ),
        (json!({"version": 99, "steps": []}), "version 99"),
        (json!([1, 2]), "invalid pipeline"),
    ] {
        let (status, answer) = put_pipeline(&server, PIPELINE, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{bad}: {answer}"
        );
    }
    let (_, first) = put_pipeline(&server, PIPELINE, &k8s_pipeline()).await;
    let (_, second) = put_pipeline(
        &server,
        PIPELINE,
        &json!({"steps": [{"type": "drop_fields", "fields": ["secret"]}]}),
    )
    .await;
    assert_eq!(
        (first["version"].clone(), second["version"].clone()),
        (json!(1), json!(2))
    );
    let (status, stored) = json_of(server.root(Method::GET, PIPELINE).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["pipeline"]["steps"][0]["type"], "drop_fields");
    assert_eq!(
        stored["pipeline"]["version"], 1,
        "the format version is stored"
    );
    assert_eq!(stored["updated_by"], ROOT);
    server
        .ingest(
            "default",
            "k8s",
            &[json!({"secret": "s3cret", "keep": "me"})],
        )
        .await;
    let rows = server.search("default", "SELECT * FROM k8s").await;
    assert!(rows[0].get("secret").is_none(), "{rows:?}");
    let response = server.root(Method::DELETE, PIPELINE).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = server.root(Method::DELETE, PIPELINE).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server
        .ingest("default", "k8s", &[json!({"secret": "now kept"})])
        .await;
    let rows = server
        .search("default", "SELECT secret FROM k8s WHERE secret IS NOT NULL")
        .await;
    assert_eq!(rows, vec![json!({"secret": "now kept"})]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_run_shows_the_outcome_and_stores_nothing() {
    let server = TestServer::start().await;
    let now = "2025-12-01T10:00:00.5Z";
    let path = "/var/log/pods/kube-system_dns_u/coredns/0.log";
    let body = json!({
        "pipeline": k8s_pipeline(),
        "records": [
            cri(now, "P", r#"{"level":"warn","#, "/var/log/pods/shop_a_u/app/0.log"),
            cri(now, "F", r#""msg":"joined"}"#, "/var/log/pods/shop_a_u/app/0.log"),
            cri(now, "F", r#"{"level":"debug"}"#, path),
            cri(now, "F", r#"{"level":"info"}"#, path),
            "not an object"
        ]
    });
    let response = server
        .root(Method::POST, &format!("{PIPELINE}/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{answer}");
    assert_eq!(results[0]["record_number"], 5);
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
    assert_eq!(results[1]["record_number"], 1);
    assert_eq!(results[1]["joined_records"], json!([2]));
    assert_eq!(results[1]["stream"], "k8s");
    assert_eq!(results[1]["record"]["message"], "joined");
    assert_eq!(results[1]["record"]["_timestamp"], now);
    assert_eq!(results[2], json!({"record_number": 3, "dropped": true}));
    assert_eq!(results[3]["stream"], "system");
    assert_eq!(results[3]["routed"], true);
    // Nothing was stored, and the stream has no pipeline.
    server.assert_no_stream("default", "k8s").await;
    let response = server
        .root(Method::POST, &format!("{PIPELINE}/test"))
        .json(&json!({"records": [{"a": 1}]}))
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("has no pipeline")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrl_programs_run_and_a_failing_one_keeps_the_record() {
    let server = TestServer::start().await;
    let pipeline = json!({"steps": [
        {"type": "vrl", "source": "if .path == \"/healthz\" { abort }\n.code = to_int!(.status)\n.slow = int!(.took_ms) > 500"}
    ]});
    let (status, answer) = put_pipeline(&server, PIPELINE, &pipeline).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer = server
        .ingest(
            "default",
            "k8s",
            &[
                json!({"path": "/cart", "status": "503", "took_ms": 900}),
                json!({"path": "/healthz", "status": "200", "took_ms": 1}),
                json!({"path": "/pay", "status": "unknown", "took_ms": 10}),
            ],
        )
        .await;
    assert_eq!(answer["status"][0]["successful"], 2, "{answer}");
    assert_eq!(answer["status"][0]["dropped"], 1, "{answer}");
    let rows = server
        .search(
            "default",
            "SELECT path, code, status, slow, _pipeline_error FROM k8s ORDER BY path",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["path"], "/cart");
    assert_eq!(rows[0]["code"], 503);
    assert_eq!(rows[0]["slow"], true);
    assert_eq!(rows[1]["path"], "/pay");
    assert_eq!(rows[1]["status"], "unknown", "stored as it came");
    assert!(rows[1]["code"].is_null(), "{rows:?}");
    let error = rows[1]["_pipeline_error"].as_str().unwrap();
    assert!(error.contains("the VRL program failed"), "{error}");
    assert!(
        server
            .metric_when("kansoku_pipeline_records", "failed", 1.0)
            .await
            >= 1.0
    );
    // VRL is code run in the server: editors may not save or try it, admins may.
    let (editor, password) = server
        .create_user("default", "editor@example.com", "editor")
        .await;
    let response = server
        .as_user(&editor, &password, Method::PUT, PIPELINE)
        .json(&pipeline)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(
            &editor,
            &password,
            Method::POST,
            &format!("{PIPELINE}/test"),
        )
        .json(&json!({"pipeline": pipeline, "records": [{"a": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(
            &editor,
            &password,
            Method::POST,
            "/api/default/alerts/apply",
        )
        .body("pipelines:\n  - stream: k8s\n    steps: [{type: vrl, source: '.a = 1'}]\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(&editor, &password, Method::PUT, PIPELINE)
        .json(&json!({"steps": [{"type": "drop_fields", "fields": ["x"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "other steps are editors' to set"
    );

    // A program that does not compile is refused with VRL's diagnostic.
    let (status, answer) = put_pipeline(
        &server,
        PIPELINE,
        &json!({"steps": [{"type": "vrl", "source": ".a = http_request(\"http://10.0.0.1\")"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("step 1"),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_as_code_from_the_alerts_directory_and_kansoku_apply() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipelines.yaml");
    let document = |field: &str| {
        format!(
            "pipelines:\n  - stream: k8s\n    steps:\n      - {{type: parse_json, field: {field}}}\n"
        )
    };
    std::fs::write(&file, document("log")).unwrap();
    let path = dir.path().to_path_buf();
    let server = TestServer::start_with(move |config| {
        config.alerts_dir = Some(path);
        config.alerts_dir_interval = std::time::Duration::from_millis(100);
    })
    .await;
    let stored = |server: &TestServer| {
        let request = server.root(Method::GET, PIPELINE);
        async move { json_of(request.send().await.unwrap()).await }
    };
    // Applied before the node is ready, and in force.
    let (status, pipeline) = stored(&server).await;
    assert_eq!(status, StatusCode::OK, "{pipeline}");
    assert_eq!(pipeline["updated_by"], "file:pipelines.yaml");
    server
        .ingest("default", "k8s", &[json!({"log": "{\"user\": \"u1\"}"})])
        .await;
    let rows = server.search("default", "SELECT user FROM k8s").await;
    assert_eq!(rows, vec![json!({"user": "u1"})]);

    // Edited, then an invalid version changes nothing, then removed from the files: deleted.
    std::fs::write(&file, document("message")).unwrap();
    let mut field = Value::Null;
    for _ in 0..100 {
        field = stored(&server).await.1["pipeline"]["steps"][0]["field"].clone();
        if field == "message" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(field, "message");
    std::fs::write(
        &file,
        "pipelines:\n  - stream: k8s\n    steps: [{type: route, when: {field: a, op: matches, value: '(('}, stream: x}]\n",
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        stored(&server).await.1["pipeline"]["steps"][0]["field"],
        "message"
    );
    std::fs::write(&file, "templates: []\n").unwrap();
    let mut status = StatusCode::OK;
    for _ in 0..100 {
        status = stored(&server).await.0;
        if status == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `kansoku apply` (POST /api/{org}/alerts/apply): created, then unchanged; never deleted.
    for expected in ["created", "unchanged"] {
        let response = server
            .root(Method::POST, "/api/default/alerts/apply")
            .header("content-type", "application/yaml")
            .body(document("log"))
            .send()
            .await
            .unwrap();
        let (status, answer) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            answer["changes"],
            json!([{"org": "default", "kind": "pipeline", "name": "logs/k8s", "action": expected}])
        );
    }
    let (_, pipeline) = stored(&server).await;
    assert_eq!(pipeline["updated_by"], "kansoku apply");
    server.stop().await;
}
