//! Loki push requests (`POST /api/{org}/loki/api/v1/push`: what Promtail, Grafana Alloy, Fluent
//! Bit's `loki` output and Loki client libraries send) → one record per log entry.
//!
//! Bodies are `logproto.PushRequest` protobuf in snappy's block format, or Loki's JSON
//! (`{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>", {metadata}?], …]}]}`).
//! A record holds the stream's labels and the entry's structured metadata as columns (names
//! normalised like every field), the line as `message` and `_timestamp` from the entry's
//! nanoseconds. The stream is named by the label `o2_stream_name`, else `stream_name`, else
//! `default` (as OpenObserve does); those labels are not stored as columns.
//!
//! A stream whose labels cannot be parsed, or an entry without a valid time, is refused with its
//! reason and the rest of the request is stored.

use std::borrow::Cow;

use super::DecodedItem;
use super::otlp::RecordBuilder;
use super::remote_write::{BodyError, decompress};
use crate::record::Scalar;

/// The stream when the labels name none.
pub const DEFAULT_STREAM: &str = "default";
/// The column that holds each entry's line.
pub const LINE_COLUMN: &str = "message";
/// Labels that name the stream, in order of precedence.
const STREAM_LABELS: [&str; 2] = ["o2_stream_name", "stream_name"];

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    /// The streams.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: labels in Prometheus' text form and their entries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// `{name="value", …}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// The entries.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// The labels' hash (ignored).
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    /// When the line was logged.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The log line (bytes on the wire as Loki reads them: invalid UTF-8 is replaced, not
    /// refused, so one bad line cannot fail its batch).
    #[prost(bytes = "vec", tag = "2")]
    pub line: Vec<u8>,
    /// Structured metadata (Loki 3).
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPair>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// How a push body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`: snappy's block format around `logproto.PushRequest`.
    Protobuf,
    /// `application/json`.
    Json,
}

/// How many times the body limit a push's records may take in all (each entry carries a copy of
/// its stream's labels).
const RECORD_BYTES_PER_BODY_BYTE: usize = 4;

/// Decodes a push body as the server receives it: protobuf is snappy-decompressed first, up to
/// `max_body_bytes` (413 beyond); a body whose records would take more than
/// [`RECORD_BYTES_PER_BODY_BYTE`] times that is refused.
pub fn decode(
    body: &[u8],
    format: Format,
    max_body_bytes: usize,
) -> Result<Vec<DecodedItem>, BodyError> {
    let budget = max_body_bytes.saturating_mul(RECORD_BYTES_PER_BODY_BYTE);
    match format {
        Format::Protobuf => decode_protobuf(&decompress(body, max_body_bytes)?, budget),
        Format::Json => decode_json(super::strip_bom(body), budget),
    }
    .map_err(BodyError::Invalid)
}

/// Counts the bytes of the records built so far against the budget.
struct Budget {
    left: usize,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), String> {
        self.left = self.left.checked_sub(bytes).ok_or_else(|| {
            "the push request's entries, each with its stream's labels, exceed the body size limit \
             (KANSOKU_MAX_BODY_BYTES); send fewer entries per request"
                .to_string()
        })?;
        Ok(())
    }
}

fn labels_bytes(labels: &[(String, String)]) -> usize {
    labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum()
}

/// Decodes a protobuf push request (already snappy-decompressed) into items.
pub fn decode_protobuf(body: &[u8], max_record_bytes: usize) -> Result<Vec<DecodedItem>, String> {
    use prost::Message;
    let mut budget = Budget {
        left: max_record_bytes,
    };
    let request = PushRequest::decode(body)
        .map_err(|e| format!("invalid Loki protobuf push request: {e}"))?;
    let mut items = Vec::new();
    for (index, stream) in request.streams.iter().enumerate() {
        let labels = match parse_labels(&stream.labels) {
            Ok(labels) => labels,
            Err(reason) => {
                refuse_stream(&mut items, stream.entries.len().max(1), index, &reason);
                continue;
            }
        };
        let name = stream_name(&labels);
        let label_bytes = labels_bytes(&labels);
        for entry in &stream.entries {
            let metadata_bytes: usize = entry
                .structured_metadata
                .iter()
                .map(|pair| pair.name.len() + pair.value.len() + 2)
                .sum();
            budget.spend(label_bytes + metadata_bytes + entry.line.len() + 16)?;
            let micros = entry
                .timestamp
                .ok_or_else(|| "entry without a timestamp".to_string())
                .and_then(|t| timestamp_micros(t.seconds, t.nanos));
            let metadata: Vec<(&str, &str)> = entry
                .structured_metadata
                .iter()
                .map(|pair| (pair.name.as_str(), pair.value.as_str()))
                .collect();
            items.push(DecodedItem {
                stream: name.clone(),
                record: micros.map(|micros| {
                    record(
                        &labels,
                        micros,
                        &String::from_utf8_lossy(&entry.line),
                        &metadata,
                    )
                }),
            });
        }
    }
    Ok(items)
}

