//! Elasticsearch compatibility: `_bulk` (POST and PUT, with or without an index in the path),
//! single documents (`_doc`, `_create`), and the handshake endpoints that Filebeat, Logstash,
//! Fluent Bit, syslog-ng, rsyslog and the Elasticsearch/OpenSearch clients probe. Every response
//! carries `X-Elastic-Product: Elasticsearch`, which the official clients require.

use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kansoku_core::OrgId;
use kansoku_ingest::{BulkItem, BulkReport, DiscardReason};
use serde_json::{Value, json};

use super::body::{admit, read_body};
use super::error::ApiError;
use crate::app::App;
use crate::auth::Access;

/// The version reported when the client does not say which one it expects.
const DEFAULT_ES_VERSION: &str = "8.11.0";

/// Adds `X-Elastic-Product` to every response of the ES routes.
pub async fn product_header(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    response
}

/// `POST|PUT /api/{org}/_bulk`
pub async fn bulk(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    run_bulk(app, org, None, access, headers, body).await
}

/// `POST|PUT /api/{org}/{index}/_bulk`
pub async fn bulk_with_index(
    State(app): State<App>,
    Path((org, index)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    run_bulk(app, org, Some(index), access, headers, body).await
}

async fn run_bulk(
    app: App,
    org: String,
    default_index: Option<String>,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let org = OrgId::parse(&org)?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let body = read_body(&headers, body, &app.body_limits).await?;
    let report = ingester
        .ingest_bulk(org, body.bytes.clone(), default_index)
        .await?;
    Ok(bulk_response(&report, started))
}

fn bulk_response(report: &BulkReport, started: Instant) -> Response {
    let errors = report.items.iter().any(|item| item.error.is_some());
    let items: Vec<Value> = report.items.iter().map(bulk_item).collect();
    Json(json!({
        "took": started.elapsed().as_millis() as u64,
        "errors": errors,
        "items": items,
    }))
    .into_response()
}

fn bulk_item(item: &BulkItem) -> Value {
    let mut body = match &item.error {
        // Elasticsearch's answer for a write that changed nothing.
        None if item.dropped => json!({
            "_index": item.index,
            "result": "noop",
            "_shards": {"total": 1, "successful": 0, "failed": 0},
            "status": 200,
        }),
        None => json!({
            "_index": item.index,
            "_version": 1,
            "result": "created",
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "_seq_no": 0,
            "_primary_term": 1,
            "status": 201,
        }),
        Some(error) => json!({
            "_index": item.index,
            "status": 400,
            "error": {"type": es_error_type(error.reason), "reason": error.message},
        }),
    };
    if let Some(id) = &item.id {
        body["_id"] = json!(id);
    }
    json!({ item.action.clone(): body })
}

fn es_error_type(reason: DiscardReason) -> &'static str {
    match reason {
        DiscardReason::InvalidJson
        | DiscardReason::NotAnObject
        | DiscardReason::TimestampUnparsable => "document_parsing_exception",
        DiscardReason::InvalidIndex => "invalid_index_name_exception",
        DiscardReason::TimestampOutOfWindow
        | DiscardReason::TooManyFields
        | DiscardReason::RecordTooLarge
        | DiscardReason::FieldNameTooLong
        | DiscardReason::StreamFieldLimit
        | DiscardReason::UnsupportedAction
        | DiscardReason::InvalidOtlp
        | DiscardReason::InvalidLoki
        | DiscardReason::InvalidSyslog
        | DiscardReason::InvalidForward
        | DiscardReason::InvalidHec
        | DiscardReason::InvalidSeries
        | DiscardReason::NativeHistogram => "illegal_argument_exception",
    }
}

