//! `GET|POST /api/{org}/ingestion-tokens`, `DELETE /api/{org}/ingestion-tokens/{name}`.
//!
//! A token is shown once, when created, and stored as a SHA-256 digest. Agents use it as the
//! password of HTTP Basic auth (any username) on ingest routes of its organisation only.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::app::App;
use crate::auth::tokens::{INGESTION_TOKEN_PREFIX, digest, display_prefix, new_secret};
use crate::auth::{Access, Principal};

/// Body of `POST /api/{org}/ingestion-tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
}

fn validate_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        return Err(ApiError::bad_request(format!(
            "invalid token name '{name}': use 1-64 characters of letters, digits, '_', '-' or '.'"
        )));
    }
    Ok(())
}

/// `GET /api/{org}/ingestion-tokens`
pub async fn list(State(app): State<App>, Path(org): Path<String>) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let tokens = app.meta.list_ingestion_tokens(&org).await?;
    let data: Vec<_> = tokens
        .iter()
        .map(|token| {
            json!({
                "name": token.name,
                "token_prefix": token.token_prefix,
                "created_by": token.created_by,
                "created_at": token.created_at,
                "revoked_at": token.revoked_at,
                "enabled": token.revoked_at.is_none(),
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/{org}/ingestion-tokens`
pub async fn create(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    Json(new): Json<NewToken>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    validate_name(&new.name)?;
    if app.meta.get_org(&org).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "organization '{org}' does not exist"
        )));
    }
    let secret =
        new_secret(INGESTION_TOKEN_PREFIX).map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
    let token = app
        .meta
        .create_ingestion_token(
            &org,
            &new.name,
            &digest(&secret),
            &display_prefix(&secret),
            &access.principal.describe(),
        )
        .await?;
    Ok(Json(json!({
        "name": token.name,
        "token": secret,
        "token_prefix": token.token_prefix,
        "created_at": token.created_at,
        "message": "store this token now: it is not shown again",
    }))
    .into_response())
}

/// `DELETE /api/{org}/ingestion-tokens/{name}`
pub async fn revoke(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    if !app.meta.revoke_ingestion_token(&org, &name).await? {
        return Err(ApiError::not_found(format!(
            "ingestion token '{name}' not found"
        )));
    }
    app.auth.evict(|principal| {
        matches!(principal, Principal::IngestToken { org: o, name: n } if o == org.as_str() && *n == name)
    });
    Ok(
        Json(json!({"code": 200, "message": format!("ingestion token '{name}' revoked")}))
            .into_response(),
    )
}