/// Decodes a JSON push request into items.
pub fn decode_json(body: &[u8], max_record_bytes: usize) -> Result<Vec<DecodedItem>, String> {
    let mut budget = Budget {
        left: max_record_bytes,
    };
    let request: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("invalid Loki JSON push request: {e}"))?;
    let Some(streams) = request.get("streams").and_then(serde_json::Value::as_array) else {
        return Err("invalid Loki JSON push request: expected {\"streams\": [...]}".to_string());
    };
    let mut items = Vec::new();
    for (index, stream) in streams.iter().enumerate() {
        // A stream without entries is refused, as Loki does.
        let Some(values) = stream.get("values").and_then(serde_json::Value::as_array) else {
            refuse_stream(
                &mut items,
                1,
                index,
                "\"values\" must be an array of [\"<unix ns>\", \"<line>\"] entries",
            );
            continue;
        };
        let labels = match json_labels(stream.get("stream")) {
            Ok(labels) => labels,
            Err(reason) => {
                refuse_stream(&mut items, values.len().max(1), index, &reason);
                continue;
            }
        };
        let name = stream_name(&labels);
        let label_bytes = labels_bytes(&labels);
        for value in values {
            budget.spend(label_bytes + value.to_string().len())?;
            items.push(DecodedItem {
                stream: name.clone(),
                record: json_entry(value).map(|(micros, line, metadata)| {
                    let metadata: Vec<(&str, &str)> = metadata
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    record(&labels, micros, line, &metadata)
                }),
            });
        }
    }
    Ok(items)
}

fn refuse_stream(items: &mut Vec<DecodedItem>, entries: usize, index: usize, reason: &str) {
    for _ in 0..entries {
        items.push(DecodedItem {
            stream: DEFAULT_STREAM.to_string(),
            record: Err(format!("stream {}: {reason}", index + 1)),
        });
    }
}

/// The stream named by the labels.
fn stream_name(labels: &[(String, String)]) -> String {
    STREAM_LABELS
        .iter()
        .find_map(|wanted| {
            labels
                .iter()
                .find(|(name, value)| name == wanted && !value.is_empty())
                .map(|(_, value)| value.clone())
        })
        .unwrap_or_else(|| DEFAULT_STREAM.to_string())
}

fn record(
    labels: &[(String, String)],
    micros: i64,
    line: &str,
    metadata: &[(&str, &str)],
) -> crate::record::FlatRecord<'static> {
    let mut record = RecordBuilder::default();
    for (name, value) in labels {
        if !STREAM_LABELS.contains(&name.as_str()) {
            record.text(name, value.clone());
        }
    }
    for (name, value) in metadata {
        record.text(name, (*value).to_string());
    }
    record.set(kansoku_core::schema::TIMESTAMP_COLUMN, Scalar::Int(micros));
    record.set(LINE_COLUMN, Scalar::Str(Cow::Owned(line.to_string())));
    record.finish()
}

/// Seconds and nanoseconds → µs; a time before the epoch is refused.
fn timestamp_micros(seconds: i64, nanos: i32) -> Result<i64, String> {
    if seconds < 0 || !(0..1_000_000_000).contains(&nanos) {
        return Err(format!(
            "invalid entry timestamp {seconds}s {nanos}ns: it must be after 1970 with nanos in [0, 1e9)"
        ));
    }
    seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(nanos / 1_000)))
        .ok_or_else(|| format!("entry timestamp {seconds}s is out of range"))
}