/// `POST /api/{org}/{index}/_doc`
pub async fn doc(
    State(app): State<App>,
    Path((org, index)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    single_document(app, org, index, None, access, headers, body).await
}

/// `PUT|POST /api/{org}/{index}/_doc/{id}` and `…/_create/{id}`
pub async fn doc_with_id(
    State(app): State<App>,
    Path((org, index, id)): Path<(String, String, String)>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    single_document(app, org, index, Some(id), access, headers, body).await
}

async fn single_document(
    app: App,
    org: String,
    index: String,
    id: Option<String>,
    access: Access,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let ingester = app.ingester()?;
    let body = admit(ingester, &org, body, &app.body_limits).await?;
    app.ensure_org_for_ingest(&access, &org).await?;
    let body = read_body(&headers, body, &app.body_limits).await?;
    // A document may be pretty-printed over several lines; a bulk line must be one line.
    let document: Value = serde_json::from_slice(&body.bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON document: {e}")))?;
    let mut action = json!({"index": {"_index": index}});
    if let Some(id) = &id {
        action["index"]["_id"] = json!(id);
    }
    let bulk_body = format!("{action}\n{document}\n");
    let report = ingester
        .ingest_bulk(org, Bytes::from(bulk_body), None)
        .await?;
    let Some(item) = report.items.first() else {
        return Err(ApiError::bad_request("empty document"));
    };
    if let Some(error) = &item.error {
        let body = json!({
            "error": {"type": es_error_type(error.reason), "reason": error.message},
            "status": 400,
        });
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    if item.dropped {
        let body = json!({"_index": index, "result": "noop", "_shards": {"total": 1, "successful": 0, "failed": 0}});
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let mut body = json!({
        "_index": index,
        "_version": 1,
        "result": "created",
        "_shards": {"total": 1, "successful": 1, "failed": 0},
        "_seq_no": 0,
        "_primary_term": 1,
    });
    if let Some(id) = id {
        body["_id"] = json!(id);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET|HEAD /api/{org}/`: the cluster info agents check before sending.
pub async fn info(method: Method, headers: HeaderMap) -> Response {
    if method == Method::HEAD {
        return StatusCode::OK.into_response();
    }
    let version = client_version(&headers).unwrap_or_else(|| DEFAULT_ES_VERSION.to_string());
    Json(json!({
        "name": "kansoku",
        "cluster_name": "kansoku",
        "cluster_uuid": "kansoku",
        "version": {
            "number": version,
            "build_flavor": "default",
            "build_type": "kansoku",
            "build_hash": "kansoku",
            "build_date": "2026-01-01T00:00:00.000Z",
            "build_snapshot": false,
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }))
    .into_response()
}

/// The version in an `Elastic-<product>/x.y.z` user agent (Beats, Logstash).
fn client_version(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(header::USER_AGENT)?.to_str().ok()?;
    let start = agent.find("Elastic-")?;
    let after_slash = agent[start..].split_once('/')?.1;
    let version: String = after_slash
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (version.split('.').count() == 3).then_some(version)
}

/// `GET /api/{org}/_license`
pub async fn license() -> Response {
    Json(json!({"license": {"status": "active", "uid": "kansoku", "type": "basic", "issue_date_in_millis": 0, "expiry_date_in_millis": 4_102_444_800_000u64, "max_nodes": 1000, "issued_to": "kansoku", "issuer": "kansoku", "start_date_in_millis": -1}})).into_response()
}

/// `GET /api/{org}/_xpack`
pub async fn xpack() -> Response {
    Json(json!({"build": {}, "features": {}, "license": {"status": "active", "type": "basic", "mode": "basic", "uid": "kansoku"}})).into_response()
}

/// `GET /api/{org}/_cluster/health`
pub async fn cluster_health() -> Response {
    Json(json!({"cluster_name": "kansoku", "status": "green", "timed_out": false, "number_of_nodes": 1})).into_response()
}

/// `GET|HEAD|PUT|POST|DELETE` on `_ilm/policy/{name}`, `_index_template/{name}`,
/// `_template/{name}`, `_component_template/{name}`, `_data_stream/{name}`,
/// `_ingest/pipeline/{name}`: accepted and acknowledged; kansoku needs no templates.
pub async fn setup_object(method: Method, Path((_org, name)): Path<(String, String)>) -> Response {
    match method {
        Method::HEAD => StatusCode::OK.into_response(),
        Method::GET => Json(json!({ name: {} })).into_response(),
        _ => Json(json!({"acknowledged": true})).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_elastic_user_agents() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static("Elastic-filebeat/8.5.1 (linux; amd64)"),
        );
        assert_eq!(client_version(&headers).as_deref(), Some("8.5.1"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static("curl/8.0"));
        assert_eq!(client_version(&headers), None);
    }
}
