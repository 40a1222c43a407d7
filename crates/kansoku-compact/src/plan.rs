//! Which small files to merge: a pure function of the manifest's small files and the clock.
//!
//! Files are grouped by UTC hour and partition values (every row of a file shares both). In a
//! closed hour — its end plus the minimum file age has passed, so no flush will add to it — every
//! small file is merged, as soon as two wait (but a single compacted file only with at least two
//! others: late files do not rewrite it one by one). In the open hour only flush files are merged, and
//! only when [`CompactConfig::open_hour_min_files`] of them wait: a compacted file is rewritten at
//! most once more, when its hour closes, so each record is written at most three times.
//! Within a group, files are taken in time order, as many as fit in
//! [`CompactConfig::max_bytes`] of ingested bytes per merge.

use std::collections::BTreeMap;

use kansoku_core::time::{MICROS_PER_HOUR, hour_start};
use kansoku_meta::FileEntry;
use kansoku_storage::layout::is_compacted;

use crate::CompactConfig;

/// One merge: files of one stream, hour and partition, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// Start of the UTC hour, µs.
    pub hour: i64,
    /// The files to replace (at least two).
    pub inputs: Vec<FileEntry>,
}

/// A file's UTC hour and partition values.
type GroupKey = (i64, Vec<(String, Option<String>)>);

