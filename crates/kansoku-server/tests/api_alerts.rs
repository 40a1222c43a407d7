//! The alerts API end to end on the real server: templates, destinations, alerts, evaluation on
//! demand, on a schedule and in real time, silence, no-data alerts, failing destinations, the
//! SSRF guard and the history. Notifications go to a local HTTP receiver; the scheduler runs with
//! a short tick (no test waits for minutes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A local webhook receiver: records request bodies, answers with `status`.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&bodies);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buffer = [0u8; 8192];
                    loop {
                        let Ok(read) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        data.extend_from_slice(&buffer[..read]);
                        let text = String::from_utf8_lossy(&data).to_string();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let length = text[..end]
                            .lines()
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if data.len() < end + 4 + length {
                            continue;
                        }
                        let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]);
                        recorded.lock().unwrap().push(body.to_string());
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret"
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                        return;
                    }
                });
            }
        });
        Receiver { port, bodies, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_server() -> TestServer {
    TestServer::start_with(|config| {
        config.destination_allowlist = "127.0.0.1".to_string();
        config.alert_scheduler_interval = Duration::from_millis(200);
        config.alert_delivery_attempts = 2;
    })
    .await
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server.root(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.unwrap()).await
}

async fn setup_destination(server: &TestServer, receiver: &Receiver) {
    let (status, body) = call(
        server,
        Method::POST,
        "/api/default/alerts/templates",
        Some(json!({"name": "errors", "body": "{\"text\": \"{alert_name}: {alert_count} errors in {stream_name} ({alert_operator} {alert_threshold})\\n{rows:300}\"}"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        server,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "hook", "type": "http", "url": receiver.url(), "method": "post", "template": "errors"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn seed_record(container: &str, log: &str) -> Value {
    json!({"container_name": container, "log": log})
}

async fn trigger(server: &TestServer, id: &str) -> Value {
    let (status, body) = call(
        server,
        Method::PATCH,
        &format!("/api/v2/default/alerts/{id}/trigger"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_errors_of_myapp_fire_exactly_once_and_silence_holds() {
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    setup_destination(&server, &receiver).await;
    let (status, created) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "myapp errors",
            "stream_type": "logs",
            "stream_name": "app",
            "query_condition": {"type": "sql", "sql": "SELECT * FROM app WHERE container_name = 'myapp' AND match_all('error')"},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 10, "frequency": 60, "silence": 10},
            "destinations": ["hook"],
            "template": "errors",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_string();

    // 9 matching records (plus noise that must not count): nothing fires.
    let mut records: Vec<Value> = (0..9)
        .map(|i| seed_record("myapp", &format!("ERROR request {i} failed")))
        .collect();
    records.push(seed_record("other", "error elsewhere"));
    records.push(seed_record("myapp", "all good"));
    server.ingest("default", "app", &records).await;
    // "Would this fire now?" a looser condition (any container) would fire; nothing is sent or recorded.
    let (status, preview) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts/preview",
        Some(json!({
            "name": "myapp errors", "stream_name": "app",
            "query_condition": {"type": "custom", "conditions": [{"column": "log", "operator": "contains", "value": "error"}]},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 10, "frequency": 1, "silence": 10},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["would_fire"], true);
    assert_eq!(
        preview["value"], 10,
        "the custom condition also counts the other container"
    );
    assert!(
        preview["summary"]
            .as_str()
            .unwrap()
            .contains("at least 10 matching records in the last 1 minute"),
        "{preview}"
    );

    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "not_fired", "{outcome}");
    assert_eq!(outcome["value"], 9);
    assert!(receiver.bodies().is_empty());

    // Three more: 12 ≥ 10 fires one notification with the rendered template.
    let more: Vec<Value> = (9..12)
        .map(|i| seed_record("myapp", &format!("error: request {i} failed")))
        .collect();
    server.ingest("default", "app", &more).await;
    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    assert_eq!(outcome["value"], 12);
    assert_eq!(outcome["deliveries"][0]["delivered"], true, "{outcome}");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let message: Value = serde_json::from_str(&bodies[0]).unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("myapp errors: 12 errors in app (>= 10)"),
        "{text}"
    );
    assert!(text.contains("request"), "{text}");

    // Within the silence period it fires again but notifies no one.
    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "silenced", "{outcome}");
    assert_eq!(receiver.bodies().len(), 1);

    let (status, history) = call(
        &server,
        Method::GET,
        &format!("/api/v2/default/alerts/history?alert_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<&str> = history["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["silenced", "delivered", "fired", "not_fired"],
        "{history}"
    );
    // The destination's response body is never reflected.
    assert!(!history.to_string().contains("secret"));

    let (status, list) = call(&server, Method::GET, "/api/v2/default/alerts", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["list"][0]["last_status"], "silenced");
    assert!(list["list"][0]["last_triggered_at"].as_i64().unwrap() > 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_real_time_and_scheduled_alerts_fire() {
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    setup_destination(&server, &receiver).await;
    server
        .ingest(
            "default",
            "quiet",
            &[json!({"log": "old", "_timestamp": now_micros() - 600_000_000})],
        )
        .await;
    let (status, created) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "logs stopped", "stream_name": "quiet",
            "query_condition": {"type": "custom", "conditions": []},
            "trigger_condition": {"period": 1, "operator": "<", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let quiet = created["id"].as_str().unwrap().to_string();
    // The same on a stream that never received anything: no data, so it fires (not an error).
    let (status, never) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "never seen", "stream_name": "not_yet",
            "query_condition": {"type": "custom", "conditions": []},
            "trigger_condition": {"period": 1, "operator": "<", "threshold": 1, "frequency": 60, "silence": 60},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{never}");
    let outcome = trigger(&server, never["id"].as_str().unwrap()).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    assert_eq!(outcome["value"], 0);
    assert_eq!(trigger(&server, &quiet).await["status"], "fired");
    server
        .ingest("default", "quiet", &[json!({"log": "back"})])
        .await;
    assert_eq!(trigger(&server, &quiet).await["status"], "not_fired");
    assert_eq!(receiver.bodies().len(), 2);

    // Real-time: one matching record notifies at once.
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "panic seen", "stream_name": "rt", "is_real_time": true,
            "query_condition": {"type": "custom", "conditions": {"and": [{"column": "log", "operator": "contains", "value": "PANIC"}]}},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 1, "silence": 0},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .ingest("default", "rt", &[json!({"log": "calm"})])
        .await;
    server
        .ingest(
            "default",
            "rt",
            &[json!({"log": "kernel panic at the disco"})],
        )
        .await;
    wait_for(
        || receiver.bodies().len() == 3,
        "the real-time notification",
    )
    .await;
    assert!(
        receiver.bodies()[2].contains("panic seen"),
        "{:?}",
        receiver.bodies()
    );

    // Scheduled: with a frequency of 0.01 minutes the scheduler evaluates it on its own.
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "any calm", "stream_name": "rt",
            "query_condition": {"type": "custom", "conditions": [{"column": "log", "operator": "=", "value": "calm"}]},
            "trigger_condition": {"period": 5, "operator": ">=", "threshold": 1, "frequency": 0.01, "silence": 60},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_for(
        || receiver.bodies().iter().any(|b| b.contains("any calm")),
        "the scheduled notification",
    )
    .await;
    server.stop().await;
}

async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    for _ in 0..150 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_destinations_are_retried_and_visible_in_history() {
    let server = start_server().await;
    let receiver = Receiver::start(503).await;
    setup_destination(&server, &receiver).await;
    server
        .ingest("default", "app", &[json!({"log": "error"})])
        .await;
    let (_, created) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "any error", "stream_name": "app",
            "query_condition": {"type": "custom", "conditions": [{"column": "log", "operator": "contains", "value": "error"}]},
            "trigger_condition": {"period": 5, "operator": ">=", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["hook"],
        })),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "fired");
    assert_eq!(outcome["deliveries"][0]["delivered"], false);
    assert!(
        outcome["deliveries"][0]["error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{outcome}"
    );
    assert_eq!(
        receiver.bodies().len(),
        2,
        "retried once (2 attempts configured)"
    );
    let (_, history) = call(&server, Method::GET, "/api/v2/default/alerts/history", None).await;
    assert_eq!(history["hits"][0]["status"], "delivery_failed", "{history}");
    assert!(
        !history.to_string().contains("secret"),
        "response bodies are not reflected"
    );

    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations/hook/test",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!body.to_string().contains("secret"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ssrf_guard_refuses_internal_targets_unless_allowed() {
    let server = TestServer::start().await;
    let receiver = Receiver::start(200).await;
    for (url, expected) in [
        (
            "https://hooks.slack.com@10.0.0.1/x",
            StatusCode::BAD_REQUEST,
        ),
        ("ftp://example.com/", StatusCode::BAD_REQUEST),
        ("not a url", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = call(
            &server,
            Method::POST,
            "/api/default/alerts/destinations",
            Some(json!({"name": "bad", "url": url})),
        )
        .await;
        assert_eq!(status, expected, "{url}: {body}");
    }
    // Saved, but the guard refuses to send to loopback without an allowlist entry.
    for (index, url) in [
        receiver.url(),
        "http://169.254.169.254/latest".to_string(),
        "http://[::ffff:127.0.0.1]/".to_string(),
        "http://2130706433/".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("internal{index}");
        let (status, body) = call(
            &server,
            Method::POST,
            "/api/default/alerts/destinations",
            Some(json!({"name": name, "url": url})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = call(
            &server,
            Method::POST,
            &format!("/api/default/alerts/destinations/{name}/test"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(body["message"].as_str().unwrap().contains("SSRF"), "{body}");
    }
    assert!(
        receiver.bodies().is_empty(),
        "nothing reached the loopback receiver"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_alert_documents_are_refused_with_reasons() {
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    setup_destination(&server, &receiver).await;
    let alert = |change: Value| {
        let mut base = json!({
            "name": "a", "stream_name": "app",
            "query_condition": {"type": "custom", "conditions": []},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 1, "silence": 0},
            "destinations": ["hook"],
        });
        for (key, value) in change.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    };
    for (change, status, needle) in [
        (
            json!({"trigger_condition": {"operator": "~"}}),
            StatusCode::BAD_REQUEST,
            "operator",
        ),
        (
            json!({"trigger_condition": {"period": 0}}),
            StatusCode::BAD_REQUEST,
            "period",
        ),
        (
            json!({"destinations": ["nowhere"]}),
            StatusCode::NOT_FOUND,
            "nowhere",
        ),
        (
            json!({"destinations": []}),
            StatusCode::BAD_REQUEST,
            "destination",
        ),
        (
            json!({"query_condition": {"type": "sql"}}),
            StatusCode::BAD_REQUEST,
            "sql",
        ),
        (
            json!({"query_condition": {"type": "custom", "conditions": [{"column": "x", "operator": "DROP", "value": 1}]}}),
            StatusCode::BAD_REQUEST,
            "operator",
        ),
        (json!({"name": ""}), StatusCode::BAD_REQUEST, "name"),
    ] {
        let (got, body) = call(
            &server,
            Method::POST,
            "/api/v2/default/alerts",
            Some(alert(change.clone())),
        )
        .await;
        assert_eq!(got, status, "{change}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{change}: {body}"
        );
    }
    let (status, _) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(alert(json!({}))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(alert(json!({}))),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = call(
        &server,
        Method::DELETE,
        "/api/default/alerts/destinations/hook",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = call(
        &server,
        Method::DELETE,
        "/api/default/alerts/templates/errors",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/templates/preview",
        Some(json!({"body": "{\"t\": \"{alert_name} {log}\"}"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid_json"], true);
    assert!(
        body["rendered"]
            .as_str()
            .unwrap()
            .contains("ERROR something went wrong")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_named_alerts_keeps_its_routes() {
    let server = TestServer::start().await;
    server
        .ingest("default", "alerts", &[json!({"log": "x"})])
        .await;
    let (status, body) = call(
        &server,
        Method::GET,
        "/api/default/alerts/_values?fields=log",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &server,
        Method::GET,
        "/api/default/streams/alerts/schema",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}
