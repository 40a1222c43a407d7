//! `GET|POST /api/{org}/ingestion-tokens`, `DELETE /api/{org}/ingestion-tokens/{name}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_ingest_only_into_their_org_until_revoked() {
    let server = TestServer::start().await;
    server.ingest("other", "app", &[json!({"a": 1})]).await;
    let (status, created) = json_of(
        server
            .root(Method::POST, "/api/default/ingestion-tokens")
            .json(&json!({"name": "fluent-bit"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("kso_ingest_") && token.len() > 40);
    // Listed without the secret.
    let listing = server
        .root(Method::GET, "/api/default/ingestion-tokens")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listing.contains(&token));
    assert!(listing.contains("fluent-bit"));
    // Works as the Basic password with any username, on ingest routes of its org only.
    let ingest = |org: &str| {
        server
            .as_user(
                "fluent-bit",
                &token,
                Method::POST,
                &format!("/api/{org}/logs/_json"),
            )
            .body(json!([{"msg": "from agent"}]).to_string())
            .send()
    };
    assert_eq!(ingest("default").await.unwrap().status(), StatusCode::OK);
    let (status, refused) = json_of(ingest("other").await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("belongs to organization 'default'") && message.contains("'other'"),
        "{refused}"
    );
    let bulk = server
        .as_user("x", &token, Method::POST, "/api/default/_bulk")
        .body("{\"index\":{\"_index\":\"logs\"}}\n{\"msg\":\"bulk\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(bulk.status(), StatusCode::OK);
    let (status, _) = server
        .search_as(("x", &token), "default", "SELECT * FROM logs", 10)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "tokens cannot read");
    let (status, refused) = json_of(
        server
            .as_user("x", &token, Method::GET, "/api/default/users")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Said as what the token may do, not as a foreign-organisation refusal.
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("may only send data") && message.contains("'default'"),
        "{refused}"
    );
    assert!(!message.contains("own organization"), "{refused}");
    // Revocation applies at once.
    let response = server
        .root(Method::DELETE, "/api/default/ingestion-tokens/fluent-bit")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        ingest("default").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = server
        .root(Method::DELETE, "/api/default/ingestion-tokens/fluent-bit")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let listing: Value = server
        .root(Method::GET, "/api/default/ingestion-tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["data"][0]["enabled"], false);
    // A guessed or empty token never works.
    for guess in [
        "kso_ingest_",
        "kso_ingest_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        " ",
    ] {
        let response = server
            .as_user("x", guess, Method::POST, "/api/default/logs/_json")
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{guess}");
    }
    let hits = server
        .search("default", "SELECT msg FROM logs ORDER BY msg")
        .await;
    assert_eq!(
        hits,
        vec![json!({"msg": "bulk"}), json!({"msg": "from agent"})]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_names_are_validated_and_unique() {
    let server = TestServer::start().await;
    let create = |name: &str| {
        server
            .root(Method::POST, "/api/default/ingestion-tokens")
            .json(&json!({"name": name}))
            .send()
    };
    assert_eq!(create("agent-1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        create("agent-1").await.unwrap().status(),
        StatusCode::CONFLICT
    );
    assert_eq!(create("").await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        create("has space").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create(&"x".repeat(65)).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let response = server
        .root(Method::POST, "/api/nope/ingestion-tokens")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
