//! Fluentd's forward protocol (v1), what Fluent Bit's and Fluentd's `forward` outputs send:
//! one MessagePack array per message, in four modes —
//! Message `[tag, time, record, option?]`, Forward `[tag, [[time, record], …], option?]`,
//! PackedForward `[tag, <bin: a stream of [time, record]>, option?]` and
//! CompressedPackedForward (the same, gzipped, `option.compressed = "gzip"`) — plus the
//! handshake's `PING`. A time is integer seconds or the `EventTime` extension (type 0: seconds
//! and nanoseconds, big-endian 32-bit each). `option.chunk` asks for an `{"ack": chunk}` answer
//! once the message is stored.

pub mod msgpack;

use std::borrow::Cow;
use std::io::Read;

use msgpack::Value;

use super::DecodedItem;
use super::flatten::{FlattenOptions, value_record};
use crate::record::Scalar;

/// Events decoded per batch at most: a small message can claim millions of tiny events (or
/// inflate to them), and each takes far more memory decoded than on the wire.
fn event_budget(max_bytes: usize) -> usize {
    (max_bytes / 128).max(10_000)
}

/// The handshake's `PING` (`["PING", hostname, salt, hex digest, username, password digest]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The client's hostname.
    pub hostname: String,
    /// The client's salt for the shared key digest.
    pub salt: Vec<u8>,
    /// hex(sha512(salt ‖ hostname ‖ nonce ‖ shared key)).
    pub digest: String,
}

/// Reads a `PING`; an error says what else the message was.
pub fn parse_ping(message: &[u8]) -> Result<Ping, String> {
    let (value, _) = msgpack::read(message).map_err(|e| format!("{e:?}"))?;
    let Value::Array(items) = value else {
        return Err("the handshake expects a PING array".to_string());
    };
    let text = |index: usize| items.get(index).and_then(Value::text);
    if text(0).as_deref() != Some("PING") || items.len() < 4 {
        return Err("the handshake expects [\"PING\", hostname, salt, digest, …]".to_string());
    }
    let salt = match items.get(2) {
        Some(Value::Str(bytes) | Value::Bin(bytes)) => bytes.to_vec(),
        _ => return Err("PING without a salt".to_string()),
    };
    Ok(Ping {
        hostname: text(1).unwrap_or_default().into_owned(),
        salt,
        digest: text(3).unwrap_or_default().into_owned(),
    })
}

/// What decoding a batch of messages gave: one item per event (or per refused message) and the
/// chunk ids to acknowledge, in order.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Events, each into the stream its tag names (or `stream` when configured).
    pub items: Vec<DecodedItem>,
    /// `option.chunk` of every message, to be answered once stored.
    pub acks: Vec<String>,
}

/// How much a batch may still decompress and decode.
struct Budget {
    /// Bytes all compressed messages of the batch may inflate to.
    inflated_bytes: usize,
    /// Events still to decode.
    events: usize,
}

/// Decodes whole messages received at `now_micros` (the time of events sent without one).
/// `stream` overrides the tag as stream name; a batch decompresses to at most `max_bytes` in
/// all, and decodes at most `max_bytes / 128` events (the rest is refused and counted).
pub fn decode(
    messages: &[bytes::Bytes],
    stream: Option<&str>,
    options: FlattenOptions,
    max_bytes: usize,
    now_micros: i64,
) -> Decoded {
    let mut decoded = Decoded::default();
    let mut budget = Budget {
        inflated_bytes: max_bytes,
        events: event_budget(max_bytes),
    };
    let context = Context {
        stream,
        options,
        now_micros,
    };
    for message in messages {
        decode_message(message, context, &mut budget, &mut decoded);
    }
    decoded
}

/// What every message of a batch is decoded with.
#[derive(Clone, Copy)]
struct Context<'s> {
    stream: Option<&'s str>,
    options: FlattenOptions,
    now_micros: i64,
}

/// Collects one message's events into their stream.
struct Events<'o> {
    items: &'o mut Vec<DecodedItem>,
    stream: String,
    context: Context<'o>,
    budget: &'o mut Budget,
    /// Events refused because the budget ran out (reported once per message).
    over_budget: usize,
}

impl Events<'_> {
    fn event(&mut self, time: &Value<'_>, record: &Value<'_>) {
        if self.budget.events == 0 {
            self.over_budget += 1;
            return;
        }
        self.budget.events -= 1;
        self.items.push(DecodedItem {
            stream: self.stream.clone(),
            record: event(time, record, self.context),
        });
    }

    /// Reports the events the budget refused, as one counted refusal.
    fn finish(mut self) {
        if self.over_budget > 0 {
            let why = format!(
                "{} events were refused: the batch's event budget (KANSOKU_MAX_BODY_BYTES / 128 events) ran out",
                self.over_budget
            );
            self.refuse(why);
        }
    }

    fn refuse(&mut self, why: impl Into<String>) {
        self.items.push(DecodedItem {
            stream: self.stream.clone(),
            record: Err(why.into()),
        });
    }
}

