//! The syslog listeners of an in-process node: RFC 6587 framing over TCP, the header columns
//! of RFC 5424 and RFC 3164, routes, UDP, RELP answered only once stored, TLS with client
//! certificates, back-pressure while memory is full, bad input counted without losing the
//! rest, settings refused at start, and syslog-ng as a real sender over TCP, UDP and TLS.
//! rsyslog (TCP and RELP across a crash of the real binary) is in the workspace's
//! `tests/syslog_rsyslog.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use kansoku_server::Config;
use kansoku_server::syslog::SyslogAddrs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A change to a test configuration.
type Adjust = Box<dyn Fn(&mut Config)>;

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// TCP, UDP and RELP on loopback, and a route of `sshd*` to `security`.
fn with_listeners(config: &mut Config) {
    config.syslog.syslog_tcp_addr = loopback();
    config.syslog.syslog_udp_addr = loopback();
    config.syslog.syslog_relp_addr = loopback();
    config.syslog.syslog_routes = "appname=sshd*=>security".to_string();
}

fn addrs(server: &TestServer) -> SyslogAddrs {
    server.node.as_ref().unwrap().syslog_addrs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_framings_header_columns_and_routes() {
    let server = TestServer::start_with(with_listeners).await;
    let mut connection = TcpStream::connect(addrs(&server).tcp.unwrap())
        .await
        .unwrap();
    let now = now_micros() / 1_000_000;
    let stamp = rfc3339_utc(now);
    let rfc5424 = format!(
        r#"<165>1 {stamp} web-1 nginx 4242 ACCESS [req@32473 path="/a\"b" status="200"][meta seq="7"] GET /a"b"#
    );
    let rfc3164 = format!("<38>{stamp} db-1 sshd[77]: Accepted publickey for ops");
    let malformed = "<14>1 yesterday host app - - - what time is it";
    // Octet counting, then LF framing, then CRLF, on one connection.
    let mut bytes = format!("{} {rfc5424}", rfc5424.len()).into_bytes();
    bytes.extend_from_slice(format!("{rfc3164}\n").as_bytes());
    bytes.extend_from_slice(format!("{malformed}\r\n").as_bytes());
    bytes.extend_from_slice(b"a line without any header\n");
    connection.write_all(&bytes).await.unwrap();
    connection.shutdown().await.unwrap();

    let rows = server
        .search_until("SELECT * FROM syslog ORDER BY message", 3)
        .await;
    let by_message = |text: &str| {
        rows.iter()
            .find(|row| row["message"] == text)
            .unwrap_or_else(|| panic!("no row with message {text}: {rows:?}"))
            .clone()
    };
    let row = by_message("GET /a\"b");
    assert_eq!(row["facility"], "local4");
    assert_eq!(row["severity"], "notice");
    assert_eq!(row["severity_code"], 5);
    assert_eq!(row["hostname"], "web-1");
    assert_eq!(row["appname"], "nginx");
    assert_eq!(row["procid"], "4242");
    assert_eq!(row["msgid"], "ACCESS");
    assert_eq!(row["req_32473_path"], "/a\"b");
    assert_eq!(row["req_32473_status"], "200");
    assert_eq!(row["meta_seq"], "7");
    assert_eq!(row["_timestamp"], now * 1_000_000);
    let row = by_message("1 yesterday host app - - - what time is it");
    assert!(
        row["syslog_error"].as_str().unwrap().contains("TIMESTAMP"),
        "{row}"
    );
    let row = by_message("a line without any header");
    assert_eq!(row["facility"], "user");
    assert_eq!(row["severity"], "notice");

    let routed = server.search_until("SELECT * FROM security", 1).await;
    assert_eq!(routed[0]["hostname"], "db-1");
    assert_eq!(routed[0]["appname"], "sshd");
    assert_eq!(routed[0]["procid"], "77");
    assert_eq!(routed[0]["severity"], "info");
    assert_eq!(routed[0]["facility"], "auth");
    assert_eq!(routed[0]["message"], "Accepted publickey for ops");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_are_stored_and_counted() {
    let server = TestServer::start_with(with_listeners).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = addrs(&server).udp.unwrap();
    for i in 0..50 {
        let datagram = format!("<13>1 - host app - - - udp message {i}\n");
        socket.send_to(datagram.as_bytes(), target).await.unwrap();
    }
    socket.send_to(b"\n", target).await.unwrap();
    let rows = server
        .search_until(
            "SELECT message FROM syslog WHERE str_match(message, 'udp message')",
            50,
        )
        .await;
    assert_eq!(rows.len(), 50);
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric_value(&metrics, "kansoku_syslog_messages_total{transport=\"udp\"}"),
        50.0,
        "the empty datagram is not a message"
    );
    server.stop().await;
}

/// Reads from `connection` until `lines` line feeds have arrived (30 s at most).
async fn read_lines(connection: &mut TcpStream, lines: usize) -> String {
    let mut text = String::new();
    let mut buffer = [0u8; 4096];
    while text.matches('\n').count() < lines {
        let read = tokio::time::timeout(Duration::from_secs(30), connection.read(&mut buffer))
            .await
            .expect("no RELP answer within 30 s")
            .unwrap();
        assert!(read > 0, "connection closed after {text:?}");
        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relp_frames_are_answered_once_stored() {
    let server = TestServer::start_with(|config| {
        with_listeners(config);
        config.max_record_bytes = 4096;
    })
    .await;
    let target = addrs(&server).relp.unwrap();
    let mut connection = TcpStream::connect(target).await.unwrap();
    let offer = "relp_version=0\nrelp_software=test\ncommands=syslog";
    connection
        .write_all(format!("1 open {} {offer}\n", offer.len()).as_bytes())
        .await
        .unwrap();
    // The answer's data holds three line feeds of its own.
    let opened = read_lines(&mut connection, 4).await;
    assert!(opened.starts_with("1 rsp "), "{opened}");
    assert!(
        opened.contains("200 OK") && opened.contains("commands=syslog"),
        "{opened}"
    );

    let mut frames = String::new();
    for txnr in 2..=4 {
        let message = format!("<13>1 - host app - - - relp message {txnr}");
        frames.push_str(&format!("{txnr} syslog {} {message}\n", message.len()));
    }
    connection.write_all(frames.as_bytes()).await.unwrap();
    let answered = read_lines(&mut connection, 3).await;
    assert_eq!(answered, "2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 6 200 OK\n");
    // Answered means stored: visible at once, no waiting.
    let rows = server
        .search(
            "default",
            "SELECT message FROM syslog WHERE str_match(message, 'relp message')",
        )
        .await;
    assert_eq!(rows.len(), 3);

    // A frame over the record limit is skipped, answered (re-sending could never help) and
    // counted; the next one is stored.
    let big = format!("<13>1 - host app - - - {}", "z".repeat(5000));
    let next = "<13>1 - host app - - - relp message after the big one";
    let frames = format!(
        "6 syslog {} {big}\n7 syslog {} {next}\n",
        big.len(),
        next.len()
    );
    connection.write_all(frames.as_bytes()).await.unwrap();
    assert_eq!(
        read_lines(&mut connection, 2).await,
        "6 rsp 6 200 OK\n7 rsp 6 200 OK\n"
    );
    let discarded = server
        .metric_when("kansoku_ingest_discarded", "invalid_syslog", 1.0)
        .await;
    assert_eq!(discarded, 1.0);
    let rows = server
        .search(
            "default",
            "SELECT message FROM syslog WHERE str_match(message, 'relp message')",
        )
        .await;
    assert_eq!(rows.len(), 4);

    connection.write_all(b"8 close 0\n").await.unwrap();
    let mut closing = String::new();
    connection.read_to_string(&mut closing).await.unwrap();
    assert_eq!(closing, "8 rsp 0\n");

    // A syslog frame before open breaks the protocol: the connection is closed, nothing stored.
    let mut rude = TcpStream::connect(target).await.unwrap();
    rude.write_all(b"1 syslog 9 <13>rude!\n").await.unwrap();
    let mut rest = Vec::new();
    let _ = rude.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let rows = server
        .search(
            "default",
            "SELECT message FROM syslog WHERE str_match(message, 'rude')",
        )
        .await;
    assert!(rows.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_holds_messages_until_memory_frees() {
    let server = TestServer::start_overloaded_with(with_listeners).await;
    let mut connection = TcpStream::connect(addrs(&server).tcp.unwrap())
        .await
        .unwrap();
    for i in 0..20 {
        let line = format!("<13>1 - host app - - - held message {i}\n");
        connection.write_all(line.as_bytes()).await.unwrap();
    }
    connection.flush().await.unwrap();
    let retried = server
        .metric_when(
            "kansoku_syslog_backpressure_total",
            "transport=\"tcp\"",
            1.0,
        )
        .await;
    assert!(retried >= 1.0, "the refused batch was not retried");
    let held = "SELECT message FROM syslog WHERE str_match(message, 'held message')";
    // Nothing stored yet: the stream does not even exist.
    let (status, body) = server
        .search_as((ROOT, ROOT_PASSWORD), "default", held, 10)
        .await;
    assert!(
        status != 200 || body["hits"] == serde_json::json!([]),
        "{status} {body}"
    );
    server.repair_store().await;
    let rows = server.search_until(held, 20).await;
    assert_eq!(rows.len(), 20);
    let metrics = server.metrics_text().await;
    assert!(
        !metrics.contains("kansoku_syslog_dropped_messages_total"),
        "nothing may be dropped: {metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_and_the_rest_stored() {
    let server = TestServer::start_with(|config| {
        with_listeners(config);
        config.max_record_bytes = 1024;
    })
    .await;
    let target = addrs(&server).tcp.unwrap();
    let mut connection = TcpStream::connect(target).await.unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(format!("<13>{}\n", "x".repeat(3000)).as_bytes());
    bytes.extend_from_slice(format!("2000 <13>{}", "y".repeat(1996)).as_bytes());
    bytes.extend_from_slice(b"<13>1 - host app - - - \xff\xfe binary \x01 junk\n");
    bytes.extend_from_slice(b"\n\n\0<13>1 - host app - - - kept after the junk\n");
    connection.write_all(&bytes).await.unwrap();
    connection.shutdown().await.unwrap();
    // A connection that ends inside an octet-counted frame.
    let mut cut = TcpStream::connect(target).await.unwrap();
    cut.write_all(b"500 <13>1 - host app - - - cut short")
        .await
        .unwrap();
    cut.shutdown().await.unwrap();

    let rows = server
        .search_until("SELECT message FROM syslog ORDER BY message", 2)
        .await;
    let messages: Vec<&str> = rows
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        vec!["kept after the junk", "\u{fffd}\u{fffd} binary \u{1} junk"]
    );
    let refused = server
        .metric_when("kansoku_ingest_discarded", "invalid_syslog", 3.0)
        .await;
    assert_eq!(
        refused, 3.0,
        "two oversized frames and one cut short are counted"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Adjust, &str)> = vec![
        (
            Box::new(|c: &mut Config| c.syslog.syslog_routes = "colour=red=>x".into()),
            "unknown field 'colour'",
        ),
        (
            Box::new(|c: &mut Config| c.syslog.syslog_org = "Not An Org".into()),
            "KANSOKU_SYSLOG_ORG",
        ),
        (
            Box::new(|c: &mut Config| c.syslog.syslog_routes = "appname=x=>../etc".into()),
            "syslog stream '../etc'",
        ),
        (
            Box::new(|c: &mut Config| c.syslog.syslog_tls_addr = loopback()),
            "needs KANSOKU_SYSLOG_TLS_CERT",
        ),
        (
            Box::new(|c: &mut Config| {
                c.syslog.syslog_tls_addr = loopback();
                c.syslog.syslog_tls_cert = Some("/nonexistent/cert.pem".into());
                c.syslog.syslog_tls_key = Some("/nonexistent/key.pem".into());
            }),
            "/nonexistent/cert.pem",
        ),
    ];
    for (adjust, expected) in cases {
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let error = match kansoku_server::syslog::Bound::bind(&config.syslog).await {
            Ok(_) => panic!("accepted, expected {expected}"),
            Err(error) => error,
        };
        assert!(error.contains(expected), "{error}");
    }
    // A port already taken stops the node's start, naming the setting.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = test_config(dir.path());
    config.syslog.syslog_tcp_addr = Some(taken.local_addr().unwrap());
    let error = kansoku_server::start(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("KANSOKU_SYSLOG_TCP_ADDR"), "{error}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed to make test certificates");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=kansoku test CA",
        ],
    ]
    .concat());
    for (name, usage, san) in [
        ("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"),
        ("client", "clientAuth", "DNS:sender.test"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"),
        )
        .unwrap();
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let subject = format!("/CN={name}");
        let request = [
            "-keyout",
            key.as_str(),
            "-out",
            csr.as_str(),
            "-subj",
            subject.as_str(),
        ];
        run(&[&["req"][..], &ec, &request].concat());
        run(&[
            "x509",
            "-req",
            "-in",
            csr.as_str(),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            pem.as_str(),
            "-days",
            "2",
            "-extfile",
            ext.as_str(),
        ]);
    }
}

fn tls_client(dir: &Path, with_certificate: bool) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_certificate {
        let chain = vec![CertificateDer::from_pem_file(dir.join("client.pem")).unwrap()];
        let key = PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn with_tls(dir: &Path) -> impl FnOnce(&mut Config) + '_ {
    move |config: &mut Config| {
        config.syslog.syslog_tls_addr = loopback();
        config.syslog.syslog_tls_cert = Some(dir.join("server.pem"));
        config.syslog.syslog_tls_key = Some(dir.join("server.key"));
        config.syslog.syslog_tls_client_ca = Some(dir.join("ca.pem"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_requires_a_client_certificate_when_configured() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let server = TestServer::start_with(with_tls(certs.path())).await;
    let target = addrs(&server).tls.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();

    // Without a certificate: the handshake or the first read fails; nothing is stored.
    let tcp = TcpStream::connect(target).await.unwrap();
    if let Ok(mut tls) = tls_client(certs.path(), false)
        .connect(name.clone(), tcp)
        .await
    {
        let _ = tls
            .write_all(b"<13>1 - host app - - - anonymous sender\n")
            .await;
        let _ = tls.flush().await;
        let mut rest = Vec::new();
        assert!(tls.read_to_end(&mut rest).await.is_err() || rest.is_empty());
    }
    let tcp = TcpStream::connect(target).await.unwrap();
    let mut tls = tls_client(certs.path(), true)
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(b"<13>1 - host app - - - trusted sender\n")
        .await
        .unwrap();
    tls.shutdown().await.unwrap();
    let rows = server.search_until("SELECT message FROM syslog", 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["message"], "trusted sender");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_ng_sends_over_tcp_udp_and_tls() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let server = TestServer::start_with(|config| {
        with_listeners(config);
        with_tls(certs.path())(config);
    })
    .await;
    let listen = addrs(&server);
    let sources = [free_port(), free_port(), free_port()];
    let dir = certs.path().display().to_string();
    let work = tempfile::tempdir().unwrap();
    // Each source forwards to one kansoku listener: RFC 5424 octet-counted over TCP, RFC 3164
    // over UDP, RFC 5424 over TLS with a client certificate (to "localhost", the name the
    // server certificate carries: syslog-ng checks names, not IP addresses).
    let config = format!(
        r#"@version: 3.38
source s_tcp {{ network(ip("127.0.0.1") port({p0}) transport("tcp")); }};
source s_udp {{ network(ip("127.0.0.1") port({p1}) transport("tcp")); }};
source s_tls {{ network(ip("127.0.0.1") port({p2}) transport("tcp")); }};
destination d_tcp {{ syslog("127.0.0.1" port({tcp}) transport("tcp")); }};
destination d_udp {{ network("127.0.0.1" port({udp}) transport("udp")); }};
destination d_tls {{ syslog("localhost" port({tls}) transport("tls") ip-protocol(4)
  tls(ca-file("{dir}/ca.pem") key-file("{dir}/client.key") cert-file("{dir}/client.pem") peer-verify(required-trusted))); }};
log {{ source(s_tcp); destination(d_tcp); }};
log {{ source(s_udp); destination(d_udp); }};
log {{ source(s_tls); destination(d_tls); }};
"#,
        p0 = sources[0],
        p1 = sources[1],
        p2 = sources[2],
        tcp = listen.tcp.unwrap().port(),
        udp = listen.udp.unwrap().port(),
        tls = listen.tls.unwrap().port(),
    );
    let mut daemon = syslog_ng(work.path(), &config);
    let stamp = rfc3339_utc(now_micros() / 1_000_000);
    for (port, via) in sources.iter().zip(["tcp", "udp", "tls"]) {
        let mut connection = connect_when_listening(*port).await;
        for i in 0..20 {
            let line = format!("<30>{stamp} node-1 kubelet[42]: via {via} {i}\n");
            connection.write_all(line.as_bytes()).await.unwrap();
        }
        connection.shutdown().await.unwrap();
    }
    for via in ["tcp", "udp", "tls"] {
        let sql = format!("SELECT * FROM syslog WHERE str_match(message, 'via {via} ')");
        let rows = server.search_until(&sql, 20).await;
        assert_eq!(rows.len(), 20, "{via}");
        assert_eq!(rows[0]["appname"], "kubelet", "{via}: {}", rows[0]);
        assert_eq!(rows[0]["procid"], "42", "{via}");
        assert_eq!(rows[0]["facility"], "daemon", "{via}");
        assert_eq!(rows[0]["severity"], "info", "{via}");
    }
    let _ = daemon.start_kill();
    let _ = daemon.wait().await;
    server.stop().await;
}
