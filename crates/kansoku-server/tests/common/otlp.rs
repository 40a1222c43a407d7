//! OTLP messages for tests.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};

use super::now_micros;

pub fn text(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value.to_string())),
    })
}

pub fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: text(value),
        ..KeyValue::default()
    }
}

pub fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attribute("service.name", "checkout"),
            attribute("k8s.pod.name", "checkout-7d9f"),
        ],
        ..Resource::default()
    })
}

pub fn now_nanos() -> u64 {
    (now_micros() as u64) * 1_000
}

pub fn log_request(body: &str, trace_id: Vec<u8>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now_nanos(),
                    severity_text: "ERROR".to_string(),
                    severity_number: 17,
                    body: text(body),
                    attributes: vec![attribute("http.route", "/pay")],
                    trace_id,
                    span_id: vec![0x22; 8],
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

pub fn span(name: &str, trace_id: Vec<u8>, span_id: Vec<u8>, error: bool) -> Span {
    let start = now_nanos() - 5_000_000;
    Span {
        trace_id,
        span_id,
        name: name.to_string(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 3_500_000,
        attributes: vec![
            attribute("http.method", "POST"),
            attribute("duration", "shadowed"),
        ],
        status: Some(Status {
            code: if error {
                status::StatusCode::Error as i32
            } else {
                0
            },
            message: if error {
                "card declined".to_string()
            } else {
                String::new()
            },
        }),
        ..Span::default()
    }
}

pub fn trace_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}
