//! Partitioning rows into files: by UTC hour and by the values of a stream's partition keys.
//!
//! The same grouping decides the file paths when in-memory data is frozen and the rows of each
//! file when it is written, so both always agree.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use kansoku_core::time::hour_start;

/// One file's share of a stream: an hour and partition values (`None` = null or absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionGroup {
    /// Start of the UTC hour, µs.
    pub hour: i64,
    /// `(key, value)` in the order of the stream's partition keys.
    pub values: Vec<(String, Option<String>)>,
}

/// The group of every row of a batch.
pub struct Grouping {
    /// Distinct groups, in order of first appearance.
    pub groups: Vec<PartitionGroup>,
    /// For each row, the index of its group.
    pub row_groups: Vec<u32>,
}

/// Groups the rows of `batch` (first column `_timestamp`) by hour and `keys`.
pub fn group_rows(batch: &RecordBatch, keys: &[String]) -> Grouping {
    let timestamps = batch.column(0).as_primitive::<Int64Type>();
    let columns: Vec<Option<arrow::array::ArrayRef>> = keys
        .iter()
        .map(|key| {
            batch
                .column_by_name(key)
                .and_then(|column| arrow::compute::cast(column, &DataType::Utf8).ok())
        })
        .collect();
    let mut groups: Vec<PartitionGroup> = Vec::new();
    let mut index: std::collections::HashMap<PartitionGroup, u32> =
        std::collections::HashMap::new();
    let mut row_groups = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let values = keys
            .iter()
            .zip(&columns)
            .map(|(key, column)| {
                let value = column.as_ref().and_then(|column| {
                    let strings = column.as_string::<i32>();
                    strings
                        .is_valid(row)
                        .then(|| strings.value(row).to_string())
                });
                (key.clone(), value)
            })
            .collect();
        let group = PartitionGroup {
            hour: hour_start(timestamps.value(row)),
            values,
        };
        let next = groups.len() as u32;
        let id = *index.entry(group.clone()).or_insert_with(|| {
            groups.push(group);
            next
        });
        row_groups.push(id);
    }
    Grouping { groups, row_groups }
}

/// A path segment for a partition value: `[A-Za-z0-9._-]` kept, every other byte `+XX` (only
/// characters object stores keep as they are); null is `__null__`; long values are cut and
/// suffixed with a hash so distinct values stay distinct.
pub fn encode_value(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "__null__".to_string();
    };
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("+{byte:02X}"));
        }
    }
    if encoded == "." || encoded == ".." || encoded.is_empty() {
        encoded = format!("+{}", encoded.len());
    }
    const MAX: usize = 96;
    if encoded.len() <= MAX {
        return encoded;
    }
    let hash = value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}.{hash:016x}", &encoded[..MAX])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use kansoku_core::time::MICROS_PER_HOUR;
    use std::sync::Arc;

    #[test]
    fn rows_group_by_hour_and_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new("ns", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, MICROS_PER_HOUR, 3])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    Some("a"),
                    None,
                ])),
            ],
        )
        .unwrap();
        let grouping = group_rows(&batch, &["ns".to_string(), "missing".to_string()]);
        assert_eq!(grouping.groups.len(), 4);
        assert_eq!(grouping.row_groups, vec![0, 1, 2, 3]);
        assert_eq!(
            grouping.groups[0].values,
            vec![
                ("ns".to_string(), Some("a".to_string())),
                ("missing".to_string(), None)
            ]
        );
        let plain = group_rows(&batch, &[]);
        assert_eq!(plain.groups.len(), 2);
        assert_eq!(plain.row_groups, vec![0, 0, 1, 0]);
    }

    #[test]
    fn values_encode_safely() {
        assert_eq!(encode_value(Some("kube-system")), "kube-system");
        assert_eq!(encode_value(Some("a/../b c")), "a+2F..+2Fb+20c");
        assert_eq!(encode_value(Some("..")), "+2");
        assert_eq!(encode_value(Some("50%+~")), "50+25+2B+7E");
        assert_eq!(encode_value(None), "__null__");
        let long = encode_value(Some(&"x".repeat(500)));
        assert!(long.len() < 120);
        assert_ne!(
            encode_value(Some(&"x".repeat(500))),
            encode_value(Some(&"x".repeat(501)))
        );
    }
}
