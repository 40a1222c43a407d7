//! `GET /api/organizations` (the caller's organisations) and `POST /api/organizations` (root).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::app::App;
use crate::auth::{Access, Principal};

/// Body of `POST /api/organizations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    #[serde(alias = "identifier")]
    name: String,
}

/// `GET /api/organizations`
pub async fn list(
    State(app): State<App>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let orgs = app.meta.list_orgs().await?;
    let data: Vec<_> = match &access.principal {
        Principal::User { is_root: true, .. } => orgs
            .iter()
            .map(|org| json!({"identifier": org.id, "name": org.name, "role": "admin"}))
            .collect(),
        Principal::User { email, .. } => {
            let memberships = app.meta.memberships(email).await?;
            memberships
                .iter()
                .filter_map(|(id, role)| {
                    let org = orgs.iter().find(|org| org.id == *id)?;
                    Some(json!({"identifier": org.id, "name": org.name, "role": role}))
                })
                .collect()
        }
        Principal::IngestToken { .. } => Vec::new(),
    };
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/organizations`
pub async fn create(State(app): State<App>, Json(new): Json<NewOrg>) -> Result<Response, ApiError> {
    let org = OrgId::parse(&new.name)?;
    if !app.meta.ensure_org(&org).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("organization '{org}' already exists"),
        ));
    }
    Ok((
        StatusCode::OK,
        Json(json!({"code": 200, "identifier": org.as_str(), "name": org.as_str()})),
    )
        .into_response())
}
