//! The deletion queue: stored objects that must go once a grace period has passed.
//!
//! Objects replaced by compaction or expired by retention leave the manifest at once (queries stop
//! listing them) but stay in object storage until `delete_after`, so a query that listed them just
//! before still reads them. A merge also queues its planned outputs before writing them
//! (`intent`) and takes them off the queue when it commits: an output left behind by a crash or a
//! lost race is deleted like any other. A deleter marks a due row `deleting`, deletes the object,
//! then removes the row, so a crash at any point leaves every object either listed or queued.

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
    /// Claimed by a deleter that could not delete it; tried again later.
    Retry,
    /// Claimed by a deleter, which takes the row off once the object is gone (a deleter killed
    /// in between leaves it due, to be claimed again).
    Deleting,
}

impl DeletionReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionReason::Replaced => "replaced",
            DeletionReason::Expired => "expired",
            DeletionReason::Intent => "intent",
            DeletionReason::Retry => "retry",
            DeletionReason::Deleting => "deleting",
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

/// Takes the intent of `path` off the queue inside `transaction`; whether it was still there.
pub(crate) async fn take_intent<'c>(
    transaction: &mut sqlx::Transaction<'c, sqlx::Any>,
    path: &str,
) -> Result<bool> {
    let result = sqlx::query("DELETE FROM file_deletions WHERE path = $1 AND reason = $2")
        .bind(path)
        .bind(DeletionReason::Intent.as_str())
        .execute(&mut **transaction)
        .await
        .map_err(Error::query("take intent"))?;
    Ok(result.rows_affected() == 1)
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

    /// Claims a due object for deletion: marks it `deleting` if it is still queued and due at
    /// `now`; whether this caller may delete it. A merge whose output intent was claimed cannot
    /// commit any more (its swap needs the row still an intent), so the object is never listed
    /// once deleted. The row stays until [`MetaStore::forget_deletion`], so a deleter killed
    /// before deleting the object leaves it queued and due.
    pub async fn claim_deletion(&self, path: &str, now: i64) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE file_deletions SET reason = $1 WHERE path = $2 AND delete_after <= $3",
        )
        .bind(DeletionReason::Deleting.as_str())
        .bind(path)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(Error::query("claim deletion"))?;
        Ok(result.rows_affected() == 1)
    }

    /// Takes a claimed object off the queue once it is deleted.
    pub async fn forget_deletion(&self, path: &str) -> Result<()> {
        sqlx::query("DELETE FROM file_deletions WHERE path = $1 AND reason = $2")
            .bind(path)
            .bind(DeletionReason::Deleting.as_str())
            .execute(self.pool())
            .await
            .map_err(Error::query("forget deletion"))?;
        Ok(())
    }

    /// Takes a merge's intents off the queue (its output was deleted at once).
    pub async fn forget_intents(&self, paths: &[String]) -> Result<()> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin forget intents"))?;
        for path in paths {
            take_intent(&mut transaction, path).await?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit forget intents"))
    }

    /// Objects waiting in the queue.
    pub async fn pending_deletions(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM file_deletions")
            .fetch_one(self.pool())
            .await
            .map_err(Error::query("count deletions"))
    }
}
