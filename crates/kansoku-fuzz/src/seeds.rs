//! The seed corpus: small valid (and a few deliberately broken) inputs for every target, built
//! with the same encoders the clients and the server use. `fuzz-seeds` writes them under
//! `fuzz/corpus/<target>/`; they are checked in so that cargo fuzz and the CI campaign start
//! from the same inputs.

use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_ingest::IngestConfig;
use kansoku_ingest::decode::remote_write::{v1, v2};
use kansoku_ingest::samples::{MetricsWrite, SeriesWrite, build_batches};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// A seed: the target, a file name, the bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Every seed of every target.
pub fn all() -> Result<Vec<Seed>, String> {
    let mut seeds = Vec::new();
    text_seeds(&mut seeds);
    otlp_seeds(&mut seeds);
    remote_write_seeds(&mut seeds);
    loki_seeds(&mut seeds);
    syslog_seeds(&mut seeds);
    forward_seeds(&mut seeds);
    hec_seeds(&mut seeds);
    wal_seeds(&mut seeds)?;
    index_seeds(&mut seeds);
    Ok(seeds)
}

fn push(seeds: &mut Vec<Seed>, target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) {
    seeds.push((target, name.to_string(), bytes.into()));
}

fn text_seeds(seeds: &mut Vec<Seed>) {
    let record = r#"{"_timestamp":"2026-01-01T00:00:00Z","level":"error","message":"GET /api 500","kubernetes":{"namespace_name":"shop","pod_name":"cart-7d9","labels":{"app.kubernetes.io/name":"cart"}},"took_ms":12.5,"ok":false,"tags":["a","b"],"n":null}"#;
    push(seeds, "json_body", "array", format!("[{record},{record}]"));
    push(seeds, "json_body", "object", record);
    push(
        seeds,
        "json_body",
        "mixed",
        r#"[{"a":1},2,"x",[3],{"b":{"c":{"d":{"e":{"f":1}}}}}]"#,
    );
    push(
        seeds,
        "json_body",
        "unicode",
        "\u{feff}[{\"caf\u{e9}\":\"\\ud83d\\ude00\",\"a\\u0000b\":\"\u{202e}x\"}]",
    );
    push(
        seeds,
        "json_body",
        "numbers",
        r#"[{"big":18446744073709551616,"neg":-9223372036854775808,"f":1e308,"e":-0.0}]"#,
    );
    push(
        seeds,
        "multi_ndjson",
        "lines",
        format!("{record}\n{{\"a\":1}}\r\n\n{{\"b\":[1,{{\"c\":2}}]}}"),
    );
    push(
        seeds,
        "multi_ndjson",
        "bad_line",
        "{\"a\":1}\n{\"a\":\n{\"b\":2}\n",
    );
    push(
        seeds,
        "es_bulk",
        "index_create",
        format!(
            "{{\"index\":{{\"_index\":\"logs-2026.01.01\",\"_id\":\"1\"}}}}\n{record}\n{{\"create\":{{\"_index\":\"app\",\"_id\":7}}}}\n{{\"a\":1}}\n"
        ),
    );
    push(
        seeds,
        "es_bulk",
        "odd_actions",
        "{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n{\"update\":{\"_index\":\"x\"}}\n{\"doc\":{}}\n{\"index\":{}}\n{\"index\":{\"_index\":\"../etc\"}}\n{\"a\":1}",
    );
    for (name, sql) in [
        (
            "select",
            "SELECT * FROM \"default\" WHERE level = 'error' ORDER BY _timestamp DESC LIMIT 100",
        ),
        (
            "aggregate",
            "SELECT k8s_namespace_name, count(*) AS n FROM logs GROUP BY 1 ORDER BY n DESC LIMIT 10",
        ),
        (
            "histogram",
            "SELECT histogram(_timestamp, '1 minute') AS t, count(*) FROM logs WHERE match_all('timeout') GROUP BY t",
        ),
        (
            "cte_union",
            "WITH a AS (SELECT message FROM x) SELECT * FROM a UNION ALL SELECT message FROM \"other\".\"logs\"",
        ),
        (
            "ddl",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'file:///etc/'; DROP TABLE t",
        ),
        (
            "functions",
            "SELECT regexp_match(message, '(a+)+$'), str_match(message, 'x') FROM logs WHERE NOT NOT NOT (a = 1)",
        ),
    ] {
        push(seeds, "sql_guard", name, sql);
    }
    for (name, query) in [
        (
            "rate",
            "sum by (namespace) (rate(container_cpu_usage_seconds_total{job=~\"kube.*\"}[5m]))",
        ),
        (
            "quantile",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        ),
        (
            "binary",
            "1 - node_memory_MemAvailable_bytes / on(instance) group_left node_memory_MemTotal_bytes",
        ),
        (
            "subquery",
            "max_over_time(deriv(up[5m])[1h:1m] offset 5m @ end())",
        ),
        (
            "durations",
            "rate(x[step() * 4]) and topk(5, count_values(\"v\", y))",
        ),
        (
            "strings",
            "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\\\\d+\")",
        ),
    ] {
        push(seeds, "promql", name, query);
    }
}

