//! Saved views: personal to their owner, refused when malformed or too large.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_views_are_personal() {
    let server = TestServer::start().await;
    let (ann, ann_password) = server
        .create_user("default", "ann@example.com", "viewer")
        .await;
    let (bob, bob_password) = server
        .create_user("default", "bob@example.com", "admin")
        .await;
    let data = json!({"sql": "SELECT * FROM app WHERE level = 'error'", "columns": ["log"], "from": "now-1h", "to": "now"});
    let response = server
        .as_user(&ann, &ann_password, Method::POST, "/api/default/savedviews")
        .json(&json!({"view_name": "errors", "data": data}))
        .send()
        .await
        .unwrap();
    let (status, created) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["view_id"].as_str().unwrap().to_string();
    let path = format!("/api/default/savedviews/{id}");

    let response = server
        .as_user(&ann, &ann_password, Method::GET, "/api/default/savedviews")
        .send()
        .await
        .unwrap();
    let (_, listed) = json_of(response).await;
    assert_eq!(listed["views"][0]["view_name"], "errors");
    assert_eq!(listed["views"][0]["data"], data);

    for method in [Method::GET, Method::DELETE] {
        let response = server
            .as_user(&bob, &bob_password, method, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "an admin does not see it"
        );
    }
    let response = server
        .as_user(&bob, &bob_password, Method::PUT, &path)
        .json(&json!({"view_name": "stolen", "data": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = server
        .as_user(&bob, &bob_password, Method::GET, "/api/default/savedviews")
        .send()
        .await
        .unwrap();
    let (_, listed) = json_of(response).await;
    assert!(listed["views"].as_array().unwrap().is_empty());

    let response = server
        .as_user(&ann, &ann_password, Method::PUT, &path)
        .json(&json!({"view_name": "errors (renamed)", "data": data}))
        .send()
        .await
        .unwrap();
    let (status, updated) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["view_name"], "errors (renamed)");
    let response = server
        .as_user(&ann, &ann_password, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_views_are_refused() {
    let server = TestServer::start().await;
    for (body, status, expected) in [
        (json!({"data": {}}), StatusCode::BAD_REQUEST, "view_name"),
        (
            json!({"view_name": " ", "data": {}}),
            StatusCode::BAD_REQUEST,
            "1 to 100",
        ),
        (
            json!({"view_name": "big", "data": {"sql": "x".repeat(70_000)}}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "at most",
        ),
    ] {
        let response = server
            .root(Method::POST, "/api/default/savedviews")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (got, answer) = json_of(response).await;
        assert_eq!(got, status, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{answer}"
        );
    }
    server.stop().await;
}
