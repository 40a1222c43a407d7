//! The file manifest: which Parquet files exist, and for what.
//!
//! A query lists the files of a stream overlapping its time range here before reading anything
//! from object storage. A file is visible to queries exactly when its row is committed.

use kansoku_core::{OrgId, StreamKey, StreamType};
use sqlx::Row;

use crate::{Checkpoint, DeletionReason, Error, MetaStore, Result};

/// One stored Parquet file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Object-store path of the data file.
    pub path: String,
    /// The stream it belongs to.
    pub stream: StreamKey,
    /// Smallest `_timestamp` in the file, µs.
    pub min_ts: i64,
    /// Largest `_timestamp` in the file, µs.
    pub max_ts: i64,
    /// Number of records.
    pub records: i64,
    /// Bytes the records had when ingested (JSON).
    pub raw_bytes: i64,
    /// Size of the Parquet file.
    pub stored_bytes: i64,
    /// The stream's partition keys and this file's value of each (`None`: null or absent).
    pub partition: Vec<(String, Option<String>)>,
    /// Object-store path of the full-text index, if one was built.
    pub index_path: Option<String>,
    /// Size of the index file.
    pub index_bytes: i64,
    /// Object-store path of the series index (files of metrics streams).
    pub series_path: Option<String>,
    /// The stream schema version the file was written with.
    pub schema_version: i64,
    /// The data file format version (see `kansoku-storage`).
    pub format_version: i64,
    /// The node that wrote it.
    pub node: String,
    /// When it was committed, µs.
    pub created_at: i64,
}

impl FileEntry {
    /// The data file's path and the node that wrote it: what a fresh snapshot's `covers` needs.
    pub fn path_and_node(&self) -> (&str, &str) {
        (&self.path, &self.node)
    }

    /// The error of a snapshot-then-list that was too slow three times.
    pub fn listing_too_slow(elapsed: std::time::Duration) -> Error {
        Error::TooSlow {
            operation: "file listing",
            elapsed,
        }
    }

    /// Every object of the stored file: the data file and its indexes.
    pub fn objects(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.path)
            .chain(self.index_path.as_ref())
            .chain(self.series_path.as_ref())
    }
}

/// Totals of a stream's stored files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream's name.
    pub stream: String,
    /// The stream's type.
    pub stream_type: String,
    /// Number of files.
    pub files: i64,
    /// Records in them.
    pub records: i64,
    /// Ingested bytes they hold.
    pub raw_bytes: i64,
    /// Their stored size.
    pub stored_bytes: i64,
    /// Size of their indexes.
    pub index_bytes: i64,
    /// Files small enough to be merged by the compactor.
    pub small_files: i64,
    /// Files written by the compactor.
    pub compacted_files: i64,
    /// Earliest event time, µs.
    pub min_ts: Option<i64>,
    /// Latest event time, µs.
    pub max_ts: Option<i64>,
}

macro_rules! file_columns {
    () => {
        "path, org, stream_type, stream, min_ts, max_ts, records, raw_bytes, stored_bytes, index_path, index_bytes, schema_version, format_version, node, created_at, partition_values, series_path"
    };
}

