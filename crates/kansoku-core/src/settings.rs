//! Per-stream settings, stored as JSON in the metadata database.
//!
//! The JSON shape is versioned by tolerance: every field has a default, unknown fields are ignored,
//! so older and newer servers can read each other's settings.

use serde::{Deserialize, Serialize};

/// Settings a user can change per stream (`PUT /api/{org}/streams/{s}/settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamSettings {
    /// Days to keep data; 0 means "use the server default".
    pub data_retention: i64,
    /// Fields whose values become path partitions of the stored files.
    pub partition_keys: Vec<String>,
    /// Fields searched by `match_all()`; empty means the server default list.
    pub full_text_search_keys: Vec<String>,
    /// Fields (after normalisation) read as the event time when `_timestamp`/`@timestamp` is absent,
    /// in order of preference; empty means the server default (`timestamp`, `time`, `ts`).
    pub timestamp_fields: Vec<String>,
    /// IANA time zone (or fixed offset like `+09:00`) for timestamps that carry no zone; empty
    /// means the server default.
    pub timezone: String,
    /// Nested-object depth flattened into columns; 0 means the server default.
    pub flatten_level: u32,
    /// The field the logs page shows as the log line; empty means the first of
    /// [`DEFAULT_MESSAGE_FIELDS`] the stream has.
    pub message_field: String,
    /// How long, in seconds, a record id (`_id`) is remembered to drop a re-sent copy; `None`
    /// means the server default (`KANSOKU_DEDUP_WINDOW`), 0 turns deduplication off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_window_secs: Option<u32>,
}

impl StreamSettings {
    /// The nested-object depth flattened into columns, `default_level` where none is set.
    pub fn flatten_level(&self, default_level: u32) -> u32 {
        match self.flatten_level {
            0 => default_level,
            level => level,
        }
    }

    /// The deduplication window in seconds (0: off), `default_secs` where none is set.
    pub fn dedup_window_secs(&self, default_secs: u32) -> u32 {
        self.dedup_window_secs.unwrap_or(default_secs)
    }

    /// The configured full-text fields (normalised), else [`DEFAULT_FULL_TEXT_FIELDS`].
    pub fn full_text_candidates(&self) -> Vec<String> {
        if self.full_text_search_keys.is_empty() {
            return DEFAULT_FULL_TEXT_FIELDS
                .iter()
                .map(|f| f.to_string())
                .collect();
        }
        self.full_text_search_keys
            .iter()
            .map(|f| crate::names::normalise_field_name(f))
            .collect()
    }

    /// The full-text fields that exist in `schema` as text (what `match_all` searches).
    pub fn full_text_fields(&self, schema: &crate::StreamSchema) -> Vec<String> {
        self.full_text_candidates()
            .into_iter()
            .filter(|field| schema.field_type(field) == Some(crate::FieldType::Utf8))
            .collect()
    }

    /// The full-text fields an index of a file written with `schema` covers: those that are text
    /// in it, and those absent from it (provably empty in that file). Fields of another type are
    /// left out, so the index never rules out values it did not see.
    pub fn indexed_fields(&self, schema: &crate::StreamSchema) -> Vec<String> {
        self.full_text_candidates()
            .into_iter()
            .filter(|field| {
                schema
                    .field_type(field)
                    .is_none_or(|field_type| field_type == crate::FieldType::Utf8)
            })
            .collect()
    }
}

/// The default full-text fields (OpenObserve's list).
pub const DEFAULT_FULL_TEXT_FIELDS: [&str; 8] = [
    "log", "message", "msg", "content", "data", "body", "json", "error",
];

/// Fields the logs page shows as the log line, in order of preference, when the stream's
/// `message_field` is not set.
pub const DEFAULT_MESSAGE_FIELDS: [&str; 5] = ["log", "message", "msg", "body", "content"];

/// The default timestamp fields consulted after `_timestamp` / `@timestamp`.
pub const DEFAULT_TIMESTAMP_FIELDS: [&str; 3] = ["timestamp", "time", "ts"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let parsed: StreamSettings =
            serde_json::from_str(r#"{"data_retention": 7, "future_thing": true}"#).unwrap();
        assert_eq!(parsed.data_retention, 7);
        assert!(parsed.partition_keys.is_empty());
    }
}