fn string_value(text: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(text.to_string())),
    })
}

fn attribute(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value,
        ..KeyValue::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attribute("service.name", string_value("cart")),
            attribute("k8s.namespace.name", string_value("shop")),
        ],
        ..Resource::default()
    })
}

fn nested_attributes() -> Vec<KeyValue> {
    let list = AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: vec![attribute("inner", string_value("v"))],
        })),
    };
    let array = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![string_value("a").unwrap_or_default(), list.clone()],
        })),
    };
    vec![
        attribute("http.method", string_value("GET")),
        attribute("nested", Some(list)),
        attribute("array", Some(array)),
        attribute(
            "count",
            Some(AnyValue {
                value: Some(any_value::Value::IntValue(42)),
            }),
        ),
    ]
}

const NANOS: u64 = 1_767_225_600_000_000_000;

fn otlp_seeds(seeds: &mut Vec<Seed>) {
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: NANOS,
                    severity_number: 17,
                    severity_text: "ERROR".to_string(),
                    body: string_value("payment failed"),
                    attributes: nested_attributes(),
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let traces = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![3; 16],
                    span_id: vec![4; 8],
                    parent_span_id: vec![5; 8],
                    name: "GET /cart".to_string(),
                    kind: 2,
                    start_time_unix_nano: NANOS,
                    end_time_unix_nano: NANOS + 1_000_000,
                    attributes: nested_attributes(),
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let point = |value: f64| NumberDataPoint {
        attributes: vec![attribute("pod", string_value("cart-1"))],
        time_unix_nano: NANOS,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..NumberDataPoint::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "k8s.pod.memory.usage".to_string(),
                        unit: "By".to_string(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point(1024.0)],
                        })),
                        ..Metric::default()
                    },
                    Metric {
                        name: "http.server.requests".to_string(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![point(7.0)],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Metric::default()
                    },
                    Metric {
                        name: "http.server.duration".to_string(),
                        unit: "ms".to_string(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                time_unix_nano: NANOS,
                                count: 6,
                                sum: Some(40.0),
                                bucket_counts: vec![1, 2, 3],
                                explicit_bounds: vec![5.0, 10.0],
                                ..HistogramDataPoint::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Metric::default()
                    },
                ],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    };
    for (selector, name, bytes) in [
        (0u8, "logs", logs.encode_to_vec()),
        (1, "traces", traces.encode_to_vec()),
        (2, "metrics", metrics.encode_to_vec()),
    ] {
        let mut input = vec![selector];
        input.extend_from_slice(&bytes);
        push(seeds, "otlp_protobuf", name, input);
    }
    let json_logs = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1767225600000000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed"},"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","attributes":[{"key":"n","value":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}}]}]}]}]}"#;
    let json_traces = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"GET /cart","kind":2,"startTimeUnixNano":"1767225600000000000","endTimeUnixNano":"1767225600001000000","status":{"code":2}}]}]}]}"#;
    let json_metrics = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeMetrics":[{"metrics":[{"name":"http.server.duration","unit":"ms","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1767225600000000000","count":"6","sum":40,"bucketCounts":["1","2","3"],"explicitBounds":[5,10]}]}},{"name":"up","gauge":{"dataPoints":[{"timeUnixNano":"1767225600000000000","asDouble":1}]}}]}]}]}"#;
    for (selector, name, text) in [
        (b'0', "logs", json_logs),
        (b'1', "traces", json_traces),
        (b'2', "metrics", json_metrics),
    ] {
        let mut input = vec![selector];
        input.extend_from_slice(text.as_bytes());
        push(seeds, "otlp_json", name, input);
    }
}

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

