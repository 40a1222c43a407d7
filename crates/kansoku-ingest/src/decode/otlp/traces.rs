//! OTLP traces → one record per span, in OpenObserve's column names: `trace_id`, `span_id`,
//! `reference_parent_span_id`, `span_kind` (`server`, `client`, …), `span_status` (`UNSET`, `OK`,
//! `ERROR`), `status_message`, `operation_name`, `service_name`, `start_time` / `end_time` (ns),
//! `duration` (µs), `trace_state`, `flags`, `events` and `links` (JSON text), the span's
//! attributes as columns (prefixed `attr_` when they would overwrite one of those), and the
//! resource's attributes prefixed `service_` (`service.namespace` → `service_service_namespace`;
//! `service.name` → `service_name`). `_timestamp` is the start time.
//!
//! A span whose trace or span id is missing, of the wrong length or all zeros, or whose parent id
//! is malformed, is refused (into `partial_success`); the rest of the request is kept.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::json;

use super::{DecodedItem, RecordBuilder, any_value_json, id_hex, nanos_to_micros};
use crate::record::Scalar;

/// Columns a span attribute may not overwrite (it gets the `attr_` prefix instead).
const RESERVED: [&str; 16] = [
    "_timestamp",
    "trace_id",
    "span_id",
    "reference_parent_span_id",
    "span_kind",
    "span_status",
    "status_message",
    "operation_name",
    "service_name",
    "start_time",
    "end_time",
    "duration",
    "trace_state",
    "flags",
    "events",
    "links",
];

/// The name of a span kind.
pub fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn attributes_json(attributes: &[KeyValue]) -> serde_json::Value {
    serde_json::Value::Object(
        attributes
            .iter()
            .map(|kv| {
                let value = kv
                    .value
                    .as_ref()
                    .map_or(serde_json::Value::Null, |v| any_value_json(v, 0));
                (kv.key.clone(), value)
            })
            .collect(),
    )
}

/// The records of a request, all for `stream`.
pub fn records(request: &ExportTraceServiceRequest, stream: &str) -> Vec<DecodedItem> {
    let mut items = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .map(|v| match any_value_json(v, 0) {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            })
            .unwrap_or_else(|| "unknown_service".to_string());
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                items.push(DecodedItem {
                    stream: stream.to_string(),
                    record: span_record(span, resource, &service)
                        .map_err(|reason| format!("span '{}': {reason}", span.name)),
                });
            }
        }
    }
    items
}

fn span_record(
    span: &Span,
    resource: &[KeyValue],
    service: &str,
) -> Result<crate::record::FlatRecord<'static>, String> {
    let trace_id =
        id_hex(&span.trace_id, "trace_id", 16)?.ok_or_else(|| "trace_id is missing".to_string())?;
    let span_id =
        id_hex(&span.span_id, "span_id", 8)?.ok_or_else(|| "span_id is missing".to_string())?;
    let parent = id_hex(&span.parent_span_id, "parent_span_id", 8)?;
    let mut record = RecordBuilder::default();
    for attribute in resource {
        if attribute.key == "service.name" {
            continue;
        }
        record.attributes(std::slice::from_ref(attribute), "service_");
    }
    for attribute in &span.attributes {
        let normalised = kansoku_core::names::normalise_field_name(&attribute.key);
        let prefix = if RESERVED.contains(&normalised.as_str()) {
            "attr_"
        } else {
            ""
        };
        record.attributes(std::slice::from_ref(attribute), prefix);
    }
    record.set(
        kansoku_core::schema::TIMESTAMP_COLUMN,
        Scalar::Int(nanos_to_micros(span.start_time_unix_nano)),
    );
    record.text("trace_id", trace_id);
    record.text("span_id", span_id);
    if let Some(parent) = parent {
        record.text("reference_parent_span_id", parent);
    }
    record.text("span_kind", kind_name(span.kind));
    let (status, message) = match &span.status {
        Some(status) => (
            match status.code {
                1 => "OK",
                2 => "ERROR",
                _ => "UNSET",
            },
            status.message.as_str(),
        ),
        None => ("UNSET", ""),
    };
    record.text("span_status", status);
    record.text_if_any("status_message", message);
    record.text("operation_name", span.name.clone());
    record.text("service_name", service.to_string());
    let start = i64::try_from(span.start_time_unix_nano).unwrap_or(i64::MAX);
    let end = i64::try_from(span.end_time_unix_nano).unwrap_or(i64::MAX);
    record.set("start_time", Scalar::Int(start));
    record.set("end_time", Scalar::Int(end));
    record.set(
        "duration",
        Scalar::Int(end.saturating_sub(start).max(0) / 1_000),
    );
    record.text_if_any("trace_state", &span.trace_state);
    if span.flags > 0 {
        record.set("flags", Scalar::Int(i64::from(span.flags)));
    }
    let events: Vec<serde_json::Value> = span
        .events
        .iter()
        .map(|event| {
            json!({
                "name": event.name,
                "_timestamp": nanos_to_micros(event.time_unix_nano),
                "attributes": attributes_json(&event.attributes),
            })
        })
        .collect();
    record.text("events", serde_json::Value::Array(events).to_string());
    let mut links = Vec::with_capacity(span.links.len());
    for link in &span.links {
        links.push(json!({
            "trace_id": id_hex(&link.trace_id, "link trace_id", 16)?,
            "span_id": id_hex(&link.span_id, "link span_id", 8)?,
            "trace_state": link.trace_state,
            "attributes": attributes_json(&link.attributes),
        }));
    }
    record.text("links", serde_json::Value::Array(links).to_string());
    Ok(record.finish())
}
