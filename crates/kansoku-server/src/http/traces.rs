//! The trace explorer's API over a `traces` stream (spans as stored by OTLP ingest):
//!
//! - `GET /api/{org}/{stream}/traces/latest`: traces that have a span matching every filter
//!   (`service`, `operation`, `status=error|ok|unset`, `min_duration` / `max_duration` in µs,
//!   `filter=key=value` attribute filters, comma-separated), newest first, each with its root
//!   operation and service, start, duration, span and error counts and the services it crossed;
//! - `GET /api/{org}/{stream}/traces/services`: per service, spans, requests (server and
//!   consumer spans), errors and duration percentiles;
//! - `GET /api/{org}/{stream}/traces/{trace_id}`: every span of one trace, by start time.
//!
//! All take `start_time` / `end_time` (µs; default the last 15 minutes; a trace is looked up over
//! the last 30 days unless given). Values are SQL literals and names quoted identifiers, so
//! nothing from a query string is pasted into SQL as code.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_query::SearchRequest;
use kansoku_query::rewrite::{quote_identifier, sql_string as quote_string};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::App;

const DEFAULT_RANGE_MICROS: i64 = 15 * 60 * 1_000_000;
const TRACE_LOOKUP_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;
/// Spans of one trace returned at most.
const MAX_SPANS: usize = 10_000;

/// Query string of the trace search.
#[derive(Debug, Deserialize, Default)]
pub struct TraceSearch {
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    min_duration: Option<i64>,
    #[serde(default)]
    max_duration: Option<i64>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    size: Option<usize>,
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn window(start: Option<i64>, end: Option<i64>, default_range: i64) -> (i64, i64) {
    let end = end.unwrap_or_else(kansoku_meta::now_micros);
    let start = start.unwrap_or(end - default_range);
    (start, end)
}

/// What a trace query found, and the ingesters whose not-yet-flushed spans it could not read.
struct Found {
    hits: Value,
    partial_nodes: Vec<String>,
}

impl Found {
    /// `answer` with `is_partial` and `partial_nodes` added.
    fn answer(&self, answer: Value) -> Response {
        Json(super::search::with_partial(
            answer,
            self.partial_nodes.clone(),
        ))
        .into_response()
    }
}

async fn run(
    app: &App,
    org: &OrgId,
    sql: String,
    (start_time, end_time): (i64, i64),
    size: usize,
) -> Result<Found, ApiError> {
    let (engine, reported) = app.reporting_query_engine()?;
    let request = SearchRequest {
        sql,
        start_time,
        end_time,
        from: 0,
        size: size.min(engine.config().max_hits),
        track_total_hits: false,
    };
    let hits = match engine.search(org, StreamType::Traces, &request).await {
        Ok(response) => serde_json::from_str(&response.hits_json)
            .map_err(|e| ApiError::bad_request(format!("unreadable result: {e}")))?,
        Err(kansoku_query::Error::StreamNotFound(_)) => json!([]),
        Err(error) => return Err(ApiError::from_coded(&error)),
    };
    Ok(Found {
        hits,
        partial_nodes: reported.unread_nodes(),
    })
}

impl TraceSearch {
    /// The span-level conditions; `None` when an attribute filter names a column the stream
    /// does not have (nothing can match).
    fn conditions(
        &self,
        columns: &kansoku_core::StreamSchema,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let mut conditions = Vec::new();
        if let Some(service) = text(&self.service) {
            conditions.push(format!("service_name = {}", quote_string(service)));
        }
        if let Some(operation) = text(&self.operation) {
            conditions.push(format!("operation_name = {}", quote_string(operation)));
        }
        if let Some(status) = text(&self.status) {
            let status = match status.to_ascii_lowercase().as_str() {
                "error" => "ERROR",
                "ok" => "OK",
                "unset" => "UNSET",
                other => {
                    return Err(ApiError::bad_request(format!(
                        "status '{other}' is not error, ok or unset"
                    )));
                }
            };
            conditions.push(format!("span_status = '{status}'"));
        }
        if let Some(min) = self.min_duration {
            conditions.push(format!("duration >= {min}"));
        }
        if let Some(max) = self.max_duration {
            conditions.push(format!("duration <= {max}"));
        }
        for pair in text(&self.filter)
            .unwrap_or("")
            .split(',')
            .filter(|p| !p.trim().is_empty())
        {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(ApiError::bad_request(format!(
                    "filter '{pair}' is not key=value"
                )));
            };
            let column = kansoku_core::names::normalise_field_name(key.trim());
            let Some(field_type) = columns.field_type(&column) else {
                return Ok(None);
            };
            let value = value.trim();
            let literal = if field_type == kansoku_core::FieldType::Utf8 {
                quote_string(value)
            } else {
                format!("CAST({} AS {})", quote_string(value), sql_type(field_type))
            };
            conditions.push(format!("{} = {literal}", quote_identifier(&column)));
        }
        Ok(Some(conditions))
    }
}

