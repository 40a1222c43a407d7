//! The alerts API (OpenObserve's shapes):
//!
//! - templates: `GET|POST /api/{org}/alerts/templates`, `GET|PUT|DELETE …/{name}`,
//!   `POST /api/{org}/alerts/templates/preview` (render a body against sample rows);
//! - destinations: `GET|POST /api/{org}/alerts/destinations`, `GET|PUT|DELETE …/{name}`,
//!   `POST …/{name}/test` (send a sample notification);
//! - alerts: `GET|POST /api/v2/{org}/alerts`, `GET|PUT|DELETE /api/v2/{org}/alerts/{id}`,
//!   `PATCH …/{id}/enable?value=true|false`, `PATCH …/{id}/trigger` (evaluate now),
//!   `GET /api/v2/{org}/alerts/history?alert_id=&size=`, `POST /api/v2/{org}/alerts/preview`
//!   (would this fire now?);
//! - alerts as code: `POST /api/{org}/alerts/apply` (a YAML file of templates, destinations and
//!   alerts; what `kansoku apply -f FILE` sends).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kansoku_alerts::model::{Alert, Destination, Template};
use kansoku_alerts::{Alerts, Outcome};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_meta::AlertObjectKind;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::app::App;

fn service(app: &App) -> Result<&std::sync::Arc<Alerts>, ApiError> {
    app.ready().map(|ready| &ready.alerts).ok_or_else(|| {
        ApiError::new(ErrorCode::Unavailable, "starting up; retry shortly").with_retry_after(1)
    })
}

fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes, what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid {what}: {e}")))
}

fn saved(message: &str, extra: Value) -> Response {
    let mut value = json!({"code": 200, "message": message});
    if let (Value::Object(target), Value::Object(extra)) = (&mut value, extra) {
        target.extend(extra);
    }
    Json(value).into_response()
}

// ---- templates ---------------------------------------------------------------------------------

/// `GET /api/{org}/alerts/templates`
pub async fn list_templates(
    State(app): State<App>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    Ok(Json(service(&app)?.templates(&org).await?).into_response())
}

/// `GET /api/{org}/alerts/templates/{name}`
pub async fn get_template(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    Ok(Json(service(&app)?.template(&org, &name).await?).into_response())
}

/// `POST /api/{org}/alerts/templates`
pub async fn create_template(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let template: Template = body(&bytes, "template")?;
    if template.name == "preview" {
        return Err(ApiError::bad_request(
            "'preview' is a reserved template name",
        ));
    }
    service(&app)?.put_template(&org, &template, true).await?;
    Ok(saved("Template saved", json!({"name": template.name})))
}

/// `PUT /api/{org}/alerts/templates/{name}`
pub async fn update_template(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let mut template: Template = body(&bytes, "template")?;
    template.name = name;
    service(&app)?.put_template(&org, &template, false).await?;
    Ok(saved("Template updated", json!({"name": template.name})))
}

/// `DELETE /api/{org}/alerts/templates/{name}`
pub async fn delete_template(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    service(&app)?
        .delete(&org, AlertObjectKind::Template, &name)
        .await?;
    Ok(saved("Template deleted", json!({})))
}

/// Body of the preview endpoint.
#[derive(Debug, Deserialize)]
pub struct Preview {
    body: String,
    #[serde(default)]
    rows: Vec<Map<String, Value>>,
}

/// `POST /api/{org}/alerts/templates/preview`
pub async fn preview_template(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let preview: Preview = body(&bytes, "preview request")?;
    let rows = if preview.rows.is_empty() {
        vec![sample_row()]
    } else {
        preview.rows
    };
    let rendered = service(&app)?.preview(&org, &preview.body, rows);
    let is_json = serde_json::from_str::<Value>(&rendered).is_ok();
    Ok(Json(json!({"rendered": rendered, "valid_json": is_json})).into_response())
}

fn sample_row() -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("_timestamp".to_string(), json!(kansoku_meta::now_micros()));
    row.insert("log".to_string(), json!("ERROR something went wrong"));
    row.insert("kubernetes_container_name".to_string(), json!("myapp"));
    row
}

// ---- destinations ------------------------------------------------------------------------------

