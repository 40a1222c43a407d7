//! Search: `POST /api/{org}/_search`, `GET /api/{org}/{stream}/_values`,
//! `GET /api/{org}/{stream}/_around`, and `POST /api/{org}/_download` (CSV or NDJSON, streamed,
//! no row cap). The stream type comes from `?type=logs|metrics|traces` (default `logs`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use kansoku_core::{ErrorCode, OrgId, StreamName, StreamType};
use kansoku_query::{SearchRequest, ValuesRequest};
use serde::Deserialize;
use serde_json::{Value, json, value::RawValue};

use super::error::ApiError;
use crate::app::App;

/// Hits returned when the request does not say.
const DEFAULT_SIZE: i64 = 100;
/// Time range used when the request gives none: the last 15 minutes.
const DEFAULT_RANGE_MICROS: i64 = 15 * 60 * 1_000_000;

/// `?type=`.
#[derive(Debug, Deserialize, Default)]
pub struct TypeParam {
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

impl TypeParam {
    /// From a raw `type` value.
    pub fn from_raw(stream_type: Option<String>) -> TypeParam {
        TypeParam { stream_type }
    }

    /// The stream type, `logs` by default.
    pub fn stream_type(&self) -> Result<StreamType, ApiError> {
        match self.stream_type.as_deref() {
            None | Some("") => Ok(StreamType::Logs),
            Some(raw) => Ok(StreamType::parse(raw)?),
        }
    }
}

/// The body of `_search` and `_download`.
#[derive(Debug, Deserialize)]
pub struct SearchBody {
    query: QueryBody,
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QueryBody {
    sql: String,
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    end_time: i64,
    #[serde(default)]
    from: i64,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    track_total_hits: bool,
}

impl SearchBody {
    fn request(&self, default_size: i64) -> Result<SearchRequest, ApiError> {
        let sql = match self.encoding.as_deref() {
            Some("base64") => decode_base64(&self.query.sql)?,
            None | Some("") => self.query.sql.clone(),
            Some(other) => {
                return Err(invalid_params(format!(
                    "unknown encoding '{other}': use base64 or omit it"
                )));
            }
        };
        let (start_time, end_time) = time_range(self.query.start_time, self.query.end_time)?;
        if self.query.from < 0 {
            return Err(invalid_params("from must not be negative"));
        }
        let size = match self.query.size {
            None | Some(0) => default_size,
            Some(size) if size < 0 => return Err(invalid_params("size must not be negative")),
            Some(size) => size,
        };
        Ok(SearchRequest {
            sql,
            start_time,
            end_time,
            from: self.query.from as usize,
            size: size as usize,
            track_total_hits: self.query.track_total_hits,
        })
    }
}

fn invalid_params(message: impl Into<String>) -> ApiError {
    let mut error = ApiError::bad_request(message);
    error.body_code = Some(20011);
    error
}

/// Decodes base64 (URL-safe or standard, padded or not) UTF-8 text.
pub fn decode_base64(text: &str) -> Result<String, ApiError> {
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|engine| engine.decode(text.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid_params("sql is not valid base64 UTF-8"))
}

/// Defaults: end = now, start = end − 15 minutes.
fn time_range(start: i64, end: i64) -> Result<(i64, i64), ApiError> {
    let end = if end <= 0 {
        kansoku_meta::now_micros()
    } else {
        end
    };
    let start = if start <= 0 {
        end - DEFAULT_RANGE_MICROS
    } else {
        start
    };
    if start > end {
        return Err(invalid_params(format!(
            "start_time ({start}) is after end_time ({end}): both are microseconds since the epoch"
        )));
    }
    Ok((start, end))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the search as Content-Type: application/json",
        ))
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| invalid_params(format!("invalid search request: {e}")))
}