fn sql_type(field_type: kansoku_core::FieldType) -> &'static str {
    match field_type {
        kansoku_core::FieldType::Boolean => "BOOLEAN",
        kansoku_core::FieldType::Int64 => "BIGINT",
        kansoku_core::FieldType::Float64 => "DOUBLE",
        kansoku_core::FieldType::Utf8 => "VARCHAR",
    }
}

/// `GET /api/{org}/{stream}/traces/latest`
pub async fn latest(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TraceSearch>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let name = StreamName::normalise(&stream)?;
    let key = StreamKey::new(org.clone(), StreamType::Traces, name.clone());
    // The schema is only needed to type attribute filters.
    let schema = if text(&params.filter).is_some() {
        app.meta.latest_schema(&key).await?
    } else {
        kansoku_core::StreamSchema::default()
    };
    let range = window(params.start_time, params.end_time, DEFAULT_RANGE_MICROS);
    let size = params.size.unwrap_or(50).clamp(1, 1000);
    let Some(conditions) = params.conditions(&schema)? else {
        return Ok(Json(json!({"total": 0, "hits": []})).into_response());
    };
    let table = quote_identifier(name.as_str());
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT trace_id, \
           min(_timestamp) AS start_time, \
           (max(end_time) - min(start_time)) / 1000 AS duration, \
           count(*) AS spans, \
           sum(CASE WHEN span_status = 'ERROR' THEN 1 ELSE 0 END) AS errors, \
           first_value(operation_name ORDER BY start_time) AS operation_name, \
           first_value(service_name ORDER BY start_time) AS service_name, \
           array_to_string(array_agg(DISTINCT service_name), ',') AS services \
         FROM {table} \
         WHERE trace_id IN (SELECT trace_id FROM {table}{filter}) \
         GROUP BY trace_id ORDER BY start_time DESC"
    );
    let found = run(&app, &org, sql, range, size).await?;
    let count = found.hits.as_array().map_or(0, Vec::len);
    Ok(found.answer(json!({"total": count, "hits": found.hits})))
}

/// `?start_time=&end_time=` of the services summary.
#[derive(Debug, Deserialize, Default)]
pub struct Range {
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
}

/// `GET /api/{org}/{stream}/traces/services`
pub async fn services(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<Range>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let name = StreamName::normalise(&stream)?;
    let range = window(params.start_time, params.end_time, DEFAULT_RANGE_MICROS);
    let sql = format!(
        "SELECT service_name, count(*) AS spans, \
           sum(CASE WHEN span_kind IN ('server', 'consumer') THEN 1 ELSE 0 END) AS requests, \
           sum(CASE WHEN span_status = 'ERROR' THEN 1 ELSE 0 END) AS errors, \
           approx_percentile_cont(duration, 0.5) AS p50, \
           approx_percentile_cont(duration, 0.95) AS p95, \
           approx_percentile_cont(duration, 0.99) AS p99 \
         FROM {} GROUP BY service_name ORDER BY service_name",
        quote_identifier(name.as_str())
    );
    let found = run(&app, &org, sql, range, 1000).await?;
    Ok(found.answer(json!({"services": found.hits})))
}

/// `GET /api/{org}/{stream}/traces/{trace_id}`
pub async fn trace(
    State(app): State<App>,
    Path((org, stream, trace_id)): Path<(String, String, String)>,
    Query(params): Query<Range>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let name = StreamName::normalise(&stream)?;
    let trace_id = trace_id.trim().to_ascii_lowercase();
    if trace_id.len() != 32 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "a trace id is 32 hexadecimal characters",
        ));
    }
    let range = window(params.start_time, params.end_time, TRACE_LOOKUP_MICROS);
    let sql = format!(
        "SELECT * FROM {} WHERE trace_id = {} ORDER BY start_time",
        quote_identifier(name.as_str()),
        quote_string(&trace_id)
    );
    let found = run(&app, &org, sql, range, MAX_SPANS).await?;
    if found.hits.as_array().is_none_or(Vec::is_empty) {
        let unread = if found.partial_nodes.is_empty() {
            String::new()
        } else {
            format!(
                " (spans ingesters {} hold in memory were not read)",
                found.partial_nodes.join(", ")
            )
        };
        return Err(ApiError::not_found(format!(
            "trace {trace_id} not found in stream '{name}'{unread}"
        )));
    }
    Ok(found.answer(json!({"trace_id": trace_id, "spans": found.hits})))
}
