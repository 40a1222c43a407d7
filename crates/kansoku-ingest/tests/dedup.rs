//! Exactly once from at-least-once senders: a re-sent copy of a record with an id is stored
//! once — across a flush, a graceful restart and a crash — on both storage back-ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use kansoku_core::StreamSettings;
use kansoku_ingest::BulkReport;
use kansoku_ingest::decode::loki::Format;
use kansoku_testkit::Backend;

/// A bulk body: `create` actions with the given `_id`s (`None`: no id) into index `app`.
fn bulk_body(ids: &[Option<&str>], now: i64) -> String {
    let mut body = String::new();
    for (n, id) in ids.iter().enumerate() {
        match id {
            Some(id) => body.push_str(&format!(
                "{{\"create\":{{\"_index\":\"app\",\"_id\":\"{id}\"}}}}\n"
            )),
            None => body.push_str("{\"create\":{\"_index\":\"app\"}}\n"),
        }
        body.push_str(&format!(
            "{{\"n\":{n},\"log\":\"line {n}\",\"_timestamp\":{now}}}\n"
        ));
    }
    body
}

async fn bulk(node: &Node, body: &str) -> BulkReport {
    node.ingester
        .ingest_bulk(org(), Bytes::from(body.to_string()), None)
        .await
        .unwrap()
}

/// The items' results as Elasticsearch names them: `created`, `noop` or `error`.
fn results(report: &BulkReport) -> Vec<&'static str> {
    report
        .items
        .iter()
        .map(|item| match (&item.error, item.dropped) {
            (Some(_), _) => "error",
            (None, true) => "noop",
            (None, false) => "created",
        })
        .collect()
}

/// How often each `_id` is stored (visible), and how many rows have none.
async fn stored_ids(node: &Node) -> (std::collections::HashMap<String, usize>, usize) {
    let batches = visible_batches(node, &key("app")).await;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let ids = counted(&batches, "_id");
    let with_id: usize = ids.values().sum();
    (ids, rows - with_id)
}

