//! Wire formats → flattened records: `_json` ([`json`]), `_multi` ([`ndjson`]), the
//! Elasticsearch bulk API ([`bulk`]), OpenTelemetry's OTLP ([`otlp`]), Loki push ([`loki`]),
//! syslog ([`syslog`]), Fluentd's forward protocol ([`forward`]) and Splunk's HTTP Event
//! Collector ([`hec`]);
//! metric samples from Prometheus remote_write ([`remote_write`]) and OTLP metrics into
//! [`crate::samples`].

use crate::record::FlatRecord;

pub mod bulk;
pub mod flatten;
pub mod forward;
pub mod hec;
pub mod json;
pub mod loki;
pub mod ndjson;
pub mod otlp;
pub mod protowire;
pub mod remote_write;
mod remote_write_v1;
pub mod syslog;

/// One decoded item of a request whose items name their own streams (OTLP, Loki, syslog, forward, HEC): the stream
/// (raw name) and the record, or why the item was refused (reported, counted).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedItem {
    /// Target stream (before normalisation).
    pub stream: String,
    /// The record or the refusal.
    pub record: Result<FlatRecord<'static>, String>,
}

/// Strips a UTF-8 byte-order mark.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}
