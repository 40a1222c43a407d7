//! Streams: their settings and their schema versions.

use std::collections::BTreeMap;

use kansoku_core::{
    FieldType, OrgId, StreamKey, StreamName, StreamSchema, StreamSettings, StreamType,
};
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, MetaStore, Result, now_micros};

/// A stream as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Its identity.
    pub key: StreamKey,
    /// Its settings.
    pub settings: StreamSettings,
    /// Creation time, µs.
    pub created_at: i64,
}

impl MetaStore {
    /// Creates the stream with default settings unless it exists; returns its settings.
    pub async fn ensure_stream(&self, key: &StreamKey) -> Result<StreamSettings> {
        let defaults =
            serde_json::to_string(&StreamSettings::default()).map_err(|e| Error::Corrupt {
                what: "stream settings",
                detail: e.to_string(),
            })?;
        sqlx::query(
            "INSERT INTO streams (org, stream_type, name, settings, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org, stream_type, name) DO NOTHING",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .bind(defaults)
        .bind(now_micros())
        .execute(self.pool())
        .await
        .map_err(Error::query("create stream"))?;
        match self.get_stream(key).await? {
            Some(stream) => Ok(stream.settings),
            None => Err(Error::NotFound(format!("stream {key} vanished"))),
        }
    }

    /// The stream, if it exists.
    pub async fn get_stream(&self, key: &StreamKey) -> Result<Option<StreamRecord>> {
        let row = sqlx::query(
            "SELECT org, stream_type, name, settings, created_at FROM streams
             WHERE org = $1 AND stream_type = $2 AND name = $3",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get stream"))?;
        row.map(|row| stream_from_row(&row)).transpose()
    }

    /// The streams of `org`, optionally of one type, by type and name.
    pub async fn list_streams(
        &self,
        org: &OrgId,
        stream_type: Option<StreamType>,
    ) -> Result<Vec<StreamRecord>> {
        let rows = sqlx::query(
            "SELECT org, stream_type, name, settings, created_at FROM streams
             WHERE org = $1 AND ($2 = '' OR stream_type = $2) ORDER BY stream_type, name",
        )
        .bind(org.as_str())
        .bind(stream_type.map(StreamType::as_str).unwrap_or_default())
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list streams"))?;
        rows.iter().map(stream_from_row).collect()
    }

    /// Replaces the stream's settings.
    pub async fn put_stream_settings(
        &self,
        key: &StreamKey,
        settings: &StreamSettings,
    ) -> Result<()> {
        let json = serde_json::to_string(settings).map_err(|e| Error::Corrupt {
            what: "stream settings",
            detail: e.to_string(),
        })?;
        let result = sqlx::query(
            "UPDATE streams SET settings = $1 WHERE org = $2 AND stream_type = $3 AND name = $4",
        )
        .bind(json)
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .execute(self.pool())
        .await
        .map_err(Error::query("update stream settings"))?;
        if result.rows_affected() == 0 {
            return Err(Error::NotFound(format!("stream '{}' not found", key.name)));
        }
        Ok(())
    }

