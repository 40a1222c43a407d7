//! Splunk HTTP Event Collector bodies → records.
//!
//! - `/services/collector/event`: JSON event objects one after another (no array, any
//!   whitespace between). Each has `event` (required: an object becomes columns as a `_json`
//!   record would, anything else becomes `message`), and optionally `time` (epoch seconds with
//!   a fraction, number or string), `host`, `source`, `sourcetype` (columns), `index` (the
//!   stream) and `fields` (an object of extra columns). A column the event itself has wins over
//!   `host`, `source`, `sourcetype` and `fields`.
//! - `/services/collector/raw`: text, one event per line, as `message`.
//!
//! Both take defaults from the query string ([`Defaults`]). An event that is not valid is refused
//! alone; a syntax error ends the body (the events after it cannot be found), and everything
//! before it is stored.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::DecodedItem;
use super::flatten::{FlattenOptions, value_record};
use crate::record::Scalar;

/// The stream of events that name no `index`, when the query string names none either.
pub const DEFAULT_STREAM: &str = "default";

/// The column of an event that is text (and of every raw line).
pub const MESSAGE_COLUMN: &str = "message";

/// Metadata the query string gives every event of a request that does not carry its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// `host`.
    pub host: Option<String>,
    /// `source`.
    pub source: Option<String>,
    /// `sourcetype`.
    pub sourcetype: Option<String>,
    /// `index`: the stream.
    pub index: Option<String>,
    /// `time` (epoch seconds), in µs.
    pub time_micros: Option<i64>,
}

/// Why an event was refused, as HEC's answer codes say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Code 6, "Invalid data format".
    InvalidFormat,
    /// Code 12, "Event field is required".
    EventRequired,
    /// Code 13, "Event field cannot be blank".
    EventBlank,
}

impl Problem {
    /// HEC's numeric code.
    pub fn code(self) -> u32 {
        match self {
            Problem::InvalidFormat => 6,
            Problem::EventRequired => 12,
            Problem::EventBlank => 13,
        }
    }
}

/// The first refused event of a body: its number (from 0, as HEC counts) and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstInvalid {
    /// The event's number, from 0.
    pub event: usize,
    /// What was wrong.
    pub problem: Problem,
}

/// A decoded body.
#[derive(Debug, Default)]
pub struct Decoded {
    /// One item per event (a refused event → a refused item, so it is counted).
    pub items: Vec<DecodedItem>,
    /// The first refused event, if any.
    pub first_invalid: Option<FirstInvalid>,
}

impl Decoded {
    fn refuse(&mut self, stream: &str, event: usize, problem: Problem, why: String) {
        self.first_invalid
            .get_or_insert(FirstInvalid { event, problem });
        self.items.push(DecodedItem {
            stream: stream.to_string(),
            record: Err(format!("event {event}: {why}")),
        });
    }
}

/// The two ingest endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/services/collector/event`: JSON event objects.
    Event,
    /// `/services/collector/raw`: one event per line.
    Raw,
}

/// Decodes a body of either endpoint, at most `max_events` events (the rest of the body is
/// refused as one item, so that a body of tiny events cannot take memory far beyond its size).
pub fn decode(
    body: &[u8],
    endpoint: Endpoint,
    defaults: &Defaults,
    options: FlattenOptions,
    max_events: usize,
) -> Decoded {
    match endpoint {
        Endpoint::Event => decode_events(body, defaults, options, max_events),
        Endpoint::Raw => decode_raw(body, defaults, max_events),
    }
}

fn too_many(decoded: &mut Decoded, stream: &str, max_events: usize) {
    let why = format!(
        "more than {max_events} events in one request (KANSOKU_MAX_BODY_BYTES / 128); the rest of the body was not read"
    );
    decoded.refuse(stream, max_events, Problem::InvalidFormat, why);
}

/// Whether a body holds no event at all (HEC's code 5, "No data").
pub fn is_empty(body: &[u8]) -> bool {
    super::strip_bom(body).iter().all(u8::is_ascii_whitespace)
}

