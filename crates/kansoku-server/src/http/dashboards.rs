//! The dashboards API (OpenObserve's paths and shapes; `docs/dashboards.md`):
//!
//! - `GET /api/{org}/dashboards?folder=&title=` — one folder; with `title` (a case-insensitive
//!   substring, may be empty) and no folder, every folder; with neither, `default` (o2);
//! - `POST /api/{org}/dashboards?folder=` (201), `GET|PUT|DELETE /api/{org}/dashboards/{id}`
//!   (`PUT …?folder=&hash=`: 409 when the hash is stale), `PATCH /api/{org}/dashboards/move`
//!   `{dashboard_ids, dst_folder_id}`;
//! - `POST /api/{org}/dashboards/import/grafana?folder=&save=true|false` — converts a Grafana
//!   export (and saves it unless `save=false`), answering the conversion report;
//! - folders: `GET|POST /api/v2/{org}/folders/dashboards`,
//!   `GET|PUT|DELETE /api/v2/{org}/folders/dashboards/{folder_id}`.
//!
//! A dashboard answer is o2's wrapper `{"v8": …, "version": 8, "hash": …, "updatedAt": µs}` plus
//! `folder_id` and `folder_name`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_dashboards::service::DEFAULT_FOLDER;
use kansoku_dashboards::{Dashboard, Dashboards, Editor, Stored, grafana};
use kansoku_meta::DashboardFolder;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;
use crate::auth::{Access, Principal};

impl From<kansoku_dashboards::Error> for ApiError {
    fn from(error: kansoku_dashboards::Error) -> Self {
        ApiError::from_coded(&error)
    }
}

fn editor(access: &Access) -> Editor<'_> {
    let email = match &access.principal {
        Principal::User { email, .. } => email.as_str(),
        Principal::IngestToken { name, .. } => name.as_str(),
    };
    Editor {
        email,
        is_admin: access.is_org_admin(),
    }
}

fn answer(stored: &Stored) -> Value {
    json!({
        "v8": stored.document,
        "version": 8,
        "hash": stored.hash,
        "updatedAt": stored.updated_at,
        "folder_id": stored.folder_id,
        "folder_name": stored.folder_name,
    })
}

fn summary(stored: &Stored) -> Value {
    let text = |key: &str| stored.document.get(key).cloned().unwrap_or(json!(""));
    json!({
        "folder_id": stored.folder_id,
        "folder_name": stored.folder_name,
        "dashboard_id": stored.id(),
        "title": stored.title(),
        "description": text("description"),
        "role": text("role"),
        "owner": text("owner"),
        "created": text("created"),
        "hash": stored.hash,
        "version": 8,
        "updatedAt": stored.updated_at,
        "managed_by": stored.managed_by,
    })
}

/// Query parameters of the dashboard routes.
#[derive(Debug, Default, Deserialize)]
pub struct DashboardParams {
    folder: Option<String>,
    title: Option<String>,
    hash: Option<String>,
    save: Option<bool>,
}

/// `GET /api/{org}/dashboards`
pub async fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<DashboardParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let folder = match (&params.folder, &params.title) {
        (Some(folder), _) => Some(folder.as_str()),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_FOLDER),
    };
    let listed = service(&app)
        .list(&org, folder, params.title.as_deref())
        .await?;
    let dashboards: Vec<Value> = listed.iter().map(summary).collect();
    Ok(Json(json!({ "dashboards": dashboards })).into_response())
}

fn service(app: &App) -> Dashboards {
    Dashboards::new(app.meta.clone())
}

/// `POST /api/{org}/dashboards?folder=`
pub async fn create(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    Query(params): Query<DashboardParams>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let dashboard = Dashboard::parse(&bytes)?;
    let folder = params.folder.as_deref().unwrap_or(DEFAULT_FOLDER);
    let stored = service(&app)
        .create(&org, folder, dashboard, editor(&access))
        .await?;
    Ok((StatusCode::CREATED, Json(answer(&stored))).into_response())
}

/// `GET /api/{org}/dashboards/{id}`
pub async fn get(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stored = service(&app).get(&org, &id).await?;
    Ok(Json(answer(&stored)).into_response())
}

