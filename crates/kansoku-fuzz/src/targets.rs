//! The fuzz targets: each takes arbitrary bytes and drives one parser the way the server does
//! with a request body or a file read back from disk. A target fails only by panicking (or
//! hanging, or exhausting memory); every `Err` is a correct answer to bad input.

use kansoku_ingest::IngestConfig;
use kansoku_ingest::decode::flatten::{FlattenOptions, parse_record};
use kansoku_ingest::decode::otlp::{self, Encoding};
use kansoku_ingest::decode::{bulk, json, loki, ndjson, remote_write};
use kansoku_ingest::samples::{MetricsWrite, build_batches};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// One fuzz target: its name (the corpus directory and the cargo-fuzz binary) and its entry.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name, as in `fuzz/corpus/<name>/` and `cargo fuzz run <name>`.
    pub name: &'static str,
    /// What it parses.
    pub about: &'static str,
    /// The entry point.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "json_body",
        about: "`_json` bodies: a JSON array of records or one record, flattened",
        run: json_body,
    },
    Target {
        name: "multi_ndjson",
        about: "`_multi` bodies: one JSON record per line",
        run: multi_ndjson,
    },
    Target {
        name: "es_bulk",
        about: "Elasticsearch `_bulk` bodies: action lines and documents",
        run: es_bulk,
    },
    Target {
        name: "otlp_protobuf",
        about: "OTLP/HTTP protobuf bodies of logs, traces and metrics",
        run: otlp_protobuf,
    },
    Target {
        name: "otlp_json",
        about: "OTLP/HTTP JSON bodies of logs, traces and metrics",
        run: otlp_json,
    },
    Target {
        name: "remote_write",
        about: "Prometheus remote_write bodies (snappy block + protobuf, 1.0 and 2.0)",
        run: remote_write_body,
    },
    Target {
        name: "loki_push",
        about: "Loki push bodies (snappy block + protobuf, or JSON) and their label sets",
        run: loki_push,
    },
    Target {
        name: "syslog",
        about: "syslog byte streams (RFC 6587 framing, RFC 5424/3164 headers) and RELP frames",
        run: syslog_stream,
    },
    Target {
        name: "forward",
        about: "Fluentd forward streams: MessagePack messages in all four modes, and PING",
        run: forward_stream,
    },
    Target {
        name: "hec",
        about: "Splunk HEC bodies: concatenated JSON events and raw lines",
        run: hec_body,
    },
    Target {
        name: "wal_segment",
        about: "WAL segment files read back after a crash, and their batch payloads",
        run: wal_segment,
    },
    Target {
        name: "wal_payload",
        about: "one WAL payload (stream key + Arrow IPC batch) as replay decodes it",
        run: wal_payload,
    },
    Target {
        name: "file_index",
        about: "`.idx` full-text index files and metrics series indexes",
        run: index_files,
    },
    Target {
        name: "sql_guard",
        about: "the SQL guard that admits only read-only queries of the caller's streams",
        run: sql_guard,
    },
    Target {
        name: "promql",
        about: "PromQL expressions, duration expressions included",
        run: promql,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// Flattening depth used by the targets (the default of a stream).
const FLATTEN: FlattenOptions = FlattenOptions { max_depth: 3 };
/// A fixed "now" so runs are repeatable: 2026-01-01T00:00:00Z in ms.
const NOW_MS: i64 = 1_767_225_600_000;
/// Decompressed remote_write bodies larger than this are refused, like the server's default.
const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

fn json_body(data: &[u8]) {
    let mut fields = 0usize;
    let _ = json::for_each_record(data, FLATTEN, |_, record| {
        if let Ok(record) = record {
            fields += record.fields.len();
        }
    });
}

fn multi_ndjson(data: &[u8]) {
    for (_, line) in ndjson::lines(data) {
        let _ = parse_record(line, FLATTEN);
    }
}

fn es_bulk(data: &[u8]) {
    for action in bulk::parse(data) {
        if let Some(index) = &action.index {
            let _ = bulk::validate_index_name(index);
            let _ = bulk::strip_date_suffix(index);
        }
        if let Some((_, document)) = action.document {
            let _ = parse_record(document, FLATTEN);
        }
    }
}

/// The first byte picks the signal, the rest is the body.
fn otlp_signal(data: &[u8], encoding: Encoding) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(request) = otlp::decode::<ExportLogsServiceRequest>(body, encoding) {
                let _ = otlp::logs::records(&request, "default");
            }
        }
        1 => {
            if let Ok(request) = otlp::decode::<ExportTraceServiceRequest>(body, encoding) {
                let _ = otlp::traces::records(&request, "default");
            }
        }
        _ => {
            if let Ok(request) = otlp::decode::<ExportMetricsServiceRequest>(body, encoding) {
                store_samples(&otlp::metrics::series(&request, NOW_MS));
            }
        }
    }
}

fn otlp_protobuf(data: &[u8]) {
    otlp_signal(data, Encoding::Protobuf);
}

fn otlp_json(data: &[u8]) {
    otlp_signal(data, Encoding::Json);
}

/// Builds the rows a decoded metrics request would be stored as.
fn store_samples<L: AsRef<str>>(write: &MetricsWrite<L>) {
    let config = IngestConfig::with_defaults("fuzz", "/nonexistent");
    let mut refused = write.refused.clone();
    let _ = build_batches(write, &config, NOW_MS * 1000, &|_| None, &mut refused);
}

