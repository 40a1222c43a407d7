//! The dashboards API: o2's v8 documents created, read, updated with optimistic concurrency,
//! moved and deleted; folders; validation errors naming the path; roles; the read-only built-in
//! folder; Grafana import with its report; dashboards as code; and the built-in Kubernetes
//! dashboard answering from cAdvisor + kube-state-metrics series and from OpenTelemetry
//! kubeletstats metrics alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::prometheus::*;
use common::*;
use kansoku_ingest::decode::remote_write::v1;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn panel(id: &str) -> Value {
    json!({
        "id": id, "type": "line", "title": "CPU", "queryType": "promql",
        "queries": [{"query": "up", "customQuery": true, "fields": {}, "config": {"promql_legend": "{job}"}}],
        "config": {"unit": "numbers"}, "layout": {"x": 0, "y": 0, "w": 96, "h": 18, "i": 1}
    })
}

fn dashboard(title: &str) -> Value {
    json!({
        "version": 8, "title": title, "description": "d",
        "tabs": [{"tabId": "default", "name": "Default", "panels": [panel("p1")]}],
        "variables": {"list": []},
        "defaultDatetimeDuration": {"type": "relative", "relativeTimePeriod": "15m"},
        "kansoku_test_field": 42
    })
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = server.root(method, path);
    if let Some(body) = body {
        request = request.json(body);
    }
    json_of(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_is_created_read_updated_with_its_hash_and_deleted() {
    let server = TestServer::start().await;
    let (status, created) = send(
        &server,
        Method::POST,
        "/api/default/dashboards",
        Some(&dashboard("Pods")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["v8"]["dashboardId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 19, "o2-like ids: {id}");
    assert_eq!(created["version"], 8);
    assert_eq!(created["v8"]["owner"], ROOT);
    assert_eq!(
        created["v8"]["kansoku_test_field"], 42,
        "unknown fields kept"
    );
    assert_eq!(created["folder_id"], "default");
    let first_hash = created["hash"].as_str().unwrap().to_string();

    let (status, read) = send(
        &server,
        Method::GET,
        &format!("/api/default/dashboards/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["v8"], created["v8"]);
    assert_eq!(read["hash"], first_hash);

    let mut changed = read["v8"].clone();
    changed["title"] = json!("Pods (edited)");
    let (status, updated) = send(
        &server,
        Method::PUT,
        &format!("/api/default/dashboards/{id}?hash={first_hash}"),
        Some(&changed),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["v8"]["title"], "Pods (edited)");
    assert_eq!(updated["v8"]["created"], created["v8"]["created"]);
    assert_ne!(updated["hash"], first_hash);

    changed["title"] = json!("lost update");
    let (status, stale) = send(
        &server,
        Method::PUT,
        &format!("/api/default/dashboards/{id}?hash={first_hash}"),
        Some(&changed),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert!(
        stale["message"].as_str().unwrap().contains("changed since"),
        "{stale}"
    );

    let (_, listed) = send(&server, Method::GET, "/api/default/dashboards", None).await;
    let titles: Vec<&str> = listed["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Pods (edited)"]);

    let (status, _) = send(
        &server,
        Method::DELETE,
        &format!("/api/default/dashboards/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, missing) = send(
        &server,
        Method::GET,
        &format!("/api/default/dashboards/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_dashboards_are_refused_naming_the_problem() {
    let server = TestServer::start().await;
    let mut bad_type = dashboard("x");
    bad_type["tabs"][0]["panels"][0]["type"] = json!("sparkles");
    let mut old = dashboard("x");
    old["version"] = json!(3);
    let grafana = json!({"title": "g", "panels": [], "schemaVersion": 39});
    for (body, expected) in [
        (bad_type, "tabs[0].panels[0].type"),
        (old, "version 3"),
        (grafana, "import/grafana"),
        (json!({"title": ""}), "title"),
    ] {
        let (status, answer) = send(
            &server,
            Method::POST,
            "/api/default/dashboards",
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{expected}: {answer}"
        );
    }
    let response = server
        .root(Method::POST, "/api/default/dashboards")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_hold_dashboards_and_the_builtin_folder_is_read_only() {
    let server = TestServer::start().await;
    let (status, folder) = send(
        &server,
        Method::POST,
        "/api/v2/default/folders/dashboards",
        Some(&json!({"name": "Platform", "description": "team"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let folder_id = folder["folderId"].as_str().unwrap().to_string();
    let (_, created) = send(
        &server,
        Method::POST,
        &format!("/api/default/dashboards?folder={folder_id}"),
        Some(&dashboard("Nodes")),
    )
    .await;
    assert_eq!(created["folder_name"], "Platform");
    let id = created["v8"]["dashboardId"].as_str().unwrap().to_string();
    let (status, refused) = send(
        &server,
        Method::DELETE,
        &format!("/api/v2/default/folders/dashboards/{folder_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    let (status, _) = send(
        &server,
        Method::PATCH,
        "/api/default/dashboards/move",
        Some(&json!({"dashboard_ids": [id], "dst_folder_id": "default"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, in_default) = send(
        &server,
        Method::GET,
        "/api/default/dashboards?folder=default",
        None,
    )
    .await;
    assert_eq!(in_default["dashboards"].as_array().unwrap().len(), 1);
    let (status, _) = send(
        &server,
        Method::DELETE,
        &format!("/api/v2/default/folders/dashboards/{folder_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, folders) = send(
        &server,
        Method::GET,
        "/api/v2/default/folders/dashboards",
        None,
    )
    .await;
    let ids: Vec<&str> = folders["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["folderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "builtin"]);
    let (status, _) = send(
        &server,
        Method::DELETE,
        "/api/v2/default/folders/dashboards/default",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, builtins) = send(
        &server,
        Method::GET,
        "/api/default/dashboards?folder=builtin",
        None,
    )
    .await;
    let builtin = &builtins["dashboards"][0];
    assert_eq!(builtin["dashboard_id"], "builtin-kubernetes");
    let (status, document) = send(
        &server,
        Method::GET,
        "/api/default/dashboards/builtin-kubernetes",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = send(
        &server,
        Method::PUT,
        "/api/default/dashboards/builtin-kubernetes",
        Some(&document["v8"]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("save a copy"));
    let (status, copy) = send(
        &server,
        Method::POST,
        "/api/default/dashboards",
        Some(&document["v8"]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a built-in dashboard can be saved as a copy: {copy}"
    );
    assert_ne!(copy["v8"]["dashboardId"], "builtin-kubernetes");
    let (_, all) = send(
        &server,
        Method::GET,
        "/api/default/dashboards?title=kubernetes",
        None,
    )
    .await;
    assert_eq!(all["dashboards"].as_array().unwrap().len(), 2, "{all}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_editors_write_and_admin_dashboards_need_admins() {
    let server = TestServer::start().await;
    let (viewer, viewer_password) = server
        .create_user("default", "viewer@example.com", "viewer")
        .await;
    let (editor, editor_password) = server
        .create_user("default", "editor@example.com", "editor")
        .await;
    let mut locked = dashboard("Locked");
    locked["role"] = json!("admin");
    let (_, created) = send(
        &server,
        Method::POST,
        "/api/default/dashboards",
        Some(&locked),
    )
    .await;
    let id = created["v8"]["dashboardId"].as_str().unwrap().to_string();
    let path = format!("/api/default/dashboards/{id}");

    let response = server
        .as_user(&viewer, &viewer_password, Method::GET, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = server
        .as_user(
            &viewer,
            &viewer_password,
            Method::POST,
            "/api/default/dashboards",
        )
        .json(&dashboard("by a viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let response = server
        .as_user(&editor, &editor_password, Method::PUT, &path)
        .json(&dashboard("unlocked by an editor"))
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("only admins"));
    let response = server
        .as_user(
            &editor,
            &editor_password,
            Method::POST,
            "/api/default/dashboards",
        )
        .json(&dashboard("by an editor"))
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(answer["v8"]["owner"], "editor@example.com");
    let (status, _) = send(&server, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK, "admins (root) may");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grafana_dashboard_is_imported_with_a_report() {
    let server = TestServer::start().await;
    let grafana = json!({
        "title": "Imported", "schemaVersion": 39, "time": {"from": "now-3h", "to": "now"},
        "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)"}]},
        "panels": [
            {"type": "timeseries", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
             "targets": [{"expr": "up{job=~\"$job\"}", "legendFormat": "{{instance}}"}]},
            {"type": "state-timeline", "title": "States", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}}
        ]
    });
    let (status, preview) = send(
        &server,
        Method::POST,
        "/api/default/dashboards/import/grafana?save=false",
        Some(&grafana),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["report"]["panels"], 1);
    assert!(
        preview["report"]["dropped"][0]
            .as_str()
            .unwrap()
            .contains("state-timeline")
    );
    let (_, listed) = send(&server, Method::GET, "/api/default/dashboards", None).await;
    assert!(
        listed["dashboards"].as_array().unwrap().is_empty(),
        "a preview saves nothing"
    );

    let (status, saved) = send(
        &server,
        Method::POST,
        "/api/default/dashboards/import/grafana",
        Some(&grafana),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let panel = &saved["v8"]["tabs"][0]["panels"][0];
    assert_eq!(panel["queries"][0]["query"], "up{job=~\"$job\"}");
    assert_eq!(panel["queries"][0]["config"]["promql_legend"], "{instance}");
    assert_eq!(
        saved["v8"]["defaultDatetimeDuration"]["relativeTimePeriod"],
        "3h"
    );
    assert_eq!(saved["report"]["dropped"].as_array().unwrap().len(), 1);

    let (status, refused) = send(
        &server,
        Method::POST,
        "/api/default/dashboards/import/grafana",
        Some(&dashboard("v8, not grafana")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_as_code_are_applied_with_alerts_and_keyed_by_title() {
    let server = TestServer::start().await;
    let file = format!(
        "dashboards:\n  - folder: ops\n    dashboard: {}\n  - {}\n",
        dashboard("Applied"),
        json!({"title": "From Grafana", "schemaVersion": 39, "panels": [
            {"type": "stat", "title": "Up", "targets": [{"expr": "sum(up)"}]}
        ]})
    );
    for expected in ["created", "unchanged"] {
        let response = server
            .root(Method::POST, "/api/default/alerts/apply")
            .header("Content-Type", "application/yaml")
            .body(file.clone())
            .send()
            .await
            .unwrap();
        let (status, answer) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let changes: Vec<(String, String)> = answer["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            changes,
            [
                ("Applied".to_string(), expected.to_string()),
                ("From Grafana".to_string(), expected.to_string())
            ],
            "{answer}"
        );
    }
    let (_, listed) = send(&server, Method::GET, "/api/default/dashboards?title=", None).await;
    let dashboards = listed["dashboards"].as_array().unwrap();
    let applied = dashboards.iter().find(|d| d["title"] == "Applied").unwrap();
    assert_eq!(applied["folder_id"], "ops");
    assert_eq!(
        dashboards
            .iter()
            .filter(|d| d["title"] == "From Grafana")
            .count(),
        1
    );
    server.stop().await;
}

// ---- the built-in Kubernetes dashboard on both kinds of data -----------------------------------

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// cAdvisor + kube-state-metrics series of two pods over the last 20 minutes.
fn cadvisor_request(now: i64) -> v1::WriteRequest {
    let mut timeseries = Vec::new();
    for (pod, cpu_per_second) in [("api-0", 0.25), ("db-0", 0.5)] {
        let common = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![
                label("__name__", name),
                label("namespace", "shop"),
                label("pod", pod),
            ];
            labels.extend(extra.iter().map(|(n, v)| label(n, v)));
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            labels
        };
        let samples = |value: &dyn Fn(i64) -> f64| -> Vec<v1::Sample> {
            (0..80)
                .map(|i| {
                    let timestamp = now - 20 * 60_000 + i * 15_000;
                    v1::Sample {
                        value: value(i),
                        timestamp,
                    }
                })
                .collect()
        };
        let container = [("container", "app"), ("image", "app:1")];
        for (name, extra, value) in [
            (
                "container_cpu_usage_seconds_total",
                &container[..],
                Box::new(move |i: i64| i as f64 * 15.0 * cpu_per_second) as Box<dyn Fn(i64) -> f64>,
            ),
            (
                "container_memory_working_set_bytes",
                &container[..],
                Box::new(|_| 200e6),
            ),
            (
                "kube_pod_container_resource_limits",
                &[("resource", "memory"), ("container", "app")][..],
                Box::new(|_| 400e6),
            ),
            (
                "kube_pod_container_status_restarts_total",
                &[("container", "app")][..],
                Box::new(|i| if i > 40 { 2.0 } else { 0.0 }),
            ),
            ("kube_pod_info", &[][..], Box::new(|_| 1.0)),
        ] {
            timeseries.push(v1::TimeSeries {
                labels: common(name, extra),
                samples: samples(&*value),
                exemplars: Vec::new(),
                histograms: Vec::new(),
            });
        }
    }
    v1::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
}

/// What the OpenTelemetry Collector's kubeletstats and k8s_cluster receivers send for two pods.
fn kubeletstats_request(now: i64) -> Value {
    let mut resources = Vec::new();
    for pod in ["api-0", "db-0"] {
        let points = |value: f64| -> Vec<Value> {
            (0..80)
                .map(|i| {
                    let nanos = (now - 20 * 60_000 + i * 15_000) as u128 * 1_000_000;
                    json!({"timeUnixNano": nanos.to_string(), "asDouble": value})
                })
                .collect()
        };
        let cumulative = |rate: f64| -> Vec<Value> {
            (0..80)
                .map(|i| {
                    let nanos = (now - 20 * 60_000 + i * 15_000) as u128 * 1_000_000;
                    json!({"timeUnixNano": nanos.to_string(), "asDouble": i as f64 * 15.0 * rate})
                })
                .collect()
        };
        resources.push(json!({
            "resource": {"attributes": [
                {"key": "k8s.namespace.name", "value": {"stringValue": "shop"}},
                {"key": "k8s.pod.name", "value": {"stringValue": pod}}
            ]},
            "scopeMetrics": [{"metrics": [
                {"name": "k8s.pod.cpu.usage", "unit": "{cpu}", "gauge": {"dataPoints": points(0.3)}},
                {"name": "k8s.pod.cpu.time", "unit": "s", "sum": {"isMonotonic": true, "aggregationTemporality": 2, "dataPoints": cumulative(0.3)}},
                {"name": "k8s.pod.memory.working_set", "unit": "By", "gauge": {"dataPoints": points(150e6)}},
                {"name": "k8s.container.memory_limit", "unit": "By", "gauge": {"dataPoints": points(300e6)}},
                {"name": "k8s.container.restarts", "unit": "{restart}", "gauge": {"dataPoints": points(1.0)}}
            ]}]
        }));
    }
    json!({ "resourceMetrics": resources })
}

/// The browser's substitution for this dashboard's variables with "All" selected.
fn substitute(query: &str) -> String {
    query
        .replace("$__rate_interval", "1m")
        .replace("$__range", "20m")
        .replace("$namespace", ".+")
        .replace("$pod", ".+")
        .replace("$logs_stream", "k8s")
        .replace("$traces_stream", "default")
}

async fn promql_answers(
    server: &TestServer,
    org: &str,
    query: &str,
    instant: bool,
    now: i64,
) -> usize {
    let end = format!("{}", now as f64 / 1000.0);
    let start = format!("{}", (now - 10 * 60_000) as f64 / 1000.0);
    let form = if instant {
        url_encoded(&[("query", query.to_string()), ("time", end)])
    } else {
        url_encoded(&[
            ("query", query.to_string()),
            ("start", start),
            ("end", end),
            ("step", "60".to_string()),
        ])
    };
    let path = format!(
        "/api/{org}/prometheus/api/v1/{}",
        if instant { "query" } else { "query_range" }
    );
    let response = server
        .root(Method::POST, &path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{org}: {query}: {body}");
    let result = body["data"]["result"].as_array().unwrap();
    for series in result {
        assert!(
            series["metric"]["pod"].is_string(),
            "every answer is by pod: {series}"
        );
    }
    result.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_kubernetes_dashboard_answers_from_cadvisor_and_from_kubeletstats() {
    let server = TestServer::start().await;
    let now = now_ms();
    let response = write_v1(&server, "cadvisor", &cadvisor_request(now)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = server
        .root(Method::POST, "/api/otel/v1/metrics")
        .json(&kubeletstats_request(now))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );

    let (_, builtin) = send(
        &server,
        Method::GET,
        "/api/cadvisor/dashboards/builtin-kubernetes",
        None,
    )
    .await;
    let panels = builtin["v8"]["tabs"][0]["panels"]
        .as_array()
        .unwrap()
        .clone();
    let promql: Vec<&Value> = panels
        .iter()
        .filter(|p| p["queryType"] == "promql")
        .collect();
    assert_eq!(promql.len(), 4);
    for org in ["cadvisor", "otel"] {
        for panel in &promql {
            let query = substitute(panel["queries"][0]["query"].as_str().unwrap());
            let instant = panel["queries"][0]["config"]["instant"] == true;
            let answered = promql_answers(&server, org, &query, instant, now).await;
            assert_eq!(
                answered, 2,
                "{org}: panel {} answers for both pods",
                panel["title"]
            );
        }
        for variable in builtin["v8"]["variables"]["list"].as_array().unwrap() {
            let Some(promql) = variable["query_data"]["promql"].as_str() else {
                continue;
            };
            let inner = promql
                .strip_prefix("query_result(")
                .and_then(|q| q.strip_suffix(')'))
                .unwrap();
            let form = url_encoded(&[("query", substitute(inner))]);
            let response = server
                .root(Method::POST, &format!("/api/{org}/prometheus/api/v1/query"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            let (_, body) = json_of(response).await;
            let name = variable["name"].as_str().unwrap();
            let values: Vec<&str> = body["data"]["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["metric"][name].as_str().unwrap())
                .collect();
            assert!(!values.is_empty(), "{org}: variable {name}: {body}");
        }
    }

    // Logs with Fluent Bit's kubernetes fields and server spans for the SQL panels.
    server
        .ingest(
            "cadvisor",
            "k8s",
            &[
                json!({"log": "GET /cart 200", "kubernetes": {"namespace_name": "shop", "pod_name": "api-0"}}),
                json!({"log": "ERROR connection refused", "kubernetes": {"namespace_name": "shop", "pod_name": "db-0"}}),
            ],
        )
        .await;
    let trace = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]},
        "scopeSpans": [{"spans": [
            {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "GET /cart",
             "kind": 2, "startTimeUnixNano": ((now - 60_000) as u128 * 1_000_000).to_string(),
             "endTimeUnixNano": ((now - 59_900) as u128 * 1_000_000).to_string(), "status": {"code": 2}}
        ]}]
    }]});
    let response = server
        .root(Method::POST, "/api/cadvisor/v1/traces")
        .json(&trace)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for panel in panels.iter().filter(|p| p["queryType"] == "sql") {
        let sql = substitute(panel["queries"][0]["query"].as_str().unwrap());
        let stream_type = panel["queries"][0]["fields"]["stream_type"]
            .as_str()
            .unwrap();
        let response = server
            .root(Method::POST, &format!("/api/cadvisor/_search?type={stream_type}"))
            .json(&json!({"query": {"sql": sql, "start_time": (now - 3_600_000) * 1000, "end_time": (now + 60_000) * 1000, "size": 100}}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{}: {sql}: {body}", panel["title"]);
        assert!(
            !body["hits"].as_array().unwrap().is_empty(),
            "{}: {sql}: {body}",
            panel["title"]
        );
    }
    server.stop().await;
}

/// A stream named `folders` (like the dashboards API's folder routes, which live under
/// `/api/v2/`) keeps its ingest and search routes, and the dashboards routes keep theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_named_folders_keeps_its_routes() {
    let server = TestServer::start().await;
    server
        .ingest("default", "folders", &[json!({"log": "folders"})])
        .await;
    let (status, body) = send(
        &server,
        Method::GET,
        "/api/default/folders/_values?fields=log",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(
        &server,
        Method::GET,
        "/api/v2/default/folders/dashboards",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}