#[tokio::test]
async fn the_same_bulk_batch_sent_twice_is_stored_once_across_flushes_restarts_and_crashes() {
    for backend in Backend::ALL {
        let env = Env::new(backend).await;
        let node = env.start(env.config()).await;
        let now = now_secs() * 1_000_000;
        let first = bulk_body(&[Some("a"), Some("b"), None, Some("a")], now);

        let report = bulk(&node, &first).await;
        // The second "a" is a copy inside the request itself.
        assert_eq!(results(&report), ["created", "created", "created", "noop"]);
        assert_eq!(report.streams[0].duplicates, 1, "{backend:?}");
        let report = bulk(&node, &first).await;
        assert_eq!(
            results(&report),
            ["noop", "noop", "created", "noop"],
            "{backend:?}: only the record without an id is stored again"
        );

        // Across a flush: the ids outlive the data's stay in memory.
        node.ingester.flush_now().await.unwrap();
        assert_eq!(results(&bulk(&node, &first).await)[..2], ["noop", "noop"]);

        // Across a graceful restart (flushed at shutdown; ids from the snapshot).
        node.ingester.shutdown().await.unwrap();
        drop(node);
        let node = env.start(env.config()).await;
        assert_eq!(results(&bulk(&node, &first).await)[..2], ["noop", "noop"]);

        // Across a crash with the batch only in the WAL (ids from the replay).
        let second = bulk_body(&[Some("c"), Some("d")], now);
        assert_eq!(results(&bulk(&node, &second).await), ["created", "created"]);
        node.ingester.halt();
        drop(node);
        let node = env.start(env.config()).await;
        assert_eq!(results(&bulk(&node, &second).await), ["noop", "noop"]);

        // Across a crash after a flush (the WAL is gone; ids from the snapshot).
        let third = bulk_body(&[Some("e")], now);
        assert_eq!(results(&bulk(&node, &third).await), ["created"]);
        node.ingester.flush_now().await.unwrap();
        node.ingester.halt();
        drop(node);
        let node = env.start(env.config()).await;
        assert_eq!(results(&bulk(&node, &third).await), ["noop"]);

        let (ids, without_id) = stored_ids(&node).await;
        assert_eq!(ids.len(), 5, "{backend:?}: {ids:?}");
        assert!(ids.values().all(|n| *n == 1), "{backend:?}: {ids:?}");
        assert_eq!(
            without_id, 4,
            "{backend:?}: one per request of the first batch"
        );
        node.ingester.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_stream_with_its_window_off_stores_every_copy_and_a_damaged_snapshot_starts_empty() {
    let env = Env::new(Backend::Embedded).await;
    let node = env.start(env.config()).await;
    let now = now_secs() * 1_000_000;
    let body = bulk_body(&[Some("a")], now);
    assert_eq!(results(&bulk(&node, &body).await), ["created"]);
    node.ingester.flush_now().await.unwrap();
    node.ingester.shutdown().await.unwrap();
    drop(node);

    // A damaged snapshot: the node starts, remembering nothing (the copy is stored again).
    let snapshot = env.dir.path().join("wal").join("dedup.ids");
    assert!(snapshot.try_exists().unwrap());
    std::fs::write(&snapshot, b"KSKDEDUP damaged").unwrap();
    let node = env.start(env.config()).await;
    assert_eq!(results(&bulk(&node, &body).await), ["created"]);

    // Window 0 on the stream: every copy is stored.
    let settings = StreamSettings {
        dedup_window_secs: Some(0),
        ..StreamSettings::default()
    };
    node.meta
        .put_stream_settings(&key("app"), &settings)
        .await
        .unwrap();
    node.ingester.catalog().invalidate(&key("app"));
    let other = bulk_body(&[Some("z")], now);
    assert_eq!(results(&bulk(&node, &other).await), ["created"]);
    assert_eq!(results(&bulk(&node, &other).await), ["created"]);
    let (ids, _) = stored_ids(&node).await;
    assert_eq!(ids["a"], 2);
    assert_eq!(ids["z"], 2);
    node.ingester.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_re_sent_loki_push_is_stored_once_and_new_or_second_precision_entries_are_not_copies() {
    let env = Env::new(Backend::Embedded).await;
    let node = env.start(env.config()).await;
    let whole_second = now_secs() * 1_000_000_000;
    let nanos = whole_second + 500_000_000;
    let push = |lines: &[(i64, &str)]| {
        let values: Vec<serde_json::Value> = lines
            .iter()
            .map(|(at, line)| serde_json::json!([at.to_string(), line]))
            .collect();
        let body = serde_json::json!({"streams": [{
            "stream": {"stream_name": "app", "job": "api"},
            "values": values,
        }]});
        Bytes::from(body.to_string())
    };
    let first = push(&[(nanos, "started"), (nanos + 1_000, "ready")]);
    for _ in 0..2 {
        let (report, _) = node
            .ingester
            .ingest_loki(org(), first.clone(), Format::Json, 1 << 20)
            .await
            .unwrap();
        assert_eq!(report.failed(), 0);
    }
    // The same line at another time is another entry.
    let later = push(&[(nanos + 2_000, "ready")]);
    let (report, _) = node
        .ingester
        .ingest_loki(org(), later, Format::Json, 1 << 20)
        .await
        .unwrap();
    assert_eq!(report.successful(), 1);
    assert_eq!(report.streams[0].duplicates, 0);
    // A time on a whole second may be a truncated one: such entries get no id, both are kept.
    let truncated = push(&[(whole_second, "tick")]);
    for _ in 0..2 {
        let (report, _) = node
            .ingester
            .ingest_loki(org(), truncated.clone(), Format::Json, 1 << 20)
            .await
            .unwrap();
        assert_eq!(report.successful(), 1);
    }
    let batches = visible_batches(&node, &key("app")).await;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 5);
    let ids = counted(&batches, "_id");
    assert_eq!(ids.len(), 3);
    assert!(ids.keys().all(|id| id.len() == 32), "{ids:?}");
    node.ingester.shutdown().await.unwrap();
}
