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

/// Metrics streams (the Prometheus data model, see ARCHITECTURE.md "Metrics").
pub mod metrics {
    /// The column of the metric name, also the `__name__` label.
    pub const NAME_COLUMN: &str = "__name__";
    /// The column of the metric type (`counter`, `gauge`…), never a label.
    pub const TYPE_COLUMN: &str = "__type__";
    /// The column of the sample value.
    pub const VALUE_COLUMN: &str = "value";
    /// The stream samples go to unless the request names another.
    pub const DEFAULT_STREAM: &str = "metrics";
    /// The stream exemplars go to.
    pub const EXEMPLARS_STREAM: &str = "metrics_exemplars";
    /// The prefix a label gets when its name is a reserved column name.
    pub const EXPORTED_PREFIX: &str = "exported_";

    /// Whether column `name` of a metrics stream is a label (the metric name included).
    pub fn is_label_column(name: &str) -> bool {
        if name == NAME_COLUMN {
            return true;
        }
        !(name.starts_with("__")
            || name == VALUE_COLUMN
            || name == super::TIMESTAMP_COLUMN
            || name == super::ID_COLUMN
            || name == super::INDEX_COLUMN)
    }

    /// The column a label is stored in: its own name, or `exported_<name>` when the name is
    /// reserved.
    pub fn label_column(name: &str) -> std::borrow::Cow<'_, str> {
        if is_label_column(name) {
            std::borrow::Cow::Borrowed(name)
        } else {
            std::borrow::Cow::Owned(format!("{EXPORTED_PREFIX}{name}"))
        }
    }

    /// Whether a stream with these columns holds samples in the Prometheus layout.
    pub fn is_metrics_layout<'a>(mut columns: impl Iterator<Item = &'a str>) -> bool {
        let (mut name, mut value) = (false, false);
        for column in columns.by_ref() {
            name |= column == NAME_COLUMN;
            value |= column == VALUE_COLUMN;
        }
        name && value
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reserved_names_are_not_labels() {
            assert!(is_label_column("__name__"));
            assert!(is_label_column("job"));
            assert!(is_label_column("Job"));
            assert!(!is_label_column("__type__"));
            assert!(!is_label_column("value"));
            assert!(!is_label_column("_timestamp"));
            assert_eq!(label_column("value"), "exported_value");
            assert_eq!(label_column("__meta_x"), "exported___meta_x");
            assert_eq!(label_column("le"), "le");
        }
    }
}

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
