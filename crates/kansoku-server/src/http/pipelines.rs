//! A stream's ingest pipeline: `GET|PUT|DELETE /api/{org}/streams/{s}/pipeline` and
//! `POST /api/{org}/streams/{s}/pipeline/test` (all with `?type=`, `logs` by default).
//!
//! A pipeline is accepted only if it compiles; it applies to records ingested from then on (on
//! other nodes within the catalog's refresh time). The test route runs a pipeline — the one in
//! the body, else the stream's — on the records in the body and answers what would be stored,
//! and where; nothing is stored.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kansoku_core::StreamKey;
use kansoku_core::pipeline::PipelineDefinition;
use kansoku_ingest::decode::flatten::{FlattenOptions, value_record};
use kansoku_ingest::prepare::Position;
use kansoku_ingest::record::FlatRecord;
use kansoku_ingest::transform::{Decision, Pipeline, Runner, scalar_json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::search::TypeParam;
use super::streams::stream_key;
use crate::app::App;
use crate::auth::Access;

/// Most records one test run takes.
const MAX_TEST_RECORDS: usize = 1000;

/// `GET /api/{org}/streams/{s}/pipeline`
pub async fn get(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    let stored = app
        .meta
        .get_pipeline(&key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stream '{}' has no pipeline", key.name)))?;
    let definition: Value = serde_json::from_str(&stored.definition)
        .map_err(|e| ApiError::new(kansoku_core::ErrorCode::Internal, e.to_string()))?;
    Ok(Json(json!({
        "stream": key.name.as_str(),
        "pipeline": definition,
        "version": stored.version,
        "updated_at": stored.updated_at,
        "updated_by": stored.updated_by,
    }))
    .into_response())
}

/// `PUT /api/{org}/streams/{s}/pipeline`: the body is the pipeline document.
pub async fn put(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    let definition = parse_definition(&body)?;
    let pipeline = compile(definition.clone()).await?;
    allow_vrl(&access, &pipeline)?;
    let text = serde_json::to_string(&definition)
        .map_err(|e| ApiError::new(kansoku_core::ErrorCode::Internal, e.to_string()))?;
    let version = app
        .meta
        .put_pipeline(&key, &text, &access.principal.describe())
        .await?;
    forget(&app, &key);
    Ok(Json(json!({"stream": key.name.as_str(), "version": version})).into_response())
}

/// `DELETE /api/{org}/streams/{s}/pipeline`
pub async fn delete(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    if !app.meta.delete_pipeline(&key).await? {
        return Err(ApiError::not_found(format!(
            "stream '{}' has no pipeline",
            key.name
        )));
    }
    forget(&app, &key);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of a test run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRun {
    /// The pipeline to try; absent: the stream's.
    #[serde(default)]
    pipeline: Option<Value>,
    /// The records, as they would be sent.
    records: Vec<Value>,
}

/// `POST /api/{org}/streams/{s}/pipeline/test` (Write: it runs the caller's steps)
pub async fn test(
    State(app): State<App>,
    Path((org, stream)): Path<(String, String)>,
    Query(params): Query<TypeParam>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = stream_key(&org, &stream, &params)?;
    let run: TestRun = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "a test run is {{\"pipeline\": {{…}}, \"records\": [{{…}}]}}: {e}"
        ))
    })?;
    if run.records.len() > MAX_TEST_RECORDS {
        return Err(ApiError::bad_request(format!(
            "a test run takes at most {MAX_TEST_RECORDS} records, not {}",
            run.records.len()
        )));
    }
    let definition = match run.pipeline {
        Some(pipeline) => parse_definition(pipeline.to_string().as_bytes())?,
        None => {
            let stored = app.meta.get_pipeline(&key).await?.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "stream '{}' has no pipeline; send one to try",
                    key.name
                ))
            })?;
            parse_definition(stored.definition.as_bytes())?
        }
    };
    let pipeline = Arc::new(compile(definition).await?);
    allow_vrl(&access, &pipeline)?;
    // The stream's own level, else the node's default (as the write path flattens).
    let max_depth = app
        .meta
        .get_stream(&key)
        .await?
        .map(|stream| stream.settings)
        .unwrap_or_default()
        .flatten_level(app.config.flatten_level);
    // VRL programs may take a while: off the async runtime.
    let records = run.records;
    let results = tokio::task::spawn_blocking(move || {
        run_records(pipeline, &records, FlattenOptions { max_depth }, &key)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            kansoku_core::ErrorCode::Internal,
            format!("test run failed: {e}"),
        )
    })?;
    Ok(Json(json!({"results": results})).into_response())
}