const MILLIS: i64 = 1_767_225_600_000;

fn remote_write_seeds(seeds: &mut Vec<Seed>) {
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let request = v1::WriteRequest {
        timeseries: vec![
            v1::TimeSeries {
                labels: vec![
                    label("__name__", "container_cpu_usage_seconds_total"),
                    label("namespace", "shop"),
                    label("pod", "cart-1"),
                ],
                samples: (0..8)
                    .map(|i| v1::Sample {
                        value: if i == 7 { stale } else { i as f64 * 0.5 },
                        timestamp: MILLIS + i * 15_000,
                    })
                    .collect(),
                exemplars: vec![v1::Exemplar {
                    labels: vec![label("trace_id", "abc")],
                    value: 0.2,
                    timestamp: MILLIS,
                }],
                histograms: Vec::new(),
            },
            v1::TimeSeries {
                labels: vec![label("job", "nameless"), label("job", "twice")],
                samples: vec![v1::Sample {
                    value: 1.0,
                    timestamp: MILLIS,
                }],
                ..v1::TimeSeries::default()
            },
        ],
        metadata: vec![v1::MetricMetadata {
            r#type: 1,
            metric_family_name: "container_cpu_usage_seconds_total".to_string(),
            help: "CPU".to_string(),
            unit: "seconds".to_string(),
        }],
    };
    let mut v1_input = vec![0u8];
    v1_input.extend(snappy(&request.encode_to_vec()));
    push(seeds, "remote_write", "v1", v1_input);
    let symbols = [
        "", "__name__", "up", "job", "api", "trace_id", "abc", "help",
    ];
    let request = v2::Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: MILLIS,
                start_timestamp: 0,
            }],
            histograms: Vec::new(),
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![5, 6],
                value: 1.0,
                timestamp: MILLIS,
            }],
            metadata: Some(v2::Metadata {
                r#type: 2,
                help_ref: 7,
                unit_ref: 0,
            }),
        }],
    };
    let mut v2_input = vec![1u8];
    v2_input.extend(snappy(&request.encode_to_vec()));
    push(seeds, "remote_write", "v2", v2_input);
}