/// `POST /api/{org}/_search`
pub async fn search(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<TypeParam>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let org = OrgId::parse(&org)?;
    let stream_type = params.stream_type()?;
    let (engine, reported) = app.reporting_query_engine()?;
    let default_size = DEFAULT_SIZE.min(engine.config().max_hits as i64);
    let request = parse_body::<SearchBody>(&body)?.request(default_size)?;
    let response = engine.search(&org, stream_type, &request).await?;
    let partial_nodes = reported.unread_nodes();
    let hits = RawValue::from_string(response.hits_json)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("encoding hits: {e}")))?;
    let body = json!({
        "took": response.took_ms,
        "columns": response.columns,
        "hits": hits,
        "total": response.total,
        "from": request.from,
        "size": request.size,
        "scan_size": response.scan_size_bytes as f64 / (1024.0 * 1024.0),
        "scan_size_bytes": response.scan_size_bytes,
        "scan_records": response.scan_records,
        "scan_files": response.scan_files,
        "files_skipped_by_partition": response.files_skipped_by_partition,
        "files_skipped_by_index": response.files_skipped_by_index,
        "row_groups_skipped_by_index": response.row_groups_skipped_by_index,
        "histogram_interval": response.histogram_interval_secs,
        "cached_ratio": 0,
        "result_cache_ratio": 0,
        "trace_id": "",
    });
    Ok(Json(with_partial(body, partial_nodes)).into_response())
}

