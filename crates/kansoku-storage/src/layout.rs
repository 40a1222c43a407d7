//! The bucket layout (format version 1). The only code that builds or parses object paths.
//!
//! ```text
//! files/{org}/{stream_type}/{stream}/{YYYY}/{MM}/{DD}/{HH}/[{key}={value}/…]{node}-{segment:016x}.parquet
//! files/{org}/{stream_type}/{stream}/{YYYY}/{MM}/{DD}/{HH}/{node}-{segment:016x}.idx      (its index)
//! files/{org}/{stream_type}/{stream}/{YYYY}/{MM}/{DD}/{HH}/{node}-{segment:016x}.series   (metrics: series index)
//! files/{org}/{stream_type}/{stream}/{YYYY}/{MM}/{DD}/{HH}/[…/]compacted.{node}-{µs:016x}-{n}.parquet  (+ .idx/.series)
//! ```
//!
//! The hour directory is the UTC hour of every record in the file; with partition keys, one
//! directory level per key holds its (encoded) value. The file name is deterministic
//! for a given flush (node and last WAL segment), so a flush retried after a crash overwrites its
//! own earlier attempt instead of leaving a second copy behind.

use kansoku_core::StreamKey;

use crate::partition::{PartitionGroup, encode_value};
use kansoku_core::time::MICROS_PER_HOUR;

/// The object path of a data file of one hour and one set of partition values.
pub fn data_file_path(stream: &StreamKey, group: &PartitionGroup, stem: &str) -> String {
    let (year, month, day, hour) = utc_hour_parts(group.hour);
    let mut path = format!(
        "files/{}/{}/{}/{year:04}/{month:02}/{day:02}/{hour:02}/",
        stream.org, stream.stream_type, stream.name
    );
    for (key, value) in &group.values {
        path.push_str(&format!("{key}={}/", encode_value(value.as_deref())));
    }
    path.push_str(stem);
    path.push_str(".parquet");
    path
}

/// The object path of the full-text index of the data file at `data_path` (`….parquet` → `….idx`).
pub fn index_path(data_path: &str) -> String {
    match data_path.strip_suffix(".parquet") {
        Some(stem) => format!("{stem}.idx"),
        None => format!("{data_path}.idx"),
    }
}

/// The object path of the series index of the data file at `data_path` (`….series`).
pub fn series_index_path(data_path: &str) -> String {
    match data_path.strip_suffix(".parquet") {
        Some(stem) => format!("{stem}.series"),
        None => format!("{data_path}.series"),
    }
}

/// The prefix under which all files of a stream live.
pub fn stream_prefix(stream: &StreamKey) -> String {
    format!(
        "files/{}/{}/{}/",
        stream.org, stream.stream_type, stream.name
    )
}

/// The deterministic file stem of a flush: writing node and last WAL segment, and the epoch of
/// the writer's lease when it holds one (`e{epoch}.{node}-{segment:016x}`; node ids hold no
/// `.`, so this never reads as another node's name). Two instances that held one node at
/// different epochs never write the same name: a fenced instance's late upload cannot replace
/// a file its successor committed. Names without the epoch (a single process without a lease,
/// and every file written before leases) stay as they were.
pub fn flush_file_stem(node: &str, epoch: Option<i64>, last_segment: u64) -> String {
    match epoch {
        Some(epoch) => format!("e{epoch}.{node}-{last_segment:016x}"),
        None => format!("{node}-{last_segment:016x}"),
    }
}

/// Prefix of the names of files written by compaction. Node ids hold only letters, digits, `-`
/// and `_`, so no flush file's name can start with it.
const COMPACTED_PREFIX: &str = "compacted.";

/// The file stem of the `n`-th output of a merge made by `node` at `micros`. It never parses as
/// a flush file's stem, so no fresh snapshot covers a compacted file.
pub fn compacted_file_stem(node: &str, micros: i64, n: usize) -> String {
    format!("{COMPACTED_PREFIX}{node}-{micros:016x}-{n}")
}

