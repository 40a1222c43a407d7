//! Ingester leases against the machine's PostgreSQL: a restart on the same volume takes its
//! row at once; another volume with the same node id waits — also once the lease lapsed —
//! until root forgets the node, and the process it replaces then learns it was fenced and can
//! no longer commit a flush.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use kansoku_cluster::{LeaseConfig, LeaseHealth, VolumeLock, acquire_lease, spawn_renewal};
use kansoku_meta::{Checkpoint, Error as MetaError, ForgetOutcome, IngesterState, MetaStore};

/// Bounds every wait of these tests; none of them asserts a duration.
const PATIENCE: Duration = Duration::from_secs(60);

fn config(lease: Duration) -> LeaseConfig {
    LeaseConfig {
        lease,
        renew_every: Duration::from_millis(100),
        ..LeaseConfig::with_defaults("ingester-0", "127.0.0.1:5080", "127.0.0.1:5082")
    }
}

async fn postgres() -> MetaStore {
    MetaStore::connect(&kansoku_testkit::fresh_postgres_dsn().await)
        .await
        .unwrap()
}

fn lock(dir: &std::path::Path) -> Arc<VolumeLock> {
    Arc::new(VolumeLock::acquire(&dir.join("wal")).unwrap())
}

#[tokio::test]
async fn a_restart_on_the_same_volume_takes_its_row_at_once() {
    let meta = postgres().await;
    let volume_dir = tempfile::tempdir().unwrap();
    // A lease far longer than the test: only the volume id can explain an immediate claim.
    let config = config(Duration::from_secs(3600));

    let first = tokio::time::timeout(
        PATIENCE,
        acquire_lease(&meta, lock(volume_dir.path()), &config),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(first.epoch, 1);
    let second = tokio::time::timeout(
        PATIENCE,
        acquire_lease(&meta, lock(volume_dir.path()), &config),
    )
    .await
    .expect("a restart waited for its own predecessor's lease")
    .unwrap();
    assert_eq!(second.epoch, 2);
    assert_ne!(second.instance, first.instance);
    let row = meta.ingester("ingester-0").await.unwrap().unwrap();
    assert_eq!(
        (row.instance, row.state),
        (second.instance, IngesterState::Active)
    );
    assert!(
        !meta
            .renew_ingester("ingester-0", &first.instance)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn another_volume_waits_until_the_node_is_forgotten_and_fences_the_holder() {
    let meta = postgres().await;
    let stream = kansoku_core::StreamKey::new(
        kansoku_core::OrgId::parse("default").unwrap(),
        kansoku_core::StreamType::Logs,
        kansoku_core::StreamName::normalise("app").unwrap(),
    );
    meta.ensure_stream(&stream).await.unwrap();
    let config = config(Duration::from_secs(1));
    let (old_dir, new_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let old = acquire_lease(&meta, lock(old_dir.path()), &config)
        .await
        .unwrap();
    // The old holder stops renewing (a frozen or partitioned process): no renewal task. The
    // other volume keeps waiting well past the lapse: the old volume's WAL may hold records.
    let claiming = {
        let (meta, volume, config) = (meta.clone(), lock(new_dir.path()), config.clone());
        tokio::spawn(async move { acquire_lease(&meta, volume, &config).await })
    };
    tokio::time::sleep(config.lease * 3).await;
    assert!(
        !claiming.is_finished(),
        "a lapsed lease handed the id to another volume"
    );
    assert_eq!(
        meta.forget_ingester("ingester-0").await.unwrap(),
        ForgetOutcome::Forgotten
    );
    let new = tokio::time::timeout(PATIENCE, claiming)
        .await
        .expect("the forgotten node's id was never taken")
        .unwrap()
        .unwrap();
    assert_eq!(new.epoch, old.epoch + 1);

    // When the old process resumes, its renewal reports it fenced.
    let (mut health, task) = spawn_renewal(meta.clone(), old.clone(), &config);
    tokio::time::timeout(
        PATIENCE,
        health.wait_for(|status| status.health == LeaseHealth::Fenced),
    )
    .await
    .expect("the fenced process never learnt it")
    .unwrap();
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();

    // And its late flush cannot commit, while the new holder's can.
    let file = kansoku_meta::FileEntry {
        path: "files/default/logs/app/late.parquet".into(),
        stream: stream.clone(),
        min_ts: 0,
        max_ts: 10,
        records: 1,
        raw_bytes: 1,
        stored_bytes: 1,
        partition: Vec::new(),
        index_path: None,
        index_bytes: 0,
        series_path: None,
        schema_version: 1,
        format_version: 1,
        node: "ingester-0".into(),
        created_at: 0,
    };
    let refused = meta
        .publish_files(std::slice::from_ref(&file), Some(checkpoint(&old.instance)))
        .await;
    assert!(
        matches!(refused, Err(MetaError::Fenced { .. })),
        "{refused:?}"
    );
    assert!(meta.list_files(&stream, 0, 100).await.unwrap().is_empty());
    meta.publish_files(std::slice::from_ref(&file), Some(checkpoint(&new.instance)))
        .await
        .unwrap();
    assert_eq!(meta.list_files(&stream, 0, 100).await.unwrap().len(), 1);

    // The new holder's own renewal keeps the lease.
    let (mut health, task) = spawn_renewal(meta.clone(), new, &config);
    for _ in 0..3 {
        tokio::time::timeout(PATIENCE, health.changed())
            .await
            .expect("no renewal was attempted")
            .unwrap();
        assert_eq!(health.borrow_and_update().health, LeaseHealth::Held);
    }
    task.abort();
}

fn checkpoint(instance: &str) -> Checkpoint<'_> {
    Checkpoint {
        node: "ingester-0",
        segment: 1,
        instance: Some(instance),
        last: false,
    }
}
