//! The Fluentd forward listener of an in-process node: the fluent-logger Python client as a
//! real sender, the four modes built by hand (Message, Forward, PackedForward,
//! CompressedPackedForward) with EventTime, `chunk` answered by `ack` only once stored (also
//! while memory is full), the shared-key handshake, and bad messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use kansoku_server::Config;
use sha2::{Digest, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A change to a test configuration.
type Adjust = Box<dyn Fn(&mut Config)>;

fn with_forward(config: &mut Config) {
    config.forward.forward_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
}

fn forward_addr(server: &TestServer) -> SocketAddr {
    server.node.as_ref().unwrap().forward_addr.unwrap()
}

/// MessagePack writers for hand-built messages.
mod mp {
    pub fn array(out: &mut Vec<u8>, len: u32) {
        rmp::encode::write_array_len(out, len).unwrap();
    }
    pub fn map(out: &mut Vec<u8>, len: u32) {
        rmp::encode::write_map_len(out, len).unwrap();
    }
    pub fn str(out: &mut Vec<u8>, text: &str) {
        rmp::encode::write_str(out, text).unwrap();
    }
    pub fn int(out: &mut Vec<u8>, n: i64) {
        rmp::encode::write_sint(out, n).unwrap();
    }
    pub fn bin(out: &mut Vec<u8>, bytes: &[u8]) {
        rmp::encode::write_bin(out, bytes).unwrap();
    }
    /// EventTime: ext 0, seconds and nanoseconds.
    pub fn event_time(out: &mut Vec<u8>, seconds: u32, nanos: u32) {
        let mut data = seconds.to_be_bytes().to_vec();
        data.extend(nanos.to_be_bytes());
        rmp::encode::write_ext_meta(out, 8, 0).unwrap();
        out.extend(data);
    }
    /// `{"i": i, "msg": text, "kubernetes": {"pod_name": "p-1"}}`.
    pub fn record(out: &mut Vec<u8>, i: i64, text: &str) {
        map(out, 3);
        str(out, "i");
        int(out, i);
        str(out, "msg");
        str(out, text);
        str(out, "kubernetes");
        map(out, 1);
        str(out, "pod_name");
        str(out, "p-1");
    }
    /// `{"chunk": id}` (and `"compressed": "gzip"`).
    pub fn option(out: &mut Vec<u8>, chunk: &str, gzip: bool) {
        map(out, 1 + u32::from(gzip));
        str(out, "chunk");
        str(out, chunk);
        if gzip {
            str(out, "compressed");
            str(out, "gzip");
        }
    }
}

/// Reads one MessagePack value from the connection (30 s at most).
async fn read_value(connection: &mut TcpStream) -> Vec<u8> {
    use kansoku_ingest::decode::forward::msgpack::{ReadError, read};
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match read(&bytes) {
            Ok((_, used)) => return bytes[..used].to_vec(),
            Err(ReadError::Incomplete) => {}
            Err(error) => panic!("not MessagePack: {error:?}"),
        }
        let read = tokio::time::timeout(Duration::from_secs(30), connection.read(&mut buffer))
            .await
            .expect("no answer within 30 s")
            .unwrap();
        assert!(read > 0, "connection closed");
        bytes.extend_from_slice(&buffer[..read]);
    }
}

