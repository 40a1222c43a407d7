//! OTLP (OpenTelemetry protocol) requests → flattened records: logs ([`logs`]), spans
//! ([`traces`]) and metric points ([`metrics`]). Bodies arrive as protobuf or as OTLP/JSON
//! (hex ids, decimal-string 64-bit integers); both decode into the same `opentelemetry-proto`
//! messages, so one conversion serves both and the gRPC service.
//!
//! Attribute names follow the JSON normalisation: `k8s.pod.name` becomes the column
//! `k8s_pod_name` (lower case, anything but `[a-z0-9_]` → `_`). Arrays and key-value lists are kept
//! as JSON text; bytes as hex.

pub mod logs;
pub mod metrics;
pub mod traces;

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use serde_json::json;

pub use super::DecodedItem;
use crate::record::{FlatRecord, Scalar};

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf` (and gRPC).
    Protobuf,
    /// `application/json`.
    Json,
}

/// Decodes an OTLP message from `body`.
pub fn decode<T>(body: &[u8], encoding: Encoding) -> Result<T, String>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|e| format!("invalid OTLP protobuf: {e}")),
        Encoding::Json => {
            serde_json::from_slice(body).map_err(|e| format!("invalid OTLP JSON: {e}"))
        }
    }
}

/// Nesting deeper than this is kept as JSON text of the deepest level reached (the decoders
/// already bound recursion at 100 levels).
const MAX_JSON_DEPTH: usize = 64;

/// An attribute value as JSON (arrays and key-value lists).
pub fn any_value_json(value: &AnyValue, depth: usize) -> serde_json::Value {
    if depth > MAX_JSON_DEPTH {
        return serde_json::Value::String("…".to_string());
    }
    match &value.value {
        None | Some(Value::StringValueStrindex(_)) => serde_json::Value::Null,
        Some(Value::StringValue(text)) => json!(text),
        Some(Value::BoolValue(flag)) => json!(flag),
        Some(Value::IntValue(number)) => json!(number),
        Some(Value::DoubleValue(number)) => json!(number),
        Some(Value::BytesValue(bytes)) => json!(hex(bytes)),
        Some(Value::ArrayValue(array)) => serde_json::Value::Array(
            array
                .values
                .iter()
                .map(|v| any_value_json(v, depth + 1))
                .collect(),
        ),
        Some(Value::KvlistValue(list)) => serde_json::Value::Object(
            list.values
                .iter()
                .map(|kv| {
                    let value = kv
                        .value
                        .as_ref()
                        .map_or(serde_json::Value::Null, |v| any_value_json(v, depth + 1));
                    (kv.key.clone(), value)
                })
                .collect(),
        ),
    }
}

/// An attribute value as a column value; `None` for empty values.
pub fn any_value_scalar(value: &AnyValue) -> Option<Scalar<'static>> {
    match &value.value {
        None | Some(Value::StringValueStrindex(_)) => None,
        Some(Value::StringValue(text)) => Some(Scalar::Str(Cow::Owned(text.clone()))),
        Some(Value::BoolValue(flag)) => Some(Scalar::Bool(*flag)),
        Some(Value::IntValue(number)) => Some(Scalar::Int(*number)),
        Some(Value::DoubleValue(number)) => Some(Scalar::Float(*number)),
        Some(Value::BytesValue(bytes)) => Some(Scalar::Str(Cow::Owned(hex(bytes)))),
        Some(Value::ArrayValue(_) | Value::KvlistValue(_)) => Some(Scalar::Str(Cow::Owned(
            any_value_json(value, 0).to_string(),
        ))),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

/// A trace or span id as hex: `None` when empty, an error when of the wrong length or all zero.
pub fn id_hex(bytes: &[u8], what: &str, length: usize) -> Result<Option<String>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() != length {
        return Err(format!(
            "{what} must be {length} bytes, got {}",
            bytes.len()
        ));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("{what} must not be all zeros"));
    }
    Ok(Some(hex(bytes)))
}

/// Builds a record field by field, normalising names.
#[derive(Debug, Default)]
pub struct RecordBuilder {
    record: FlatRecord<'static>,
}

impl RecordBuilder {
    /// Sets `name` (normalised) to `value`; a later value of the same name wins.
    pub fn set(&mut self, name: &str, value: Scalar<'static>) {
        let name = kansoku_core::names::normalise_field_name(name);
        self.record.fields.push((Cow::Owned(name), value));
    }

    /// Sets a text field.
    pub fn text(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, Scalar::Str(Cow::Owned(value.into())));
    }

    /// Sets a text field unless `value` is empty.
    pub fn text_if_any(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.text(name, value.to_string());
        }
    }

    /// Adds every attribute, each name prefixed with `prefix`.
    pub fn attributes(&mut self, attributes: &[KeyValue], prefix: &str) {
        for attribute in attributes {
            let Some(value) = attribute.value.as_ref().and_then(any_value_scalar) else {
                continue;
            };
            self.set(&format!("{prefix}{}", attribute.key), value);
        }
    }

    /// Whether a field of that (normalised) name is set.
    pub fn has(&self, name: &str) -> bool {
        self.record.get(name).is_some()
    }

    /// The record.
    pub fn finish(self) -> FlatRecord<'static> {
        self.record
    }
}

/// Nanoseconds since the epoch → µs.
pub fn nanos_to_micros(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn string(text: &str) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(text.to_string())),
        }
    }

    #[test]
    fn values_become_scalars_or_json_text() {
        assert_eq!(
            any_value_scalar(&string("x")),
            Some(Scalar::Str(Cow::Borrowed("x")))
        );
        assert_eq!(
            any_value_scalar(&AnyValue {
                value: Some(Value::IntValue(-3))
            }),
            Some(Scalar::Int(-3))
        );
        assert_eq!(any_value_scalar(&AnyValue { value: None }), None);
        let list = AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "a".to_string(),
                    value: Some(AnyValue {
                        value: Some(Value::ArrayValue(ArrayValue {
                            values: vec![
                                string("b"),
                                AnyValue {
                                    value: Some(Value::BoolValue(true)),
                                },
                            ],
                        })),
                    }),
                    ..KeyValue::default()
                }],
            })),
        };
        assert_eq!(
            any_value_scalar(&list),
            Some(Scalar::Str(Cow::Borrowed(r#"{"a":["b",true]}"#)))
        );
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(id_hex(&[], "trace_id", 16), Ok(None));
        assert_eq!(
            id_hex(&[0xab; 8], "span_id", 8),
            Ok(Some("abababababababab".to_string()))
        );
        assert!(id_hex(&[0; 16], "trace_id", 16).is_err());
        assert!(
            id_hex(&[1; 15], "trace_id", 16)
                .unwrap_err()
                .contains("16 bytes")
        );
    }

    #[test]
    fn names_are_normalised_like_json_keys() {
        let mut builder = RecordBuilder::default();
        builder.text("k8s.pod.name", "api-1");
        assert!(builder.has("k8s_pod_name"));
    }
}
