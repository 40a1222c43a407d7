//! Browser sessions for the web UI: `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`.
//!
//! A session id is 40 random characters, stored only as a SHA-256 digest, sent as the cookie
//! `kansoku_session` (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when
//! `KANSOKU_COOKIE_SECURE=true`). Requests authenticated by the cookie that change anything must
//! also carry the header `x-kansoku-csrf` (see `guard.rs`), which other sites cannot set.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kansoku_core::ErrorCode;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::guard::{SESSION_COOKIE, authenticate};
use crate::app::App;
use crate::auth::Principal;
use crate::auth::tokens::{digest, new_secret};

/// How long a session lasts.
const SESSION_SECONDS: i64 = 12 * 3600;

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize)]
pub struct Login {
    email: String,
    password: String,
}

/// `POST /auth/login`
pub async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the credentials as application/json",
        ));
    }
    let login: Login = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid login request: {e}")))?;
    let principal = app.auth.basic(&login.email, &login.password).await?;
    let Some(Principal::User { email, .. }) = principal else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "wrong e-mail or password",
        ));
    };
    let session = new_secret("").map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
    let expires = kansoku_meta::now_micros() + SESSION_SECONDS * 1_000_000;
    app.meta
        .create_session(&digest(&session), &email, expires)
        .await?;
    let secure = if app.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECONDS}{secure}"
    );
    let mut response = Json(json!({"email": email})).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /auth/logout`
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(session) = super::guard::session_cookie(&headers) {
        if !headers.contains_key(super::guard::CSRF_HEADER) {
            return Err(ApiError::forbidden(
                "logout needs the x-kansoku-csrf header",
            ));
        }
        app.meta.delete_session(&digest(&session)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /auth/me`: who is signed in, and their organisations.
pub async fn me(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let principal = authenticate(&app, &headers, &axum::http::Method::GET).await?;
    let Some(Principal::User { email, is_root }) = principal else {
        return Err(ApiError::unauthorized());
    };
    let orgs: Vec<serde_json::Value> = if is_root {
        app.meta
            .list_orgs()
            .await?
            .into_iter()
            .map(|org| json!({"identifier": org.id, "name": org.name, "role": "admin"}))
            .collect()
    } else {
        app.meta
            .memberships(&email)
            .await?
            .into_iter()
            .map(|(org, role)| json!({"identifier": org, "name": org, "role": role}))
            .collect()
    };
    Ok(Json(json!({"email": email, "is_root": is_root, "orgs": orgs})).into_response())
}
