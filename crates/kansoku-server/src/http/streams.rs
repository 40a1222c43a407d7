//! Streams: `GET /api/{org}/streams`, `GET /api/{org}/streams/{s}/schema`,
//! `PUT /api/{org}/streams/{s}/settings`, `DELETE /api/{org}/streams/{s}` (all with `?type=`).
//!
//! Sizes are reported in bytes (`raw_bytes`, `stored_bytes`, `index_bytes`) and, for
//! OpenObserve clients, in MB (`storage_size`, `compressed_size`, `index_size`). Counts include
//! data not yet flushed to Parquet.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::{OrgId, StreamKey, StreamName, StreamSchema, StreamSettings, StreamType};
use kansoku_meta::StreamStats;
use kansoku_meta::streams::StreamRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::search::TypeParam;
use crate::app::App;

const MB: f64 = 1024.0 * 1024.0;

/// `?type=&fetchSchema=` of the stream list.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(rename = "type", default)]
    stream_type: Option<String>,
    #[serde(rename = "fetchSchema", default)]
    fetch_schema: Option<bool>,
}

/// `GET /api/{org}/streams`
pub async fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let stream_type = match params.stream_type.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(StreamType::parse(raw)?),
    };
    let streams = app.meta.list_streams(&org, stream_type).await?;
    let stats = app
        .meta
        .stream_stats(&org, stream_type, small_file_bytes(&app))
        .await?;
    let mut list = Vec::with_capacity(streams.len());
    for stream in &streams {
        let stored = stats.iter().find(|s| {
            s.stream == stream.key.name.as_str() && s.stream_type == stream.key.stream_type.as_str()
        });
        let schema = if params.fetch_schema.unwrap_or(false) {
            Some(app.meta.latest_schema(&stream.key).await?)
        } else {
            None
        };
        list.push(stream_json(&app, stream, stored, schema.as_ref()));
    }
    Ok(Json(json!({"list": list, "total": streams.len()})).into_response())
}

/// `GET /api/{org}/streams/{s}/schema`
pub async fn schema(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    let record = find(&app, &key).await?;
    let stats = app
        .meta
        .stream_stats(&key.org, Some(key.stream_type), small_file_bytes(&app))
        .await?;
    let stored = stats.iter().find(|s| s.stream == key.name.as_str());
    let schema = app.meta.latest_schema(&key).await?;
    Ok(Json(stream_json(&app, &record, stored, Some(&schema))).into_response())
}

/// `PUT /api/{org}/streams/{s}/settings`: each list is either replaced (`[..]`) or edited
/// (`{"add": [..], "remove": [..]}`), as OpenObserve accepts.
pub async fn update_settings(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
    Json(change): Json<SettingsChange>,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    let record = find(&app, &key).await?;
    let settings = change.apply(record.settings)?;
    app.meta.put_stream_settings(&key, &settings).await?;
    if let Some(ingester) = app.local_ingester() {
        ingester.catalog().invalidate(&key);
    }
    let record = find(&app, &key).await?;
    let schema = app.meta.latest_schema(&key).await?;
    Ok(Json(stream_json(&app, &record, None, Some(&schema))).into_response())
}

/// `DELETE /api/{org}/streams/{s}`: deletes the stream's data (stored and unflushed) and metadata.
pub async fn delete(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    find(&app, &key).await?;
    let paths = app.ingester()?.delete_stream(&key).await?;
    let mut failed = 0;
    for path in &paths {
        if let Err(error) = app.store.delete(path).await {
            failed += 1;
            tracing::warn!(%path, %error, "could not delete a file of a deleted stream");
        }
    }
    tracing::info!(stream = %key, files = paths.len(), failed, "deleted stream");
    Ok(Json(json!({"code": 200, "message": format!("stream '{}' deleted", key.name), "files_deleted": paths.len() - failed})).into_response())
}

/// Files with fewer ingested bytes than this wait for the compactor.
fn small_file_bytes(app: &App) -> i64 {
    app.config.compact("").small_file_bytes()
}