impl MetaStore {
    /// Commits `files` and, if given, moves the node's WAL checkpoint to its segment, atomically.
    /// Each row's `created_at` becomes the commit time. If the checkpoint is already at or past
    /// the segment, this publish committed before (a retry after a lost answer) and nothing
    /// changes. A checkpoint naming an instance commits only while that instance holds the
    /// node's lease ([`Error::Fenced`] otherwise), renewing it.
    pub async fn publish_files(
        &self,
        files: &[FileEntry],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<()> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin publish"))?;
        if let Some(checkpoint) = &checkpoint {
            // The lease first: a fenced process must fail even where its checkpoint looks
            // committed (its successor moved it), and the row lock it takes orders the
            // publishes of one node.
            crate::ingesters::fence_check(&mut transaction, self.dialect(), checkpoint).await?;
            let current: Option<i64> =
                sqlx::query_scalar("SELECT segment FROM wal_checkpoints WHERE node = $1")
                    .bind(checkpoint.node)
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(Error::query("read wal checkpoint"))?;
            if current.is_some_and(|current| current >= checkpoint.segment) {
                // A retry of a publish that did commit (its answer was lost): its files may
                // have been merged since; inserting them again would list their rows twice.
                transaction
                    .rollback()
                    .await
                    .map_err(Error::query("roll back publish"))?;
                return Ok(());
            }
        }
        let committed_at = crate::now_micros();
        for file in files {
            insert_file(&mut transaction, file, committed_at).await?;
        }
        if let Some(checkpoint) = checkpoint {
            sqlx::query(
                "INSERT INTO wal_checkpoints (node, segment, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (node) DO UPDATE SET segment = excluded.segment, updated_at = excluded.updated_at",
            )
            .bind(checkpoint.node)
            .bind(checkpoint.segment)
            .bind(crate::now_micros())
            .execute(&mut *transaction)
            .await
            .map_err(Error::query("move wal checkpoint"))?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit publish"))
    }

    /// The files of `stream` whose time range overlaps `[start, end)` (µs), oldest first.
    pub async fn list_files(
        &self,
        stream: &StreamKey,
        start: i64,
        end: i64,
    ) -> Result<Vec<FileEntry>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            file_columns!(),
            " FROM file_manifest
             WHERE org = $1 AND stream_type = $2 AND stream = $3 AND max_ts >= $4 AND min_ts < $5
             ORDER BY min_ts, path"
        ))
        .bind(stream.org.as_str())
        .bind(stream.stream_type.as_str())
        .bind(stream.name.as_str())
        .bind(start)
        .bind(end)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list files"))?;
        rows.iter().map(|row| file_from_row(row, stream)).collect()
    }

    /// Per-stream totals of the stored files of `org` (optionally one type); files with fewer
    /// than `small_file_bytes` ingested bytes count as small (waiting for compaction).
    pub async fn stream_stats(
        &self,
        org: &OrgId,
        stream_type: Option<StreamType>,
        small_file_bytes: i64,
    ) -> Result<Vec<StreamStats>> {
        let rows = sqlx::query(
            "SELECT stream, stream_type, COUNT(*) AS files,
                    CAST(SUM(records) AS BIGINT) AS records, CAST(SUM(raw_bytes) AS BIGINT) AS raw_bytes,
                    CAST(SUM(stored_bytes) AS BIGINT) AS stored_bytes, CAST(SUM(index_bytes) AS BIGINT) AS index_bytes,
                    CAST(SUM(CASE WHEN raw_bytes < $3 THEN 1 ELSE 0 END) AS BIGINT) AS small_files,
                    CAST(SUM(CASE WHEN path LIKE '%/compacted.%' THEN 1 ELSE 0 END) AS BIGINT) AS compacted_files,
                    MIN(min_ts) AS min_ts, MAX(max_ts) AS max_ts
             FROM file_manifest WHERE org = $1 AND ($2 = '' OR stream_type = $2)
             GROUP BY stream, stream_type ORDER BY stream_type, stream",
        )
        .bind(org.as_str())
        .bind(stream_type.map(StreamType::as_str).unwrap_or_default())
        .bind(small_file_bytes)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("stream stats"))?;
        rows.iter()
            .map(|row| {
                let read = || Error::query("read stream stats");
                Ok(StreamStats {
                    stream: row.try_get("stream").map_err(read())?,
                    stream_type: row.try_get("stream_type").map_err(read())?,
                    files: row.try_get("files").map_err(read())?,
                    records: row.try_get("records").map_err(read())?,
                    raw_bytes: row.try_get("raw_bytes").map_err(read())?,
                    stored_bytes: row.try_get("stored_bytes").map_err(read())?,
                    index_bytes: row.try_get("index_bytes").map_err(read())?,
                    small_files: row.try_get("small_files").map_err(read())?,
                    compacted_files: row.try_get("compacted_files").map_err(read())?,
                    min_ts: row.try_get("min_ts").map_err(read())?,
                    max_ts: row.try_get("max_ts").map_err(read())?,
                })
            })
            .collect()
    }

    /// Bytes `org` stores: its data files and their indexes.
    pub async fn org_stored_bytes(&self, org: &OrgId) -> Result<i64> {
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(stored_bytes + index_bytes) AS BIGINT) FROM file_manifest WHERE org = $1",
        )
        .bind(org.as_str())
        .fetch_one(self.pool())
        .await
        .map_err(Error::query("org stored bytes"))?;
        Ok(total.unwrap_or(0))
    }

    /// The last WAL segment of `node` whose data is in the manifest.
    pub async fn wal_checkpoint(&self, node: &str) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT segment FROM wal_checkpoints WHERE node = $1")
            .bind(node)
            .fetch_optional(self.pool())
            .await
            .map_err(Error::query("get wal checkpoint"))
    }
}

