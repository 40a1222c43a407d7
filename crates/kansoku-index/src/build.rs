//! Building the index of one file while it is written.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;

use crate::bloom::{Bloom, trigrams_of};
use crate::format::FileIndex;

/// Collects trigrams per row group and column.
pub struct IndexBuilder {
    columns: Vec<String>,
    row_group_rows: usize,
    current: Vec<HashSet<u32>>,
    current_rows: usize,
    row_groups: Vec<Vec<Option<Bloom>>>,
    scratch: Vec<u32>,
}

impl IndexBuilder {
    /// A builder for `columns`, with the writer's row-group size.
    pub fn new(columns: Vec<String>, row_group_rows: usize) -> IndexBuilder {
        let width = columns.len();
        IndexBuilder {
            columns,
            row_group_rows: row_group_rows.max(1),
            current: vec![HashSet::new(); width],
            current_rows: 0,
            row_groups: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Whether anything is indexed.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Adds a batch, in the order the batches are written to the Parquet file.
    pub fn add(&mut self, batch: &RecordBatch) {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = self.row_group_rows - self.current_rows;
            let take = room.min(batch.num_rows() - offset);
            self.add_rows(&batch.slice(offset, take));
            offset += take;
            self.current_rows += take;
            if self.current_rows == self.row_group_rows {
                self.finish_row_group();
            }
        }
    }

    fn add_rows(&mut self, batch: &RecordBatch) {
        for (column, name) in self.columns.iter().enumerate() {
            let Some(array) = batch.column_by_name(name) else {
                continue;
            };
            if array.data_type() != &DataType::Utf8 {
                continue;
            }
            let strings = array.as_string::<i32>();
            let set = &mut self.current[column];
            for row in 0..strings.len() {
                if strings.is_null(row) {
                    continue;
                }
                self.scratch.clear();
                trigrams_of(strings.value(row), &mut self.scratch);
                set.extend(self.scratch.iter().copied());
            }
        }
    }

    fn finish_row_group(&mut self) {
        let filters = self
            .current
            .iter_mut()
            .map(|set| {
                if set.is_empty() {
                    return None;
                }
                let mut bloom = Bloom::with_capacity(set.len());
                for trigram in set.drain() {
                    bloom.insert(trigram);
                }
                Some(bloom)
            })
            .collect();
        self.row_groups.push(filters);
        self.current_rows = 0;
    }

    /// The index of the file.
    pub fn finish(mut self) -> FileIndex {
        if self.current_rows > 0 {
            self.finish_row_group();
        }
        FileIndex::new(self.columns, self.row_groups)
    }
}