/// The stream a route names.
pub fn stream_key(org: &str, stream: &str, params: &TypeParam) -> Result<StreamKey, ApiError> {
    Ok(StreamKey::new(
        OrgId::parse(org)?,
        params.stream_type()?,
        StreamName::normalise(stream)?,
    ))
}

async fn find(app: &App, key: &StreamKey) -> Result<StreamRecord, ApiError> {
    app.meta
        .get_stream(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stream '{}' not found", key.name)))
}

fn stream_json(
    app: &App,
    stream: &StreamRecord,
    stored: Option<&StreamStats>,
    schema: Option<&StreamSchema>,
) -> Value {
    let fresh = app
        .local_ingester()
        .map(|ingester| ingester.memory_snapshot(&stream.key, i64::MIN, i64::MAX));
    let (fresh_rows, fresh_min, fresh_max) = fresh
        .as_ref()
        .map(|snapshot| fresh_stats(&snapshot.batches))
        .unwrap_or((0, None, None));
    let stored = stored.cloned().unwrap_or_default();
    let min_ts = [stored.min_ts, fresh_min].into_iter().flatten().min();
    let max_ts = [stored.max_ts, fresh_max].into_iter().flatten().max();
    let storage_type = match app.config.storage() {
        kansoku_storage::StorageConfig::Local { .. } => "disk",
        kansoku_storage::StorageConfig::S3 { .. } => "s3",
    };
    let mut value = json!({
        "name": stream.key.name.as_str(),
        "stream_type": stream.key.stream_type.as_str(),
        "storage_type": storage_type,
        "stats": {
            "created_at": stream.created_at,
            "doc_time_min": min_ts.unwrap_or(0),
            "doc_time_max": max_ts.unwrap_or(0),
            "doc_num": stored.records as u64 + fresh_rows,
            "doc_num_unflushed": fresh_rows,
            "file_num": stored.files,
            "small_file_num": stored.small_files,
            "compacted_file_num": stored.compacted_files,
            "retention_days": match stream.settings.data_retention {
                0 => app.config.retention_days,
                days => days,
            },
            "dedup_window_secs": match stream.key.stream_type {
                kansoku_core::StreamType::Metrics => 0,
                _ => stream.settings.dedup_window_secs(
                    u32::try_from(app.config.dedup_window.as_secs()).unwrap_or(u32::MAX),
                ),
            },
            "raw_bytes": stored.raw_bytes,
            "stored_bytes": stored.stored_bytes,
            "index_bytes": stored.index_bytes,
            "storage_size": stored.raw_bytes as f64 / MB,
            "compressed_size": stored.stored_bytes as f64 / MB,
            "index_size": stored.index_bytes as f64 / MB,
        },
        "settings": stream.settings,
    });
    if let Some(schema) = schema {
        let fields: Vec<Value> = schema
            .field_defs()
            .iter()
            .map(|field| json!({"name": field.name, "type": field.field_type.as_arrow_name()}))
            .collect();
        value["total_fields"] = json!(fields.len());
        value["schema"] = Value::Array(fields);
        value["schema_version"] = json!(schema.version);
    }
    value
}

fn fresh_stats(batches: &[arrow::array::RecordBatch]) -> (u64, Option<i64>, Option<i64>) {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    let mut rows = 0u64;
    let mut min = None;
    let mut max = None;
    for batch in batches {
        rows += batch.num_rows() as u64;
        let times = batch.column(0).as_primitive::<Int64Type>();
        if let Some(low) = arrow::compute::min(times) {
            min = Some(min.map_or(low, |m: i64| m.min(low)));
        }
        if let Some(high) = arrow::compute::max(times) {
            max = Some(max.map_or(high, |m: i64| m.max(high)));
        }
    }
    (rows, min, max)
}

/// A list setting: replaced, or edited with add/remove.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ListChange {
    /// The new list.
    Replace(Vec<String>),
    /// Names to add and remove.
    Edit {
        /// Added.
        #[serde(default)]
        add: Vec<String>,
        /// Removed.
        #[serde(default)]
        remove: Vec<String>,
    },
}