/// `GET /api/{org}/alerts/destinations`
pub async fn list_destinations(
    State(app): State<App>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    Ok(Json(service(&app)?.destinations(&org).await?).into_response())
}

/// `GET /api/{org}/alerts/destinations/{name}`
pub async fn get_destination(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    Ok(Json(service(&app)?.destination(&org, &name).await?).into_response())
}

/// `POST /api/{org}/alerts/destinations`
pub async fn create_destination(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let destination: Destination = body(&bytes, "destination")?;
    service(&app)?
        .put_destination(&org, &destination, true)
        .await?;
    Ok(saved(
        "Destination saved",
        json!({"name": destination.name}),
    ))
}

/// `PUT /api/{org}/alerts/destinations/{name}`
pub async fn update_destination(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let mut destination: Destination = body(&bytes, "destination")?;
    destination.name = name;
    service(&app)?
        .put_destination(&org, &destination, false)
        .await?;
    Ok(saved(
        "Destination updated",
        json!({"name": destination.name}),
    ))
}

/// `DELETE /api/{org}/alerts/destinations/{name}`
pub async fn delete_destination(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    service(&app)?
        .delete(&org, AlertObjectKind::Destination, &name)
        .await?;
    Ok(saved("Destination deleted", json!({})))
}

/// `POST /api/{org}/alerts/destinations/{name}/test`: sends a sample notification. The
/// destination's response body is never returned, only whether it accepted the message.
pub async fn test_destination(
    State(app): State<App>,
    Path((org, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let alerts = service(&app)?;
    let result = alerts
        .test_destination(&org, &name, vec![sample_row()])
        .await;
    match result {
        Ok(delivered) => Ok(Json(json!({
            "code": 200,
            "message": "test notification delivered",
            "http_status": delivered.status,
            "attempts": delivered.attempts,
        }))
        .into_response()),
        Err(error) => Err(ApiError::from_coded(&error)),
    }
}

// ---- alerts ------------------------------------------------------------------------------------

/// `GET /api/v2/{org}/alerts`: the alerts with their state.
pub async fn list_alerts(
    State(app): State<App>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let alerts = service(&app)?;
    let mut list = Vec::new();
    for alert in alerts.alerts(&org).await? {
        let state = alerts.state(&org, &alert.id).await?;
        list.push(with_state(&alert, &state));
    }
    Ok(Json(json!({"list": list})).into_response())
}

fn with_state(alert: &Alert, state: &kansoku_meta::AlertState) -> Value {
    let mut value = serde_json::to_value(alert).unwrap_or(Value::Null);
    value["alert_id"] = json!(alert.id);
    value["last_triggered_at"] = json!(state.last_fired_at);
    value["last_satisfied_at"] = json!(state.last_fired_at);
    value["last_run_at"] = json!(state.last_run_at);
    value["next_run_at"] = json!(state.next_run_at);
    value["last_status"] = json!(state.last_status);
    value["summary"] = json!(alert.summary());
    value
}

/// `POST /api/v2/{org}/alerts/preview`: would this alert fire now? Evaluates the document
/// without saving it, notifying anyone or writing history.
pub async fn preview_alert(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let alert: Alert = body(&bytes, "alert")?;
    let evaluation = service(&app)?.preview_alert(&org, &alert).await?;
    let mut preview = evaluation.detail(&alert);
    preview["would_fire"] = json!(evaluation.fired);
    preview["rows"] = json!(evaluation.rows.iter().take(10).collect::<Vec<_>>());
    preview["summary"] = json!(alert.summary());
    Ok(Json(preview).into_response())
}

/// `GET /api/v2/{org}/alerts/{id}`
pub async fn get_alert(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let alerts = service(&app)?;
    let alert = alerts.alert(&org, &id).await?;
    let state = alerts.state(&org, &id).await?;
    Ok(Json(with_state(&alert, &state)).into_response())
}

/// `POST /api/v2/{org}/alerts`
pub async fn create_alert(
    State(app): State<App>,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let mut alert: Alert = body(&bytes, "alert")?;
    service(&app)?.put_alert(&org, &mut alert, true).await?;
    Ok(saved(
        "Alert saved",
        json!({"id": alert.id, "name": alert.name}),
    ))
}

/// `PUT /api/v2/{org}/alerts/{id}`
pub async fn update_alert(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let mut alert: Alert = body(&bytes, "alert")?;
    alert.id = id;
    service(&app)?.put_alert(&org, &mut alert, false).await?;
    Ok(saved(
        "Alert updated",
        json!({"id": alert.id, "name": alert.name}),
    ))
}

/// `DELETE /api/v2/{org}/alerts/{id}`
pub async fn delete_alert(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    service(&app)?
        .delete(&org, AlertObjectKind::Alert, &id)
        .await?;
    Ok(saved("Alert deleted", json!({})))
}

/// `?value=` of the enable endpoint.
#[derive(Debug, Deserialize)]
pub struct EnableParams {
    value: bool,
}

/// `PATCH /api/v2/{org}/alerts/{id}/enable?value=true|false`
pub async fn enable_alert(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    Query(params): Query<EnableParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let alerts = service(&app)?;
    let mut alert = alerts.alert(&org, &id).await?;
    alert.enabled = params.value;
    alerts.put_alert(&org, &mut alert, false).await?;
    Ok(saved(
        if params.value {
            "Alert enabled"
        } else {
            "Alert disabled"
        },
        json!({"id": id, "enabled": params.value}),
    ))
}

/// `PATCH /api/v2/{org}/alerts/{id}/trigger`: evaluates now; notifies if it fires (silence holds).
pub async fn trigger_alert(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let outcome = service(&app)?.trigger(&org, &id).await?;
    let (status, evaluation, deliveries) = match &outcome {
        Outcome::NotFired(evaluation) => ("not_fired", evaluation, Vec::new()),
        Outcome::Silenced(evaluation) => ("silenced", evaluation, Vec::new()),
        Outcome::Fired(evaluation, results) => (
            "fired",
            evaluation,
            results
                .iter()
                .map(|(name, result)| match result {
                    Ok(status) => {
                        json!({"destination": name, "delivered": true, "http_status": status})
                    }
                    Err(error) => json!({"destination": name, "delivered": false, "error": error}),
                })
                .collect(),
        ),
    };
    Ok(Json(json!({
        "code": 200,
        "status": status,
        "value": evaluation.value_json(),
        "count": evaluation.count,
        "previous": evaluation.previous,
        "agg_value": evaluation.agg_value,
        "start_time": evaluation.window.0,
        "end_time": evaluation.window.1,
        "deliveries": deliveries,
    }))
    .into_response())
}

/// `?alert_id=&size=` of the history.
#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    #[serde(default)]
    alert_id: Option<String>,
    #[serde(default)]
    size: Option<i64>,
}

/// `GET /api/v2/{org}/alerts/history`
pub async fn history(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let size = params.size.unwrap_or(100).clamp(1, 10_000);
    let entries = service(&app)?
        .history(&org, params.alert_id.as_deref(), size)
        .await?;
    let hits: Vec<Value> = entries
        .iter()
        .map(|entry| {
            json!({
                "alert_id": entry.alert_id,
                "alert_name": entry.alert_name,
                "timestamp": entry.timestamp,
                "status": entry.status,
                "detail": serde_json::from_str::<Value>(&entry.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({"total": hits.len(), "hits": hits})).into_response())
}

// ---- alerts as code ----------------------------------------------------------------------------

/// `POST /api/{org}/alerts/apply`: applies an alerts-as-code file (YAML or JSON; see
/// `docs/alerts.md`): creates and updates its templates, destinations and alerts, deletes
/// nothing. Answers what changed.
pub async fn apply(
    State(app): State<App>,
    Path(org): Path<String>,
    axum::Extension(access): axum::Extension<crate::auth::Access>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("the file must be UTF-8 text"))?;
    if !access.is_org_admin() && kansoku_alerts::code::declares_vrl(text) {
        return Err(ApiError::forbidden(
            "pipelines with VRL steps are applied by the organization's admins",
        ));
    }
    let changes = service(&app)?.apply_text(&org, text).await?;
    Ok(Json(json!({"code": 200, "changes": changes})).into_response())
}
