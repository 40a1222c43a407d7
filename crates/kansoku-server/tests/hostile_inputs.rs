//! The bad inputs of `ecosystem-reliability.md` §5 that a single HTTP request can carry, as one
//! table: each row names its §5 item, sends the request over a raw connection (so headers can be
//! duplicated, lengths can lie and bodies can be chunked) and states the documented answer — a
//! status and words the message must contain. After the table, the node must still answer, and
//! nothing a refused request carried may be searchable. `docs/reliability.md` lists the rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The body limit of the node under test.
const MAX_BODY: usize = 256 * 1024;

/// One hostile request and its documented answer.
struct Case {
    /// The §5 item, e.g. `4`.
    item: &'static str,
    what: &'static str,
    method: &'static str,
    path: String,
    /// Extra header lines, each ending in `\r\n`.
    headers: String,
    body: Vec<u8>,
    /// Whether root's `Authorization` is sent.
    authorized: bool,
    status: u16,
    /// Words the answer must contain (status line, headers or body).
    says: &'static str,
}

fn case(item: &'static str, what: &'static str, method: &'static str, path: &str) -> Case {
    Case {
        item,
        what,
        method,
        path: path.to_string(),
        headers: String::new(),
        body: Vec::new(),
        authorized: true,
        status: 0,
        says: "",
    }
}

impl Case {
    fn header(mut self, line: &str) -> Case {
        self.headers.push_str(line);
        self.headers.push_str("\r\n");
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = body.into();
        self
    }

    fn anonymous(mut self) -> Case {
        self.authorized = false;
        self
    }

    fn answers(mut self, status: u16, says: &'static str) -> Case {
        self.status = status;
        self.says = says;
        self
    }
}

fn snappy(data: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(data).unwrap()
}

fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn remote_write(series: Vec<Vec<(&str, &str)>>) -> Vec<u8> {
    use kansoku_ingest::decode::remote_write::v1;
    use prost::Message;
    let now_ms = now_micros() / 1000;
    let request = v1::WriteRequest {
        timeseries: series
            .into_iter()
            .map(|labels| v1::TimeSeries {
                labels: labels
                    .into_iter()
                    .map(|(name, value)| v1::Label {
                        name: name.to_string(),
                        value: value.to_string(),
                    })
                    .collect(),
                samples: vec![v1::Sample {
                    value: 1.0,
                    timestamp: now_ms,
                }],
                ..v1::TimeSeries::default()
            })
            .collect(),
        metadata: Vec::new(),
    };
    snappy(&request.encode_to_vec())
}

fn search(sql: &str, start: i64, end: i64, size: i64) -> Vec<u8> {
    json!({"query": {"sql": sql, "start_time": start, "end_time": end, "from": 0, "size": size}})
        .to_string()
        .into_bytes()
}