/// `?fields=&size=&start_time=&end_time=&filter=&sql=&type=` of `_values`.
#[derive(Debug, Deserialize)]
pub struct ValuesParams {
    fields: String,
    #[serde(default)]
    size: Option<usize>,
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    end_time: i64,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    sql: Option<String>,
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

/// `GET /api/{org}/{stream}/_values`
pub async fn values(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<ValuesParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stream = StreamName::normalise(&stream)?;
    let stream_type = TypeParam {
        stream_type: params.stream_type.clone(),
    }
    .stream_type()?;
    let (start_time, end_time) = time_range(params.start_time, params.end_time)?;
    let fields: Vec<String> = params
        .fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let filters = params
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|filter| {
            filter
                .split(',')
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(field, value)| (field.trim().to_string(), value.to_string()))
                        .ok_or_else(|| {
                            invalid_params(format!("filter '{pair}' must look like field=value"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let sql = params
        .sql
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(decode_base64)
        .transpose()?;
    let size = params.size.unwrap_or(10).min(1000);
    let (engine, reported) = app.reporting_query_engine()?;
    let started = std::time::Instant::now();
    let response = engine
        .values(
            &org,
            stream_type,
            &ValuesRequest {
                stream,
                fields: fields.clone(),
                size,
                start_time,
                end_time,
                filters,
                sql,
            },
        )
        .await?;
    let body = json!({
        "took": started.elapsed().as_millis() as u64,
        "hits": response.hits,
        "total": fields.len(),
        "size": size,
        "total_records": response.total_records,
    });
    Ok(Json(with_partial(body, reported.unread_nodes())).into_response())
}

/// `?key=&size=&type=` of `_around`.
#[derive(Debug, Deserialize)]
pub struct AroundParams {
    key: i64,
    #[serde(default)]
    size: Option<usize>,
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

/// How far from the key `_around` looks.
const AROUND_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

/// `GET /api/{org}/{stream}/_around`
pub async fn around(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<AroundParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stream = StreamName::normalise(&stream)?;
    let stream_type = TypeParam {
        stream_type: params.stream_type.clone(),
    }
    .stream_type()?;
    let size = params.size.unwrap_or(10).clamp(1, 1000);
    let window = (
        params.key.saturating_sub(AROUND_WINDOW_MICROS),
        params.key.saturating_add(AROUND_WINDOW_MICROS),
    );
    let started = std::time::Instant::now();
    let (engine, reported) = app.reporting_query_engine()?;
    let (hits, count) = engine
        .around(&org, stream_type, &stream, params.key, size, window)
        .await?;
    let partial_nodes = reported.unread_nodes();
    let hits = RawValue::from_string(hits)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("encoding hits: {e}")))?;
    let body = json!({
        "took": started.elapsed().as_millis() as u64,
        "hits": hits,
        "total": count,
        "from": 0,
        "size": size,
    });
    Ok(Json(with_partial(body, partial_nodes)).into_response())
}

/// `?format=csv|ndjson&type=` of `_download`.
#[derive(Debug, Deserialize)]
pub struct DownloadParams {
    #[serde(default)]
    format: Option<String>,
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

/// `POST /api/{org}/_download`: the search's rows, all of them, streamed.
pub async fn download(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<DownloadParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let org = OrgId::parse(&org)?;
    let stream_type = TypeParam::from_raw(params.stream_type.clone()).stream_type()?;
    let csv = download_format(params.format.as_deref())?;
    let request = parse_body::<SearchBody>(&body)?.request(DEFAULT_SIZE)?;
    stream_download(&app, &org, stream_type, csv, &request).await
}

/// `?sql=<base64>&start_time=&end_time=&format=&type=` of `GET …/_download`.
#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    sql: String,
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    end_time: i64,
    #[serde(default)]
    format: Option<String>,
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
}

/// `GET /api/{org}/_download`: the same as the POST form, for links (`sql` is base64).
pub async fn download_link(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stream_type = TypeParam::from_raw(params.stream_type.clone()).stream_type()?;
    let csv = download_format(params.format.as_deref())?;
    let (start_time, end_time) = time_range(params.start_time, params.end_time)?;
    let request = SearchRequest {
        sql: decode_base64(&params.sql)?,
        start_time,
        end_time,
        from: 0,
        size: 0,
        track_total_hits: false,
    };
    stream_download(&app, &org, stream_type, csv, &request).await
}

fn download_format(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("csv") => Ok(true),
        Some("ndjson") | Some("json") => Ok(false),
        Some(other) => Err(invalid_params(format!(
            "unknown format '{other}': use csv or ndjson"
        ))),
    }
}

async fn stream_download(
    app: &App,
    org: &OrgId,
    stream_type: StreamType,
    csv: bool,
    request: &SearchRequest,
) -> Result<Response, ApiError> {
    let (engine, reported) = app.reporting_query_engine()?;
    let stream = engine
        .stream(
            org,
            stream_type,
            &request.sql,
            request.start_time,
            request.end_time,
        )
        .await?;
    // Planned: every stream's fresh data has been gathered.
    let partial_nodes = reported.unread_nodes();
    let mut first = true;
    let encoded = stream.map(move |batch| {
        let batch = batch.map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut out = Vec::new();
        if csv {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(first)
                .build(&mut out);
            writer
                .write(&batch)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        } else {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
            writer
                .write(&batch)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            writer
                .finish()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        first = false;
        Ok::<Bytes, std::io::Error>(Bytes::from(out))
    });
    let (content_type, extension) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "ndjson")
    };
    let mut response = Response::new(Body::from_stream(encoded));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"kansoku-export.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // A stream has no body field to say it: the header names the ingesters not read.
    if !partial_nodes.is_empty()
        && let Ok(value) = HeaderValue::from_str(&partial_nodes.join(","))
    {
        headers.insert(PARTIAL_NODES_HEADER, value);
    }
    Ok(response)
}

/// `body` with `is_partial` and `partial_nodes`: the ingesters whose not-yet-flushed records
/// the answer could not read (`crate::app::App::reporting_query_engine`).
pub fn with_partial(mut body: Value, partial_nodes: Vec<String>) -> Value {
    body["is_partial"] = json!(!partial_nodes.is_empty());
    body["partial_nodes"] = json!(partial_nodes);
    body
}

/// On an export, the ingesters whose not-yet-flushed records it could not read.
const PARTIAL_NODES_HEADER: &str = "x-kansoku-partial-nodes";