/// Runs the pipeline on the records as ingest would; one result per outcome, in order.
fn run_records(
    pipeline: Arc<Pipeline>,
    records: &[Value],
    options: FlattenOptions,
    key: &StreamKey,
) -> Vec<Value> {
    let mut runner = Runner::new(pipeline, options, usize::MAX);
    let mut outcomes = Vec::new();
    let mut results = Vec::new();
    for (index, value) in records.iter().enumerate() {
        let position = Position::Record(index + 1);
        let record: Result<FlatRecord<'static>, String> = value_record(value.clone(), options)
            .map_err(|e| e.to_string())
            .and_then(|record| record.map_err(|e| e.to_string()));
        match record {
            Ok(record) => runner.push(record, position, &mut outcomes),
            Err(error) => results.push(json!({"record_number": index + 1, "error": error})),
        }
    }
    runner.finish(&mut outcomes);
    for outcome in outcomes {
        let Position::Record(number) = outcome.position else {
            continue;
        };
        let joined: Vec<usize> = outcome
            .joined
            .iter()
            .filter_map(|position| match position {
                Position::Record(number) => Some(*number),
                _ => None,
            })
            .collect();
        let mut result = match outcome.decision {
            Decision::Keep(record) => {
                json!({"stream": key.name.as_str(), "record": record_json(&record)})
            }
            Decision::Route(stream, record) => {
                json!({"stream": stream.as_str(), "routed": true, "record": record_json(&record)})
            }
            Decision::Drop => json!({"dropped": true}),
            Decision::Failed(record, error) => json!({
                "stream": key.name.as_str(),
                "failed": error,
                "record": record_json(&record),
            }),
        };
        result["record_number"] = json!(number);
        if !joined.is_empty() {
            result["joined_records"] = json!(joined);
        }
        results.push(result);
    }
    results
}

fn record_json(record: &FlatRecord<'_>) -> Value {
    let object: serde_json::Map<String, Value> = record
        .fields
        .iter()
        .map(|(name, value)| (Cow::as_ref(name).to_string(), scalar_json(value)))
        .collect();
    Value::Object(object)
}

fn parse_definition(body: &[u8]) -> Result<PipelineDefinition, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid pipeline: {e}")))
}

/// Compiles off the async runtime (regular expressions and VRL programs take a while).
async fn compile(definition: PipelineDefinition) -> Result<Pipeline, ApiError> {
    tokio::task::spawn_blocking(move || Pipeline::compile(&definition))
        .await
        .map_err(|e| {
            ApiError::new(
                kansoku_core::ErrorCode::Internal,
                format!("compile task failed: {e}"),
            )
        })?
        .map_err(|e| ApiError::bad_request(format!("invalid pipeline: {e}")))
}

/// VRL programs are code run inside the server: a program can take as much memory as it
/// builds, so only the organisation's admins (and root) may save or try one.
fn allow_vrl(access: &Access, pipeline: &Pipeline) -> Result<(), ApiError> {
    if pipeline.has_vrl() && !access.is_org_admin() {
        return Err(ApiError::forbidden(
            "pipelines with VRL steps are saved and tried by the organization's admins",
        ));
    }
    Ok(())
}

/// Makes this node's write path read the stream's pipeline again.
fn forget(app: &App, key: &StreamKey) {
    if let Some(ingester) = app.local_ingester() {
        ingester.catalog().invalidate(key);
    }
}