/// Whether the data file at `data_path` was written by compaction.
pub fn is_compacted(data_path: &str) -> bool {
    data_path
        .rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with(COMPACTED_PREFIX))
}

/// The last WAL segment in the name of a flushed data file (see [`flush_file_stem`]), if the
/// path has that form (compacted files have none).
pub fn flush_segment(data_path: &str) -> Option<u64> {
    if is_compacted(data_path) {
        return None;
    }
    let name = data_path.rsplit('/').next()?.strip_suffix(".parquet")?;
    let (_, segment) = name.rsplit_once('-')?;
    if segment.len() != 16 {
        return None;
    }
    u64::from_str_radix(segment, 16).ok()
}

/// `(year, month, day, hour)` in UTC of an instant in µs.
pub fn utc_hour_parts(micros: i64) -> (i64, u32, u32, u32) {
    let hours = micros.div_euclid(MICROS_PER_HOUR);
    let days = hours.div_euclid(24);
    let hour = hours.rem_euclid(24) as u32;
    let (year, month, day) = civil_from_days(days);
    (year, month, day, hour)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kansoku_core::{OrgId, StreamName, StreamType};

    #[test]
    fn paths_follow_the_documented_layout() {
        let stream = StreamKey::new(
            OrgId::parse("default").unwrap(),
            StreamType::Logs,
            StreamName::normalise("k8s").unwrap(),
        );
        // 2020-03-02T09:22:24Z
        let micros = 1_583_140_944_000_000;
        let hour = kansoku_core::time::hour_start(micros);
        let plain = PartitionGroup {
            hour,
            values: Vec::new(),
        };
        assert_eq!(
            data_file_path(&stream, &plain, &flush_file_stem("node1", None, 42)),
            "files/default/logs/k8s/2020/03/02/09/node1-000000000000002a.parquet"
        );
        let partitioned = PartitionGroup {
            hour,
            values: vec![
                ("ns".to_string(), Some("kube system".to_string())),
                ("app".to_string(), None),
            ],
        };
        assert_eq!(
            data_file_path(&stream, &partitioned, "n-1"),
            "files/default/logs/k8s/2020/03/02/09/ns=kube+20system/app=__null__/n-1.parquet"
        );
    }

    #[test]
    fn civil_dates_are_correct_around_edges() {
        assert_eq!(utc_hour_parts(0), (1970, 1, 1, 0));
        assert_eq!(utc_hour_parts(-1), (1969, 12, 31, 23));
        // 2000-02-29T23:00:00Z
        assert_eq!(utc_hour_parts(951_865_200_000_000), (2000, 2, 29, 23));
        // 2024-12-31T23:59:59Z
        assert_eq!(utc_hour_parts(1_735_689_599_000_000), (2024, 12, 31, 23));
    }

    #[test]
    fn flush_segments_are_read_back_from_paths() {
        for epoch in [None, Some(1), Some(12_345)] {
            let stem = flush_file_stem("node-a-1", epoch, 42);
            assert_eq!(
                flush_segment(&format!(
                    "files/default/logs/k8s/2020/03/02/09/{stem}.parquet"
                )),
                Some(42)
            );
        }
        assert_eq!(flush_file_stem("n1", Some(3), 5), "e3.n1-0000000000000005");
        // A node named like the compactor's prefix still writes flush files.
        assert!(!is_compacted(&format!(
            "files/x/{}.parquet",
            flush_file_stem("compacted", Some(2), 5)
        )));
        assert_eq!(flush_segment("files/x/n-1.parquet"), None);
        assert_eq!(flush_segment("files/x/node1-000000000000002a.idx"), None);
        let compacted = format!("files/x/{}.parquet", compacted_file_stem("node1", 42, 0));
        assert!(is_compacted(&compacted));
        assert!(!is_compacted("files/x/node1-000000000000002a.parquet"));
        assert_eq!(flush_segment(&compacted), None);
        // Whatever the output number, a compacted name never reads as a segment.
        assert_eq!(
            flush_segment(&format!(
                "files/x/{}.parquet",
                compacted_file_stem("n", 7, 12345678901234567)
            )),
            None
        );
    }
}