fn cases() -> Vec<Case> {
    let now = now_micros();
    let hour = 3_600_000_000i64;
    let json_path = "/api/default/hostile/_json";
    let multi_path = "/api/default/hostile/_multi";
    let rw_path = "/api/default/prometheus/api/v1/write";
    let rw = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy";
    let otlp_logs = "/api/default/v1/logs";
    vec![
        // Transport / HTTP
        case("1", "body over the limit, declared", "POST", json_path)
            .header(&format!("Content-Length: {}", MAX_BODY * 4))
            .answers(413, "262144"),
        case("1", "body over the limit, chunked", "POST", json_path)
            .header("Transfer-Encoding: chunked")
            .body(chunked(&vec![b' '; MAX_BODY * 2], 16 * 1024))
            .answers(413, "262144"),
        case("3", "remote_write with a JSON content type", "POST", rw_path)
            .header("Content-Type: application/json")
            .body(remote_write(vec![vec![("__name__", "up")]]))
            .answers(415, "content type"),
        case("3", "remote_write naming an unknown message", "POST", rw_path)
            .header("Content-Type: application/x-protobuf;proto=foo.Bar")
            .body(remote_write(vec![vec![("__name__", "up")]]))
            .answers(415, "foo.Bar"),
        case("3", "Content-Encoding: br", "POST", json_path)
            .header("Content-Encoding: br")
            .body("[{}]")
            .answers(415, "br"),
        case("3", "search without a JSON content type", "POST", "/api/default/_search")
            .header("Content-Type: text/plain")
            .body(search("SELECT 1", now - hour, now, 10))
            .answers(415, "application/json"),
        case("4", "gzip bomb", "POST", json_path)
            .header("Content-Encoding: gzip")
            .body(gzip(&vec![b' '; 64 * 1024 * 1024]))
            .answers(413, "decompressed"),
        case("4", "snappy bomb on remote_write", "POST", rw_path)
            .header(rw)
            .body(snappy(&vec![0u8; 8 * 1024 * 1024]))
            .answers(413, "exceeds"),
        case("4", "snappy length lying about its size", "POST", rw_path)
            .header(rw)
            .body(vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])
            .answers(400, "snappy"),
        case("4", "truncated gzip stream", "POST", json_path)
            .header("Content-Encoding: gzip")
            .body(gzip(b"[{\"a\": 1}]")[..12].to_vec())
            .answers(400, "gzip"),
        case("5", "says gzip, is plain", "POST", json_path)
            .header("Content-Encoding: gzip")
            .body("[{\"a\": 1}]")
            .answers(400, "gzip"),
        case("7", "two different Content-Length headers", "POST", json_path)
            .header("Content-Length: 4")
            .header("Content-Length: 5")
            .body("[{}]")
            .answers(400, ""),
        // JSON / NDJSON / _bulk
        case("8", "trailing comma", "POST", json_path)
            .body("[{\"a\": 1},]")
            .answers(400, "column"),
        case("8", "unterminated string", "POST", json_path)
            .body("[{\"a\": \"x}]")
            .answers(400, "column"),
        case("8", "NaN literal", "POST", json_path)
            .body("[{\"a\": NaN}]")
            .answers(400, "column"),
        case("8", "comment", "POST", json_path)
            .body("[{\"a\": 1} /* x */]")
            .answers(400, "column"),
        case("9", "top-level scalar", "POST", json_path)
            .body("42")
            .answers(400, ""),
        case("9", "top-level null", "POST", json_path)
            .body("null")
            .answers(400, ""),
        case("9", "empty array", "POST", json_path)
            .body("[]")
            .answers(200, "\"successful\":0"),
        case("10", "10k nested arrays", "POST", json_path)
            .body(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)))
            .answers(400, ""),
        case("10", "10k nested objects in one NDJSON line", "POST", multi_path)
            .body(format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)))
            .answers(400, "line 1"),
        case("11", "a 100 KiB field name", "POST", multi_path)
            .body(format!("{{\"{}\": 1}}\n{{\"id\": \"kept-11\"}}", "k".repeat(100 * 1024)))
            .answers(200, "\"failed\":1"),
        case("11", "5,000 fields in one record", "POST", multi_path)
            .body({
                let fields: serde_json::Map<String, Value> =
                    (0..5_000).map(|i| (format!("f{i}"), json!(i))).collect();
                format!("{}\n{{\"id\": \"kept-11b\"}}", Value::Object(fields))
            })
            .answers(200, "\"failed\":1"),
        case("12", "invalid UTF-8", "POST", json_path)
            .body(b"[{\"a\": \"\xff\xfe\"}]".to_vec())
            .answers(400, ""),
        case("12", "a lone surrogate escape", "POST", json_path)
            .body("[{\"a\": \"\\ud800\"}]")
            .answers(400, "hex escape at line 1"),
        case("15", "_bulk: action without a document, unknown action, ../ index", "POST", "/api/default/_bulk")
            .body(
                "{\"index\":{\"_index\":\"hostile\"}}\n{\"id\":\"kept-15\"}\n{\"explode\":{}}\n{}\n{\"index\":{\"_index\":\"../etc\"}}\n{\"x\":1}\n{\"index\":{\"_index\":\"hostile\"}}",
            )
            .answers(200, "\"errors\":true"),
        case("13", "the same key twice in one object", "POST", multi_path)
            .body("{\"id\": \"kept-13\", \"dup\": 1, \"dup\": \"x\"}")
            .answers(200, "\"successful\":1"),
        case("16", "internal fields supplied by the client", "POST", multi_path)
            .body("{\"id\": \"kept-16\", \"_org\": \"other\", \"_id\": \"x\"}")
            .answers(200, "\"successful\":1"),
        // Timestamps
        case("17", "1970, year 9999 and negative timestamps", "POST", multi_path)
            .body(format!(
                "{}\n{}\n{}\n{}",
                json!({"id": "t1970", "_timestamp": 1}),
                json!({"id": "t9999", "_timestamp": 253_402_300_799_000_000i64}),
                json!({"id": "tneg", "_timestamp": -5}),
                json!({"id": "kept-17"}),
            ))
            .answers(200, "\"failed\":3"),
        // Protobuf / OTLP / remote_write
        case("20", "truncated OTLP protobuf", "POST", otlp_logs)
            .header("Content-Type: application/x-protobuf")
            .body(vec![0x0a, 0x10, 0x0a, 0x05])
            .answers(400, ""),
        case("20", "OTLP JSON with a wrong type", "POST", otlp_logs)
            .header("Content-Type: application/json")
            .body("{\"resourceLogs\": 5}")
            .answers(400, ""),
        case("22", "framed snappy instead of block", "POST", rw_path)
            .header(rw)
            .body({
                let mut framed = snap::write::FrameEncoder::new(Vec::new());
                framed.write_all(b"not a write request").unwrap();
                framed.into_inner().unwrap()
            })
            .answers(400, "snappy"),
        case("22", "duplicate label names", "POST", rw_path)
            .header(rw)
            .body(remote_write(vec![
                vec![("__name__", "dup"), ("job", "a"), ("job", "b")],
                vec![("__name__", "kept_22"), ("job", "a")],
            ]))
            .answers(400, "appears twice"),
        case("22", "a series without __name__", "POST", rw_path)
            .header(rw)
            .body(remote_write(vec![vec![("job", "a")]]))
            .answers(400, "__name__"),
        // Cardinality / names
        case("25", "a stream name with ..", "POST", "/api/default/..%2Fetc/_json")
            .body("[{}]")
            .answers(400, "stream"),
        case("25", "an organisation name with a slash", "POST", "/api/a%2Fb/hostile/_json")
            .body("[{}]")
            .answers(400, "org"),
        // Search API / SQL
        case("27", "SQL reading another organisation", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search("SELECT * FROM \"other\".\"hostile\"", now - hour, now, 10))
            .answers(404, "not found"),
        case("28", "COPY TO a file", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search("COPY (SELECT 1) TO '/tmp/x.parquet'", now - hour, now, 10))
            .answers(400, ""),
        case("28", "CREATE EXTERNAL TABLE", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search(
                "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/'",
                now - hour,
                now,
                10,
            ))
            .answers(400, ""),
        case("28", "two statements", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search("SELECT 1; SELECT 2", now - hour, now, 10))
            .answers(400, ""),
        case("31", "start after end", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search("SELECT * FROM hostile", now, now - hour, 10))
            .answers(400, "start_time"),
        case("31", "negative size", "POST", "/api/default/_search")
            .header("Content-Type: application/json")
            .body(search("SELECT * FROM hostile", now - hour, now, -1))
            .answers(400, "size"),
        // PromQL
        case("32", "a 1 ms step over a day", "GET", &format!(
            "/api/default/prometheus/api/v1/query_range?query=up&start={}&end={}&step=0.001",
            now / 1_000_000 - 86_400,
            now / 1_000_000
        ))
        .answers(400, "11,000"),
        case("32", "deeply nested parentheses", "GET", &format!(
            "/api/default/prometheus/api/v1/query?query={}1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        ))
        .answers(400, "too complex"),
        case("32", "a chain of 20,000 additions (crashed the server before)", "POST", "/api/default/prometheus/api/v1/query")
            .header("Content-Type: application/x-www-form-urlencoded")
            .body(format!("query={}", vec!["1"; 20_000].join("%2B")))
            .answers(400, "too complex"),
        case("32", "parentheses nested up to the limit still answer", "GET", &format!(
            "/api/default/prometheus/api/v1/query?query={}1{}",
            "(".repeat(kansoku_promql::complexity::MAX_OPERATORS),
            ")".repeat(kansoku_promql::complexity::MAX_OPERATORS)
        ))
        .answers(200, "\"resultType\":\"scalar\""),
        case("32", "a range over a century", "GET", "/api/default/prometheus/api/v1/query?query=rate(up%5B100y%5D)")
            .answers(200, "success"),
        // Alerts and webhooks
        case("33", "an alert evaluated every 0 minutes", "POST", "/api/v2/default/alerts")
            .header("Content-Type: application/json")
            .body(
                json!({
                    "name": "zero", "stream_type": "logs", "stream_name": "hostile",
                    "query_condition": {"type": "sql", "sql": "SELECT * FROM hostile"},
                    "trigger_condition": {"period": 1, "operator": ">=", "threshold": 1, "frequency": 0, "silence": 0},
                    "destinations": [],
                })
                .to_string(),
            )
            .answers(400, "frequency"),
        case("34", "a webhook to the cloud metadata address", "POST", "/api/default/alerts/destinations")
            .header("Content-Type: application/json")
            .body(json!({"name": "meta", "type": "http", "url": "http://169.254.169.254/latest/meta-data"}).to_string())
            .answers(400, "169.254.169.254"),
        case("34", "a webhook to a decimal loopback address", "POST", "/api/default/alerts/destinations")
            .header("Content-Type: application/json")
            .body(json!({"name": "loop", "type": "http", "url": "http://2130706433/"}).to_string())
            .answers(400, "127.0.0.1"),
        case("34", "a file:// webhook", "POST", "/api/default/alerts/destinations")
            .header("Content-Type: application/json")
            .body(json!({"name": "file", "type": "http", "url": "file:///etc/passwd"}).to_string())
            .answers(400, "http"),
        // Auth / tenancy
        case("35", "no credentials", "POST", json_path)
            .anonymous()
            .body("[{}]")
            .answers(401, ""),
        case("35", "Basic without a colon", "POST", json_path)
            .anonymous()
            .header("Authorization: Basic cm9vdEBleGFtcGxlLmNvbQ==")
            .body("[{}]")
            .answers(401, ""),
        case("35", "empty password", "POST", json_path)
            .anonymous()
            .header("Authorization: Basic cm9vdEBleGFtcGxlLmNvbTo=")
            .body("[{}]")
            .answers(401, ""),
        case("36", "a dot-dot segment to another organisation", "GET", "/api/other/../default/streams")
            .answers(404, "no such API route"),
    ]
}

