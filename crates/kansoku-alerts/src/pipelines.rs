//! Streams' ingest pipelines declared as code: checked (they must compile) before anything is
//! written, applied by stream, and — for files of the watched directory — deleted once no file
//! declares them. A pipeline from a file is marked by its `updated_by` (`file:<name>`); changing
//! it through the API or the UI hands it over to that user (a file no longer deletes it, but the
//! file's next change overwrites it). Nodes pick a change up within their catalog's refresh.

use std::collections::BTreeSet;

use kansoku_core::pipeline::{PIPELINE_FORMAT_VERSION, PipelineDefinition};
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_ingest::transform::Pipeline;
use kansoku_meta::MetaStore;

use crate::code::{Change, DeclaredPipeline};
use crate::error::{Error, Result};

/// The kind of a pipeline in [`Change`]s.
pub const PIPELINE: &str = "pipeline";

/// A declared pipeline, checked: its stream and its document as stored.
pub struct CheckedPipeline {
    /// The stream.
    pub key: StreamKey,
    /// The document's text.
    pub definition: String,
}

/// Checks a declaration: a valid stream and a pipeline that compiles.
pub fn check(org: &OrgId, declared: &DeclaredPipeline) -> Result<CheckedPipeline> {
    let invalid = |detail: String| {
        Error::Invalid(format!(
            "pipeline of stream '{}': {detail}",
            declared.stream
        ))
    };
    let stream_type = StreamType::parse(declared.stream_type.as_deref().unwrap_or("logs"))
        .map_err(|e| invalid(e.to_string()))?;
    let name = StreamName::normalise(&declared.stream).map_err(|e| invalid(e.to_string()))?;
    let definition = PipelineDefinition {
        version: declared.version.unwrap_or(PIPELINE_FORMAT_VERSION),
        steps: declared.steps.clone(),
    };
    Pipeline::compile(&definition).map_err(invalid)?;
    let text = serde_json::to_string(&definition).map_err(|e| invalid(e.to_string()))?;
    Ok(CheckedPipeline {
        key: StreamKey::new(org.clone(), stream_type, name),
        definition: text,
    })
}

fn change(key: &StreamKey, action: &str) -> Change {
    Change {
        org: key.org.to_string(),
        kind: PIPELINE.to_string(),
        name: format!("{}/{}", key.stream_type.as_str(), key.name),
        action: action.to_string(),
    }
}

/// Stores a checked pipeline unless it is stored as it is; `by` is the file (or `kansoku apply`).
pub async fn apply(meta: &MetaStore, pipeline: &CheckedPipeline, by: &str) -> Result<Change> {
    let existing = meta.get_pipeline(&pipeline.key).await?;
    let action = match &existing {
        Some(stored) if stored.definition == pipeline.definition && stored.updated_by == by => {
            return Ok(change(&pipeline.key, "unchanged"));
        }
        Some(_) => "updated",
        None => "created",
    };
    meta.put_pipeline(&pipeline.key, &pipeline.definition, by)
        .await?;
    Ok(change(&pipeline.key, action))
}

/// Deletes the pipelines a file of the directory declared (`updated_by` starts with
/// `file_prefix`) that are not in `declared`.
pub async fn delete_undeclared(
    meta: &MetaStore,
    declared: &BTreeSet<StreamKey>,
    file_prefix: &str,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for (key, stored) in meta.list_pipelines().await? {
        if !stored.updated_by.starts_with(file_prefix) || declared.contains(&key) {
            continue;
        }
        meta.delete_pipeline(&key).await?;
        changes.push(change(&key, "deleted"));
    }
    Ok(changes)
}