/// Inserts (or, for a retried flush, replaces) the manifest row of `file`, stamped with the
/// commit time `committed_at` (µs; the compactor's minimum file age counts from it).
async fn insert_file<'c>(
    transaction: &mut sqlx::Transaction<'c, sqlx::Any>,
    file: &FileEntry,
    committed_at: i64,
) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO file_manifest (",
        file_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (path) DO UPDATE SET min_ts = excluded.min_ts, max_ts = excluded.max_ts,
           records = excluded.records, raw_bytes = excluded.raw_bytes, stored_bytes = excluded.stored_bytes,
           index_path = excluded.index_path, index_bytes = excluded.index_bytes,
           schema_version = excluded.schema_version, format_version = excluded.format_version,
           node = excluded.node, created_at = excluded.created_at,
           partition_values = excluded.partition_values, series_path = excluded.series_path"
    ))
    .bind(&file.path)
    .bind(file.stream.org.as_str())
    .bind(file.stream.stream_type.as_str())
    .bind(file.stream.name.as_str())
    .bind(file.min_ts)
    .bind(file.max_ts)
    .bind(file.records)
    .bind(file.raw_bytes)
    .bind(file.stored_bytes)
    .bind(file.index_path.as_deref())
    .bind(file.index_bytes)
    .bind(file.schema_version)
    .bind(file.format_version)
    .bind(&file.node)
    .bind(committed_at)
    .bind(encode_partition(&file.partition)?)
    .bind(file.series_path.as_deref())
    .execute(&mut **transaction)
    .await
    .map_err(Error::query("insert file"))?;
    Ok(())
}

/// Deletes the manifest row of `path` inside `transaction`; whether it was there.
async fn delete_file_row<'c>(
    transaction: &mut sqlx::Transaction<'c, sqlx::Any>,
    path: &str,
) -> Result<bool> {
    let result = sqlx::query("DELETE FROM file_manifest WHERE path = $1")
        .bind(path)
        .execute(&mut **transaction)
        .await
        .map_err(Error::query("remove file"))?;
    Ok(result.rows_affected() == 1)
}

fn file_from_row(row: &sqlx::any::AnyRow, stream: &StreamKey) -> Result<FileEntry> {
    let read = || Error::query("read file");
    Ok(FileEntry {
        path: row.try_get("path").map_err(read())?,
        stream: stream.clone(),
        min_ts: row.try_get("min_ts").map_err(read())?,
        max_ts: row.try_get("max_ts").map_err(read())?,
        records: row.try_get("records").map_err(read())?,
        raw_bytes: row.try_get("raw_bytes").map_err(read())?,
        stored_bytes: row.try_get("stored_bytes").map_err(read())?,
        index_path: row.try_get("index_path").map_err(read())?,
        index_bytes: row.try_get("index_bytes").map_err(read())?,
        series_path: row.try_get("series_path").map_err(read())?,
        schema_version: row.try_get("schema_version").map_err(read())?,
        format_version: row.try_get("format_version").map_err(read())?,
        node: row.try_get("node").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        partition: decode_partition(
            &row.try_get::<String, _>("partition_values")
                .map_err(read())?,
        )?,
    })
}

/// Partition values as stored: `""` for none, else a JSON array of `[key, value]` pairs.
fn encode_partition(partition: &[(String, Option<String>)]) -> Result<String> {
    if partition.is_empty() {
        return Ok(String::new());
    }
    serde_json::to_string(partition).map_err(|e| Error::Corrupt {
        what: "partition values",
        detail: e.to_string(),
    })
}

