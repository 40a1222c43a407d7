//! `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`: browser sessions for the web UI,
//! the cookie's attributes, the CSRF header on cookie-authenticated changes, and bad logins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Logs in; returns the `name=value` cookie pair.
async fn login(server: &TestServer, email: &str, password: &str) -> String {
    let response = server
        .anonymous(Method::POST, "/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure only when configured"
    );
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_reads_and_with_the_csrf_header_writes() {
    let server = TestServer::start().await;
    server
        .ingest("default", "app", &[json!({"log": "hello"})])
        .await;
    let cookie = login(&server, ROOT, ROOT_PASSWORD).await;

    let (status, me) = json_of(
        server
            .anonymous(Method::GET, "/auth/me")
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], ROOT);
    assert_eq!(me["is_root"], true);
    assert!(
        me["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|org| org["identifier"] == "default")
    );

    let (status, streams) = json_of(
        server
            .anonymous(Method::GET, "/api/default/streams")
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{streams}");

    let search = json!({"query": {"sql": "SELECT * FROM app", "start_time": 0, "end_time": now_micros() + 60_000_000}});
    let (status, body) = json_of(
        server
            .anonymous(Method::POST, "/api/default/_search")
            .header(COOKIE, &cookie)
            .json(&search)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF header: {body}");
    assert!(body["message"].as_str().unwrap().contains("x-kansoku-csrf"));

    let (status, body) = json_of(
        server
            .anonymous(Method::POST, "/api/default/_search")
            .header(COOKIE, &cookie)
            .header("x-kansoku-csrf", "1")
            .json(&search)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"][0]["log"], "hello");

    // Logging out ends the session on the server, not only in the browser.
    let response = server
        .anonymous(Method::POST, "/auth/logout")
        .header(COOKIE, &cookie)
        .header("x-kansoku-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let response = server
        .anonymous(Method::GET, "/api/default/streams")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_only_their_orgs_and_is_confined_to_them() {
    let server = TestServer::start().await;
    server.ingest("team-a", "app", &[json!({"log": "a"})]).await;
    server.ingest("team-b", "app", &[json!({"log": "b"})]).await;
    let (email, password) = server
        .create_user("team-a", "viewer@example.com", "viewer")
        .await;
    let cookie = login(&server, &email, &password).await;
    let (status, me) = json_of(
        server
            .anonymous(Method::GET, "/auth/me")
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["is_root"], false);
    assert_eq!(
        me["orgs"],
        json!([{"identifier": "team-a", "name": "team-a", "role": "viewer"}])
    );
    let response = server
        .anonymous(Method::GET, "/api/team-b/streams")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_logins_are_refused_without_a_cookie() {
    let server = TestServer::start().await;
    let attempts = [
        (
            json!({"email": ROOT, "password": "wrong"}).to_string(),
            "application/json",
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"email": "nobody@example.com", "password": "x"}).to_string(),
            "application/json",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "{\"email\": ".to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": ROOT}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("email={ROOT}&password={ROOT_PASSWORD}"),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (body, content_type, expected) in attempts {
        let response = server
            .anonymous(Method::POST, "/auth/login")
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{body}");
        assert!(response.headers().get(SET_COOKIE).is_none(), "{body}");
        let (_, error) = json_of(response).await;
        assert!(error["message"].is_string(), "{error}");
    }

    // An ingestion token is for agents: it cannot open a UI session.
    let (status, token) = json_of(
        server
            .root(Method::POST, "/api/default/ingestion-tokens")
            .json(&json!({"name": "agent"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let response = server
        .anonymous(Method::POST, "/auth/login")
        .json(&json!({"email": "default", "password": token["token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A forged cookie is not a session.
    let response = server
        .anonymous(Method::GET, "/auth/me")
        .header(COOKIE, "kansoku_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_configured() {
    let server = TestServer::start_with(|c| c.cookie_secure = true).await;
    let response = server
        .anonymous(Method::POST, "/auth/login")
        .json(&json!({"email": ROOT, "password": ROOT_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let server = TestServer::start().await;
    let (email, password) = server
        .create_user("default", "target@example.com", "viewer")
        .await;
    for _ in 0..10 {
        let response = server
            .anonymous(Method::POST, "/auth/login")
            .json(&json!({"email": email, "password": "guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now, by login and by Basic auth alike.
    let response = server
        .anonymous(Method::POST, "/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after));
    let response = server
        .as_user(&email, &password, Method::GET, "/api/default/streams")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are unaffected.
    login(&server, ROOT, ROOT_PASSWORD).await;
    server.stop().await;
}

/// Regression: a 401 with `WWW-Authenticate: Basic` makes browsers show their own password dialog
/// and hold the UI's request, so the UI got stuck on "Loading…" instead of its login page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_no_basic_challenge_but_api_clients_do() {
    let server = TestServer::start().await;
    let response = server
        .anonymous(Method::GET, "/auth/me")
        .header("x-kansoku-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!response.headers().contains_key("www-authenticate"));
    let response = server
        .anonymous(Method::GET, "/api/default/streams")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    server.stop().await;
}
