//! The deletion queue: stored objects that must go once a grace period has passed.
//!
//! Objects replaced by compaction or expired by retention leave the manifest at once (queries stop
//! listing them) but stay in object storage until `delete_after`, so a query that listed them just
//! before still reads them. A merge also queues its planned outputs before writing them
//! (`intent`) and takes them off the queue when it commits: an output left behind by a crash or a
//! lost race is deleted like any other.

use sqlx::Row;

use crate::{Error, MetaStore, Result};

/// Why an object is queued for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// Merged into a compacted file.
    Replaced,
    /// Older than the stream's retention.
    Expired,
    /// A merge's planned output, until the merge commits.
    Intent,
}

impl DeletionReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionReason::Replaced => "replaced",
            DeletionReason::Expired => "expired",
            DeletionReason::Intent => "intent",
        }
    }
}

/// Queues `paths` inside `transaction` (an already queued path gets the new time and reason).
pub(crate) async fn queue<'c>(
    transaction: &mut sqlx::Transaction<'c, sqlx::Any>,
    paths: impl IntoIterator<Item = &str>,
    delete_after: i64,
    reason: DeletionReason,
) -> Result<()> {
    for path in paths {
        sqlx::query(
            "INSERT INTO file_deletions (path, delete_after, reason) VALUES ($1, $2, $3)
             ON CONFLICT (path) DO UPDATE SET delete_after = excluded.delete_after, reason = excluded.reason",
        )
        .bind(path)
        .bind(delete_after)
        .bind(reason.as_str())
        .execute(&mut **transaction)
        .await
        .map_err(Error::query("queue deletion"))?;
    }
    Ok(())
}

/// Takes `paths` off the queue inside `transaction`.
pub(crate) async fn unqueue<'c>(
    transaction: &mut sqlx::Transaction<'c, sqlx::Any>,
    paths: impl IntoIterator<Item = &str>,
) -> Result<()> {
    for path in paths {
        sqlx::query("DELETE FROM file_deletions WHERE path = $1")
            .bind(path)
            .execute(&mut **transaction)
            .await
            .map_err(Error::query("unqueue deletion"))?;
    }
    Ok(())
}

impl MetaStore {
    /// Queues `paths` for deletion after `delete_after` (µs).
    pub async fn queue_deletions(
        &self,
        paths: &[String],
        delete_after: i64,
        reason: DeletionReason,
    ) -> Result<()> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin queue deletions"))?;
        queue(
            &mut transaction,
            paths.iter().map(String::as_str),
            delete_after,
            reason,
        )
        .await?;
        transaction
            .commit()
            .await
            .map_err(Error::query("commit queue deletions"))
    }

    /// Up to `limit` queued objects whose time has come at `now` (µs), oldest first.
    pub async fn due_deletions(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT path FROM file_deletions WHERE delete_after <= $1 ORDER BY delete_after, path LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list due deletions"))?;
        rows.iter()
            .map(|row| row.try_get("path").map_err(Error::query("read deletion")))
            .collect()
    }

    /// Takes deleted objects off the queue.
    pub async fn forget_deletions(&self, paths: &[String]) -> Result<()> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin forget deletions"))?;
        unqueue(&mut transaction, paths.iter().map(String::as_str)).await?;
        transaction
            .commit()
            .await
            .map_err(Error::query("commit forget deletions"))
    }

    /// Objects waiting in the queue.
    pub async fn pending_deletions(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM file_deletions")
            .fetch_one(self.pool())
            .await
            .map_err(Error::query("count deletions"))
    }
}
