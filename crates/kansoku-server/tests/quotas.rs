//! Per-organisation quotas on every ingest door: an ingest rate (429 + `Retry-After`, 503 on
//! remote_write) and a storage cap, each organisation on its own, counted on `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::prometheus::*;
use common::*;
use kansoku_ingest::decode::remote_write::v1;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn records(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| json!({"msg": format!("a record of some length, number {i:05}"), "level": "info"}))
        .collect()
}

async fn multi(server: &TestServer, org: &str, records: &[Value]) -> reqwest::Response {
    let body: Vec<String> = records.iter().map(Value::to_string).collect();
    server
        .root(Method::POST, &format!("/api/{org}/app/_multi"))
        .body(body.join("\n"))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_over_its_rate_waits_and_the_others_do_not() {
    let server = TestServer::start_with(|c| {
        c.org_ingest_rate = 1000;
        c.org_ingest_burst = 1000;
    })
    .await;
    // The first request is admitted on a full bucket and leaves a debt of several seconds.
    let first = multi(&server, "default", &records(100)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let refused = multi(&server, "default", &records(1)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) >= 1);
    // A router hands a quota refusal back rather than trying another ingester.
    assert_eq!(refused.headers()["x-kansoku-refusal"], "quota");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("KANSOKU_ORG_INGEST_RATE"),
        "{body}"
    );
    // remote_write senders drop on 429: they get 503 and retry.
    let sample = v1::TimeSeries {
        labels: vec![v1::Label {
            name: "__name__".to_string(),
            value: "up".to_string(),
        }],
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: now_ms(),
        }],
        exemplars: Vec::new(),
        histograms: Vec::new(),
    };
    let write = write_v1(
        &server,
        "default",
        &v1::WriteRequest {
            timeseries: vec![sample],
            metadata: Vec::new(),
        },
    )
    .await;
    assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&write) >= 1);
    // Another organisation is not held back.
    server.create_org("other").await;
    assert_eq!(
        multi(&server, "other", &records(1)).await.status(),
        StatusCode::OK
    );
    // Nothing of the refused requests was stored; every refusal is counted.
    assert_eq!(
        server
            .search("default", "SELECT count(*) AS n FROM app")
            .await,
        vec![json!({"n": 100})]
    );
    let metrics = server.metrics_text().await;
    assert!(
        metrics
            .contains(r#"kansoku_ingest_quota_refusals_total{org="default",quota="rate_quota"} 2"#),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_over_its_storage_quota_is_refused_and_the_others_are_not() {
    // Data stored without a quota, then the node restarted with a quota below it.
    let server = TestServer::start().await;
    assert_eq!(
        multi(&server, "default", &records(500)).await.status(),
        StatusCode::OK
    );
    server.flush().await;
    let server = server
        .restart_with(|config| config.org_storage_quota = 1024)
        .await;
    let refused = multi(&server, "default", &records(1)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), 60);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("storage quota"),
        "{body}"
    );
    // An organisation storing nothing is under the same quota.
    server.create_org("empty").await;
    assert_eq!(
        multi(&server, "empty", &records(1)).await.status(),
        StatusCode::OK
    );
    assert!(
        server.metrics_text().await.contains(
            r#"kansoku_ingest_quota_refusals_total{org="default",quota="storage_quota"} 1"#
        )
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_sets_an_organisation_s_own_quotas_and_its_admins_read_them() {
    // Server-wide: no rate limit, a generous storage quota.
    let server = TestServer::start_with(|c| c.org_storage_quota = 1 << 30).await;
    server.create_org("tight").await;
    let (admin, admin_password) = server
        .create_user("tight", "admin@tight.example", "admin")
        .await;

    // Root gives `tight` its own rate; `default` keeps the server-wide settings.
    let response = server
        .root(Method::PUT, "/api/tight/quotas")
        .json(&json!({"ingest_rate_bytes": 1000, "ingest_burst_bytes": "1KiB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["organization"],
        json!({"ingest_rate_bytes": 1000, "ingest_burst_bytes": 1024, "storage_bytes": null})
    );
    assert_eq!(
        body["effective"],
        json!({"ingest_rate_bytes": 1000, "ingest_burst_bytes": 1024, "storage_bytes": 1u64 << 30}),
        "an unset quota falls back to the server-wide one"
    );
    // It applies at once: the first request overdraws the bucket, the next waits.
    assert_eq!(
        multi(&server, "tight", &records(100)).await.status(),
        StatusCode::OK
    );
    let refused = multi(&server, "tight", &records(1)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let message: Value = refused.json().await.unwrap();
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("/api/{org}/quotas"),
        "{message}"
    );
    for _ in 0..3 {
        assert_eq!(
            multi(&server, "default", &records(100)).await.status(),
            StatusCode::OK,
            "other organisations keep the server-wide settings"
        );
    }

    // The organisation's admin reads its quotas but may not change them.
    let read = server
        .as_user(&admin, &admin_password, Method::GET, "/api/tight/quotas")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["server"]["storage_bytes"], 1u64 << 30);
    assert_eq!(read["organization"]["ingest_rate_bytes"], 1000);
    assert!(read["stored_bytes"].is_number(), "{read}");
    let denied = server
        .as_user(&admin, &admin_password, Method::PUT, "/api/tight/quotas")
        .json(&json!({"ingest_rate_bytes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // `0` lifts a limit; bad values and unknown organisations are refused with a reason.
    let lifted = server
        .root(Method::PUT, "/api/tight/quotas")
        .json(&json!({"ingest_rate_bytes": 0, "storage_bytes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), StatusCode::OK);
    let lifted: Value = lifted.json().await.unwrap();
    assert_eq!(
        lifted["effective"],
        json!({"ingest_rate_bytes": 0, "ingest_burst_bytes": 0, "storage_bytes": 0})
    );
    assert_eq!(
        multi(&server, "tight", &records(1)).await.status(),
        StatusCode::OK
    );
    for (body, named) in [
        (json!({"ingest_rate_bytes": -5}), "ingest_rate_bytes"),
        (json!({"storage_bytes": "huge"}), "storage_bytes"),
        (json!({"rate": 5}), "rate"),
    ] {
        let response = server
            .root(Method::PUT, "/api/tight/quotas")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(named), "{body}: {text}");
    }
    let missing = server
        .root(Method::PUT, "/api/nowhere/quotas")
        .json(&json!({"storage_bytes": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Every change is in the audit log.
    let audit: Value = server
        .root(Method::GET, "/api/tight/audit")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changes = audit["list"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"))
        .iter()
        .filter(|entry| entry["route"] == "/api/{org}/quotas")
        .count();
    assert_eq!(changes, 2, "{audit}");
    server.stop().await;
}