fn decode_partition(text: &str) -> Result<Vec<(String, Option<String>)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        what: "partition values",
        detail: e.to_string(),
    })
}

impl MetaStore {
    /// Up to `limit` files of `stream` whose newest record is older than `cutoff` (µs).
    pub async fn files_older_than(
        &self,
        stream: &StreamKey,
        cutoff: i64,
        limit: i64,
    ) -> Result<Vec<FileEntry>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            file_columns!(),
            " FROM file_manifest WHERE org = $1 AND stream_type = $2 AND stream = $3 AND max_ts < $4 ORDER BY path LIMIT $5"
        ))
        .bind(stream.org.as_str())
        .bind(stream.stream_type.as_str())
        .bind(stream.name.as_str())
        .bind(cutoff)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list expired files"))?;
        rows.iter().map(|row| file_from_row(row, stream)).collect()
    }

    /// Removes the rows of `files` (queries stop seeing them) and queues their objects for
    /// deletion after `delete_after` (µs), in one transaction. Rows already gone are skipped;
    /// returns how many were removed.
    pub async fn expire_files(&self, files: &[FileEntry], delete_after: i64) -> Result<usize> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin expire files"))?;
        let mut removed = 0;
        for file in files {
            if !delete_file_row(&mut transaction, &file.path).await? {
                continue;
            }
            removed += 1;
            crate::deletions::queue(
                &mut transaction,
                file.objects().map(String::as_str),
                delete_after,
                DeletionReason::Expired,
            )
            .await?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit expire files"))?;
        Ok(removed)
    }

    /// Replaces the files `inputs` by `outputs` in one transaction: the inputs' rows are removed
    /// and their objects queued for deletion after `delete_after` (µs), the outputs' rows are
    /// committed and taken off the deletion queue (where the merge put them as intents). If any
    /// input row is already gone (another compactor, retention, a deleted stream) or any output
    /// object is no longer queued as an intent (the deleter claimed it), nothing changes and
    /// `false` is returned.
    pub async fn swap_files(
        &self,
        inputs: &[FileEntry],
        outputs: &[FileEntry],
        delete_after: i64,
    ) -> Result<bool> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin swap files"))?;
        for input in inputs {
            if !delete_file_row(&mut transaction, &input.path).await? {
                transaction
                    .rollback()
                    .await
                    .map_err(Error::query("roll back swap files"))?;
                return Ok(false);
            }
            crate::deletions::queue(
                &mut transaction,
                input.objects().map(String::as_str),
                delete_after,
                DeletionReason::Replaced,
            )
            .await?;
        }
        let committed_at = crate::now_micros();
        for output in outputs {
            insert_file(&mut transaction, output, committed_at).await?;
            // Each output object must still be queued as an intent: if the deleter claimed it,
            // the object is (being) deleted and the output must not be listed.
            for object in output.objects() {
                if !crate::deletions::take_intent(&mut transaction, object).await? {
                    transaction
                        .rollback()
                        .await
                        .map_err(Error::query("roll back swap files"))?;
                    return Ok(false);
                }
            }
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit swap files"))?;
        Ok(true)
    }

    /// The oldest `limit` files of `stream` with fewer than `max_raw_bytes` ingested bytes,
    /// committed before `committed_before` (µs): what compaction may merge. Ordered by time.
    pub async fn small_files(
        &self,
        stream: &StreamKey,
        max_raw_bytes: i64,
        committed_before: i64,
        limit: i64,
    ) -> Result<Vec<FileEntry>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            file_columns!(),
            " FROM file_manifest WHERE org = $1 AND stream_type = $2 AND stream = $3
              AND raw_bytes < $4 AND created_at < $5 ORDER BY min_ts, path LIMIT $6"
        ))
        .bind(stream.org.as_str())
        .bind(stream.stream_type.as_str())
        .bind(stream.name.as_str())
        .bind(max_raw_bytes)
        .bind(committed_before)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list small files"))?;
        rows.iter().map(|row| file_from_row(row, stream)).collect()
    }
}
