//! What a query requires of a row group, in terms the index can test.

/// A condition on substrings; `Unknown` is anything the index cannot decide (always "may match").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `column` contains `needle` (lower-cased bytes, at least three).
    Contains {
        /// The column.
        column: String,
        /// The lower-cased substring.
        needle: Vec<u8>,
    },
    /// All must hold.
    All(Vec<Requirement>),
    /// One must hold.
    Any(Vec<Requirement>),
    /// Not decidable by the index.
    Unknown,
}

impl Requirement {
    /// A `Contains`, or `Unknown` when the needle is too short to test.
    pub fn contains(column: &str, needle: &str) -> Requirement {
        let lower = needle.to_lowercase().into_bytes();
        if lower.len() < crate::MIN_NEEDLE_BYTES {
            return Requirement::Unknown;
        }
        Requirement::Contains {
            column: column.to_string(),
            needle: lower,
        }
    }

    /// Whether the requirement can prune anything.
    pub fn is_useful(&self) -> bool {
        match self {
            Requirement::Contains { .. } => true,
            Requirement::All(parts) => parts.iter().any(Requirement::is_useful),
            Requirement::Any(parts) => {
                !parts.is_empty() && parts.iter().all(Requirement::is_useful)
            }
            Requirement::Unknown => false,
        }
    }

    /// Evaluates against a test of "may `column` contain `needle`".
    pub fn may_match(&self, contains: &dyn Fn(&str, &[u8]) -> bool) -> bool {
        match self {
            Requirement::Contains { column, needle } => contains(column, needle),
            Requirement::All(parts) => parts.iter().all(|p| p.may_match(contains)),
            Requirement::Any(parts) => parts.iter().any(|p| p.may_match(contains)),
            Requirement::Unknown => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IndexBuilder;
    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(logs: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("log", DataType::Utf8, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(logs))]).unwrap()
    }

    #[test]
    fn row_groups_without_the_needle_are_ruled_out() {
        let mut builder = IndexBuilder::new(vec!["log".to_string()], 2);
        builder.add(&batch(vec![
            Some("GET /health 200"),
            Some("GET /metrics 200"),
        ]));
        builder.add(&batch(vec![
            Some("ERROR: connection refused"),
            None,
            Some("retry"),
        ]));
        let index = crate::FileIndex::from_bytes(&builder.finish().to_bytes()).unwrap();
        assert_eq!(index.row_groups(), 3);
        let refused = Requirement::contains("log", "Connection Refused");
        assert_eq!(
            index.row_groups_matching(&refused),
            vec![false, true, false]
        );
        let either = Requirement::Any(vec![
            Requirement::contains("log", "metrics"),
            Requirement::contains("log", "retry"),
        ]);
        assert_eq!(index.row_groups_matching(&either), vec![true, false, true]);
        let both = Requirement::All(vec![
            Requirement::contains("log", "GET"),
            Requirement::Unknown,
        ]);
        assert_eq!(index.row_groups_matching(&both), vec![true, false, false]);
        assert!(!Requirement::contains("log", "ab").is_useful());
        let other_column = Requirement::contains("message", "anything");
        assert_eq!(
            index.row_groups_matching(&other_column),
            vec![true, true, true]
        );
        assert!(crate::FileIndex::from_bytes(b"KSKIDX01\x02\x00").is_err());
    }
}