fn decode_message(message: &[u8], context: Context<'_>, budget: &mut Budget, out: &mut Decoded) {
    let mut events = Events {
        items: &mut out.items,
        stream: context.stream.unwrap_or("default").to_string(),
        context,
        budget,
        over_budget: 0,
    };
    let value = match msgpack::read(message) {
        Ok((value, _)) => value,
        Err(error) => return events.refuse(format!("not a forward message: {error:?}")),
    };
    let Value::Array(items) = value else {
        return events.refuse("a forward message must be an array");
    };
    let Some(tag) = items.first().and_then(Value::text) else {
        return events.refuse("a forward message must start with its tag");
    };
    if context.stream.is_none() {
        // Normalised once per message: an event repeats a short name, never a huge tag.
        match kansoku_core::StreamName::normalise(&tag) {
            Ok(name) => events.stream = name.as_str().to_string(),
            Err(error) => return events.refuse(format!("forward tag: {error}")),
        }
    }
    // Message mode: [tag, time, record-map, option?] (a time may be nil: "now").
    let message_mode = items.len() >= 3
        && matches!(items.get(2), Some(Value::Map(_)))
        && !matches!(
            items.get(1),
            Some(Value::Array(_) | Value::Str(_) | Value::Bin(_) | Value::Map(_))
        );
    let option_index = if message_mode { 3 } else { 2 };
    let option = match items.get(option_index) {
        Some(Value::Map(entries)) => entries.as_slice(),
        _ => &[],
    };
    let lookup = |name: &str| {
        option
            .iter()
            .find(|(key, _)| key.text().as_deref() == Some(name))
            .map(|(_, value)| value)
    };
    if let Some(chunk) = lookup("chunk").and_then(Value::text) {
        out.acks.push(chunk.into_owned());
    }
    match items.get(1) {
        Some(time) if message_mode => events.event(time, &items[2]),
        Some(Value::Array(entries)) => {
            for entry in entries {
                match entry {
                    Value::Array(pair) if pair.len() == 2 => events.event(&pair[0], &pair[1]),
                    _ => events.refuse("a forward entry must be [time, record]"),
                }
            }
        }
        Some(Value::Str(packed) | Value::Bin(packed)) => {
            let unpacked = match lookup("compressed").and_then(Value::text).as_deref() {
                None | Some("text") => Ok(Cow::Borrowed(*packed)),
                Some("gzip") => gunzip(packed, &mut events.budget.inflated_bytes).map(Cow::Owned),
                Some(other) => Err(format!("unsupported forward compression '{other}'")),
            };
            match unpacked {
                Ok(bytes) => unpack(&bytes, &mut events),
                Err(why) => events.refuse(why),
            }
        }
        _ => events.refuse(
            "a forward message's second element must be a time, entries or a packed stream",
        ),
    }
    events.finish();
}

/// The `[time, record]` arrays of a PackedForward stream.
fn unpack(mut stream: &[u8], events: &mut Events<'_>) {
    while !stream.is_empty() {
        match msgpack::read(stream) {
            Ok((Value::Array(pair), used)) if pair.len() == 2 => {
                events.event(&pair[0], &pair[1]);
                stream = &stream[used..];
            }
            Ok((_, used)) => {
                events.refuse("a packed forward entry must be [time, record]");
                stream = &stream[used..];
            }
            Err(error) => {
                events.refuse(format!(
                    "a packed forward stream is cut or invalid: {error:?}"
                ));
                return;
            }
        }
    }
}

/// Inflates `bytes` within what the batch may still inflate to (`left`, reduced by the size).
fn gunzip(bytes: &[u8], left: &mut usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(*left as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("a gzip-compressed forward message cannot be read: {e}"))?;
    if out.len() > *left {
        return Err(format!(
            "compressed forward messages inflate to more than KANSOKU_MAX_BODY_BYTES ({} bytes left of the batch)",
            *left
        ));
    }
    *left -= out.len();
    Ok(out)
}

/// One event: its record flattened as a JSON object would be, `_timestamp` from its time.
fn event(
    time: &Value<'_>,
    record: &Value<'_>,
    context: Context<'_>,
) -> Result<crate::record::FlatRecord<'static>, String> {
    let micros = match time {
        // Fluentd takes a missing (nil or 0) time as "now".
        Value::Nil | Value::Int(0) => context.now_micros,
        // Fluent Bit's `Retain_Metadata_In_Forward_Mode`: [time, metadata].
        Value::Array(pair) if pair.len() == 2 => event_micros(&pair[0])?,
        time => event_micros(time)?,
    };
    if !matches!(record, Value::Map(_)) {
        return Err("a forward record must be a map".to_string());
    }
    let mut record = value_record(to_json(record), context.options)
        .map_err(|e| format!("forward record: {e}"))?
        .map_err(|e| e.to_string())?;
    record.fields.push((
        Cow::Borrowed(kansoku_core::schema::TIMESTAMP_COLUMN),
        Scalar::Int(micros),
    ));
    Ok(record)
}

