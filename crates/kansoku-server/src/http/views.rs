//! Saved views of the logs page, per user (OpenObserve's paths and shapes):
//!
//! - `GET /api/{org}/savedviews` → `{"views": [{org_id, view_id, view_name, data, created, updated}]}`
//!   (the caller's own views);
//! - `POST /api/{org}/savedviews` `{"view_name", "data"}` → 201 `{org_id, view_id, view_name}`;
//! - `GET|PUT|DELETE /api/{org}/savedviews/{view_id}` (`PUT` takes the same body as `POST`).
//!
//! A view is its owner's: another user (even an admin) neither lists, reads, changes nor deletes
//! it. Viewers may save views (they are personal, not organisation data).

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_meta::SavedView;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;
use crate::auth::{Access, Principal};

/// Largest `data` of one view, bytes.
const MAX_VIEW_BYTES: usize = 64 * 1024;
/// Most views one user keeps in one organisation.
const MAX_VIEWS_PER_USER: usize = 200;

/// The body of create and update.
#[derive(Debug, Deserialize)]
pub struct ViewRequest {
    view_name: String,
    data: Value,
}

fn owner(access: &Access) -> Result<&str, ApiError> {
    match &access.principal {
        Principal::User { email, .. } => Ok(email),
        Principal::IngestToken { .. } => Err(ApiError::new(
            ErrorCode::Forbidden,
            "saved views belong to users, not to ingestion tokens",
        )),
    }
}

fn request(bytes: &Bytes) -> Result<ViewRequest, ApiError> {
    let request: ViewRequest = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid saved view (expected {{\"view_name\", \"data\"}}): {e}"
        ))
    })?;
    let name = request.view_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "view_name: a saved view needs a name of 1 to 100 characters",
        ));
    }
    if request.data.to_string().len() > MAX_VIEW_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("data: a saved view holds at most {MAX_VIEW_BYTES} bytes"),
        ));
    }
    Ok(request)
}

fn answer(org: &OrgId, view: &SavedView) -> Value {
    json!({
        "org_id": org.as_str(),
        "view_id": view.view_id,
        "view_name": view.name,
        "data": serde_json::from_str::<Value>(&view.body).unwrap_or(Value::Null),
        "created": view.created_at,
        "updated": view.updated_at,
    })
}

/// `GET /api/{org}/savedviews`
pub async fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let views = app
        .meta
        .list_saved_views(org.as_str(), owner(&access)?)
        .await?;
    let views: Vec<Value> = views.iter().map(|view| answer(&org, view)).collect();
    Ok(Json(json!({ "views": views })).into_response())
}

/// `POST /api/{org}/savedviews`
pub async fn create(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let owner = owner(&access)?;
    let request = request(&bytes)?;
    let held = app.meta.list_saved_views(org.as_str(), owner).await?.len();
    if held >= MAX_VIEWS_PER_USER {
        return Err(ApiError::bad_request(format!(
            "you have {held} saved views, the most one user keeps; delete some first"
        )));
    }
    let view = SavedView {
        view_id: uuid::Uuid::new_v4().simple().to_string(),
        owner: owner.to_string(),
        name: request.view_name.trim().to_string(),
        body: request.data.to_string(),
        ..SavedView::default()
    };
    app.meta.put_saved_view(org.as_str(), &view).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"org_id": org.as_str(), "view_id": view.view_id, "view_name": view.name})),
    )
        .into_response())
}

async fn own_view(app: &App, org: &OrgId, owner: &str, id: &str) -> Result<SavedView, ApiError> {
    app.meta
        .get_saved_view(org.as_str(), owner, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("saved view {id} not found")))
}

/// `GET /api/{org}/savedviews/{view_id}`
pub async fn get(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let view = own_view(&app, &org, owner(&access)?, &id).await?;
    Ok(Json(answer(&org, &view)).into_response())
}

/// `PUT /api/{org}/savedviews/{view_id}`
pub async fn update(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let owner = owner(&access)?;
    let request = request(&bytes)?;
    let existing = own_view(&app, &org, owner, &id).await?;
    let view = SavedView {
        name: request.view_name.trim().to_string(),
        body: request.data.to_string(),
        ..existing
    };
    app.meta.put_saved_view(org.as_str(), &view).await?;
    let view = own_view(&app, &org, owner, &id).await?;
    Ok(Json(answer(&org, &view)).into_response())
}

/// `DELETE /api/{org}/savedviews/{view_id}`
pub async fn delete(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    if !app
        .meta
        .delete_saved_view(org.as_str(), owner(&access)?, &id)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("saved view {id} not found"),
        ));
    }
    Ok(Json(json!({"code": 200, "message": "Saved view deleted"})).into_response())
}
