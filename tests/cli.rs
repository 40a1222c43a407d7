//! The binary's command line: `kansoku config`, root-password rules, graceful stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Http, Process, ROOT, ROOT_PASSWORD, binary};

#[test]
fn config_prints_every_setting_with_secrets_redacted() {
    let output = Command::new(binary())
        .arg("config")
        .env("KANSOKU_ROOT_USER_PASSWORD", "VerySecret#1")
        .env(
            "KANSOKU_META_DSN",
            "postgres://kansoku:dbsecret@db:5432/kansoku",
        )
        .env("KANSOKU_S3_SECRET_KEY", "s3secret")
        .env("KANSOKU_NATS_URL", "nats://kansoku:natssecret@nats:4222")
        .env("KANSOKU_CLUSTER_SECRET", "clustersecret-0123456789")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("KANSOKU_HTTP_PORT=5080"), "{text}");
    assert!(text.contains("KANSOKU_ROLES=all"), "{text}");
    assert!(text.contains("KANSOKU_ROOT_USER_PASSWORD=***"), "{text}");
    assert!(
        text.contains("KANSOKU_META_DSN=postgres://kansoku:***@db:5432/kansoku"),
        "{text}"
    );
    assert!(
        text.contains("KANSOKU_NATS_URL=nats://kansoku:***@nats:4222"),
        "{text}"
    );
    for secret in [
        "VerySecret",
        "dbsecret",
        "s3secret",
        "natssecret",
        "clustersecret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[test]
fn an_empty_or_weak_root_password_stops_the_start() {
    for password in ["", "   ", "short"] {
        let dir = tempfile::tempdir().unwrap();
        let mut process = Process::spawn(dir.path(), Some(password), &[]);
        let status = process.child.wait().unwrap();
        assert!(!status.success(), "started with password {password:?}");
        let log = process.log_text();
        assert!(
            log.contains("KANSOKU_ROOT_USER_PASSWORD is not acceptable"),
            "{log}"
        );
    }
}

#[test]
fn contradictory_memtable_limits_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = Process::spawn(
        dir.path(),
        Some(ROOT_PASSWORD),
        &[
            ("KANSOKU_MEMTABLE_MAX_BYTES", "8MiB"),
            ("KANSOKU_MEMTABLE_FLUSH_BYTES", "48MiB"),
        ],
    );
    let status = process.child.wait().unwrap();
    assert!(
        !status.success(),
        "started with a maximum below the flush size"
    );
    let log = process.log_text();
    assert!(
        log.contains(
            "KANSOKU_MEMTABLE_MAX_BYTES (8 MiB) is below KANSOKU_MEMTABLE_FLUSH_BYTES (48 MiB)"
        ),
        "{log}"
    );
}

#[test]
fn a_partial_role_list_on_the_embedded_default_stops_the_start_naming_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = Process::spawn(
        dir.path(),
        Some(ROOT_PASSWORD),
        &[("KANSOKU_ROLES", "ingester,querier")],
    );
    let status = process.child.wait().unwrap();
    assert!(!status.success(), "started a partial role list on SQLite");
    let log = process.log_text();
    for setting in [
        "KANSOKU_ROLES=ingester,querier",
        "KANSOKU_META_DSN",
        "KANSOKU_S3_BUCKET",
        "KANSOKU_NATS_URL",
        "KANSOKU_CLUSTER_SECRET",
    ] {
        assert!(log.contains(setting), "{setting} not named:\n{log}");
    }
}

#[test]
fn without_a_password_one_is_generated_and_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Process::spawn(&data, None, &[]);
    first.wait_ready(Duration::from_secs(60));
    let log = first.log_text();
    let password = log
        .lines()
        .find_map(|line| line.split("password:").nth(1))
        .map(|rest| rest.trim().trim_end_matches('│').trim().to_string())
        .unwrap_or_else(|| panic!("no generated password in\n{log}"));
    assert_eq!(password.len(), 20);
    let http = Http::new();
    assert_eq!(
        http.get_status(
            &format!("{}/api/organizations", first.base()),
            ROOT,
            &password
        ),
        200
    );
    assert!(first.terminate().success());
    // Later starts neither print it again nor take a new one from the environment.
    let second = Process::start(&data, &[("KANSOKU_ROOT_USER_PASSWORD", "Ignored#12345")]);
    assert!(!second.log_text().contains("password:"));
    assert_eq!(
        http.get_status(
            &format!("{}/api/organizations", second.base()),
            ROOT,
            &password
        ),
        200
    );
    assert_eq!(
        http.get_status(
            &format!("{}/api/organizations", second.base()),
            ROOT,
            "Ignored#12345"
        ),
        401
    );
}

#[test]
fn sigterm_flushes_memory_to_parquet_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let process = Process::start(&data, &[]);
    let http = Http::new();
    let status = http.post_status(
        &format!("{}/api/default/app/_json", process.base()),
        ROOT,
        ROOT_PASSWORD,
        "[{\"msg\":\"bye\"}]",
    );
    assert_eq!(status, 200);
    let exit = process.terminate();
    assert!(exit.success(), "{exit:?}");
    let files = walk(&data.join("storage"));
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "parquet")),
        "{files:?}"
    );
    for segment in walk(&data.join("wal")) {
        let length = std::fs::metadata(&segment).unwrap().len();
        assert!(
            length <= 20,
            "{segment:?} still holds {length} bytes after a clean stop"
        );
    }
}

#[test]
fn a_second_process_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Process::start(&data, &[]);
    let mut second = Process::spawn(&data, Some(ROOT_PASSWORD), &[]);
    support::wait_for(
        "the second process to exit",
        Duration::from_secs(60),
        || second.child.try_wait().unwrap().is_some(),
    );
    let status = second.child.wait().unwrap();
    assert!(!status.success());
    let log = second.log_text();
    assert!(log.contains("locked by another kansoku process"), "{log}");
    assert!(log.contains("node.lock"), "{log}");
    // The first one is untouched, and once it stopped the directory is free again.
    assert_eq!(support::probe(first.port, "/readyz"), Some(200));
    assert!(first.terminate().success());
    let third = Process::start(&data, &[]);
    assert!(third.terminate().success());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn apply_sends_an_alerts_file_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(&dir.path().join("data"), &[]);
    let file = dir.path().join("alerts.yaml");
    std::fs::write(
        &file,
        "apiVersion: kansoku/v1\ntemplates:\n  - name: short\n    body: '{alert_name} fired'\n",
    )
    .unwrap();
    let apply = |user: &str, password: &str| {
        Command::new(binary())
            .args(["apply", "-f"])
            .arg(&file)
            .args(["--url", &server.base(), "--org", "default"])
            .env("KANSOKU_USER", user)
            .env("KANSOKU_PASSWORD", password)
            .output()
            .unwrap()
    };
    let output = apply(ROOT, ROOT_PASSWORD);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), "template 'short' created");
    let output = apply(ROOT, ROOT_PASSWORD);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "template 'short' unchanged"
    );
    // Wrong password: a failure exit with the server's reason.
    let output = apply(ROOT, "wrong-password#1");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("401"),
        "{output:?}"
    );
    // A broken file: the server names the problem.
    std::fs::write(&file, "templates: [{name: t}]").unwrap();
    let output = apply(ROOT, ROOT_PASSWORD);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("body"),
        "{output:?}"
    );
    let http = Http::new();
    assert_eq!(
        http.get_status(
            &format!("{}/api/default/alerts/templates/short", server.base()),
            ROOT,
            ROOT_PASSWORD
        ),
        200
    );
    server.terminate();
}
