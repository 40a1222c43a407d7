//! Deleting queued objects whose grace period has passed, then their queue rows.

use crate::{Compactor, Result};

/// Objects deleted per round of a pass.
const ROUND: i64 = 1000;

impl Compactor {
    /// Deletes every due object; returns how many. An object that cannot be deleted stays queued.
    pub async fn delete_due(&self) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let due = self
                .meta
                .due_deletions(kansoku_meta::now_micros(), ROUND)
                .await?;
            let mut gone = Vec::with_capacity(due.len());
            for path in due.iter() {
                match self.store.delete(path).await {
                    Ok(()) => gone.push(path.clone()),
                    Err(error) => {
                        tracing::warn!(%path, %error, "could not delete a replaced object; retrying at the next pass")
                    }
                }
            }
            self.meta.forget_deletions(&gone).await?;
            deleted += gone.len();
            self.metrics.deleted_objects.inc_by(gone.len() as u64);
            if (due.len() as i64) < ROUND || gone.len() < due.len() {
                break;
            }
        }
        self.metrics
            .pending_deletions
            .set(self.meta.pending_deletions().await?);
        Ok(deleted)
    }
}
