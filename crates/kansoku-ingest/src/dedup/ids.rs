//! Record ids: the key an id is remembered by, and the content hash of records that carry no id
//! of their own (Loki, forward and OTLP entries).

use crate::record::{FlatRecord, Scalar};

/// The key an `_id` text is remembered by: xxh3-64 with seed 0 of its UTF-8 bytes (persisted in
/// the dedup snapshot, so it never changes).
pub fn id_key(id: &str) -> u64 {
    twox_hash::XxHash3_64::oneshot(id.as_bytes())
}

/// The OTLP log attribute `log.record.uid` as flattened into a column.
pub const OTLP_LOG_UID_FIELD: &str = "log_record_uid";

/// The id of a record that carries none: xxh3-128 of the stream name and every field (name,
/// type and value, event time included) as 32 hex digits. `scratch` is reused between calls.
pub fn content_id(stream: &str, record: &FlatRecord<'_>, scratch: &mut Vec<u8>) -> String {
    scratch.clear();
    put_text(scratch, stream);
    for (name, value) in &record.fields {
        put_text(scratch, name);
        match value {
            Scalar::Bool(value) => scratch.extend_from_slice(&[1, u8::from(*value)]),
            Scalar::Int(value) => {
                scratch.push(2);
                scratch.extend_from_slice(&value.to_le_bytes());
            }
            Scalar::UInt(value) => {
                scratch.push(3);
                scratch.extend_from_slice(&value.to_le_bytes());
            }
            Scalar::Float(value) => {
                scratch.push(4);
                scratch.extend_from_slice(&value.to_bits().to_le_bytes());
            }
            Scalar::Str(text) => {
                scratch.push(5);
                put_text(scratch, text);
            }
        }
    }
    format!("{:032x}", twox_hash::XxHash3_128::oneshot(scratch))
}

/// Text with its length first, so that no two field lists hash the same bytes.
fn put_text(scratch: &mut Vec<u8>, text: &str) {
    scratch.extend_from_slice(&(text.len() as u64).to_le_bytes());
    scratch.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn record(fields: &[(&'static str, Scalar<'static>)]) -> FlatRecord<'static> {
        FlatRecord {
            fields: fields
                .iter()
                .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
                .collect(),
        }
    }

    #[test]
    fn id_keys_are_the_persisted_xxh3_64() {
        // xxh3-64 of the empty input with seed 0, as every implementation computes it.
        assert_eq!(id_key(""), 0x2d06_8005_38d3_94c2);
        assert_ne!(id_key("a"), id_key("b"));
    }

    #[test]
    fn content_ids_tell_fields_streams_types_and_boundaries_apart() {
        let mut scratch = Vec::new();
        let base = record(&[
            ("_timestamp", Scalar::Int(1)),
            ("log", Scalar::Str(Cow::Borrowed("a"))),
        ]);
        let id = content_id("s", &base, &mut scratch);
        assert_eq!(id.len(), 32);
        assert_eq!(id, content_id("s", &base.clone(), &mut scratch));
        assert_ne!(id, content_id("t", &base, &mut scratch));
        let other_time = record(&[
            ("_timestamp", Scalar::Int(2)),
            ("log", Scalar::Str(Cow::Borrowed("a"))),
        ]);
        assert_ne!(id, content_id("s", &other_time, &mut scratch));
        let text_time = record(&[
            ("_timestamp", Scalar::Str(Cow::Borrowed("1"))),
            ("log", Scalar::Str(Cow::Borrowed("a"))),
        ]);
        assert_ne!(id, content_id("s", &text_time, &mut scratch));
        let shifted = record(&[("ab", Scalar::Str(Cow::Borrowed("c")))]);
        let unshifted = record(&[("a", Scalar::Str(Cow::Borrowed("bc")))]);
        assert_ne!(
            content_id("s", &shifted, &mut scratch),
            content_id("s", &unshifted, &mut scratch)
        );
    }
}
