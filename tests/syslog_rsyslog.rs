//! rsyslog as a real sender to the real binary: `omfwd` over TCP (RFC 5424, octet-counted), and
//! `omrelp` across a SIGKILL and restart of kansoku — every message rsyslog was given is stored
//! (RELP answers only once the WAL is synced, and rsyslog re-sends what was not answered; a
//! re-sent copy may be stored twice: at-least-once). rsyslog is Debian's, extracted beside the
//! tests by scripts/test.sh (`KANSOKU_TEST_RSYSLOG_DIR`), since it conflicts with syslog-ng.
// Synchronous (no async runtime), so std::thread::sleep is fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{Http, Process, free_port, search_count, stored_values, wait_for};

/// rsyslogd from the extracted Debian packages, bounded to 10 minutes and killed on drop.
struct Rsyslog {
    child: Child,
}

impl Rsyslog {
    fn start(work: &Path, config: &str) -> Rsyslog {
        let tree = PathBuf::from(std::env::var("KANSOKU_TEST_RSYSLOG_DIR").expect(
            "KANSOKU_TEST_RSYSLOG_DIR is unset: run scripts/test.sh, which extracts rsyslog",
        ));
        let config_path = work.join("rsyslog.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("timeout")
            .arg("600")
            .arg(tree.join("usr/sbin/rsyslogd"))
            .arg("-n")
            .arg("-f")
            .arg(&config_path)
            .arg("-M")
            .arg(tree.join("usr/lib/x86_64-linux-gnu/rsyslog"))
            .arg("-i")
            .arg(work.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("rsyslog.log")).unwrap())
            .spawn()
            .unwrap();
        Rsyslog { child }
    }
}

impl Drop for Rsyslog {
    /// SIGTERM to `timeout`, which passes it on to rsyslogd (a SIGKILL would kill `timeout`
    /// alone and leave rsyslogd running, unbounded); SIGKILL only if it has not ended in 10 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to rsyslog's input (it may still be starting).
fn connect(port: u16) -> std::net::TcpStream {
    for _ in 0..150 {
        if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            return stream;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("rsyslog did not listen on {port}");
}

fn count(http: &Http, base: &str, stream: &str) -> u64 {
    let answer = search_count(http, base, stream);
    if answer.status != 200 {
        return 0;
    }
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    body["hits"][0]["n"].as_u64().unwrap_or(0)
}

#[test]
fn rsyslog_over_tcp_and_relp_across_a_crash() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (tcp, relp) = (free_port(), free_port());
    let env = [
        ("KANSOKU_SYSLOG_TCP_ADDR", format!("127.0.0.1:{tcp}")),
        ("KANSOKU_SYSLOG_RELP_ADDR", format!("127.0.0.1:{relp}")),
        (
            "KANSOKU_SYSLOG_ROUTES",
            "appname=viarelp=>relp_path".to_string(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut node = Process::start(data.path(), &env);
    let (to_tcp, to_relp) = (free_port(), free_port());
    let config = format!(
        r#"global(workDirectory="{work}")
module(load="imtcp")
module(load="omrelp")
ruleset(name="to_tcp") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format")
}}
ruleset(name="to_relp") {{
  action(type="omrelp" target="127.0.0.1" port="{relp}" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="linkedlist" queue.size="100000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
input(type="imtcp" address="127.0.0.1" port="{to_tcp}" ruleset="to_tcp")
input(type="imtcp" address="127.0.0.1" port="{to_relp}" ruleset="to_relp")
"#,
        work = work.path().display()
    );
    let _rsyslog = Rsyslog::start(work.path(), &config);
    let http = Http::new();

    // omfwd over TCP: RFC 5424, octet-counted.
    let mut input = connect(to_tcp);
    for i in 0..200 {
        writeln!(
            input,
            "<134>1 - node-1 viatcp 7 t{i} - forwarded over tcp {i}"
        )
        .unwrap();
    }
    input.flush().unwrap();
    wait_for("rsyslog's TCP messages", Duration::from_secs(60), || {
        count(&http, &node.base(), "syslog") >= 200
    });
    let seen = http.block_on(stored_values(&node.base(), "syslog", "msgid", 1));
    assert_eq!(seen.len(), 200);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");

    // omrelp: half the messages, a crash, the other half; every one arrives.
    let mut input = connect(to_relp);
    let send = |input: &mut std::net::TcpStream, range: std::ops::Range<usize>| {
        for i in range {
            writeln!(input, "<134>1 - node-1 viarelp 7 r{i} - reliable {i}").unwrap();
        }
        input.flush().unwrap();
    };
    send(&mut input, 0..300);
    wait_for("the first RELP messages", Duration::from_secs(60), || {
        count(&http, &node.base(), "relp_path") >= 50
    });
    node.kill();
    send(&mut input, 300..600);
    std::thread::sleep(Duration::from_secs(1));
    node = Process::start(data.path(), &env);
    wait_for(
        "every RELP message after the restart",
        Duration::from_secs(120),
        || {
            http.block_on(stored_values(&node.base(), "relp_path", "msgid", 1))
                .len()
                >= 600
        },
    );
    let seen = http.block_on(stored_values(&node.base(), "relp_path", "msgid", 1));
    assert_eq!(seen.len(), 600, "every message given to rsyslog is stored");
    node.terminate();
}
