//! `GET /api/organizations`, `POST /api/organizations`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_their_organisations_and_only_root_creates_them() {
    let server = TestServer::start().await;
    let (status, _) = json_of(
        server
            .root(Method::POST, "/api/organizations")
            .json(&json!({"name": "team-a"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = json_of(
        server
            .root(Method::POST, "/api/organizations")
            .json(&json!({"name": "team-a"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = json_of(
        server
            .root(Method::POST, "/api/organizations")
            .json(&json!({"name": "Team A"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let root_view: Value = server
        .root(Method::GET, "/api/organizations")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = root_view["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["default", "team-a"]);
    let (user, password) = server
        .create_user("team-a", "dev@example.com", "editor")
        .await;
    let user_view: Value = server
        .as_user(&user, &password, Method::GET, "/api/organizations")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        user_view["data"],
        json!([{"identifier": "team-a", "name": "team-a", "role": "editor"}])
    );
    let response = server
        .as_user(&user, &password, Method::POST, "/api/organizations")
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        server
            .anonymous(Method::GET, "/api/organizations")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    server.stop().await;
}
