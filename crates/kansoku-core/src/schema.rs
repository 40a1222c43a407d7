//! Stream schemas and reserved column names.
//!
//! A stream's schema is the set of columns ever seen in it, each with its widest type so far
//! (see [`crate::field`]). Schemas only grow: fields are added and types widened, never removed or
//! narrowed, so every older Parquet file can be read with the newest schema (missing columns are
//! null, narrower types are cast up). Each change bumps `version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::field::FieldType;

/// The event-time column: microseconds since the Unix epoch, UTC, always present.
pub const TIMESTAMP_COLUMN: &str = "_timestamp";
/// The document id copied from an Elasticsearch bulk action line.
pub const ID_COLUMN: &str = "_id";
/// The original Elasticsearch index name, kept when a daily suffix was stripped from it.
pub const INDEX_COLUMN: &str = "_index";

/// One column of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The normalised column name.
    pub name: String,
    /// Its current (widest) type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
}

/// The schema of one stream at one version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSchema {
    /// Incremented on every change; 0 for a stream that has no schema yet.
    pub version: i64,
    /// Columns by name (excluding `_timestamp`, which is implicit and always `Int64`).
    pub fields: BTreeMap<String, FieldType>,
}

impl StreamSchema {
    /// The type of `name`, if the column exists.
    pub fn field_type(&self, name: &str) -> Option<FieldType> {
        self.fields.get(name).copied()
    }

    /// The columns as a list, `_timestamp` first, then by name.
    pub fn field_defs(&self) -> Vec<FieldDef> {
        let mut defs = Vec::with_capacity(self.fields.len() + 1);
        defs.push(FieldDef {
            name: TIMESTAMP_COLUMN.to_string(),
            field_type: FieldType::Int64,
        });
        defs.extend(self.fields.iter().map(|(name, field_type)| FieldDef {
            name: name.clone(),
            field_type: *field_type,
        }));
        defs
    }

    /// Returns the schema with `changes` merged in (added or widened), and whether anything changed.
    pub fn merged<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, FieldType)>,
    ) -> (StreamSchema, bool) {
        let mut next = self.clone();
        let mut changed = false;
        for (name, incoming) in changes {
            match next.fields.get_mut(name) {
                Some(existing) => {
                    let widened = existing.widen(incoming);
                    if widened != *existing {
                        *existing = widened;
                        changed = true;
                    }
                }
                None => {
                    next.fields.insert(name.to_string(), incoming);
                    changed = true;
                }
            }
        }
        if changed {
            next.version = self.version + 1;
        }
        (next, changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_and_widens_but_never_narrows() {
        let base = StreamSchema::default();
        let (v1, changed) = base.merged([("a", FieldType::Int64), ("b", FieldType::Utf8)]);
        assert!(changed);
        assert_eq!(v1.version, 1);
        let (v2, changed) = v1.merged([("a", FieldType::Boolean)]);
        assert!(!changed);
        assert_eq!(v2.version, 1);
        assert_eq!(v2.field_type("a"), Some(FieldType::Int64));
        let (v3, changed) = v2.merged([("a", FieldType::Float64)]);
        assert!(changed);
        assert_eq!(v3.version, 2);
        assert_eq!(v3.field_type("a"), Some(FieldType::Float64));
        assert_eq!(v3.field_defs()[0].name, TIMESTAMP_COLUMN);
    }
}