/// The merges to run over `small` (the stream's small files old enough to merge) at `now` (µs).
pub fn plan(small: Vec<FileEntry>, now: i64, config: &CompactConfig) -> Vec<Merge> {
    let mut groups: BTreeMap<GroupKey, Vec<FileEntry>> = BTreeMap::new();
    for file in small {
        let key = (hour_start(file.min_ts), file.partition.clone());
        groups.entry(key).or_default().push(file);
    }
    let min_age = crate::config::micros(config.min_age);
    let mut merges = Vec::new();
    for ((hour, _), mut files) in groups {
        let closed = hour.saturating_add(MICROS_PER_HOUR).saturating_add(min_age) <= now;
        let min_files = if closed {
            // One compacted leftover is rewritten only to take in at least two new files, so a
            // trickle of late files does not rewrite the hour once per file.
            let compacted = files.iter().filter(|file| is_compacted(&file.path)).count();
            if compacted == 1 && files.len() < 3 {
                continue;
            }
            2
        } else {
            files.retain(|file| !is_compacted(&file.path));
            config.open_hour_min_files
        };
        files.sort_by(|a, b| (a.min_ts, &a.path).cmp(&(b.min_ts, &b.path)));
        let mut batch: Vec<FileEntry> = Vec::new();
        let mut batch_bytes = 0i64;
        for file in files {
            if !batch.is_empty() && batch_bytes.saturating_add(file.raw_bytes) > config.max_bytes {
                if batch.len() >= min_files {
                    merges.push(Merge {
                        hour,
                        inputs: std::mem::take(&mut batch),
                    });
                }
                batch.clear();
                batch_bytes = 0;
            }
            batch_bytes = batch_bytes.saturating_add(file.raw_bytes);
            batch.push(file);
        }
        if batch.len() >= min_files {
            merges.push(Merge {
                hour,
                inputs: batch,
            });
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;
    use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
    use proptest::prelude::*;
    use std::collections::HashSet;

    const HOUR: i64 = MICROS_PER_HOUR;

    fn file(path: &str, ts: i64, raw_bytes: i64, partition: Option<&str>) -> FileEntry {
        FileEntry {
            path: path.to_string(),
            stream: StreamKey::new(
                OrgId::parse("default").unwrap(),
                StreamType::Logs,
                StreamName::normalise("app").unwrap(),
            ),
            min_ts: ts,
            max_ts: ts + 10,
            records: 1,
            raw_bytes,
            stored_bytes: raw_bytes / 10,
            partition: partition
                .map(|value| vec![("ns".to_string(), Some(value.to_string()))])
                .unwrap_or_default(),
            index_path: None,
            index_bytes: 0,
            series_path: None,
            schema_version: 1,
            format_version: 1,
            node: "n1".to_string(),
            created_at: 0,
        }
    }

    fn config() -> CompactConfig {
        CompactConfig {
            max_bytes: 100,
            ..CompactConfig::with_defaults("n1")
        }
    }

    fn paths(merge: &Merge) -> Vec<&str> {
        merge.inputs.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_closed_hour_merges_every_small_file_by_partition_within_the_byte_budget() {
        let files = vec![
            file("a", 10, 30, Some("x")),
            file("b", 20, 30, Some("y")),
            file("c", 30, 30, Some("x")),
            file("d", 40, 30, Some("x")),
            file("e", 50, 30, Some("x")),
            file("lonely", 60, 30, Some("y")),
        ];
        let merges = plan(files, 10 * HOUR, &config());
        let merged: Vec<Vec<&str>> = merges.iter().map(paths).collect();
        // x: a, c, d fit in 100 bytes; e alone is not worth a merge; y: b and lonely.
        assert_eq!(merged, vec![vec!["a", "c", "d"], vec!["b", "lonely"]]);
    }

    #[test]
    fn a_closed_hour_rewrites_its_compacted_file_only_for_two_new_files() {
        let leftover = file("x/compacted.n1-0000000000000001-0.parquet", 10, 40, None);
        let late = file("late1", 20, 5, None);
        assert!(plan(vec![leftover.clone(), late.clone()], 10 * HOUR, &config()).is_empty());
        let merges = plan(
            vec![leftover.clone(), late, file("late2", 30, 5, None)],
            10 * HOUR,
            &config(),
        );
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].inputs.len(), 3);
        // Two compacted leftovers (of the open hour's merges) become one.
        let other = file("x/compacted.n1-0000000000000002-0.parquet", 40, 40, None);
        assert_eq!(plan(vec![leftover, other], 10 * HOUR, &config()).len(), 1);
    }

    #[test]
    fn the_open_hour_waits_for_enough_flush_files_and_leaves_compacted_ones() {
        let now = 5 * HOUR + 10;
        let mut files: Vec<FileEntry> = (0..7)
            .map(|i| file(&format!("f{i}"), 5 * HOUR + i, 1, None))
            .collect();
        files.push(file(
            "compacted.n1-0000000000000001-0.parquet",
            5 * HOUR,
            5,
            None,
        ));
        assert!(plan(files.clone(), now, &config()).is_empty());
        files.push(file("f7", 5 * HOUR + 7, 1, None));
        let merges = plan(files.clone(), now, &config());
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].inputs.len(), 8);
        assert!(merges[0].inputs.iter().all(|f| !is_compacted(&f.path)));
        // Once the hour (plus the minimum age) is over, the compacted file joins in.
        let closed = 6 * HOUR + i64::try_from(config().min_age.as_micros()).unwrap();
        assert_eq!(plan(files, closed, &config())[0].inputs.len(), 9);
    }

    proptest! {
        #[test]
        fn merges_are_disjoint_homogeneous_and_within_budget(
            specs in proptest::collection::vec((0i64..4, 0i64..3600, 1i64..80, 0usize..3), 0..60),
            now_hours in 0i64..6,
        ) {
            let files: Vec<FileEntry> = specs
                .iter()
                .enumerate()
                .map(|(i, (hour, second, bytes, part))| {
                    file(
                        &format!("f{i}"),
                        hour * HOUR + second * 1_000_000,
                        *bytes,
                        [None, Some("x"), Some("y")][*part],
                    )
                })
                .collect();
            let merges = plan(files, now_hours * HOUR, &config());
            let mut seen = HashSet::new();
            for merge in &merges {
                prop_assert!(merge.inputs.len() >= 2);
                let total: i64 = merge.inputs.iter().map(|f| f.raw_bytes).sum();
                prop_assert!(total <= config().max_bytes);
                for input in &merge.inputs {
                    prop_assert!(seen.insert(input.path.clone()), "a file in two merges");
                    prop_assert_eq!(hour_start(input.min_ts), merge.hour);
                    prop_assert_eq!(&input.partition, &merge.inputs[0].partition);
                }
            }
        }
    }
}
