//! OTLP logs → one record per log record: resource attributes, `instrumentation_library_name` /
//! `_version` (the scope), `severity_text`, `severity_number`, `body`, `trace_id`, `span_id`,
//! `flags` and the record's attributes (which win over resource attributes of the same name).
//! The time is `time_unix_nano`, else `observed_time_unix_nano`, else the ingest time.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;

use super::{DecodedItem, RecordBuilder, any_value_scalar, id_hex, nanos_to_micros};
use crate::record::Scalar;

/// The records of a request, all for `stream`.
pub fn records(request: &ExportLogsServiceRequest, stream: &str) -> Vec<DecodedItem> {
    let mut items = Vec::new();
    for resource_logs in &request.resource_logs {
        let resource = resource_logs
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        for scope_logs in &resource_logs.scope_logs {
            for log in &scope_logs.log_records {
                let mut record = RecordBuilder::default();
                record.attributes(resource, "");
                if let Some(scope) = &scope_logs.scope {
                    record.text_if_any("instrumentation_library_name", &scope.name);
                    record.text_if_any("instrumentation_library_version", &scope.version);
                }
                let nanos = if log.time_unix_nano > 0 {
                    log.time_unix_nano
                } else {
                    log.observed_time_unix_nano
                };
                if nanos > 0 {
                    record.set(
                        kansoku_core::schema::TIMESTAMP_COLUMN,
                        Scalar::Int(nanos_to_micros(nanos)),
                    );
                }
                record.text_if_any("severity_text", &log.severity_text);
                if log.severity_number > 0 {
                    record.set(
                        "severity_number",
                        Scalar::Int(i64::from(log.severity_number)),
                    );
                }
                let checked = id_hex(&log.trace_id, "trace_id", 16)
                    .and_then(|trace| Ok((trace, id_hex(&log.span_id, "span_id", 8)?)));
                let (trace_id, span_id) = match checked {
                    Ok(ids) => ids,
                    Err(reason) => {
                        items.push(DecodedItem {
                            stream: stream.to_string(),
                            record: Err(reason),
                        });
                        continue;
                    }
                };
                if let Some(trace_id) = trace_id {
                    record.text("trace_id", trace_id);
                }
                if let Some(span_id) = span_id {
                    record.text("span_id", span_id);
                }
                if log.flags > 0 {
                    record.set("flags", Scalar::Int(i64::from(log.flags)));
                }
                if !log.event_name.is_empty() {
                    record.text("event_name", log.event_name.clone());
                }
                record.attributes(&log.attributes, "");
                if let Some(body) = &log.body {
                    match &body.value {
                        // A structured body's keys become columns, like a JSON log line's.
                        Some(Value::KvlistValue(list)) => record.attributes(&list.values, ""),
                        _ => {
                            if let Some(value) = any_value_scalar(body) {
                                record.set("body", value);
                            }
                        }
                    }
                }
                items.push(DecodedItem {
                    stream: stream.to_string(),
                    record: Ok(record.finish()),
                });
            }
        }
    }
    items
}