/// Seconds, or EventTime (ext 0: seconds and nanoseconds) → µs.
fn event_micros(time: &Value<'_>) -> Result<i64, String> {
    let (seconds, nanos) = match time {
        Value::Int(seconds) if *seconds >= 0 => (*seconds, 0),
        Value::UInt(_) | Value::Int(_) => {
            return Err("a forward event time is out of range".to_string());
        }
        Value::Float(seconds) if seconds.is_finite() && *seconds >= 0.0 => {
            return Ok((seconds * 1e6).round() as i64);
        }
        Value::Ext(0, data) if data.len() == 8 => {
            let seconds = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let nanos = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            (i64::from(seconds), i64::from(nanos))
        }
        _ => return Err("a forward event time must be seconds or an EventTime".to_string()),
    };
    if nanos >= 1_000_000_000 {
        return Err("a forward EventTime has nanoseconds beyond a second".to_string());
    }
    seconds
        .checked_mul(1_000_000)
        .map(|micros| micros + nanos / 1_000)
        .ok_or_else(|| "a forward event time is out of range".to_string())
}

/// A MessagePack value as JSON, for the JSON flattener: str and bin as text, maps' non-text
/// keys as their JSON text, an EventTime as RFC 3339, other extensions dropped.
fn to_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::Nil => Json::Null,
        Value::Ext(..) => event_micros(value)
            .ok()
            .and_then(|micros| jiff::Timestamp::from_microsecond(micros).ok())
            .map_or(Json::Null, |time| Json::String(time.to_string())),
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::from(*n),
        Value::UInt(n) => Json::from(*n),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(bytes) | Value::Bin(bytes) => {
            Json::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = key
                        .text()
                        .map_or_else(|| to_json(key).to_string(), Cow::into_owned);
                    (key, to_json(value))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000_000;

    fn encode(build: impl FnOnce(&mut Vec<u8>)) -> bytes::Bytes {
        let mut out = Vec::new();
        build(&mut out);
        bytes::Bytes::from(out)
    }

    fn run(messages: &[bytes::Bytes], max_bytes: usize) -> Decoded {
        decode(
            messages,
            None,
            FlattenOptions { max_depth: 3 },
            max_bytes,
            NOW,
        )
    }

    #[test]
    fn a_nil_time_is_now_and_the_chunk_still_found() {
        let message = encode(|out| {
            let _ = rmp::encode::write_array_len(out, 4);
            let _ = rmp::encode::write_str(out, "app.web");
            let _ = rmp::encode::write_nil(out);
            let _ = rmp::encode::write_map_len(out, 1);
            let _ = rmp::encode::write_str(out, "log");
            let _ = rmp::encode::write_str(out, "hi");
            let _ = rmp::encode::write_map_len(out, 1);
            let _ = rmp::encode::write_str(out, "chunk");
            let _ = rmp::encode::write_str(out, "c1");
        });
        let decoded = run(&[message], 1 << 20);
        assert_eq!(decoded.acks, vec!["c1".to_string()]);
        assert_eq!(decoded.items.len(), 1);
        assert_eq!(decoded.items[0].stream, "app_web");
        let record = decoded.items[0]
            .record
            .as_ref()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.get("_timestamp"), Some(&Scalar::Int(NOW)));
    }

    #[test]
    fn metadata_entries_of_fluent_bit_are_read() {
        let message = encode(|out| {
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_str(out, "k8s");
            let _ = rmp::encode::write_array_len(out, 1);
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_uint(out, 1_767_225_601);
            let _ = rmp::encode::write_map_len(out, 0);
            let _ = rmp::encode::write_map_len(out, 1);
            let _ = rmp::encode::write_str(out, "log");
            let _ = rmp::encode::write_str(out, "with metadata");
        });
        let decoded = run(&[message], 1 << 20);
        let record = decoded.items[0]
            .record
            .as_ref()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            record.get("_timestamp"),
            Some(&Scalar::Int(1_767_225_601_000_000))
        );
    }

    #[test]
    fn a_huge_tag_is_refused_once_not_copied_per_event() {
        let tag = "t".repeat(200_000);
        let message = encode(|out| {
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_str(out, &tag);
            let _ = rmp::encode::write_array_len(out, 1000);
            for _ in 0..1000 {
                out.extend([0x92, 0x00, 0x80]);
            }
        });
        let decoded = run(&[message], 1 << 20);
        assert_eq!(decoded.items.len(), 1);
        assert!(decoded.items[0].record.is_err());
        assert!(decoded.items[0].stream.len() <= 128);
    }

    #[test]
    fn events_beyond_the_budget_are_refused_in_one_item() {
        let events = event_budget(1000) + 5;
        let message = encode(|out| {
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_str(out, "many");
            let _ = rmp::encode::write_array_len(out, u32::try_from(events).unwrap_or(0));
            for _ in 0..events {
                out.extend([0x92, 0x00, 0x80]);
            }
        });
        let decoded = run(&[message], 1000);
        assert_eq!(decoded.items.len(), event_budget(1000) + 1);
        let last = decoded.items.last().map(|item| item.record.clone());
        assert!(matches!(last, Some(Err(why)) if why.starts_with("5 events were refused")));
    }
}