impl ListChange {
    fn apply(self, current: Vec<String>, what: &str) -> Result<Vec<String>, ApiError> {
        let normalise = |names: Vec<String>| -> Result<Vec<String>, ApiError> {
            names
                .into_iter()
                .map(|name| {
                    let trimmed = name.trim();
                    if trimmed.is_empty() {
                        return Err(ApiError::bad_request(format!(
                            "{what}: field names must not be empty"
                        )));
                    }
                    Ok(kansoku_core::names::normalise_field_name(trimmed))
                })
                .collect()
        };
        let mut next = match self {
            ListChange::Replace(names) => normalise(names)?,
            ListChange::Edit { add, remove } => {
                let remove = normalise(remove)?;
                let mut next: Vec<String> = current
                    .into_iter()
                    .filter(|n| !remove.contains(n))
                    .collect();
                next.extend(normalise(add)?);
                next
            }
        };
        let mut seen = std::collections::HashSet::new();
        next.retain(|name| seen.insert(name.clone()));
        Ok(next)
    }
}

/// The body of `PUT …/settings`; absent fields are left unchanged.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default)]
    data_retention: Option<i64>,
    #[serde(default)]
    partition_keys: Option<ListChange>,
    #[serde(default)]
    full_text_search_keys: Option<ListChange>,
    #[serde(default)]
    timestamp_fields: Option<ListChange>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    flatten_level: Option<u32>,
    #[serde(default)]
    message_field: Option<String>,
    /// Seconds; `null` sets the server default again, 0 turns deduplication off.
    #[serde(default, deserialize_with = "present")]
    dedup_window_secs: Option<Option<u32>>,
}

/// A field that is present, even as `null` (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The longest deduplication window a stream may set: a week.
const MAX_DEDUP_WINDOW_SECS: u32 = 7 * 86_400;

impl SettingsChange {
    fn apply(self, mut settings: StreamSettings) -> Result<StreamSettings, ApiError> {
        if let Some(days) = self.data_retention {
            if days < 0 {
                return Err(ApiError::bad_request(
                    "data_retention must be 0 (server default) or a number of days",
                ));
            }
            settings.data_retention = days;
        }
        if let Some(change) = self.partition_keys {
            settings.partition_keys = change.apply(settings.partition_keys, "partition_keys")?;
            if settings.partition_keys.len() > 4 {
                return Err(ApiError::bad_request(
                    "at most 4 partition_keys are allowed",
                ));
            }
        }
        if let Some(change) = self.full_text_search_keys {
            settings.full_text_search_keys =
                change.apply(settings.full_text_search_keys, "full_text_search_keys")?;
        }
        if let Some(change) = self.timestamp_fields {
            settings.timestamp_fields =
                change.apply(settings.timestamp_fields, "timestamp_fields")?;
        }
        if let Some(zone) = self.timezone {
            kansoku_ingest::timestamp::parse_time_zone(&zone).map_err(ApiError::bad_request)?;
            settings.timezone = zone.trim().to_string();
        }
        if let Some(level) = self.flatten_level {
            if level > 64 {
                return Err(ApiError::bad_request(
                    "flatten_level must be between 0 (server default) and 64",
                ));
            }
            settings.flatten_level = level;
        }
        if let Some(field) = self.message_field {
            let field = field.trim();
            if field.chars().count() > 256 {
                return Err(ApiError::bad_request(
                    "message_field must be a field name (at most 256 characters)",
                ));
            }
            // Empty: back to automatic (the first of the default message fields present).
            settings.message_field = if field.is_empty() {
                String::new()
            } else {
                kansoku_core::names::normalise_field_name(field)
            };
        }
        if let Some(window) = self.dedup_window_secs {
            if window.is_some_and(|secs| secs > MAX_DEDUP_WINDOW_SECS) {
                return Err(ApiError::bad_request(format!(
                    "dedup_window_secs must be between 0 (off) and {MAX_DEDUP_WINDOW_SECS} (a week), or null (server default)"
                )));
            }
            settings.dedup_window_secs = window;
        }
        Ok(settings)
    }
}