fn ack_of(chunk: &str) -> Vec<u8> {
    let mut out = Vec::new();
    mp::map(&mut out, 1);
    mp::str(&mut out, "ack");
    mp::str(&mut out, chunk);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fluent_logger_python_sends_events() {
    let server = TestServer::start_with(with_forward).await;
    let port = forward_addr(&server).port().to_string();
    let script = r#"
import os
from fluent import sender
logger = sender.FluentSender("app", host="127.0.0.1", port=int(os.environ["PORT"]), nanosecond_precision=True)
for i in range(50):
    assert logger.emit("web", {"i": i, "msg": "from fluent-logger", "kubernetes": {"namespace_name": "shop"}}), logger.last_error
logger.close()
print("sent")
"#;
    let out = run_python(script, &[("PORT", &port)]).await;
    assert!(out.contains("sent"), "{out}");
    let rows = server
        .search_until("SELECT * FROM app_web ORDER BY i", 50)
        .await;
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[7]["i"], 7);
    assert_eq!(rows[7]["msg"], "from fluent-logger");
    assert_eq!(rows[7]["kubernetes_namespace_name"], "shop");
    let stamp = rows[7]["_timestamp"].as_i64().unwrap();
    assert!(
        (now_micros() - stamp).abs() < 600_000_000,
        "EventTime kept: {stamp}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_is_stored_and_chunks_are_acknowledged_once_durable() {
    let server = TestServer::start_with(with_forward).await;
    let mut connection = TcpStream::connect(forward_addr(&server)).await.unwrap();
    let now = (now_micros() / 1_000_000) as u32;

    // Message mode with an EventTime.
    let mut message = Vec::new();
    mp::array(&mut message, 4);
    mp::str(&mut message, "k8s.modes");
    mp::event_time(&mut message, now, 123_456_000);
    mp::record(&mut message, 0, "message mode");
    mp::option(&mut message, "c-message", false);
    // Forward mode, integer times.
    let mut forward = Vec::new();
    mp::array(&mut forward, 3);
    mp::str(&mut forward, "k8s.modes");
    mp::array(&mut forward, 2);
    for i in 1..=2 {
        mp::array(&mut forward, 2);
        mp::int(&mut forward, i64::from(now));
        mp::record(&mut forward, i, "forward mode");
    }
    mp::option(&mut forward, "c-forward", false);
    // PackedForward and CompressedPackedForward.
    let mut entries = Vec::new();
    for i in 3..=4 {
        mp::array(&mut entries, 2);
        mp::event_time(&mut entries, now, 250_000_000);
        mp::record(&mut entries, i, "packed");
    }
    let mut packed = Vec::new();
    mp::array(&mut packed, 3);
    mp::str(&mut packed, "k8s.modes");
    mp::bin(&mut packed, &entries);
    mp::option(&mut packed, "c-packed", false);
    let mut compressed = Vec::new();
    mp::array(&mut compressed, 3);
    mp::str(&mut compressed, "k8s.modes");
    mp::bin(&mut compressed, &gzip(&entries));
    mp::option(&mut compressed, "c-gzip", true);

    for (bytes, chunk) in [
        (message, "c-message"),
        (forward, "c-forward"),
        (packed, "c-packed"),
        (compressed, "c-gzip"),
    ] {
        connection.write_all(&bytes).await.unwrap();
        assert_eq!(read_value(&mut connection).await, ack_of(chunk));
    }
    // Acknowledged means stored: visible at once.
    let rows = server
        .search(
            "default",
            "SELECT i, msg, kubernetes_pod_name, _timestamp FROM k8s_modes ORDER BY i",
        )
        .await;
    let seen: Vec<i64> = rows.iter().map(|r| r["i"].as_i64().unwrap()).collect();
    // The compressed chunk re-sends the packed chunk's entries (same tag, nanosecond time and
    // record): each is stored once. (Forward mode's integer times get no id: events repeated
    // within a second are legitimate.)
    assert_eq!(seen, vec![0, 1, 2, 3, 4], "{rows:?}");
    assert_eq!(rows[0]["_timestamp"], i64::from(now) * 1_000_000 + 123_456);
    assert_eq!(rows[0]["kubernetes_pod_name"], "p-1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_counted_and_broken_streams_closed() {
    let server = TestServer::start_with(with_forward).await;
    let addr = forward_addr(&server);
    let now = now_micros() / 1_000_000;
    let mut connection = TcpStream::connect(addr).await.unwrap();
    // Well-formed MessagePack of the wrong shapes, then a good event; the shapes are refused
    // and counted, the chunk still answered (re-sending them could never help).
    let mut bytes = Vec::new();
    mp::str(&mut bytes, "not an array");
    mp::array(&mut bytes, 3);
    mp::str(&mut bytes, "bad.shapes");
    mp::array(&mut bytes, 3);
    mp::str(&mut bytes, "not an entry");
    mp::array(&mut bytes, 2);
    mp::str(&mut bytes, "a string is no time");
    mp::record(&mut bytes, 0, "x");
    mp::array(&mut bytes, 2);
    mp::int(&mut bytes, now);
    mp::str(&mut bytes, "a string is no record");
    mp::option(&mut bytes, "c-bad", false);
    mp::array(&mut bytes, 3);
    mp::str(&mut bytes, "bad.shapes");
    mp::int(&mut bytes, now);
    mp::record(&mut bytes, 9, "kept");
    connection.write_all(&bytes).await.unwrap();
    assert_eq!(read_value(&mut connection).await, ack_of("c-bad"));
    let rows = server.search_until("SELECT i FROM bad_shapes", 1).await;
    assert_eq!(rows, vec![serde_json::json!({"i": 9})]);
    let refused = server
        .metric_when("kansoku_ingest_discarded", "invalid_forward", 4.0)
        .await;
    assert_eq!(refused, 4.0, "one non-array message and three bad entries");

    // Bytes that are not MessagePack end the connection, after the message before them is
    // stored and answered (one read holds both).
    let mut broken = TcpStream::connect(addr).await.unwrap();
    let mut bytes = Vec::new();
    mp::array(&mut bytes, 4);
    mp::str(&mut bytes, "before.garbage");
    mp::int(&mut bytes, now);
    mp::record(&mut bytes, 1, "kept before garbage");
    mp::option(&mut bytes, "c-before", false);
    bytes.extend([0xc1, 0x00]);
    broken.write_all(&bytes).await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), broken.read_to_end(&mut rest)).await;
    assert_eq!(rest, ack_of("c-before"));
    let rows = server
        .search("default", "SELECT msg FROM before_garbage")
        .await;
    assert_eq!(rows.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_key_handshake() {
    let server = TestServer::start_with(|config| {
        with_forward(config);
        config.forward.forward_shared_key = Some("s3cret".to_string());
        config.forward.forward_hostname = "kansoku-test".to_string();
    })
    .await;
    let addr = forward_addr(&server);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let digest = |salt: &[u8], host: &str, nonce: &[u8], key: &str| {
        let mut hasher = Sha512::new();
        hasher.update(salt);
        hasher.update(host.as_bytes());
        hasher.update(nonce);
        hasher.update(key.as_bytes());
        hex(&hasher.finalize())
    };
    for (key, accepted) in [("wrong", false), ("s3cret", true)] {
        let mut connection = TcpStream::connect(addr).await.unwrap();
        let helo = read_value(&mut connection).await;
        let (value, _) = kansoku_ingest::decode::forward::msgpack::read(&helo).unwrap();
        use kansoku_ingest::decode::forward::msgpack::Value;
        let Value::Array(items) = value else {
            panic!("HELO: {value:?}")
        };
        assert_eq!(items[0], Value::Str(b"HELO"));
        let Value::Map(options) = &items[1] else {
            panic!("HELO options")
        };
        let nonce = options
            .iter()
            .find(|(k, _)| *k == Value::Str(b"nonce"))
            .map(|(_, v)| match v {
                Value::Bin(b) | Value::Str(b) => b.to_vec(),
                other => panic!("nonce {other:?}"),
            })
            .unwrap();
        let salt = b"client-salt";
        let mut ping = Vec::new();
        mp::array(&mut ping, 6);
        mp::str(&mut ping, "PING");
        mp::str(&mut ping, "sender-1");
        mp::str(&mut ping, std::str::from_utf8(salt).unwrap());
        mp::str(&mut ping, &digest(salt, "sender-1", &nonce, key));
        mp::str(&mut ping, "");
        mp::str(&mut ping, "");
        connection.write_all(&ping).await.unwrap();
        let pong = read_value(&mut connection).await;
        let (Value::Array(pong), _) =
            kansoku_ingest::decode::forward::msgpack::read(&pong).unwrap()
        else {
            panic!("PONG is not an array");
        };
        assert_eq!(pong[0], Value::Str(b"PONG"));
        assert_eq!(pong[1], Value::Bool(accepted), "{key}");
        if !accepted {
            let mut rest = Vec::new();
            let _ = connection.read_to_end(&mut rest).await;
            assert!(rest.is_empty());
            continue;
        }
        // The server proves it knows the key too.
        let expected = digest(salt, "kansoku-test", &nonce, "s3cret");
        assert_eq!(pong[3], Value::Str(b"kansoku-test"));
        assert_eq!(pong[4], Value::Str(expected.as_bytes()));
        let mut message = Vec::new();
        mp::array(&mut message, 4);
        mp::str(&mut message, "authed");
        mp::int(&mut message, now_micros() / 1_000_000);
        mp::record(&mut message, 1, "after the handshake");
        mp::option(&mut message, "c-1", false);
        connection.write_all(&message).await.unwrap();
        assert_eq!(read_value(&mut connection).await, ack_of("c-1"));
    }
    let rows = server.search("default", "SELECT msg FROM authed").await;
    assert_eq!(rows.len(), 1);
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric_value(&metrics, "kansoku_forward_handshake_failures_total"),
        1.0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ack_while_memory_is_full() {
    let server = TestServer::start_overloaded_with(with_forward).await;
    let mut connection = TcpStream::connect(forward_addr(&server)).await.unwrap();
    let mut message = Vec::new();
    mp::array(&mut message, 4);
    mp::str(&mut message, "held");
    mp::int(&mut message, now_micros() / 1_000_000);
    mp::record(&mut message, 1, "waits for memory");
    mp::option(&mut message, "c-held", false);
    connection.write_all(&message).await.unwrap();
    let retried = server
        .metric_when("kansoku_forward_backpressure_total", "", 1.0)
        .await;
    assert!(retried >= 1.0);
    let mut early = [0u8; 16];
    let premature =
        tokio::time::timeout(Duration::from_millis(300), connection.read(&mut early)).await;
    assert!(premature.is_err(), "no answer while the batch is refused");
    server.repair_store().await;
    assert_eq!(read_value(&mut connection).await, ack_of("c-held"));
    let rows = server.search("default", "SELECT msg FROM held").await;
    assert_eq!(rows.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Adjust, &str)> = vec![
        (
            Box::new(|c: &mut Config| c.forward.forward_org = "No Such".into()),
            "KANSOKU_FORWARD_ORG",
        ),
        (
            Box::new(|c: &mut Config| c.forward.forward_stream = Some("a/b".into())),
            "KANSOKU_FORWARD_STREAM",
        ),
        (
            Box::new(|c: &mut Config| c.forward.forward_shared_key = Some(String::new())),
            "KANSOKU_FORWARD_SHARED_KEY",
        ),
    ];
    for (adjust, expected) in cases {
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let error = match kansoku_server::forward::Bound::bind(&config.forward).await {
            Ok(_) => panic!("accepted, expected {expected}"),
            Err(error) => error,
        };
        assert!(error.contains(expected), "{error}");
    }
}
