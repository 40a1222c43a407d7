//! The write path end to end, on both storage back-ends (SQLite + local disk, PostgreSQL + S3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::DataType;
use bytes::Bytes;
use kansoku_core::{StreamName, StreamType};
use kansoku_ingest::{Error, JsonFormat, WriteGate};
use kansoku_testkit::Backend;

mod common;

use common::*;

#[tokio::test]
async fn records_land_and_failures_are_reported_per_record() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let now = now_secs();
        let lines = vec![
            format!(r#"{{"id":"a","log":"hello","_timestamp":{now}}}"#),
            "{not json".to_string(),
            "[1,2]".to_string(),
            r#"{"id":"b","@timestamp":"1999-01-01T00:00:00Z"}"#.to_string(),
            format!(
                r#"{{"id":"c","kubernetes":{{"pod_name":"p1"}},"@timestamp":"{}"}}"#,
                kansoku_ingest::prepare::describe_micros(now * 1_000_000)
            ),
        ];
        let report = ingest_lines(&node, "app", &lines).await;
        let stream = &report.streams[0];
        assert_eq!((stream.successful, stream.failed), (2, 3), "{backend:?}");
        let summary = stream.error_summary().unwrap();
        assert!(summary.contains("line 2: invalid JSON"), "{summary}");
        assert!(
            summary.contains("line 3: record must be a JSON object"),
            "{summary}"
        );
        assert!(summary.contains("KANSOKU_INGEST_MAX_AGE"), "{summary}");
        let batches = visible_batches(&node, &key("app")).await;
        assert_eq!(
            counted(&batches, "id"),
            HashMap::from([("a".into(), 1), ("c".into(), 1)])
        );
        assert_eq!(
            counted(&batches, "kubernetes_pod_name"),
            HashMap::from([("p1".into(), 1)])
        );
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_malformed_json_array_is_refused_whole() {
    let env = Env::new(Backend::Embedded).await;
    let node = env.start(env.config()).await;
    let result = node
        .ingester
        .ingest_json(
            org(),
            StreamType::Logs,
            StreamName::normalise("app").unwrap(),
            JsonFormat::Array,
            Bytes::from_static(b"[{\"a\":1},\n{\"b\":]"),
        )
        .await;
    match result {
        Err(Error::InvalidBody(message)) => assert!(message.contains("line 2"), "{message}"),
        other => panic!("expected InvalidBody, got {other:?}"),
    }
    assert!(visible_batches(&node, &key("app")).await.is_empty());
}

#[tokio::test]
async fn flush_stores_parquet_and_manifest_and_truncates_the_wal() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let now = now_secs();
        let lines: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"id":"r{i}","code":{i},"_timestamp":{}}}"#, now - i))
            .collect();
        ingest_lines(&node, "app", &lines).await;
        ingest_lines(
            &node,
            "app",
            &[format!(r#"{{"id":"x","code":"E42","_timestamp":{now}}}"#)],
        )
        .await;
        assert_eq!(wal_segments(&node), vec![1]);
        node.ingester.flush_now().await.unwrap();
        let files = node
            .meta
            .list_files(&key("app"), i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert!(!files.is_empty(), "{backend:?}");
        assert_eq!(files.iter().map(|f| f.records).sum::<i64>(), 101);
        assert!(
            files
                .iter()
                .all(|f| f.stored_bytes > 0 && f.raw_bytes > 0 && f.schema_version >= 1)
        );
        assert_eq!(wal_segments(&node), vec![2], "flushed segments are deleted");
        assert_eq!(node.meta.wal_checkpoint("node1").await.unwrap(), Some(1));
        let batches = visible_batches(&node, &key("app")).await;
        let codes = counted(&batches, "code");
        assert_eq!(codes.len(), 101);
        assert_eq!(codes["E42"], 1);
        for batch in &batches {
            assert_eq!(
                batch.schema().field_with_name("code").unwrap().data_type(),
                &DataType::Utf8
            );
        }
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn unflushed_records_come_back_after_a_crash_exactly_once() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let now = now_secs();
        let first: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"id":"a{i}","_timestamp":{now}}}"#))
            .collect();
        ingest_lines(&node, "app", &first).await;
        // Keep a copy of the segment, flush (which deletes it), then put it back: a crash right
        // after the manifest commit, before the segment was deleted.
        let segment = kansoku_wal::segment_path(&node.config.wal_dir, 1);
        let copy = std::fs::read(&segment).unwrap();
        node.ingester.flush_now().await.unwrap();
        let second: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"id":"b{i}","_timestamp":{now}}}"#))
            .collect();
        ingest_lines(&node, "app", &second).await;
        node.ingester.halt();
        std::fs::write(&segment, copy).unwrap();
        drop(node);

        let node = env.start(env.config()).await;
        let ids = counted(&visible_batches(&node, &key("app")).await, "id");
        assert_eq!(ids.len(), 80, "{backend:?}");
        assert!(
            ids.values().all(|count| *count == 1),
            "{backend:?}: {ids:?}"
        );
        assert_eq!(
            wal_segments(&node),
            vec![2, 3],
            "segment 1 was already stored and is removed"
        );
        node.ingester.flush_now().await.unwrap();
        let ids = counted(&visible_batches(&node, &key("app")).await, "id");
        assert_eq!(ids.len(), 80);
        assert!(ids.values().all(|count| *count == 1));
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn the_write_gate_refuses_writes_while_unsure_and_stops_everything_once_fenced() {
    use kansoku_core::CodedError;
    let env = Env::new(Backend::Embedded).await;
    let node = env.start(env.config()).await;
    let now = now_secs();
    let record = |id: &str| format!(r#"{{"id":"{id}","_timestamp":{now}}}"#);
    let refusal = |node: &Node| {
        let ingester = Arc::clone(&node.ingester);
        async move {
            ingester
                .ingest_json(
                    org(),
                    StreamType::Logs,
                    StreamName::normalise("app").unwrap(),
                    JsonFormat::Lines,
                    Bytes::from_static(b"{\"id\":\"refused\"}"),
                )
                .await
                .unwrap_err()
        }
    };
    ingest_lines(&node, "app", &[record("1")]).await;

    // Unsure: nothing is acknowledged, retryably; flushes go on; a renewal opens writes again.
    node.ingester.set_write_gate(WriteGate::Unsure);
    let refused = refusal(&node).await;
    assert!(matches!(refused, Error::LeaseUnsure), "{refused:?}");
    assert_eq!(refused.code(), kansoku_core::ErrorCode::Unavailable);
    assert_eq!(refused.retry_after_secs(), Some(5));
    node.ingester.flush_now().await.unwrap();
    node.ingester.set_write_gate(WriteGate::Open);
    ingest_lines(&node, "app", &[record("2")]).await;

    // Fenced, for good: no write, no flush, no final flush; the WAL keeps record 2.
    node.ingester.set_write_gate(WriteGate::Fenced);
    let refused = refusal(&node).await;
    assert!(matches!(refused, Error::Fenced), "{refused:?}");
    assert!(matches!(
        node.ingester.flush_now().await,
        Err(Error::Fenced)
    ));
    node.ingester.set_write_gate(WriteGate::Open);
    assert_eq!(node.ingester.write_gate(), WriteGate::Fenced);
    assert!(matches!(node.ingester.shutdown().await, Err(Error::Fenced)));
    drop(node);

    // Whoever holds the node next replays it: every acknowledged record, once.
    let node = env.start(env.config()).await;
    let ids = counted(&visible_batches(&node, &key("app")).await, "id");
    assert_eq!(
        ids,
        HashMap::from([("1".into(), 1), ("2".into(), 1)]),
        "{ids:?}"
    );
    node.ingester.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_torn_wal_tail_is_cut_and_the_node_still_starts() {
    let env = Env::new(Backend::Embedded).await;
    let node = env.start(env.config()).await;
    let now = now_secs();
    for i in 0..3 {
        ingest_lines(
            &node,
            "app",
            &[format!(r#"{{"id":"t{i}","_timestamp":{now}}}"#)],
        )
        .await;
    }
    node.ingester.halt();
    let segment = kansoku_wal::segment_path(&node.config.wal_dir, 1);
    drop(node);
    let bytes = std::fs::read(&segment).unwrap();
    std::fs::write(&segment, &bytes[..bytes.len() - 7]).unwrap();
    let node = env.start(env.config()).await;
    let ids = counted(&visible_batches(&node, &key("app")).await, "id");
    assert_eq!(
        ids.len(),
        2,
        "the torn last record is dropped, the others replayed: {ids:?}"
    );
}

#[tokio::test]
async fn bulk_daily_indexes_land_in_one_stream_and_items_fail_alone() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let body = concat!(
            "{\"index\":{\"_index\":\"golang-app-metrics-2020.03.02\",\"_id\":\"1\"}}\n",
            "{\"level\":\"info\",\"count\":3,\"time\":\"NOW\"}\n",
            "{\"create\":{\"_index\":\"golang-app-metrics-2020.03.03\"}}\n",
            "{\"level\":\"warn\",\"count\":4.5,\"time\":\"NOW\"}\n",
            "{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n",
            "{\"index\":{\"_index\":\"../etc\"}}\n",
            "{\"m\":1}\n",
            "{\"index\":{\"_index\":\"other\"}}\n",
            "{\"msg\": broken}\n",
        )
        .replace(
            "NOW",
            &kansoku_ingest::prepare::describe_micros(kansoku_meta::now_micros()),
        );
        let report = node
            .ingester
            .ingest_bulk(org(), Bytes::from(body), None)
            .await
            .unwrap();
        let errors: Vec<bool> = report.items.iter().map(|i| i.error.is_some()).collect();
        assert_eq!(
            errors,
            vec![false, false, true, true, true],
            "{backend:?}: {:?}",
            report.items
        );
        let batches = visible_batches(&node, &key("golang_app_metrics")).await;
        assert_eq!(
            counted(&batches, "_index"),
            HashMap::from([
                ("golang-app-metrics-2020.03.02".into(), 1),
                ("golang-app-metrics-2020.03.03".into(), 1)
            ])
        );
        assert_eq!(counted(&batches, "_id"), HashMap::from([("1".into(), 1)]));
        let count_type = batches.iter().find_map(|b| {
            b.schema()
                .field_with_name("count")
                .ok()
                .map(|f| f.data_type().clone())
        });
        assert!(count_type.is_some());
        let schema = node
            .meta
            .latest_schema(&key("golang_app_metrics"))
            .await
            .unwrap();
        assert_eq!(
            schema.field_type("count"),
            Some(kansoku_core::FieldType::Float64)
        );
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn records_are_visible_exactly_once_while_flushes_run() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = Arc::new(env.start(env.config()).await);
        let now = now_secs();
        let writer = {
            let node = Arc::clone(&node);
            tokio::spawn(async move {
                for round in 0..40 {
                    let lines: Vec<String> = (0..25)
                        .map(|i| format!(r#"{{"id":"{round}-{i}","_timestamp":{now}}}"#))
                        .collect();
                    ingest_lines(&node, "app", &lines).await;
                    if round % 5 == 0 {
                        node.ingester.flush_now().await.unwrap();
                    }
                }
            })
        };
        let mut views = 0;
        while !writer.is_finished() {
            let ids = counted(&visible_batches(&node, &key("app")).await, "id");
            assert!(
                ids.values().all(|count| *count == 1),
                "{backend:?}: a record was visible twice"
            );
            views += 1;
        }
        writer.await.unwrap();
        let ids = counted(&visible_batches(&node, &key("app")).await, "id");
        assert_eq!(ids.len(), 1000, "{backend:?}");
        assert!(ids.values().all(|count| *count == 1));
        assert!(views > 1);
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn overload_is_refused_with_a_retry_hint() {
    let env = Env::new(Backend::Embedded).await;
    let mut config = env.config();
    config.memtable_max_bytes = 1;
    config.memtable_flush_bytes = usize::MAX;
    let node = env.start(config).await;
    let now = now_secs();
    ingest_lines(
        &node,
        "app",
        &[format!(r#"{{"id":"1","_timestamp":{now}}}"#)],
    )
    .await;
    let refused = node
        .ingester
        .ingest_json(
            org(),
            StreamType::Logs,
            StreamName::normalise("app").unwrap(),
            JsonFormat::Lines,
            Bytes::from_static(b"{\"id\":\"2\"}"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Overloaded { .. }), "{refused:?}");
    use kansoku_core::CodedError;
    assert_eq!(refused.code(), kansoku_core::ErrorCode::Unavailable);
    assert_eq!(refused.retry_after_secs(), Some(2));
    node.ingester.flush_now().await.unwrap();
    ingest_lines(
        &node,
        "app",
        &[format!(r#"{{"id":"3","_timestamp":{now}}}"#)],
    )
    .await;
}

#[tokio::test]
async fn deleted_streams_do_not_come_back_after_a_restart() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let now = now_secs();
        ingest_lines(
            &node,
            "gone",
            &[format!(r#"{{"id":"1","_timestamp":{now}}}"#)],
        )
        .await;
        node.ingester.flush_now().await.unwrap();
        ingest_lines(
            &node,
            "gone",
            &[format!(r#"{{"id":"2","_timestamp":{now}}}"#)],
        )
        .await;
        ingest_lines(
            &node,
            "kept",
            &[format!(r#"{{"id":"3","_timestamp":{now}}}"#)],
        )
        .await;
        let paths = node.ingester.delete_stream(&key("gone")).await.unwrap();
        assert_eq!(paths.len(), 1, "{backend:?}");
        assert!(node.meta.get_stream(&key("gone")).await.unwrap().is_none());
        node.ingester.halt();
        drop(node);
        let node = env.start(env.config()).await;
        assert!(
            visible_batches(&node, &key("gone")).await.is_empty(),
            "{backend:?}"
        );
        assert_eq!(
            counted(&visible_batches(&node, &key("kept")).await, "id").len(),
            1
        );
    }
}
