//! Deleting queued objects whose grace period has passed: each is claimed (marked `deleting`)
//! before its object is deleted and taken off the queue after, so a merge whose output intent was
//! claimed can no longer commit and a deleter killed midway leaves the object queued; an object
//! that cannot be deleted is queued again for a later pass.

use kansoku_meta::DeletionReason;

use crate::config::micros;
use crate::{Compactor, Result};

/// Objects looked at per round of a pass.
const ROUND: i64 = 1000;
/// Delay before an object that could not be deleted is tried again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

impl Compactor {
    /// Deletes every due object; returns how many.
    pub async fn delete_due(&self) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let now = kansoku_meta::now_micros();
            let due = self.meta.due_deletions(now, ROUND).await?;
            for path in &due {
                if !self.meta.claim_deletion(path, now).await? {
                    continue;
                }
                match self.store.delete(path).await {
                    Ok(()) => {
                        self.meta.forget_deletion(path).await?;
                        deleted += 1;
                    }
                    Err(error) => {
                        tracing::warn!(%path, %error, "could not delete a replaced object; retrying later");
                        self.meta
                            .queue_deletions(
                                std::slice::from_ref(path),
                                now.saturating_add(micros(RETRY_AFTER)),
                                DeletionReason::Retry,
                            )
                            .await?;
                    }
                }
            }
            if (due.len() as i64) < ROUND {
                break;
            }
        }
        self.metrics.deleted_objects.inc_by(deleted as u64);
        self.metrics
            .pending_deletions
            .set(self.meta.pending_deletions().await?);
        Ok(deleted)
    }
}
