//! Flattening a JSON object into a [`FlatRecord`] while it is parsed.
//!
//! Rules (also in `docs/ingest.md`):
//! - nested objects are joined with `_` (`{"node":{"hostname":"a"}}` → `node_hostname`), down to
//!   `max_depth` levels; a deeper object is kept as its JSON text in the last column;
//! - every key segment is normalised ([`kansoku_core::names::normalise_field_segment`]);
//! - arrays are kept as their JSON text; `null` and empty objects produce no field;
//! - a top-level value that is not an object is reported, not flattened.

use std::borrow::Cow;
use std::fmt;

use kansoku_core::names::normalise_field_segment;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::record::{FlatRecord, Scalar};

/// How to flatten.
#[derive(Debug, Clone, Copy)]
pub struct FlattenOptions {
    /// Object levels turned into columns (top level = 1); 0 means unlimited.
    pub max_depth: u32,
}

/// The top-level value was not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnObject(pub &'static str);

impl fmt::Display for NotAnObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record must be a JSON object, found {}", self.0)
    }
}

/// Deserializes one record.
pub struct RecordSeed {
    /// Flattening options.
    pub options: FlattenOptions,
}

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = Result<FlatRecord<'de>, NotAnObject>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(RecordVisitor {
            options: self.options,
        })
    }
}

struct RecordVisitor {
    options: FlattenOptions,
}

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Result<FlatRecord<'de>, NotAnObject>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut record = FlatRecord::default();
        flatten_map(map, None, 1, self.options, &mut record.fields)?;
        Ok(Ok(record))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(NotAnObject("an array")))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("a boolean")))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("a number")))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("a number")))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("a number")))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("a string")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err(NotAnObject("null")))
    }
}

fn flatten_map<'de, A: MapAccess<'de>>(
    mut map: A,
    prefix: Option<&str>,
    depth: u32,
    options: FlattenOptions,
    out: &mut Vec<(Cow<'de, str>, Scalar<'de>)>,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(KeySeed)? {
        let name = match (prefix, normalise_field_segment(&key)) {
            (None, None) => key,
            (None, Some(normalised)) => Cow::Owned(normalised),
            (Some(prefix), None) => Cow::Owned(format!("{prefix}_{key}")),
            (Some(prefix), Some(normalised)) => Cow::Owned(format!("{prefix}_{normalised}")),
        };
        map.next_value_seed(ValueSeed {
            name,
            depth,
            options,
            out,
        })?;
    }
    Ok(())
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_string()))
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

struct ValueSeed<'o, 'de> {
    name: Cow<'de, str>,
    depth: u32,
    options: FlattenOptions,
    out: &'o mut Vec<(Cow<'de, str>, Scalar<'de>)>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.out.push((self.name, Scalar::Bool(value)));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.out.push((self.name, Scalar::Int(value)));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        let scalar = match i64::try_from(value) {
            Ok(fits) => Scalar::Int(fits),
            Err(_) => Scalar::UInt(value),
        };
        self.out.push((self.name, scalar));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.out.push((self.name, Scalar::Float(value)));
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<(), E> {
        self.out
            .push((self.name, Scalar::Str(Cow::Borrowed(value))));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.out
            .push((self.name, Scalar::Str(Cow::Owned(value.to_string()))));
        Ok(())
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<(), E> {
        self.out.push((self.name, Scalar::Str(Cow::Owned(value))));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let expand = self.options.max_depth == 0 || self.depth < self.options.max_depth;
        if expand {
            return flatten_map(
                map,
                Some(&self.name),
                self.depth + 1,
                self.options,
                self.out,
            );
        }
        let value: serde_json::Value =
            de::Deserialize::deserialize(MapAccessDeserializer::new(map))?;
        let is_empty = value.as_object().is_some_and(|object| object.is_empty());
        if !is_empty {
            self.out
                .push((self.name, Scalar::Str(Cow::Owned(value.to_string()))));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value: serde_json::Value =
            de::Deserialize::deserialize(SeqAccessDeserializer::new(seq))?;
        self.out
            .push((self.name, Scalar::Str(Cow::Owned(value.to_string()))));
        Ok(())
    }
}

/// Parses one JSON document that must be a single record (an NDJSON line, a bulk document).
pub fn parse_record(
    bytes: &[u8],
    options: FlattenOptions,
) -> Result<Result<FlatRecord<'_>, NotAnObject>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let record = RecordSeed { options }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(record)
}