/// Decodes an `/event` body.
pub fn decode_events(
    body: &[u8],
    defaults: &Defaults,
    options: FlattenOptions,
    max_events: usize,
) -> Decoded {
    let default_stream = defaults.index.as_deref().unwrap_or(DEFAULT_STREAM);
    let mut decoded = Decoded::default();
    let values = serde_json::Deserializer::from_slice(super::strip_bom(body)).into_iter::<Value>();
    for (number, value) in values.enumerate() {
        if number >= max_events {
            too_many(&mut decoded, default_stream, max_events);
            break;
        }
        let value = match value {
            Ok(value) => value,
            Err(error) => {
                let why = format!("invalid JSON ({error}); the events after it were not read");
                decoded.refuse(default_stream, number, Problem::InvalidFormat, why);
                break;
            }
        };
        match event(value, defaults, options) {
            Ok(item) => decoded.items.push(item),
            Err((problem, why)) => decoded.refuse(default_stream, number, problem, why),
        }
    }
    decoded
}

/// Decodes a `/raw` body: one event per non-blank line.
pub fn decode_raw(body: &[u8], defaults: &Defaults, max_events: usize) -> Decoded {
    let stream = defaults.index.as_deref().unwrap_or(DEFAULT_STREAM);
    let mut lines = super::strip_bom(body)
        .split(|byte| *byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .peekable();
    let items = lines
        .by_ref()
        .take(max_events)
        .map(|line| {
            let mut record = Map::new();
            record.insert(
                MESSAGE_COLUMN.to_string(),
                Value::String(String::from_utf8_lossy(line).into_owned()),
            );
            add_metadata(&mut record, defaults, None, None, None);
            DecodedItem {
                stream: stream.to_string(),
                record: flatten(
                    record,
                    defaults.time_micros,
                    FlattenOptions { max_depth: 1 },
                ),
            }
        })
        .collect();
    let mut decoded = Decoded {
        items,
        first_invalid: None,
    };
    if lines.peek().is_some() {
        too_many(&mut decoded, stream, max_events);
    }
    decoded
}

/// One event object → its stream and record.
fn event(
    value: Value,
    defaults: &Defaults,
    options: FlattenOptions,
) -> Result<DecodedItem, (Problem, String)> {
    let invalid = |why: &str| (Problem::InvalidFormat, why.to_string());
    let Value::Object(mut envelope) = value else {
        return Err(invalid("an event must be a JSON object"));
    };
    let mut record = match envelope.remove("event") {
        None => return Err((Problem::EventRequired, "no \"event\" field".to_string())),
        Some(Value::Null) => {
            return Err((Problem::EventBlank, "\"event\" is null".to_string()));
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            return Err((Problem::EventBlank, "\"event\" is blank".to_string()));
        }
        Some(Value::Object(object)) if object.is_empty() => {
            return Err((
                Problem::EventBlank,
                "\"event\" is an empty object".to_string(),
            ));
        }
        Some(Value::Object(object)) => object,
        Some(Value::String(text)) => Map::from_iter([(MESSAGE_COLUMN.to_string(), text.into())]),
        Some(other) => Map::from_iter([(MESSAGE_COLUMN.to_string(), other.to_string().into())]),
    };
    let time_micros = match envelope.get("time") {
        None | Some(Value::Null) => defaults.time_micros,
        Some(time) => Some(seconds_to_micros(time).ok_or_else(|| {
            invalid("\"time\" must be epoch seconds (a number or a numeric string)")
        })?),
    };
    let index = match envelope.get("index") {
        None | Some(Value::Null) => None,
        Some(Value::String(index)) if index.trim().is_empty() => None,
        Some(Value::String(index)) => Some(index.clone()),
        Some(_) => return Err(invalid("\"index\" must be a string")),
    };
    let fields = match envelope.remove("fields") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(fields)) => fields,
        Some(_) => return Err(invalid("\"fields\" must be an object")),
    };
    add_metadata(
        &mut record,
        defaults,
        envelope.get("host"),
        envelope.get("source"),
        envelope.get("sourcetype"),
    );
    for (name, value) in fields {
        record.entry(name).or_insert(value);
    }
    let stream = index
        .or_else(|| defaults.index.clone())
        .unwrap_or_else(|| DEFAULT_STREAM.to_string());
    Ok(DecodedItem {
        stream,
        record: flatten(record, time_micros, options),
    })
}

