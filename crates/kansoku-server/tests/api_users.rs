//! `GET|POST /api/{org}/users`, `PUT|DELETE /api/{org}/users/{email}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_listed_changed_and_removed() {
    let server = TestServer::start().await;
    let (status, body) = json_of(
        server
            .root(Method::POST, "/api/default/users")
            .json(&json!({"email": "Alice@Example.com", "password": "Alicepass#1", "role": "editor", "first_name": "Alice", "last_name": "A"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = json_of(
        server
            .root(Method::GET, "/api/default/users")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let emails: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec![ROOT, "alice@example.com"]);
    assert_eq!(list["data"][1]["role"], "editor");
    assert!(
        list.to_string().find("password").is_none(),
        "no hashes in listings"
    );
    // Alice can now search (editor), and log in with the e-mail in any case.
    let alice = ("ALICE@example.com", "Alicepass#1");
    let (status, _) = server.search_as(alice, "default", "SELECT 1", 1).await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    // Role change by an admin (root).
    let response = server
        .root(Method::PUT, "/api/default/users/alice@example.com")
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, list) = json_of(
        server
            .root(Method::GET, "/api/default/users")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"][1]["role"], "viewer");
    // Duplicates, bad input.
    for (body, expected) in [
        (
            json!({"email": "alice@example.com", "password": "Alicepass#1", "role": "viewer"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "not-an-email", "password": "Validpass#1", "role": "viewer"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "b@example.com", "password": "short", "role": "viewer"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "b@example.com", "password": "        ", "role": "viewer"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "b@example.com", "password": "Validpass#1", "role": "god"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "b@example.com", "role": "viewer"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "b@example.com", "password": "Validpass#1", "role": "viewer", "is_root": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let response = server
            .root(Method::POST, "/api/default/users")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{body}");
    }
    // Removal: the credentials stop working at once.
    let response = server
        .root(Method::DELETE, "/api/default/users/alice@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = server.search_as(alice, "default", "SELECT 1", 1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = server
        .root(Method::DELETE, "/api/default/users/alice@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_change_only_by_their_owner_or_root() {
    let server = TestServer::start().await;
    let (admin, admin_pw) = server
        .create_user("default", "admin@example.com", "admin")
        .await;
    let (bob, bob_pw) = server
        .create_user("default", "bob@example.com", "viewer")
        .await;
    // An org admin may not set another user's password.
    let response = server
        .as_user(
            &admin,
            &admin_pw,
            Method::PUT,
            "/api/default/users/bob@example.com",
        )
        .json(&json!({"new_password": "Hijacked#123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The owner needs the old password.
    let response = server
        .as_user(
            &bob,
            &bob_pw,
            Method::PUT,
            "/api/default/users/bob@example.com",
        )
        .json(&json!({"new_password": "Newpass#1234", "old_password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(&bob, &bob_pw, Method::PUT, "/api/default/users/bob@example.com")
        .json(&json!({"new_password": "Newpass#1234", "old_password": bob_pw, "first_name": "Robert"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = server
        .search_as((&bob, &bob_pw), "default", "SELECT 1", 1)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "old password no longer works"
    );
    let (status, _) = server
        .search_as((&bob, "Newpass#1234"), "default", "SELECT 1", 1)
        .await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    // A viewer may not change roles or other users.
    let response = server
        .as_user(
            &bob,
            "Newpass#1234",
            Method::PUT,
            "/api/default/users/bob@example.com",
        )
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .as_user(
            &bob,
            "Newpass#1234",
            Method::PUT,
            "/api/default/users/admin@example.com",
        )
        .json(&json!({"first_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Root may reset a password.
    let response = server
        .root(Method::PUT, "/api/default/users/bob@example.com")
        .json(&json!({"new_password": "Rootreset#1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Root can be neither re-roled nor removed.
    let response = server
        .root(Method::PUT, &format!("/api/default/users/{ROOT}"))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server
        .root(Method::DELETE, &format!("/api/default/users/{ROOT}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_existing_user_to_another_org_keeps_their_password() {
    let server = TestServer::start().await;
    server.ingest("team", "app", &[json!({"a": 1})]).await;
    let (carol, carol_pw) = server
        .create_user("default", "carol@example.com", "viewer")
        .await;
    let response = server
        .root(Method::POST, "/api/team/users")
        .json(&json!({"email": "carol@example.com", "password": "Takeover#123", "role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("password is unchanged")
    );
    let (status, _) = server
        .search_as((&carol, &carol_pw), "team", "SELECT * FROM app", 1)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .search_as((&carol, "Takeover#123"), "team", "SELECT * FROM app", 1)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Removing her from one org keeps the account for the other.
    server
        .root(Method::DELETE, "/api/team/users/carol@example.com")
        .send()
        .await
        .unwrap();
    let (status, _) = server
        .search_as((&carol, &carol_pw), "team", "SELECT * FROM app", 1)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .search_as((&carol, &carol_pw), "default", "SELECT 1", 1)
        .await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