/// `PUT /api/{org}/dashboards/{id}?folder=&hash=`
pub async fn update(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    Query(params): Query<DashboardParams>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let dashboard = Dashboard::parse(&bytes)?;
    let stored = service(&app)
        .update(
            &org,
            &id,
            params.folder.as_deref(),
            dashboard,
            params.hash.as_deref(),
            editor(&access),
        )
        .await?;
    Ok(Json(answer(&stored)).into_response())
}

/// `DELETE /api/{org}/dashboards/{id}`
pub async fn delete(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    service(&app).delete(&org, &id, editor(&access)).await?;
    Ok(Json(json!({"code": 200, "message": "Dashboard deleted"})).into_response())
}

/// The body of `PATCH /api/{org}/dashboards/move`.
#[derive(Debug, Deserialize)]
pub struct MoveRequest {
    dashboard_ids: Vec<String>,
    dst_folder_id: String,
}

/// `PATCH /api/{org}/dashboards/move`
pub async fn move_dashboards(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let request: MoveRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid move request: {e}")))?;
    service(&app)
        .move_to(
            &org,
            &request.dashboard_ids,
            &request.dst_folder_id,
            editor(&access),
        )
        .await?;
    Ok(Json(json!({"code": 200, "message": "Dashboards moved"})).into_response())
}

/// `POST /api/{org}/dashboards/import/grafana?folder=&save=`
pub async fn import_grafana(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    Query(params): Query<DashboardParams>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the Grafana dashboard is not JSON: {e}")))?;
    if !grafana::is_grafana(&value) {
        return Err(ApiError::bad_request(
            "this is not a Grafana dashboard (no panels, rows, templating or schemaVersion); \
             o2 dashboards are created with POST /api/{org}/dashboards",
        ));
    }
    let converted = grafana::convert(&value)?;
    let dashboard = Dashboard::from_value(converted.dashboard)?;
    if params.save == Some(false) {
        return Ok(Json(json!({
            "dashboard": dashboard.into_value(),
            "report": converted.report,
        }))
        .into_response());
    }
    let folder = params.folder.as_deref().unwrap_or(DEFAULT_FOLDER);
    let stored = service(&app)
        .create(&org, folder, dashboard, editor(&access))
        .await?;
    let mut body = answer(&stored);
    body["report"] = json!(converted.report);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

// ---- folders -----------------------------------------------------------------------------------

fn folder_answer(folder: &DashboardFolder) -> Value {
    json!({
        "folderId": folder.folder_id,
        "name": folder.name,
        "description": folder.description,
    })
}

/// The body of folder create and update.
#[derive(Debug, Deserialize)]
pub struct FolderRequest {
    name: String,
    #[serde(default)]
    description: String,
}

fn folder_request(bytes: &Bytes) -> Result<FolderRequest, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid folder (expected {{\"name\", \"description\"}}): {e}"),
        )
    })
}

/// `GET /api/v2/{org}/folders/dashboards`
pub async fn list_folders(
    State(app): State<App>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let folders = service(&app).folders(&org).await?;
    let list: Vec<Value> = folders.iter().map(folder_answer).collect();
    Ok(Json(json!({ "list": list })).into_response())
}

/// `POST /api/v2/{org}/folders/dashboards`
pub async fn create_folder(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let request = folder_request(&bytes)?;
    let folder = service(&app)
        .create_folder(&org, &request.name, &request.description)
        .await?;
    Ok((StatusCode::CREATED, Json(folder_answer(&folder))).into_response())
}

/// `GET /api/v2/{org}/folders/dashboards/{folder_id}`
pub async fn get_folder(
    State(app): State<App>,
    Path((org, folder_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let folder = service(&app).folder(&org, &folder_id).await?;
    Ok(Json(folder_answer(&folder)).into_response())
}

/// `PUT /api/v2/{org}/folders/dashboards/{folder_id}`
pub async fn update_folder(
    State(app): State<App>,
    Path((org, folder_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let request = folder_request(&bytes)?;
    let folder = service(&app)
        .update_folder(&org, &folder_id, &request.name, &request.description)
        .await?;
    Ok(Json(folder_answer(&folder)).into_response())
}

/// `DELETE /api/v2/{org}/folders/dashboards/{folder_id}`
pub async fn delete_folder(
    State(app): State<App>,
    Path((org, folder_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    service(&app).delete_folder(&org, &folder_id).await?;
    Ok(Json(json!({"code": 200, "message": "Folder deleted"})).into_response())
}