/// Adds `host`, `source` and `sourcetype` (the event's own, else the request's) unless the
/// record has a column of that name.
fn add_metadata(
    record: &mut Map<String, Value>,
    defaults: &Defaults,
    host: Option<&Value>,
    source: Option<&Value>,
    sourcetype: Option<&Value>,
) {
    for (name, own, default) in [
        ("host", host, &defaults.host),
        ("source", source, &defaults.source),
        ("sourcetype", sourcetype, &defaults.sourcetype),
    ] {
        let value = match own {
            Some(Value::Null) | None => default.clone().map(Value::String),
            Some(Value::String(text)) => Some(Value::String(text.clone())),
            Some(other) => Some(Value::String(other.to_string())),
        };
        if let Some(value) = value {
            record.entry(name).or_insert(value);
        }
    }
}

/// The record flattened as a `_json` record would be, `_timestamp` from the event's time.
fn flatten(
    record: Map<String, Value>,
    time_micros: Option<i64>,
    options: FlattenOptions,
) -> Result<crate::record::FlatRecord<'static>, String> {
    let mut flat = value_record(Value::Object(record), options)
        .map_err(|e| format!("event: {e}"))?
        .map_err(|e| e.to_string())?;
    if let Some(micros) = time_micros {
        flat.fields
            .retain(|(name, _)| name != kansoku_core::schema::TIMESTAMP_COLUMN);
        flat.fields.push((
            Cow::Borrowed(kansoku_core::schema::TIMESTAMP_COLUMN),
            Scalar::Int(micros),
        ));
    }
    Ok(flat)
}

/// Epoch seconds (a JSON number or a string holding one, with up to 6 decimals kept) → µs.
pub fn seconds_to_micros(time: &Value) -> Option<i64> {
    match time {
        Value::Number(number) => seconds_text_to_micros(&number.to_string()),
        Value::String(text) => seconds_text_to_micros(text.trim()),
        _ => None,
    }
}

