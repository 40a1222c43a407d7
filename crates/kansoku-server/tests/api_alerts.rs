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
    // Internal addresses written out (in any notation) are refused when the destination is
    // saved; names are resolved and checked at every delivery (the ssrf unit tests).
    for (index, url) in [
        receiver.url(),
        "http://169.254.169.254/latest".to_string(),
        "http://[::ffff:127.0.0.1]/".to_string(),
        "http://2130706433/".to_string(),
        "http://localhost:9/".to_string(),
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
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("SSRF") && message.contains("KANSOKU_DESTINATION_ALLOWLIST"),
            "{body}"
        );
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

/// A minimal SMTP server: accepts one message per connection, records the DATA.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&messages);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = tokio::io::BufReader::new(read);
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut in_data = false;
                    let mut message = String::new();
                    loop {
                        let mut line = String::new();
                        match tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if in_data {
                            if line == ".\r\n" {
                                in_data = false;
                                recorded.lock().unwrap().push(std::mem::take(&mut message));
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                message.push_str(&line);
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink {
            port,
            messages,
            task,
        }
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn create_alert(server: &TestServer, alert: Value) -> String {
    let (status, created) = call(server, Method::POST, "/api/v2/default/alerts", Some(alert)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_destinations_send_through_the_configured_smtp_server() {
    // Without SMTP, an e-mail destination is refused with what to set.
    let plain = start_server().await;
    let (status, body) = call(
        &plain,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "mail", "type": "email", "emails": ["ops@example.com"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("KANSOKU_SMTP_HOST"),
        "{body}"
    );
    plain.stop().await;

    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| {
        config.smtp_host = Some("127.0.0.1".to_string());
        config.smtp_port = sink.port;
        config.smtp_security = "none".to_string();
        config.smtp_from = "alerts@kansoku.test".to_string();
    })
    .await;
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "mail", "type": "email", "emails": ["not an address"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("not an address"));
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/templates",
        Some(json!({"name": "mail", "type": "email", "title": "{alert_name}: {alert_count} errors", "body": "Errors in {stream_name}:\n{rows}"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "mail", "type": "email", "emails": ["ops@example.com", "oncall@example.com"], "template": "mail"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .ingest("default", "app", &[seed_record("myapp", "ERROR disk full")])
        .await;
    let id = create_alert(
        &server,
        json!({
            "name": "disk", "stream_name": "app",
            "query_condition": {"type": "custom", "conditions": [{"column": "log", "operator": "contains", "value": "disk"}]},
            "trigger_condition": {"period": 5, "operator": ">=", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["mail"],
        }),
    )
    .await;
    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert!(message.contains("Subject: disk: 1 errors"), "{message}");
    assert!(message.contains("ops@example.com") && message.contains("oncall@example.com"));
    assert!(message.contains("From: alerts@kansoku.test"), "{message}");
    // The body is quoted-printable: undo its soft line breaks.
    let text = message.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("ERROR disk full"), "{message}");
    // The test button sends too.
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations/mail/test",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sink.messages().len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_and_new_term_alerts_compare_with_the_past() {
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    setup_destination(&server, &receiver).await;
    let now = now_micros();
    // The minute before the last one: 4 errors; the last minute: 12 → three times as many.
    let mut records: Vec<Value> = (0..4)
        .map(|i| json!({"log": "error", "user": "alice", "_timestamp": now - 90_000_000 - i}))
        .collect();
    records.extend((0..12).map(|i| json!({"log": "error", "user": if i == 0 { "mallory" } else { "alice" }, "_timestamp": now - 10_000_000 - i})));
    // Known users from half an hour ago.
    records.push(json!({"log": "login", "user": "bob", "_timestamp": now - 1_800_000_000}));
    server.ingest("default", "auth", &records).await;

    let spike = |threshold: f64, min_previous: f64| {
        json!({
            "name": format!("spike {threshold} {min_previous}"), "stream_name": "auth",
            "query_condition": {"type": "custom", "conditions": [{"column": "log", "operator": "=", "value": "error"}]},
            "trigger_condition": {"kind": "spike", "period": 1, "operator": ">=", "threshold": threshold, "min_previous": min_previous, "frequency": 60, "silence": 0},
            "destinations": ["hook"],
        })
    };
    let fires = create_alert(&server, spike(3.0, 1.0)).await;
    let outcome = trigger(&server, &fires).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    assert_eq!(outcome["value"], 3, "{outcome}");
    let quiet = create_alert(&server, spike(4.0, 1.0)).await;
    assert_eq!(trigger(&server, &quiet).await["status"], "not_fired");
    let too_little_before = create_alert(&server, spike(2.0, 5.0)).await;
    assert_eq!(
        trigger(&server, &too_little_before).await["status"],
        "not_fired"
    );
    let (status, preview) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts/preview",
        Some(spike(3.0, 1.0)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["previous"], 4);
    assert!(
        preview["summary"]
            .as_str()
            .unwrap()
            .contains("times those of the 1 minute before"),
        "{preview}"
    );

    // New term: users seen in the last minute but not in the 60 minutes before it.
    let new_term = json!({
        "name": "new user", "stream_name": "auth",
        "query_condition": {"type": "custom", "conditions": []},
        "trigger_condition": {"kind": "new_term", "term_fields": ["user"], "term_window": 60, "period": 1, "operator": ">=", "threshold": 1, "frequency": 60, "silence": 0},
        "destinations": ["hook"],
    });
    let id = create_alert(&server, new_term).await;
    let outcome = trigger(&server, &id).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    // In the last minute: alice (also seen 90 s ago) and mallory (never before).
    assert_eq!(outcome["value"], 1, "{outcome}");
    let body = receiver.bodies().last().cloned().unwrap();
    assert!(body.contains("mallory") && !body.contains("bob"), "{body}");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "bad", "stream_name": "auth",
            "trigger_condition": {"kind": "new_term", "period": 1, "frequency": 1},
            "destinations": ["hook"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("term_fields"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_rate_limit_holds_back_and_records_notifications() {
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "limited", "url": receiver.url(), "rate_limit_per_hour": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = create_alert(
        &server,
        json!({
            "name": "always", "stream_name": "nothing_here",
            "trigger_condition": {"period": 1, "operator": "<", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["limited"],
        }),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(trigger(&server, &id).await["status"], "fired");
    }
    assert_eq!(receiver.bodies().len(), 2);
    let (_, history) = call(
        &server,
        Method::GET,
        &format!("/api/v2/default/alerts/history?alert_id={id}"),
        None,
    )
    .await;
    let statuses: Vec<&str> = history["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "delivered").count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "rate_limited").count(),
        1,
        "{statuses:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_due_run_is_claimed_by_one_node_of_a_cluster() {
    let dsn = kansoku_testkit::fresh_postgres_dsn().await;
    let start = |dsn: String| {
        TestServer::start_with(move |config| {
            config.meta_dsn = Some(dsn);
            // The background schedulers stay out of the way; the test drives both nodes.
            config.alert_scheduler_interval = Duration::from_secs(3600);
            config.destination_allowlist = "127.0.0.1".to_string();
        })
    };
    let first = start(dsn.clone()).await;
    let second = start(dsn).await;
    let receiver = Receiver::start(200).await;
    setup_destination(&first, &receiver).await;
    for name in ["one", "two", "three"] {
        create_alert(
            &first,
            json!({
                "name": name, "stream_name": "nothing_here",
                "trigger_condition": {"period": 1, "operator": "<", "threshold": 1, "frequency": 1, "silence": 0},
                "destinations": ["hook"],
            }),
        )
        .await;
    }
    let alerts = |server: &TestServer| {
        Arc::clone(&server.node.as_ref().unwrap().app.ready().unwrap().alerts)
    };
    // One run due (a minute after creation), none after it yet.
    let later = now_micros() + 90_000_000;
    let (on_first, on_second) = (alerts(&first), alerts(&second));
    let (a, b) = tokio::join!(on_first.run_due(later), on_second.run_due(later));
    assert_eq!(
        a.unwrap() + b.unwrap(),
        3,
        "every due alert ran exactly once"
    );
    assert_eq!(receiver.bodies().len(), 3);
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_as_code_files_are_applied_updated_and_removed() {
    let alerts_dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(200).await;
    let file = alerts_dir.path().join("myapp.yaml");
    let document = |threshold: u32, with_alert: bool| {
        let mut text = format!(
            r#"apiVersion: kansoku/v1
org: default
templates:
  - name: myapp-errors
    body: '{{"text": "{{alert_name}}: {{alert_count}} errors"}}'
destinations:
  - name: ops
    url: {url}
    template: myapp-errors
"#,
            url = receiver.url()
        );
        if with_alert {
            text.push_str(&format!(
                r#"alerts:
  - name: myapp errors
    stream_name: app
    query_condition:
      conditions:
        and:
          - {{column: container_name, operator: "=", value: myapp}}
          - {{column: log, operator: contains, value: error}}
    trigger_condition: {{period: 1, operator: ">=", threshold: {threshold}, frequency: 1, silence: 10}}
    destinations: [ops]
"#
            ));
        }
        text
    };
    std::fs::write(&file, document(10, true)).unwrap();
    let path = alerts_dir.path().to_path_buf();
    let server = TestServer::start_with(move |config| {
        config.destination_allowlist = "127.0.0.1".to_string();
        config.alerts_dir = Some(path);
        config.alerts_dir_interval = Duration::from_millis(100);
    })
    .await;
    // Applied before the node is ready.
    let list = |server: &TestServer| {
        let request = server.root(Method::GET, "/api/v2/default/alerts");
        async move { json_of(request.send().await.unwrap()).await.1 }
    };
    let alerts = list(&server).await;
    assert_eq!(alerts["list"][0]["name"], "myapp errors", "{alerts}");
    assert_eq!(alerts["list"][0]["trigger_condition"]["threshold"], 10.0);
    assert_eq!(alerts["list"][0]["managed_by"], "file:myapp.yaml");
    let id = alerts["list"][0]["id"].as_str().unwrap().to_string();

    // Edited: updated in place (same id).
    std::fs::write(&file, document(12, true)).unwrap();
    let mut updated = Value::Null;
    for _ in 0..100 {
        updated = list(&server).await;
        if updated["list"][0]["trigger_condition"]["threshold"] == 12.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        updated["list"][0]["trigger_condition"]["threshold"], 12.0,
        "{updated}"
    );
    assert_eq!(updated["list"][0]["id"], id.as_str());

    // A broken file changes nothing.
    std::fs::write(
        &file,
        "alerts: [{name: x, trigger_condition: {period: soon}}]",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(list(&server).await["list"].as_array().unwrap().len(), 1);
    let template_names = |server: &TestServer| {
        let request = server.root(Method::GET, "/api/default/alerts/templates");
        async move {
            let templates = json_of(request.send().await.unwrap()).await.1;
            let mut names: Vec<String> = templates
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    // A file is one transaction: its valid new template is not created when its alert names
    // a destination that does not exist.
    let half_valid = document(12, true)
        .replace("destinations: [ops]", "destinations: [nowhere]")
        .replace("templates:\n", "templates:\n  - name: fresh\n    body: x\n");
    std::fs::write(&file, &half_valid).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(template_names(&server).await, ["myapp-errors"]);
    assert_eq!(
        list(&server).await["list"][0]["destinations"],
        json!(["ops"])
    );

    // Removed from the file: deleted; what the API created alone stays.
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/templates",
        Some(json!({"name": "by-hand", "body": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    std::fs::write(&file, document(12, false)).unwrap();
    let mut remaining = Value::Null;
    for _ in 0..100 {
        remaining = list(&server).await;
        if remaining["list"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(remaining["list"], json!([]), "{remaining}");
    // Removing the file while an alert made through the API uses its destination changes
    // nothing, and is applied once that alert is gone.
    let (status, by_hand) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(json!({
            "name": "by-hand alert",
            "stream_type": "logs",
            "stream_name": "app",
            "query_condition": {"type": "sql", "sql": "SELECT * FROM app"},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["ops"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{by_hand}");
    std::fs::remove_file(&file).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(template_names(&server).await, ["by-hand", "myapp-errors"]);
    let (_, destinations) = call(
        &server,
        Method::GET,
        "/api/default/alerts/destinations",
        None,
    )
    .await;
    assert_eq!(destinations[0]["name"], "ops", "{destinations}");
    let (status, body) = call(
        &server,
        Method::DELETE,
        &format!("/api/v2/default/alerts/{}", by_hand["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut templates = Value::Null;
    for _ in 0..100 {
        templates = call(&server, Method::GET, "/api/default/alerts/templates", None)
            .await
            .1;
        if templates.as_array().is_some_and(|t| t.len() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(templates[0]["name"], "by-hand", "{templates}");

    // The same file through the API (what `kansoku apply -f` sends): created, then unchanged.
    let apply = |text: String| {
        let request = server
            .root(Method::POST, "/api/default/alerts/apply")
            .header("content-type", "application/yaml")
            .body(text);
        async move { json_of(request.send().await.unwrap()).await }
    };
    let (status, body) = apply(document(10, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions: Vec<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "created", "created"], "{body}");
    let (_, body) = apply(document(10, true)).await;
    let actions: Vec<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unchanged", "unchanged", "unchanged"], "{body}");
    let (status, body) = apply("org: other\ntemplates: []".to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("org 'other'"));
    let (status, body) = apply("templates: [{name: t}]".to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("body"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_alerts_fire_once_per_series_with_its_labels() {
    use kansoku_ingest::decode::remote_write::v1;
    let server = start_server().await;
    let receiver = Receiver::start(200).await;
    let now_ms = now_micros() / 1000;
    let depth = |queue: &str, value: f64| v1::TimeSeries {
        labels: vec![
            v1::Label {
                name: "__name__".to_string(),
                value: "queue_depth".to_string(),
            },
            v1::Label {
                name: "queue".to_string(),
                value: queue.to_string(),
            },
        ],
        samples: vec![v1::Sample {
            value,
            timestamp: now_ms - 10_000,
        }],
        exemplars: Vec::new(),
        histograms: Vec::new(),
    };
    let request = v1::WriteRequest {
        timeseries: vec![depth("a", 3.0), depth("b", 9.0), depth("c", 12.0)],
        metadata: Vec::new(),
    };
    let response = common::prometheus::write_v1(&server, "default", &request).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/templates",
        Some(json!({"name": "per-series", "body": "{\"text\": \"{alert_name}: queue {queue} holds {value}\"}"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/default/alerts/destinations",
        Some(json!({"name": "hook", "type": "http", "url": receiver.url(), "template": "per-series"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alert = |name: &str, threshold: f64| {
        json!({
            "name": name,
            "stream_type": "metrics",
            "query_condition": {"type": "promql", "promql": "queue_depth", "promql_condition": {"column": "value", "operator": ">", "value": threshold}},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 60, "silence": 0},
            "destinations": ["hook"],
        })
    };
    let deep = create_alert(&server, alert("deep queues", 5.0)).await;
    let outcome = trigger(&server, &deep).await;
    assert_eq!(outcome["status"], "fired", "{outcome}");
    let mut bodies = receiver.bodies();
    bodies.sort();
    assert_eq!(
        bodies,
        vec![
            r#"{"text": "deep queues: queue b holds 9"}"#,
            r#"{"text": "deep queues: queue c holds 12"}"#,
        ]
    );
    let quiet = create_alert(&server, alert("huge queues", 100.0)).await;
    assert_eq!(trigger(&server, &quiet).await["status"], "not_fired");
    let (status, preview) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts/preview",
        Some(alert("preview", 5.0)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["count"], 2, "{preview}");
    let (_, history) = call(
        &server,
        Method::GET,
        &format!("/api/v2/default/alerts/history?alert_id={deep}"),
        None,
    )
    .await;
    let text = history.to_string();
    assert!(
        text.contains("\\\"queue\\\":\\\"b\\\"") || text.contains("\"queue\":\"b\""),
        "the history names each series: {text}"
    );
    for (document, expected) in [
        (json!({"promql": "sum("}), "query_condition.promql"),
        (json!({"promql": ""}), "query_condition.promql is required"),
    ] {
        let mut bad = alert("bad", 1.0);
        bad["query_condition"]["promql"] = document["promql"].clone();
        let (status, body) = call(&server, Method::POST, "/api/v2/default/alerts", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }
    let mut on_logs = alert("logs", 1.0);
    on_logs["stream_type"] = json!("logs");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v2/default/alerts",
        Some(on_logs),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("metrics"),
        "{body}"
    );
    server.stop().await;
}

/// Issue 15's gap: windows end at the run's due time, not when the scheduler gets to it, so a
/// scheduler late by most of a period, or one that finds several runs due (a restart), counts
/// every matching record in exactly one window — including records ingested right after the
/// alert was created and records just before and after a window boundary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_windows_tile_time_however_late_the_scheduler_runs() {
    let server = TestServer::start_with(|config| {
        config.alert_scheduler_interval = Duration::from_secs(3600);
        config.destination_allowlist = "127.0.0.1".to_string();
    })
    .await;
    let receiver = Receiver::start(200).await;
    setup_destination(&server, &receiver).await;
    let created_at = now_micros();
    let id = create_alert(
        &server,
        json!({
            "name": "tiles", "stream_name": "tiles",
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 1, "silence": 0},
            "destinations": ["hook"],
        }),
    )
    .await;
    let (_, alert) = call(
        &server,
        Method::GET,
        &format!("/api/v2/default/alerts/{id}"),
        None,
    )
    .await;
    assert_eq!(
        alert["trigger_condition"]["delay"].as_f64(),
        Some(0.0),
        "{alert}"
    );
    // Seconds after creation: right after it, either side of the first two boundaries (each a
    // minute after creation, give or take the milliseconds creation took), and later.
    let offsets_ms: [i64; 7] = [200, 30_000, 59_000, 61_000, 119_000, 121_000, 150_000];
    let records: Vec<Value> = offsets_ms
        .iter()
        .map(|ms| json!({"log": "match", "_timestamp": created_at + ms * 1000}))
        .collect();
    server.ingest("default", "tiles", &records).await;
    let alerts = Arc::clone(&server.node.as_ref().unwrap().app.ready().unwrap().alerts);
    // Late by 50 s: the run due a minute after creation still ends its window there.
    assert_eq!(alerts.run_due(created_at + 110_000_000).await.unwrap(), 1);
    // Nothing more is due 5 s later.
    assert_eq!(alerts.run_due(created_at + 115_000_000).await.unwrap(), 0);
    // Two more runs became due while "down": both evaluated, in order.
    assert_eq!(alerts.run_due(created_at + 190_000_000).await.unwrap(), 1);
    let (status, history) = call(
        &server,
        Method::GET,
        &format!("/api/v2/default/alerts/history?alert_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let mut windows: Vec<(i64, i64, u64)> = history["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "fired" || h["status"] == "not_fired")
        .map(|h| {
            let detail = &h["detail"];
            (
                detail["start_time"].as_i64().unwrap(),
                detail["end_time"].as_i64().unwrap(),
                detail["count"].as_u64().unwrap(),
            )
        })
        .collect();
    windows.sort();
    assert_eq!(windows.len(), 3, "{history}");
    for pair in windows.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "windows meet: {windows:?}");
    }
    assert!(windows[0].0 <= created_at + 200_000, "{windows:?}");
    assert!(windows[2].1 >= created_at + 150_000_000, "{windows:?}");
    let counts: Vec<u64> = windows.iter().map(|w| w.2).collect();
    assert_eq!(
        counts,
        vec![3, 2, 2],
        "every record in exactly one window: {windows:?}"
    );
    server.stop().await;
}
