//! `GET /api/{org}/audit`, `GET /node/audit`: every administrative change that succeeded is
//! recorded once, with who, the route and the path — never its body — and each organisation's
//! admins see only their organisation's entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    json_of(request.send().await.unwrap()).await
}

/// `(actor, action, route, path)` of each entry, oldest first.
fn entries(body: &Value) -> Vec<(String, String, String, String)> {
    let mut list: Vec<(String, String, String, String)> = body["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert_eq!(
                entry["status"].as_i64().map(|s| (200..300).contains(&s)),
                Some(true)
            );
            (
                entry["actor"].as_str().unwrap().to_string(),
                entry["action"].as_str().unwrap().to_string(),
                entry["route"].as_str().unwrap().to_string(),
                entry["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    list.reverse();
    list
}

fn entry(actor: &str, action: &str, route: &str, path: &str) -> (String, String, String, String) {
    (
        actor.to_string(),
        action.to_string(),
        route.to_string(),
        path.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrative_changes_are_recorded_and_confined_to_their_organisation() {
    let server = TestServer::start().await;
    let (admin, admin_password) = server.create_user("default", "admin@x.io", "admin").await;
    let (viewer, viewer_password) = server.create_user("default", "viewer@x.io", "viewer").await;
    server
        .ingest("default", "app", &[json!({"msg": "not a change"})])
        .await;
    // A search (a POST) and a refused change are not recorded.
    server.search("default", "SELECT * FROM app").await;
    let (status, _) = send(
        server
            .as_user(
                &viewer,
                &viewer_password,
                Method::PUT,
                "/api/default/streams/app/settings",
            )
            .json(&json!({"data_retention": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Changes: a role (on a route viewers may also PUT to) and stream settings.
    let as_admin =
        |method: Method, path: &str| server.as_user(&admin, &admin_password, method, path);
    let (status, body) = send(
        as_admin(Method::PUT, "/api/default/users/viewer@x.io").json(&json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(
        as_admin(Method::PUT, "/api/default/streams/app/settings")
            .json(&json!({"data_retention": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = send(as_admin(Method::GET, "/api/default/audit")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        entries(&body),
        vec![
            entry(
                "root@example.com",
                "POST",
                "/api/{org}/users",
                "/api/default/users"
            ),
            entry(
                "root@example.com",
                "POST",
                "/api/{org}/users",
                "/api/default/users"
            ),
            entry(
                "admin@x.io",
                "PUT",
                "/api/{org}/users/{email}",
                "/api/default/users/viewer@x.io"
            ),
            entry(
                "admin@x.io",
                "PUT",
                "/api/{org}/streams/{stream}/settings",
                "/api/default/streams/app/settings"
            ),
        ],
        "{body}"
    );
    assert!(
        !body.to_string().contains("Userpass#123"),
        "request bodies are never recorded: {body}"
    );
    // Newest first, and sized.
    let (_, newest) = send(as_admin(Method::GET, "/api/default/audit?size=1")).await;
    assert_eq!(
        newest["list"][0]["path"],
        "/api/default/streams/app/settings"
    );
    let (status, _) = send(as_admin(Method::GET, "/api/default/audit?size=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(as_admin(
        Method::GET,
        "/api/default/audit?start_time=2&end_time=1",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another organisation's admin sees its own entries only, and not default's.
    server.create_org("other").await;
    let (other, other_password) = server.create_user("other", "boss@other.io", "admin").await;
    let (status, _) =
        send(server.as_user(&other, &other_password, Method::GET, "/api/default/audit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, body) =
        send(server.as_user(&other, &other_password, Method::GET, "/api/other/audit")).await;
    assert_eq!(
        entries(&body),
        vec![entry(
            "root@example.com",
            "POST",
            "/api/{org}/users",
            "/api/other/users"
        )],
        "{body}"
    );

    // Installation-wide changes are root's to read.
    assert_eq!(
        server
            .root(Method::PUT, "/node/flush")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let (_, body) = send(server.root(Method::GET, "/node/audit")).await;
    assert_eq!(
        entries(&body),
        vec![
            entry(
                "root@example.com",
                "POST",
                "/api/organizations",
                "/api/organizations"
            ),
            entry("root@example.com", "PUT", "/node/flush", "/node/flush"),
        ],
        "{body}"
    );
    server.stop().await;
}