    /// Deletes the stream, its schemas and its manifest rows in one transaction; returns the
    /// paths of the data and index files that must now be deleted from object storage.
    pub async fn delete_stream(&self, key: &StreamKey) -> Result<Vec<String>> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin delete stream"))?;
        // DELETE … RETURNING: a compactor's swap committing meanwhile cannot slip a file in
        // between a listing and the deletion (its objects would never be deleted).
        let rows = sqlx::query(
            "DELETE FROM file_manifest WHERE org = $1 AND stream_type = $2 AND stream = $3
             RETURNING path, index_path, series_path",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .fetch_all(&mut *transaction)
        .await
        .map_err(Error::query("list stream files"))?;
        let mut paths = Vec::with_capacity(rows.len());
        for row in &rows {
            paths.push(
                row.try_get("path")
                    .map_err(Error::query("read file path"))?,
            );
            for column in ["index_path", "series_path"] {
                let index: Option<String> = row
                    .try_get(column)
                    .map_err(Error::query("read index path"))?;
                paths.extend(index);
            }
        }
        for statement in [
            "DELETE FROM stream_schemas WHERE org = $1 AND stream_type = $2 AND name = $3",
            "DELETE FROM stream_pipelines WHERE org = $1 AND stream_type = $2 AND name = $3",
            "DELETE FROM streams WHERE org = $1 AND stream_type = $2 AND name = $3",
        ] {
            sqlx::query(statement)
                .bind(key.org.as_str())
                .bind(key.stream_type.as_str())
                .bind(key.name.as_str())
                .execute(&mut *transaction)
                .await
                .map_err(Error::query("delete stream"))?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit delete stream"))?;
        Ok(paths)
    }

    /// The newest schema of the stream (version 0 and no fields if it has none).
    pub async fn latest_schema(&self, key: &StreamKey) -> Result<StreamSchema> {
        let row = sqlx::query(
            "SELECT version, fields FROM stream_schemas WHERE org = $1 AND stream_type = $2 AND name = $3
             ORDER BY version DESC LIMIT 1",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get schema"))?;
        let Some(row) = row else {
            return Ok(StreamSchema::default());
        };
        let version: i64 = row
            .try_get("version")
            .map_err(Error::query("read schema"))?;
        let fields: String = row.try_get("fields").map_err(Error::query("read schema"))?;
        let fields: BTreeMap<String, FieldType> =
            serde_json::from_str(&fields).map_err(|e| Error::Corrupt {
                what: "stream schema",
                detail: e.to_string(),
            })?;
        Ok(StreamSchema { version, fields })
    }

    /// Stores `schema` as the stream's next version. Fails with `Conflict` when another writer
    /// stored that version first; the caller then reloads, merges and retries.
    pub async fn save_schema(&self, key: &StreamKey, schema: &StreamSchema) -> Result<()> {
        let fields = serde_json::to_string(&schema.fields).map_err(|e| Error::Corrupt {
            what: "stream schema",
            detail: e.to_string(),
        })?;
        let inserted = sqlx::query(
            "INSERT INTO stream_schemas (org, stream_type, name, version, fields, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.org.as_str())
        .bind(key.stream_type.as_str())
        .bind(key.name.as_str())
        .bind(schema.version)
        .bind(fields)
        .bind(now_micros())
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(Error::Conflict(format!(
                "schema version {} of {key} was written concurrently",
                schema.version
            ))),
            Err(error) => Err(Error::query("save schema")(error)),
        }
    }
}

fn stream_from_row(row: &sqlx::any::AnyRow) -> Result<StreamRecord> {
    let read = || Error::query("read stream");
    let org: String = row.try_get("org").map_err(read())?;
    let stream_type: String = row.try_get("stream_type").map_err(read())?;
    let name: String = row.try_get("name").map_err(read())?;
    let settings: String = row.try_get("settings").map_err(read())?;
    let corrupt = |detail: String| Error::Corrupt {
        what: "stream",
        detail,
    };
    Ok(StreamRecord {
        key: StreamKey::new(
            OrgId::parse(&org).map_err(|e| corrupt(e.to_string()))?,
            StreamType::parse(&stream_type).map_err(|e| corrupt(e.to_string()))?,
            StreamName::normalise(&name).map_err(|e| corrupt(e.to_string()))?,
        ),
        settings: serde_json::from_str(&settings).map_err(|e| corrupt(e.to_string()))?,
        created_at: row.try_get("created_at").map_err(read())?,
    })
}

impl MetaStore {
    /// Every stream of every organisation.
    pub async fn list_all_streams(&self) -> Result<Vec<StreamRecord>> {
        let rows = sqlx::query(
            "SELECT org, stream_type, name, settings, created_at FROM streams ORDER BY org, stream_type, name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list all streams"))?;
        rows.iter().map(stream_from_row).collect()
    }
}
