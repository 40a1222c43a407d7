//! The compactor's settings.

use std::time::Duration;

use kansoku_storage::fresh::MAX_LISTING_DELAY;

/// How files are merged, expired and deleted.
#[derive(Debug, Clone)]
pub struct CompactConfig {
    /// This node's id (in the names of the files it writes).
    pub node_id: String,
    /// Whether small files are merged (retention and deletion run regardless).
    pub enabled: bool,
    /// Time between passes.
    pub interval: Duration,
    /// Ingested bytes read by one merge at most; files of half this size or more are left alone.
    pub max_bytes: i64,
    /// A file is merged only once it has been committed this long (at least twice
    /// [`MAX_LISTING_DELAY`], see `kansoku_storage::fresh`).
    pub min_age: Duration,
    /// Files of a still-open hour are merged only when at least this many small ones wait.
    pub open_hour_min_files: usize,
    /// How long replaced and expired objects stay readable after leaving the manifest.
    pub delete_grace: Duration,
    /// Days stored data is kept when a stream sets no `data_retention`; 0 keeps it forever.
    pub retention_days: i64,
    /// Time between retention passes.
    pub retention_interval: Duration,
    /// The deduplication window of streams that set none (`KANSOKU_DEDUP_WINDOW`): streams
    /// whose window is on keep one row per `_id` in what they merge.
    pub dedup_window_secs: u32,
}

impl CompactConfig {
    /// Defaults for `node_id`.
    pub fn with_defaults(node_id: impl Into<String>) -> CompactConfig {
        CompactConfig {
            node_id: node_id.into(),
            enabled: true,
            interval: Duration::from_secs(60),
            max_bytes: 64 * 1024 * 1024,
            min_age: Duration::from_secs(60),
            open_hour_min_files: 8,
            delete_grace: Duration::from_secs(15 * 60),
            retention_days: 0,
            retention_interval: Duration::from_secs(3600),
            dedup_window_secs: 600,
        }
    }

    /// What is wrong with these settings, if anything.
    pub fn check(&self) -> Result<(), String> {
        let floor = MAX_LISTING_DELAY * 2;
        if self.min_age < floor {
            return Err(format!(
                "KANSOKU_COMPACT_MIN_AGE ({:?}) must be at least {floor:?}: a file younger than that may still be read from memory by a query",
                self.min_age
            ));
        }
        if self.max_bytes < 1024 * 1024 {
            return Err(format!(
                "KANSOKU_COMPACT_MAX_BYTES ({}) must be at least 1 MiB",
                self.max_bytes
            ));
        }
        if self.open_hour_min_files < 2 {
            return Err("the open-hour minimum of files to merge must be at least 2".to_string());
        }
        Ok(())
    }

    /// Files with fewer ingested bytes than this are merged.
    pub fn small_file_bytes(&self) -> i64 {
        self.max_bytes / 2
    }
}

/// A duration in µs, saturating.
pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_a_min_age_under_the_listing_bound_is_refused() {
        let config = CompactConfig::with_defaults("n1");
        assert_eq!(config.check(), Ok(()));
        let young = CompactConfig {
            min_age: Duration::from_secs(5),
            ..config
        };
        assert!(
            young
                .check()
                .unwrap_err()
                .contains("KANSOKU_COMPACT_MIN_AGE")
        );
    }
}