/// Flattens a JSON value already parsed (a HEC event, a forward record, a VRL program's
/// result): the twin of [`parse_record`] for owned values, so the record owns its text.
pub fn value_record(
    value: serde_json::Value,
    options: FlattenOptions,
) -> Result<Result<FlatRecord<'static>, NotAnObject>, serde_json::Error> {
    RecordSeed { options }.deserialize(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(json: &str, max_depth: u32) -> Vec<(String, Scalar<'_>)> {
        parse_record(json.as_bytes(), FlattenOptions { max_depth })
            .unwrap()
            .unwrap()
            .fields
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }

    #[test]
    fn nested_objects_are_joined_and_keys_normalised() {
        let fields = flat(
            r#"{"node.hostname":"n1","kubernetes":{"pod_name":"p","Labels":{"app":"x"}},"@timestamp":"t"}"#,
            3,
        );
        assert_eq!(
            fields,
            vec![
                ("node_hostname".to_string(), Scalar::Str("n1".into())),
                ("kubernetes_pod_name".to_string(), Scalar::Str("p".into())),
                ("kubernetes_labels_app".to_string(), Scalar::Str("x".into())),
                ("_timestamp".to_string(), Scalar::Str("t".into())),
            ]
        );
    }

    #[test]
    fn deep_objects_become_json_text_and_arrays_stay_text() {
        let fields = flat(
            r#"{"a":{"b":{"c":{"d":1}}},"tags":["x",1],"n":null,"e":{}}"#,
            3,
        );
        assert_eq!(
            fields,
            vec![
                ("a_b_c".to_string(), Scalar::Str(r#"{"d":1}"#.into())),
                ("tags".to_string(), Scalar::Str(r#"["x",1]"#.into())),
            ]
        );
        let unlimited = flat(r#"{"a":{"b":{"c":{"d":1}}}}"#, 0);
        assert_eq!(unlimited, vec![("a_b_c_d".to_string(), Scalar::Int(1))]);
    }

    #[test]
    fn numbers_keep_their_kind() {
        let fields = flat(r#"{"i":-5,"u":18446744073709551615,"f":1.5,"b":true}"#, 3);
        assert_eq!(
            fields.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            vec![
                Scalar::Int(-5),
                Scalar::UInt(u64::MAX),
                Scalar::Float(1.5),
                Scalar::Bool(true)
            ]
        );
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let record = parse_record(
            br#"{"msg":"plain","esc":"a\nb"}"#,
            FlattenOptions { max_depth: 3 },
        )
        .unwrap()
        .unwrap();
        assert!(matches!(
            record.fields[0].1,
            Scalar::Str(Cow::Borrowed("plain"))
        ));
        assert!(matches!(&record.fields[1].1, Scalar::Str(Cow::Owned(s)) if s == "a\nb"));
    }

    #[test]
    fn non_objects_are_reported() {
        let options = FlattenOptions { max_depth: 3 };
        assert_eq!(
            parse_record(b"[1,2]", options).unwrap().unwrap_err(),
            NotAnObject("an array")
        );
        assert_eq!(
            parse_record(b"\"x\"", options).unwrap().unwrap_err(),
            NotAnObject("a string")
        );
        assert!(parse_record(b"{\"a\":1} {\"b\":2}", options).is_err());
        assert!(parse_record(b"{\"a\":", options).is_err());
    }

    #[test]
    fn nesting_beyond_the_parser_limit_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert!(parse_record(deep.as_bytes(), FlattenOptions { max_depth: 0 }).is_err());
        let deep_arrays = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_record(deep_arrays.as_bytes(), FlattenOptions { max_depth: 3 }).is_err());
    }
}