/// The first byte picks the protocol version, the rest is the snappy body.
fn remote_write_body(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let version = if selector % 2 == 0 {
        remote_write::Version::V1
    } else {
        remote_write::Version::V2
    };
    let Ok(decompressed) = remote_write::decompress(body, MAX_DECOMPRESSED) else {
        return;
    };
    if version == remote_write::Version::V1
        && let Err(difference) = remote_write::check_v1_against_prost(&decompressed)
    {
        panic!("remote_write 1.0 decoders disagree: {difference}");
    }
    if let Ok(write) = remote_write::decode(&decompressed, version) {
        store_samples(&write);
    }
}

/// The first byte picks the format (even: snappy protobuf, as the server reads it; odd: JSON).
fn loki_push(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let _ = loki::decode(body, loki::Format::Protobuf, MAX_DECOMPRESSED);
        // The label parser also sees the raw bytes as text.
        if let Ok(text) = std::str::from_utf8(body) {
            let _ = loki::parse_labels(text);
        }
    } else {
        let _ = loki::decode(body, loki::Format::Json, MAX_DECOMPRESSED);
    }
}

/// The first byte picks the transport (even: a TCP stream, cut into reads of `selector` bytes;
/// odd: RELP frames); every frame is decoded as the listeners do.
fn syslog_stream(data: &[u8]) {
    use kansoku_ingest::decode::syslog::{self, Frame, Framer, Routes, relp};
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Ok(routes) = Routes::parse("appname=a*b=>other,hostname=*=>hosts", "syslog") else {
        return;
    };
    let zone = jiff::tz::TimeZone::UTC;
    let mut frames = Vec::new();
    let mut buffer = bytes::BytesMut::new();
    if selector % 2 == 0 {
        let mut framer = Framer::new(512);
        for chunk in body.chunks(usize::from(selector / 2).max(1)) {
            buffer.extend_from_slice(chunk);
            frames.extend(std::iter::from_fn(|| framer.next_frame(&mut buffer)));
        }
        frames.extend(framer.finish(&mut buffer));
    } else {
        buffer.extend_from_slice(body);
        while let Ok(Some(item)) = relp::next_frame(&mut buffer, 512) {
            match item {
                relp::Relp::Frame(frame) => frames.push(Frame::Message(frame.data)),
                relp::Relp::TooLarge { skip, .. } => {
                    let available = skip.min(buffer.len());
                    let _ = buffer.split_to(available);
                }
            }
        }
    }
    let _ = syslog::decode(&frames, &routes, &zone, 1_767_225_600_000_000);
}

/// Cuts messages off the stream as the listener does and decodes each (and as a PING).
fn forward_stream(data: &[u8]) {
    use kansoku_ingest::decode::forward::{self, msgpack::Scanner};
    let options = FlattenOptions { max_depth: 3 };
    let mut rest = data;
    let mut messages = Vec::new();
    while let Ok(Some(length)) = Scanner::default().advance(rest) {
        messages.push(bytes::Bytes::copy_from_slice(&rest[..length]));
        let _ = forward::parse_ping(&rest[..length]);
        rest = &rest[length..];
        if rest.is_empty() {
            break;
        }
    }
    let _ = forward::decode(
        &messages,
        None,
        options,
        MAX_DECOMPRESSED,
        1_767_225_600_000_000,
    );
}

/// The first byte picks the endpoint and whether query-string defaults are set.
fn hec_body(data: &[u8]) {
    use kansoku_ingest::decode::hec::{self, Defaults, Endpoint};
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let endpoint = if selector & 1 == 0 {
        Endpoint::Event
    } else {
        Endpoint::Raw
    };
    let defaults = if selector & 2 == 0 {
        Defaults::default()
    } else {
        Defaults {
            host: Some("h".into()),
            index: Some("idx".into()),
            time_micros: Some(1_767_225_600_000_000),
            ..Defaults::default()
        }
    };
    let _ = hec::decode(
        body,
        endpoint,
        &defaults,
        FlattenOptions { max_depth: 3 },
        10_000,
    );
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = hec::seconds_text_to_micros(text);
    }
}

fn wal_segment(data: &[u8]) {
    let contents = kansoku_wal::parse_segment(data, 1);
    for record in &contents.records {
        let _ = kansoku_ingest::walrec::decode(record);
    }
}

fn wal_payload(data: &[u8]) {
    let _ = kansoku_ingest::walrec::decode(data);
}

/// The first byte picks the index kind, the rest is the file.
fn index_files(data: &[u8]) {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Ok(index) = kansoku_index::FileIndex::from_bytes(file) {
            let requirement = kansoku_index::Requirement::contains("message", "error 42");
            let _ = index.row_groups_matching(&requirement);
        }
    } else if let Ok(index) = kansoku_index::SeriesIndex::from_bytes(file) {
        let _ = index.series().len();
        let _ = index.memory_size();
    }
}

fn sql_guard(data: &[u8]) {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kansoku_query::guard::validate(sql);
}

fn promql(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let times = kansoku_promql::duration_expr::QueryTimes {
        start: NOW_MS - 3_600_000,
        end: NOW_MS,
        step: 15_000,
    };
    let _ = kansoku_promql::engine::parse_with_times(query, times);
}
