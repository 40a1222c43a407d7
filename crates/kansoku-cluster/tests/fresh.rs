//! Fresh data over Arrow Flight between a querier (`ClusterFresh`) and an ingester
//! (`FreshService`), with the ingesters' leases in the machine's PostgreSQL: every batch (of
//! differing schemas), pending path and frozen segment arrives; a node that cannot be read —
//! wrong secret, another instance, nothing listening, no cluster address, still replaying —
//! is named unread, and none of its batches or coverage is used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use kansoku_cluster::fresh::{ClusterFresh, FreshService, LocalFresh, serve};
use kansoku_cluster::signed::ClusterSecret;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};
use kansoku_meta::{ClaimOutcome, LeaseClaim, MetaStore};
use kansoku_storage::{FreshData, FreshSnapshot};

const SECRET: &str = "fresh-test-secret-0123456789";

fn key() -> StreamKey {
    StreamKey::new(
        OrgId::parse("default").unwrap(),
        StreamType::Logs,
        StreamName::normalise("app").unwrap(),
    )
}

/// An ingester's memory: two batches of different schemas, one pending file, frozen
/// through segment 7.
struct Memory {
    node: String,
}

#[async_trait::async_trait]
impl FreshData for Memory {
    async fn snapshot(&self, stream: &StreamKey, _start: i64, _end: i64) -> FreshSnapshot {
        assert_eq!(stream, &key());
        let narrow = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        let wide = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("n", DataType::Int64, false),
                Field::new("msg", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![3])),
                Arc::new(StringArray::from(vec![Some("three")])),
            ],
        )
        .unwrap();
        FreshSnapshot {
            batches: vec![narrow, wide],
            pending_paths: HashSet::from(["files/pending.parquet".to_string()]),
            frozen_through: BTreeMap::from([(self.node.clone(), 7)]),
            unread_nodes: BTreeSet::new(),
        }
    }
}

/// Claims `node`'s lease row naming `cluster` as its address; returns its instance.
async fn lease(meta: &MetaStore, node: &str, cluster: &str) -> String {
    let instance = format!("{node}-instance");
    let volume = format!("{node}-volume");
    let outcome = meta
        .claim_ingester(&LeaseClaim {
            node,
            instance: &instance,
            volume: &volume,
            legacy_instance: None,
            http: "127.0.0.1:1",
            cluster,
            lease: Duration::from_secs(3600),
        })
        .await
        .unwrap();
    assert!(
        matches!(outcome, ClaimOutcome::Claimed { .. }),
        "{outcome:?}"
    );
    instance
}

/// A listener on a free loopback port, and its address.
async fn listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

/// Serves `node`'s memory on `listener` as `instance`, signed with `secret`.
fn serve_memory(listener: tokio::net::TcpListener, node: &str, instance: &str, secret: &str) {
    let local: LocalFresh = Arc::default();
    let _ = local.set(Arc::new(Memory {
        node: node.to_string(),
    }));
    serve_slot(listener, local, node, instance, secret);
}

/// Serves whatever `local` holds (nothing yet: a node replaying its WAL).
fn serve_slot(
    listener: tokio::net::TcpListener,
    local: LocalFresh,
    node: &str,
    instance: &str,
    secret: &str,
) {
    let service = FreshService::new(local, node, instance, ClusterSecret::parse(secret).unwrap());
    tokio::spawn(serve(service, listener, std::future::pending()));
}

fn querier(meta: &MetaStore) -> ClusterFresh {
    ClusterFresh::new(
        None,
        "querier-0",
        meta.clone(),
        Some(ClusterSecret::parse(SECRET).unwrap()),
        Duration::from_secs(5),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_reads_every_batch_and_what_the_ingester_covers() {
    let meta = MetaStore::connect(&kansoku_testkit::fresh_postgres_dsn().await)
        .await
        .unwrap();
    let (listener, address) = listener().await;
    let instance = lease(&meta, "ingester-0", &address).await;
    serve_memory(listener, "ingester-0", &instance, SECRET);

    let snapshot = querier(&meta).snapshot(&key(), 0, i64::MAX).await;
    assert!(
        snapshot.unread_nodes.is_empty(),
        "{:?}",
        snapshot.unread_nodes
    );
    let rows: usize = snapshot.batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 3);
    assert_eq!(snapshot.batches.len(), 2);
    assert_eq!(snapshot.batches[1].schema().fields().len(), 2);
    assert!(snapshot.covers("files/pending.parquet", "someone"));
    // Files of ingester-0 after its frozen segment are its memory's: skipped.
    assert!(snapshot.covers("files/x/ingester-0-0000000000000008.parquet", "ingester-0"));
    assert!(!snapshot.covers("files/x/ingester-0-0000000000000007.parquet", "ingester-0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_cannot_be_read_are_named_and_nothing_of_them_is_used() {
    let meta = MetaStore::connect(&kansoku_testkit::fresh_postgres_dsn().await)
        .await
        .unwrap();
    // Signs with another secret.
    let (listener_0, address) = listener().await;
    let instance = lease(&meta, "ingester-0", &address).await;
    serve_memory(
        listener_0,
        "ingester-0",
        &instance,
        "another-secret-0123456789",
    );
    // Answers as another instance than its row names (a process that took the id over).
    let (listener_1, address) = listener().await;
    lease(&meta, "ingester-1", &address).await;
    serve_memory(listener_1, "ingester-1", "a-newer-instance", SECRET);
    // Nothing listens at its address.
    let (closed, address) = listener().await;
    drop(closed);
    lease(&meta, "ingester-2", &address).await;
    // Announced no cluster address.
    lease(&meta, "ingester-3", "").await;
    // Still replaying its WAL: answers UNAVAILABLE at once.
    let (listener_4, address) = listener().await;
    let instance = lease(&meta, "ingester-4", &address).await;
    serve_slot(
        listener_4,
        LocalFresh::default(),
        "ingester-4",
        &instance,
        SECRET,
    );

    let snapshot = querier(&meta).snapshot(&key(), 0, i64::MAX).await;
    assert_eq!(
        snapshot.unread_nodes.iter().collect::<Vec<_>>(),
        [
            "ingester-0",
            "ingester-1",
            "ingester-2",
            "ingester-3",
            "ingester-4"
        ]
    );
    assert!(snapshot.batches.is_empty());
    assert!(snapshot.pending_paths.is_empty());
    assert!(snapshot.frozen_through.is_empty());

    // Without a secret, other nodes are named, never asked.
    let blind = ClusterFresh::new(None, "q", meta.clone(), None, Duration::from_secs(5));
    assert_eq!(
        blind.snapshot(&key(), 0, i64::MAX).await.unread_nodes.len(),
        5
    );
}
