//! Wire formats → flattened records: `_json` ([`json`]), `_multi` ([`ndjson`]), the
//! Elasticsearch bulk API ([`bulk`]) and OpenTelemetry's OTLP ([`otlp`]); metric samples from
//! Prometheus remote_write ([`remote_write`]) and OTLP metrics into [`crate::samples`].

pub mod bulk;
pub mod flatten;
pub mod json;
pub mod ndjson;
pub mod otlp;
pub mod protowire;
pub mod remote_write;
mod remote_write_v1;

/// Strips a UTF-8 byte-order mark.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}