fn json_labels(labels: Option<&serde_json::Value>) -> Result<Pairs, String> {
    let Some(object) = labels.and_then(serde_json::Value::as_object) else {
        return Err("\"stream\" must be an object of labels".to_string());
    };
    object
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => Ok((name.clone(), text.clone())),
            other => Err(format!("label {name:?} must be a string, got {other}")),
        })
        .collect()
}

/// Name-value pairs: a stream's labels or an entry's structured metadata.
type Pairs = Vec<(String, String)>;

/// One JSON entry: `["<ns>", "<line>"]` or `["<ns>", "<line>", {metadata}]` → (µs, line, metadata).
fn json_entry(value: &serde_json::Value) -> Result<(i64, &str, Pairs), String> {
    let Some(parts) = value.as_array() else {
        return Err(format!(
            "an entry must be [\"<unix ns>\", \"<line>\"], got {value}"
        ));
    };
    let (Some(time), Some(line)) = (parts.first(), parts.get(1)) else {
        return Err("an entry must hold a time and a line".to_string());
    };
    let nanos: i64 = match time {
        serde_json::Value::String(text) => text
            .parse()
            .map_err(|_| format!("entry time {text:?} is not a number of nanoseconds"))?,
        other => {
            return Err(format!(
                "entry time must be a string of nanoseconds, got {other}"
            ));
        }
    };
    if nanos < 0 {
        return Err(format!("entry time {nanos} is before 1970"));
    }
    let Some(line) = line.as_str() else {
        return Err(format!("entry line must be a string, got {line}"));
    };
    let metadata = match parts.get(2) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Object(object)) => object
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => Ok((name.clone(), text.clone())),
                other => Err(format!(
                    "structured metadata {name:?} must be a string, got {other}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "structured metadata must be an object, got {other}"
            ));
        }
    };
    Ok((nanos / 1_000, line, metadata))
}

/// Parses Prometheus' text form of a label set: `{name="value", other="with \"quotes\""}`.
pub fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut rest = text.trim();
    rest = rest
        .strip_prefix('{')
        .ok_or_else(|| format!("labels {text:?} must start with '{{'"))?;
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            if !after.trim().is_empty() {
                return Err(format!("unexpected text after the labels in {text:?}"));
            }
            return Ok(labels);
        }
        let name_len = rest
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
            })
            .map_or(rest.len(), |(i, _)| i);
        if name_len == 0 {
            return Err(format!("expected a label name in {text:?}"));
        }
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after label {name:?} in {text:?}"))?
            .trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("expected a quoted value for label {name:?} in {text:?}"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("unterminated value of label {name:?} in {text:?}")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => {
                    let escaped = unescape(&mut chars).ok_or_else(|| {
                        format!("invalid escape in the value of label {name:?} in {text:?}")
                    })?;
                    value.push(escaped);
                }
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(seen, _)| seen == name) {
            return Err(format!("label {name:?} appears twice in {text:?}"));
        }
        labels.push((name.to_string(), value));
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!(
                "expected ',' or '}}' after label {name:?} in {text:?}"
            ));
        }
    }
}