/// Sends `case` over a fresh connection and returns the whole answer.
async fn send(server: &TestServer, case: &Case) -> String {
    use base64::Engine;
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n",
        case.method, case.path
    );
    if case.authorized {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{ROOT}:{ROOT_PASSWORD}"));
        head.push_str(&format!("Authorization: Basic {credentials}\r\n"));
    }
    head.push_str(&case.headers);
    let declares_length = case.headers.to_ascii_lowercase().contains("content-length")
        || case
            .headers
            .to_ascii_lowercase()
            .contains("transfer-encoding");
    if !declares_length {
        head.push_str(&format!("Content-Length: {}\r\n", case.body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading the whole body.
    let _ = stream.write_all(&case.body).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    if read.is_err() && answer.is_empty() {
        return "no answer within 30 s".to_string();
    }
    String::from_utf8_lossy(&answer).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_input_gets_its_documented_answer() {
    let server = TestServer::start_with(|c| c.max_body_bytes = MAX_BODY).await;
    server
        .ingest("other", "hostile", &[json!({"secret": "other-org"})])
        .await;
    let mut wrong = Vec::new();
    let cases = cases();
    for case in &cases {
        eprintln!("§5.{} {}", case.item, case.what);
        let answer = send(&server, case).await;
        let status_line = answer.lines().next().unwrap_or_default().to_string();
        let status_ok = status_line.starts_with(&format!("HTTP/1.1 {}", case.status));
        let says = answer.to_lowercase().contains(&case.says.to_lowercase());
        if !status_ok || !says {
            let shown: String = answer.chars().take(600).collect();
            wrong.push(format!(
                "§5.{} {}: expected {} containing {:?}, got:\n{shown}",
                case.item, case.what, case.status, case.says
            ));
        }
        assert!(
            !answer.contains("other-org"),
            "§5.{} leaked data",
            case.item
        );
    }
    assert!(
        wrong.is_empty(),
        "{} of {} hostile inputs got another answer:\n\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n\n")
    );
    // The node still serves, and exactly the good records that came with bad ones landed.
    let ids = server
        .search(
            "default",
            "SELECT id FROM hostile WHERE id IS NOT NULL ORDER BY id",
        )
        .await;
    assert_eq!(
        ids,
        vec![
            json!({"id": "kept-11"}),
            json!({"id": "kept-11b"}),
            json!({"id": "kept-13"}),
            json!({"id": "kept-15"}),
            json!({"id": "kept-16"}),
            json!({"id": "kept-17"}),
        ]
    );
    let response = server
        .anonymous(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    server.stop().await;
}

/// §5 item 2: a client trickling its headers (slowloris), one trickling its body and idle
/// connections filling the connection cap are cut off; a normal client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_still_served() {
    use base64::Engine;
    let server = TestServer::start_with(|c| {
        c.http_header_timeout = Duration::from_secs(1);
        c.http_body_timeout = Duration::from_secs(1);
        c.http_max_connections = 8;
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_string();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{ROOT}:{ROOT_PASSWORD}"));
    let connect = || tokio::net::TcpStream::connect(address.clone());
    let mut slow_head = connect().await.unwrap();
    slow_head
        .write_all(b"POST /api/default/slow/_json HTTP/1.1\r\nHost: kansoku\r\n")
        .await
        .unwrap();
    let mut slow_body = connect().await.unwrap();
    slow_body
        .write_all(
            format!(
                "POST /api/default/slow/_json HTTP/1.1\r\nHost: kansoku\r\nAuthorization: Basic {credentials}\r\nContent-Length: 100\r\n\r\n[{{"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..6 {
        idle.push(connect().await.unwrap());
    }
    // Every connection slot is taken: this request waits until the slow ones are cut off.
    let served = tokio::time::timeout(
        Duration::from_secs(60),
        server.ingest("default", "slow", &[json!({"id": "served"})]),
    )
    .await;
    assert!(served.is_ok(), "a normal client was not served");
    let read_all = |mut stream: tokio::net::TcpStream| async move {
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the connection was left open");
        String::from_utf8_lossy(&answer).to_string()
    };
    assert_eq!(
        read_all(slow_head).await,
        "",
        "slowloris: closed without an answer"
    );
    let answer = read_all(slow_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("KANSOKU_HTTP_BODY_TIMEOUT"), "{answer}");
    for connection in idle {
        assert_eq!(
            read_all(connection).await,
            "",
            "idle connections are closed"
        );
    }
    let ids = server
        .search("default", "SELECT id FROM slow WHERE id IS NOT NULL")
        .await;
    assert_eq!(ids, vec![json!({"id": "served"})]);
    server.stop().await;
}