fn loki_seeds(seeds: &mut Vec<Seed>) {
    use kansoku_ingest::decode::loki::{
        EntryAdapter, LabelPair, PushRequest, StreamAdapter, Timestamp,
    };
    let entry = |seconds: i64, line: &str| EntryAdapter {
        timestamp: Some(Timestamp { seconds, nanos: 5 }),
        line: line.as_bytes().to_vec(),
        structured_metadata: vec![LabelPair {
            name: "trace_id".to_string(),
            value: "abc".to_string(),
        }],
    };
    let request = PushRequest {
        streams: vec![
            StreamAdapter {
                labels: r#"{o2_stream_name="k8s", namespace="shop", pod="cart-1", msg="a \"quoted\" \\ value"}"#
                    .to_string(),
                entries: vec![entry(1_767_225_600, "GET /api 500"), entry(1_767_225_601, "ok")],
                hash: 7,
            },
            StreamAdapter {
                labels: "{job=unquoted}".to_string(),
                entries: vec![EntryAdapter::default()],
                hash: 0,
            },
        ],
    };
    let mut protobuf = vec![0u8];
    protobuf.extend(snappy(&request.encode_to_vec()));
    push(seeds, "loki_push", "protobuf", protobuf);
    let json = r#"{"streams":[{"stream":{"stream_name":"web","host":"n1"},"values":[["1767225600000000000","line one"],["1767225600500000000","line two",{"user":"u1"}],[1,"numeric"],["x","bad"]]},{"stream":{"host":5},"values":[["1","l"]]}]}"#;
    push(seeds, "loki_push", "json", format!("\u{1}{json}"));
}

fn syslog_seeds(seeds: &mut Vec<Seed>) {
    let rfc5424 = r#"<165>1 2003-10-11T22:14:15.003Z web-1 nginx 42 ID47 [req@32473 path="/a\"b" n="1"][meta seq="7"] GET /"#;
    let stream = format!(
        "{} {rfc5424}<34>Oct 11 22:14:15 db-1 sshd[77]: accepted\r\n<13>2026-01-01T00:00:00Z h ab: x\n\0no header\n<14>1 bad - - - - -\n",
        rfc5424.len()
    );
    push(
        seeds,
        "syslog",
        "tcp",
        [&[16u8][..], stream.as_bytes()].concat(),
    );
    let relp = format!(
        "1 open 14 relp_version=0\n2 syslog {} {rfc5424}\n3 close 0\n",
        rfc5424.len()
    );
    push(
        seeds,
        "syslog",
        "relp",
        [&[1u8][..], relp.as_bytes()].concat(),
    );
}

fn hec_seeds(seeds: &mut Vec<Seed>) {
    let events = r#"{"time": 1767225600.123456, "host": "n1", "source": "/var/log/a.log", "sourcetype": "_json", "index": "k8s", "event": {"level": "error", "http": {"status": 503}}, "fields": {"cluster": "prod"}}
{"time": "1767225601", "event": "text"} {"event": 42}{"event": ""} {"index": 5, "event": "x"} {"event": "cut"#;
    push(
        seeds,
        "hec",
        "events",
        [&[0u8][..], events.as_bytes()].concat(),
    );
    push(
        seeds,
        "hec",
        "raw",
        [&[3u8][..], b"GET / 200\r\n\n\xff\xfe line\nlast".as_slice()].concat(),
    );
}

fn forward_seeds(seeds: &mut Vec<Seed>) {
    let mut out = Vec::new();
    let record = |out: &mut Vec<u8>| {
        let _ = rmp::encode::write_map_len(out, 2);
        let _ = rmp::encode::write_str(out, "log");
        let _ = rmp::encode::write_str(out, "GET /api 500");
        let _ = rmp::encode::write_str(out, "kubernetes");
        let _ = rmp::encode::write_map_len(out, 1);
        let _ = rmp::encode::write_str(out, "pod_name");
        let _ = rmp::encode::write_str(out, "cart-1");
    };
    // Message mode with an EventTime and a chunk option.
    let _ = rmp::encode::write_array_len(&mut out, 4);
    let _ = rmp::encode::write_str(&mut out, "kube.app");
    let _ = rmp::encode::write_ext_meta(&mut out, 8, 0);
    out.extend([0x69, 0x55, 0xb9, 0x00, 0, 0, 0, 5]);
    record(&mut out);
    let _ = rmp::encode::write_map_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, "chunk");
    let _ = rmp::encode::write_str(&mut out, "abc");
    // Forward mode.
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_str(&mut out, "kube.app");
    let _ = rmp::encode::write_array_len(&mut out, 1);
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_uint(&mut out, 1_767_225_600);
    record(&mut out);
    // PackedForward.
    let mut entries = Vec::new();
    let _ = rmp::encode::write_array_len(&mut entries, 2);
    let _ = rmp::encode::write_uint(&mut entries, 1_767_225_600);
    record(&mut entries);
    let _ = rmp::encode::write_array_len(&mut out, 2);
    let _ = rmp::encode::write_str(&mut out, "kube.app");
    let _ = rmp::encode::write_bin(&mut out, &entries);
    push(seeds, "forward", "modes", out);
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(bytes)
        .unwrap_or_default()
}

