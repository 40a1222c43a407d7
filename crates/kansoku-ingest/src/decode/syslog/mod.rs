//! Syslog messages → records. A message's header is read as RFC 5424, else RFC 3164
//! ([`header`]); frames come from RFC 6587 framing ([`framing`]), RELP ([`relp`]) or one UDP
//! datagram each; [`routes`] picks each message's stream.
//!
//! Columns: `facility`, `severity` (keywords), `severity_code` (0–7), `hostname`, `appname`,
//! `procid`, `msgid`, `message`, one column per structured-data parameter
//! (`<sd-id>_<param>`, normalised), `syslog_error` when the header could not be read, and
//! `_timestamp` from the header (the receive time when it has none).

use std::borrow::Cow;

use bytes::Bytes;
use jiff::tz::TimeZone;

use super::DecodedItem;
use super::otlp::RecordBuilder;
use crate::record::Scalar;

pub mod framing;
pub mod header;
pub mod relp;
pub mod routes;

pub use framing::{Frame, Framer};
pub use routes::{RouteInput, Routes};

/// The stream of messages no route names, unless configured otherwise.
pub const DEFAULT_STREAM: &str = "syslog";

/// Decodes frames received at `received_micros` into one item each (a refused frame → a
/// refused item, so it is counted).
pub fn decode(
    frames: &[Frame],
    routes: &Routes,
    zone: &TimeZone,
    received_micros: i64,
) -> Vec<DecodedItem> {
    frames
        .iter()
        .map(|frame| match frame {
            Frame::Message(bytes) => decode_message(bytes, routes, zone, received_micros),
            Frame::Refused(why) => DecodedItem {
                stream: routes.default_stream.clone(),
                record: Err(why.clone()),
            },
        })
        .collect()
}

/// One message → its stream and record.
pub fn decode_message(
    bytes: &Bytes,
    routes: &Routes,
    zone: &TimeZone,
    received_micros: i64,
) -> DecodedItem {
    let text = String::from_utf8_lossy(bytes);
    let header = header::parse(&text, zone, received_micros);
    let facility = header::FACILITIES
        .get(usize::from(header.facility))
        .copied()
        .unwrap_or("user");
    let severity = header::SEVERITIES
        .get(usize::from(header.severity))
        .copied()
        .unwrap_or("notice");
    let stream = routes
        .stream_of(RouteInput {
            hostname: header.hostname,
            appname: header.appname,
            facility,
            severity,
        })
        .to_string();
    let mut record = RecordBuilder::default();
    record.set(
        kansoku_core::schema::TIMESTAMP_COLUMN,
        Scalar::Int(header.timestamp_micros.unwrap_or(received_micros)),
    );
    record.text("facility", facility);
    record.text("severity", severity);
    record.set("severity_code", Scalar::Int(i64::from(header.severity)));
    for (name, value) in [
        ("hostname", header.hostname),
        ("appname", header.appname),
        ("procid", header.procid),
        ("msgid", header.msgid),
    ] {
        if let Some(value) = value {
            record.text(name, value);
        }
    }
    for (id, name, value) in &header.structured_data {
        record.text(&format!("{id}_{name}"), value.clone());
    }
    if let Some(error) = &header.error {
        record.text("syslog_error", error.clone());
    }
    record.set(
        "message",
        Scalar::Str(Cow::Owned(header.message.to_string())),
    );
    DecodedItem {
        stream,
        record: Ok(record.finish()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(item: &'a DecodedItem, name: &str) -> Option<&'a str> {
        match item.record.as_ref().ok()?.get(name)? {
            Scalar::Str(text) => Some(text.as_ref()),
            _ => None,
        }
    }

    #[test]
    fn columns_and_routing() {
        let routes =
            Routes::parse("appname=sshd=>security", "syslog").unwrap_or_else(|e| panic!("{e}"));
        let frames = [
            Frame::Message(Bytes::from_static(
                br#"<38>1 2025-12-01T00:00:00Z node-1 sshd 42 LOGIN [origin ip="10.0.0.1"] accepted"#,
            )),
            Frame::Message(Bytes::from_static(b"<13>Dec  1 00:00:00 node-2 app: \xffbad utf8")),
            Frame::Refused("too big".to_string()),
        ];
        let items = decode(&frames, &routes, &TimeZone::UTC, 1_764_558_000_000_000);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].stream, "security");
        assert_eq!(text(&items[0], "facility"), Some("auth"));
        assert_eq!(text(&items[0], "severity"), Some("info"));
        assert_eq!(text(&items[0], "hostname"), Some("node-1"));
        assert_eq!(text(&items[0], "procid"), Some("42"));
        assert_eq!(text(&items[0], "msgid"), Some("LOGIN"));
        assert_eq!(text(&items[0], "origin_ip"), Some("10.0.0.1"));
        assert_eq!(text(&items[0], "message"), Some("accepted"));
        assert_eq!(items[1].stream, "syslog");
        assert_eq!(text(&items[1], "message"), Some("\u{fffd}bad utf8"));
        assert_eq!(text(&items[1], "syslog_error"), None);
        assert_eq!(items[2].record, Err("too big".to_string()));
    }
}