/// One escape of Go's `strconv.Quote` (how Promtail writes label values), after its backslash.
fn unescape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    let (_, kind) = chars.next()?;
    let mut hex = |digits: usize| -> Option<char> {
        let mut code = 0u32;
        for _ in 0..digits {
            code = code * 16 + chars.next()?.1.to_digit(16)?;
        }
        char::from_u32(code)
    };
    match kind {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        // A byte that was not UTF-8: kept as the replacement character.
        'x' => hex(2).map(|c| {
            if c.is_ascii() {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        }),
        'u' => hex(4),
        'U' => hex(8),
        '\\' | '"' | '\'' => Some(kind),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn text<'a>(record: &'a crate::record::FlatRecord<'static>, name: &str) -> Option<&'a str> {
        match record.get(name)? {
            Scalar::Str(text) => Some(text),
            _ => None,
        }
    }

    #[test]
    fn labels_parse_with_escapes_and_refuse_garbage() {
        assert_eq!(
            parse_labels(r#"{job="api", msg="say \"hi\"\n", empty=""}"#).unwrap(),
            vec![
                ("job".to_string(), "api".to_string()),
                ("msg".to_string(), "say \"hi\"\n".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        assert_eq!(parse_labels("{}").unwrap(), Vec::new());
        assert_eq!(
            parse_labels(r#"{a="\r\x41\u00e9\U0001F600\'"}"#).unwrap()[0].1,
            "\rAé😀'"
        );
        assert_eq!(parse_labels(r#"{a="1",}"#).unwrap().len(), 1);
        for bad in [
            "",
            "job=\"x\"",
            r#"{job="x""#,
            r#"{job=x}"#,
            r#"{1job="x"}"#,
            r#"{job="x" other="y"}"#,
            r#"{job="x"} tail"#,
            r#"{job="x\"}"#,
            r#"{job="a", job="b"}"#,
            r#"{job="\q"}"#,
        ] {
            assert!(parse_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protobuf_entries_become_records_of_the_named_stream() {
        let request = PushRequest {
            streams: vec![
                StreamAdapter {
                    labels: r#"{o2_stream_name="k8s", namespace="prod", app="api"}"#.to_string(),
                    entries: vec![EntryAdapter {
                        timestamp: Some(Timestamp {
                            seconds: 1_700_000_000,
                            nanos: 123_456_789,
                        }),
                        line: b"GET /health \xff 200".to_vec(),
                        structured_metadata: vec![LabelPair {
                            name: "trace.id".to_string(),
                            value: "abc".to_string(),
                        }],
                    }],
                    hash: 0,
                },
                StreamAdapter {
                    labels: "not labels".to_string(),
                    entries: vec![EntryAdapter::default(), EntryAdapter::default()],
                    hash: 0,
                },
                StreamAdapter {
                    labels: r#"{job="x"}"#.to_string(),
                    entries: vec![EntryAdapter {
                        timestamp: None,
                        line: b"no time".to_vec(),
                        structured_metadata: Vec::new(),
                    }],
                    hash: 0,
                },
            ],
        };
        let items = decode_protobuf(&request.encode_to_vec(), 1 << 20).unwrap();
        assert!(
            decode_protobuf(&request.encode_to_vec(), 100).is_err(),
            "over the budget"
        );
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].stream, "k8s");
        let record = items[0].record.as_ref().unwrap();
        assert_eq!(text(record, "namespace"), Some("prod"));
        assert_eq!(text(record, "trace_id"), Some("abc"));
        assert_eq!(text(record, LINE_COLUMN), Some("GET /health \u{fffd} 200"));
        assert_eq!(
            record.get("_timestamp"),
            Some(&Scalar::Int(1_700_000_000_123_456))
        );
        assert!(record.get("o2_stream_name").is_none());
        assert!(items[1].record.as_ref().unwrap_err().contains("stream 2"));
        assert!(items[2].record.is_err());
        assert_eq!(items[3].stream, DEFAULT_STREAM);
        assert!(items[3].record.as_ref().unwrap_err().contains("timestamp"));
        assert!(decode_protobuf(b"\xff\xff\xff", 1 << 20).is_err());
    }

    #[test]
    fn json_entries_become_records_and_bad_entries_fail_alone() {
        let body = serde_json::json!({"streams": [
            {"stream": {"stream_name": "web", "host": "n1"}, "values": [
                ["1700000000000000000", "line one"],
                ["1700000000500000000", "line two", {"user": "u1"}],
                [1700000000, "numeric time"],
                ["x", "bad time"],
                ["1700000000000000000"]
            ]},
            {"stream": {"host": 5}, "values": [["1", "l"]]},
            {"stream": {}, "values": [["1700000000000000000", "to default"]]},
            {"stream": {"job": "no entries"}}
        ]});
        let items = decode_json(body.to_string().as_bytes(), 1 << 20).unwrap();
        let stored: Vec<_> = items.iter().filter(|i| i.record.is_ok()).collect();
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[0].stream, "web");
        let second = stored[1].record.as_ref().unwrap();
        assert_eq!(text(second, "user"), Some("u1"));
        assert_eq!(text(second, "host"), Some("n1"));
        assert_eq!(
            second.get("_timestamp"),
            Some(&Scalar::Int(1_700_000_000_500_000))
        );
        assert_eq!(stored[2].stream, DEFAULT_STREAM);
        assert_eq!(items.iter().filter(|i| i.record.is_err()).count(), 5);
        assert!(decode_json(b"{}", 1 << 20).is_err());
        assert!(decode_json(b"[", 1 << 20).is_err());
        assert!(decode_json(body.to_string().as_bytes(), 100).is_err());
    }
}