/// A small metrics batch as the ingest path builds it.
fn sample_batch() -> Result<arrow::array::RecordBatch, String> {
    let write = MetricsWrite {
        series: vec![SeriesWrite {
            labels: vec![
                ("__name__".to_string(), "up".to_string()),
                ("job".to_string(), "api".to_string()),
            ],
            metric_type: Some("gauge"),
            samples: vec![(MILLIS, 1.0), (MILLIS + 15_000, 0.0)],
            exemplars: Vec::new(),
        }],
        ..MetricsWrite::default()
    };
    let config = IngestConfig::with_defaults("seed", "/nonexistent");
    let built = build_batches(&write, &config, MILLIS * 1000, &|_| None, &mut Vec::new())
        .map_err(|e| e.to_string())?;
    built.samples.ok_or_else(|| "no sample batch".to_string())
}

fn wal_seeds(seeds: &mut Vec<Seed>) -> Result<(), String> {
    let batch = sample_batch()?;
    let org = OrgId::parse("default").map_err(|e| e.to_string())?;
    let name = StreamName::normalise("k8s").map_err(|e| e.to_string())?;
    let key = StreamKey::new(org, StreamType::Metrics, name);
    let payload = kansoku_ingest::walrec::encode(&key, 64, &batch).map_err(|e| e.to_string())?;
    push(seeds, "wal_payload", "metrics_batch", payload.clone());
    let mut segment = Vec::new();
    segment.extend_from_slice(kansoku_wal::MAGIC);
    segment.extend_from_slice(&kansoku_wal::FORMAT_VERSION.to_le_bytes());
    segment.extend_from_slice(&1u64.to_le_bytes());
    for _ in 0..2 {
        segment.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        segment.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        segment.extend_from_slice(&payload);
    }
    push(seeds, "wal_segment", "two_records", segment.clone());
    let torn = segment.len() - 7;
    push(seeds, "wal_segment", "torn_tail", segment[..torn].to_vec());
    Ok(())
}

fn index_seeds(seeds: &mut Vec<Seed>) {
    let columns = vec!["message".to_string(), "level".to_string()];
    let batch = arrow::array::RecordBatch::try_from_iter([
        (
            "message",
            std::sync::Arc::new(arrow::array::StringArray::from(vec![
                "error 42 in cart",
                "all good",
                "timeout talking to db",
            ])) as arrow::array::ArrayRef,
        ),
        (
            "level",
            std::sync::Arc::new(arrow::array::StringArray::from(vec![
                "error", "info", "warn",
            ])),
        ),
    ]);
    if let Ok(batch) = batch {
        let mut builder = kansoku_index::IndexBuilder::new(columns, 2);
        builder.add(&batch);
        let mut input = vec![0u8];
        input.extend(builder.finish().to_bytes());
        push(seeds, "file_index", "idx", input);
    }
    let mut series = kansoku_index::SeriesIndexBuilder::new();
    series.push(
        [("__name__", "up"), ("job", "api")],
        10,
        MILLIS,
        MILLIS + 9_000,
    );
    series.push(
        [("__name__", "up"), ("job", "db")],
        5,
        MILLIS,
        MILLIS + 4_000,
    );
    let mut input = vec![1u8];
    input.extend(series.finish().to_bytes());
    push(seeds, "file_index", "series", input);
}