/// `"1700000000.123456"` → µs, read as decimal text so that no precision is lost to floats.
pub fn seconds_text_to_micros(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let decimal = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !decimal {
        // Exponent notation and other forms: as a float, to the microsecond.
        let seconds: f64 = text.parse().ok()?;
        return (seconds.is_finite() && (0.0..1e12).contains(&seconds))
            .then(|| (seconds * 1e6).round() as i64);
    }
    let seconds: i64 = whole.parse().ok()?;
    let mut micros_part = 0i64;
    for (position, digit) in fraction.bytes().take(6).enumerate() {
        micros_part += i64::from(digit - b'0') * 10i64.pow(5 - position as u32);
    }
    seconds.checked_mul(1_000_000)?.checked_add(micros_part)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: FlattenOptions = FlattenOptions { max_depth: 3 };

    fn field<'a>(item: &'a DecodedItem, name: &str) -> Option<&'a Scalar<'static>> {
        item.record.as_ref().ok()?.get(name)
    }

    fn text<'a>(item: &'a DecodedItem, name: &str) -> Option<&'a str> {
        match field(item, name)? {
            Scalar::Str(text) => Some(text.as_ref()),
            _ => None,
        }
    }

    #[test]
    fn events_become_records_in_their_index() {
        let body = br#"{"time": 1700000000.25, "host": "node-1", "source": "/var/log/app.log", "sourcetype": "app", "index": "shop", "event": {"level": "warn", "http": {"status": 500}}, "fields": {"cluster": "prod", "level": "ignored"}}
{"event": "plain text line", "time": "1700000001"}  {"event": 42}"#;
        let defaults = Defaults {
            host: Some("default-host".into()),
            ..Defaults::default()
        };
        let decoded = decode_events(body, &defaults, OPTIONS, 100);
        assert_eq!(decoded.first_invalid, None);
        assert_eq!(decoded.items.len(), 3);
        let first = &decoded.items[0];
        assert_eq!(first.stream, "shop");
        assert_eq!(text(first, "level"), Some("warn"));
        assert_eq!(field(first, "http_status"), Some(&Scalar::Int(500)));
        assert_eq!(text(first, "host"), Some("node-1"));
        assert_eq!(text(first, "source"), Some("/var/log/app.log"));
        assert_eq!(text(first, "sourcetype"), Some("app"));
        assert_eq!(text(first, "cluster"), Some("prod"));
        assert_eq!(
            field(first, "_timestamp"),
            Some(&Scalar::Int(1_700_000_000_250_000))
        );
        let second = &decoded.items[1];
        assert_eq!(second.stream, DEFAULT_STREAM);
        assert_eq!(text(second, "message"), Some("plain text line"));
        assert_eq!(text(second, "host"), Some("default-host"));
        assert_eq!(
            field(second, "_timestamp"),
            Some(&Scalar::Int(1_700_000_001_000_000))
        );
        assert_eq!(text(&decoded.items[2], "message"), Some("42"));
        assert_eq!(field(&decoded.items[2], "_timestamp"), None);
    }

    #[test]
    fn a_bad_event_is_refused_alone_and_a_syntax_error_ends_the_body() {
        let body = br#"{"event": "ok"} {"time": 1} {"event": ""} {"event": "x", "time": "soon"} [1] {"event": "ok too"} {"event": "#;
        let decoded = decode_events(body, &Defaults::default(), OPTIONS, 100);
        assert_eq!(
            decoded.first_invalid,
            Some(FirstInvalid {
                event: 1,
                problem: Problem::EventRequired
            })
        );
        let outcomes: Vec<Result<(), &str>> = decoded
            .items
            .iter()
            .map(|item| item.record.as_ref().map(|_| ()).map_err(String::as_str))
            .collect();
        assert_eq!(outcomes.len(), 7);
        assert!(outcomes[0].is_ok() && outcomes[5].is_ok());
        for (index, expected) in [
            (1, "event 1: no \"event\" field"),
            (2, "event 2: \"event\" is blank"),
            (3, "event 3: \"time\" must be epoch seconds"),
            (4, "event 4: an event must be a JSON object"),
            (6, "event 6: invalid JSON"),
        ] {
            let error = outcomes[index].err().unwrap_or_default();
            assert!(error.starts_with(expected), "{index}: {error}");
        }
    }

    #[test]
    fn raw_lines_are_events_with_the_request_metadata() {
        let defaults = Defaults {
            sourcetype: Some("nginx".into()),
            index: Some("web".into()),
            time_micros: Some(5_000_000),
            ..Defaults::default()
        };
        let decoded = decode_raw(b"GET / 200\r\n\n  \nGET /x 404", &defaults, 100);
        assert_eq!(decoded.items.len(), 2);
        assert!(decoded.items.iter().all(|item| item.stream == "web"));
        assert_eq!(text(&decoded.items[0], "message"), Some("GET / 200"));
        assert_eq!(text(&decoded.items[1], "sourcetype"), Some("nginx"));
        assert_eq!(
            field(&decoded.items[1], "_timestamp"),
            Some(&Scalar::Int(5_000_000))
        );
    }

    #[test]
    fn events_beyond_the_limit_are_refused_as_one() {
        let events = decode_events(
            &b"{\"event\": 1} ".repeat(5),
            &Defaults::default(),
            OPTIONS,
            3,
        );
        assert_eq!(events.items.len(), 4);
        assert!(events.items[..3].iter().all(|item| item.record.is_ok()));
        assert_eq!(events.first_invalid.map(|f| f.event), Some(3));
        let raw = decode_raw(b"a\nb\nc\nd\n", &Defaults::default(), 2);
        assert_eq!(raw.items.len(), 3);
        assert!(
            raw.items[2]
                .record
                .as_ref()
                .err()
                .is_some_and(|e| e.contains("more than 2 events"))
        );
        assert_eq!(
            decode_raw(b"a\nb\n", &Defaults::default(), 2).items.len(),
            2
        );
    }

    #[test]
    fn times_keep_their_microseconds() {
        assert_eq!(
            seconds_text_to_micros("1700000000.123456789"),
            Some(1_700_000_000_123_456)
        );
        assert_eq!(
            seconds_text_to_micros("1700000000.1"),
            Some(1_700_000_000_100_000)
        );
        assert_eq!(seconds_text_to_micros("1.7e9"), Some(1_700_000_000_000_000));
        assert_eq!(seconds_text_to_micros("-5"), None);
        assert_eq!(seconds_text_to_micros("12a"), None);
        assert_eq!(seconds_text_to_micros("1.2.3"), None);
        assert_eq!(seconds_text_to_micros(""), None);
        assert_eq!(
            seconds_to_micros(&serde_json::json!(1_700_000_000.5)),
            Some(1_700_000_000_500_000)
        );
        assert_eq!(seconds_to_micros(&serde_json::json!(true)), None);
        assert!(is_empty(b" \n\t"));
        assert!(!is_empty(b"{}"));
    }
}
