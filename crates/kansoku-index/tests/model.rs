//! Property: the index never rules out a row group that contains the needle.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use kansoku_index::{FileIndex, IndexBuilder, Requirement};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_false_negatives(rows in prop::collection::vec("[a-zA-Zé0-9 :/._-]{0,40}", 1..60), group in 1usize..8, pick in any::<usize>(), start in 0usize..40, len in 3usize..12) {
        let schema = Arc::new(Schema::new(vec![Field::new("log", DataType::Utf8, true)]));
        let array = StringArray::from(rows.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
        let batch = RecordBatch::try_new(schema, vec![Arc::new(array)]).unwrap();
        let mut builder = IndexBuilder::new(vec!["log".to_string()], group);
        builder.add(&batch);
        let index = FileIndex::from_bytes(&builder.finish().to_bytes()).unwrap();
        let source = &rows[pick % rows.len()];
        let chars: Vec<char> = source.chars().collect();
        prop_assume!(chars.len() >= start + len);
        let needle: String = chars[start..start + len].iter().collect();
        let matching = index.row_groups_matching(&Requirement::contains("log", &needle.to_uppercase()));
        for (row, text) in rows.iter().enumerate() {
            if text.to_lowercase().contains(&needle.to_lowercase()) {
                prop_assert!(matching[row / group], "row {} ({:?}) contains {:?} but its row group was ruled out", row, text, needle);
            }
        }
    }
}
