//! Streams' ingest pipelines, stored as their JSON documents (`kansoku_core::pipeline`); this
//! crate keeps the text and its edit count, the write path compiles it.

use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use sqlx::Row;

use crate::{Error, MetaStore, Result, now_micros};

/// A stored pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPipeline {
    /// The JSON document.
    pub definition: String,
    /// Edits so far (1 for the first).
    pub version: i64,
    /// When it was last changed, µs.
    pub updated_at: i64,
    /// Who changed it last.
    pub updated_by: String,
}

impl MetaStore {
    /// The stream's pipeline, if it has one.
    pub async fn get_pipeline(&self, key: &StreamKey) -> Result<Option<StoredPipeline>> {
        let row = sqlx::query(
            "SELECT definition, version, updated_at, updated_by FROM stream_pipelines
             WHERE org = $1 AND stream_type = $2 AND name = $3",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get pipeline"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let read = || Error::query("read pipeline");
        Ok(Some(StoredPipeline {
            definition: row.try_get("definition").map_err(read())?,
            version: row.try_get("version").map_err(read())?,
            updated_at: row.try_get("updated_at").map_err(read())?,
            updated_by: row.try_get("updated_by").map_err(read())?,
        }))
    }

    /// Sets the stream's pipeline; returns its new edit count.
    pub async fn put_pipeline(&self, key: &StreamKey, definition: &str, by: &str) -> Result<i64> {
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO stream_pipelines (org, stream_type, name, definition, version, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, 1, $5, $6)
             ON CONFLICT (org, stream_type, name) DO UPDATE SET definition = excluded.definition,
               version = stream_pipelines.version + 1, updated_at = excluded.updated_at,
               updated_by = excluded.updated_by
             RETURNING version",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .bind(definition)
        .bind(now_micros())
        .bind(by)
        .fetch_one(self.pool())
        .await
        .map_err(Error::query("write pipeline"))?;
        Ok(version)
    }

    /// Removes the stream's pipeline; whether it had one.
    pub async fn delete_pipeline(&self, key: &StreamKey) -> Result<bool> {
        let result = sqlx::query(
            "DELETE FROM stream_pipelines WHERE org = $1 AND stream_type = $2 AND name = $3",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .execute(self.pool())
        .await
        .map_err(Error::query("delete pipeline"))?;
        Ok(result.rows_affected() > 0)
    }

    /// Every stored pipeline of every organisation, with its stream.
    pub async fn list_pipelines(&self) -> Result<Vec<(StreamKey, StoredPipeline)>> {
        let rows = sqlx::query(
            "SELECT org, stream_type, name, definition, version, updated_at, updated_by
             FROM stream_pipelines ORDER BY org, stream_type, name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list pipelines"))?;
        let read = || Error::query("read pipeline");
        let corrupt = |detail: String| Error::Corrupt {
            what: "pipeline",
            detail,
        };
        let mut pipelines = Vec::with_capacity(rows.len());
        for row in &rows {
            let org: String = row.try_get("org").map_err(read())?;
            let stream_type: String = row.try_get("stream_type").map_err(read())?;
            let name: String = row.try_get("name").map_err(read())?;
            let key = StreamKey::new(
                OrgId::parse(&org).map_err(|e| corrupt(e.to_string()))?,
                StreamType::parse(&stream_type).map_err(|e| corrupt(e.to_string()))?,
                StreamName::normalise(&name).map_err(|e| corrupt(e.to_string()))?,
            );
            pipelines.push((
                key,
                StoredPipeline {
                    definition: row.try_get("definition").map_err(read())?,
                    version: row.try_get("version").map_err(read())?,
                    updated_at: row.try_get("updated_at").map_err(read())?,
                    updated_by: row.try_get("updated_by").map_err(read())?,
                },
            ));
        }
        Ok(pipelines)
    }
}
