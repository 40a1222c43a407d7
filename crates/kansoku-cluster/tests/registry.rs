//! The node registry against the machine's real NATS server (JetStream): announcements are seen
//! by readers and withdrawn, expire when a node stops beating, survive the bucket's loss, and
//! entries not signed with the cluster secret are ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kansoku_cluster::registry::{Members, NodeAnnouncement, NodeState, Registry, RegistryConfig};
use kansoku_cluster::signed::ClusterSecret;
use tokio::sync::watch;

const SECRET: &str = "test-cluster-secret-0123";

/// A registry of its own (a random prefix), beating every 200 ms, entries expiring after 60 s
/// (what a test sees go away was withdrawn, not expired).
async fn registry(prefix: &str, secret: &str) -> Arc<Registry> {
    registry_expiring(prefix, secret, Duration::from_secs(60)).await
}

async fn registry_expiring(prefix: &str, secret: &str, expiry: Duration) -> Arc<Registry> {
    let mut config = RegistryConfig::with_defaults(
        &kansoku_testkit::nats_url(),
        prefix,
        ClusterSecret::parse(secret).unwrap(),
    );
    config.heartbeat = Duration::from_millis(200);
    config.expiry = expiry;
    Registry::connect(config).await.unwrap_or_else(|e| {
        panic!("{e}: run the README's test command, which starts NATS with JetStream")
    })
}

fn prefix() -> String {
    format!("kt{}", kansoku_testkit::random_suffix())
}

fn announcement(node: &str) -> NodeAnnouncement {
    NodeAnnouncement {
        v: 1,
        node: node.to_string(),
        instance: format!("{node}-instance"),
        roles: vec!["all".to_string()],
        http: "127.0.0.1:5080".to_string(),
        cluster: String::new(),
        state: NodeState::Active,
        load: 0,
    }
}

/// Waits (at most 20 s) until `members` satisfies `done`.
async fn members_until(
    members: &mut watch::Receiver<Members>,
    what: &str,
    done: impl Fn(&Members) -> bool,
) {
    let reached = tokio::time::timeout(Duration::from_secs(20), members.wait_for(|m| done(m)))
        .await
        .is_ok_and(|waited| waited.is_ok());
    assert!(
        reached,
        "timed out waiting for {what}; members: {:?}",
        *members.borrow()
    );
}

async fn delete_bucket(prefix: &str) {
    let client = async_nats::connect(kansoku_testkit::nats_url())
        .await
        .unwrap();
    let _ = async_nats::jetstream::new(client)
        .delete_key_value(format!("{prefix}_nodes"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_announcements_and_withdrawals() {
    let prefix = prefix();
    let writer = registry(&prefix, SECRET).await;
    let reader = registry(&prefix, SECRET).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (mut members, _task) = reader.spawn_members(async move {
        let _ = stopped.await;
    });

    writer.announce(&announcement("ingester-0")).await.unwrap();
    writer.announce(&announcement("querier-0")).await.unwrap();
    members_until(&mut members, "both nodes", |m| m.len() == 2).await;
    assert_eq!(members.borrow()["ingester-0"], announcement("ingester-0"));
    assert_eq!(reader.scan().await.unwrap().len(), 2);

    let mut draining = announcement("ingester-0");
    draining.state = NodeState::Draining;
    writer.announce(&draining).await.unwrap();
    members_until(&mut members, "the draining state", |m| {
        m.get("ingester-0").map(|a| a.state) == Some(NodeState::Draining)
    })
    .await;

    // Only the instance that put an entry withdraws it (a fenced process must not remove its
    // successor's).
    writer
        .withdraw("querier-0", "another-instance")
        .await
        .unwrap();
    assert!(reader.scan().await.unwrap().contains_key("querier-0"));
    writer
        .withdraw("querier-0", "querier-0-instance")
        .await
        .unwrap();
    members_until(&mut members, "the withdrawal", |m| {
        !m.contains_key("querier-0")
    })
    .await;
    let _ = stop.send(());
    delete_bucket(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_beating_expires_and_a_lost_bucket_is_recreated() {
    let prefix = prefix();
    let expiry = Duration::from_secs(2);
    let writer = registry_expiring(&prefix, SECRET, expiry).await;
    let reader = registry_expiring(&prefix, SECRET, expiry).await;
    let (_stop_reader, stopped) = tokio::sync::oneshot::channel::<()>();
    let (mut members, _task) = reader.spawn_members(async move {
        let _ = stopped.await;
    });

    // A beating node stays, well past the expiry of a single put.
    let (announce, announced) = watch::channel(announcement("ingester-0"));
    let (stop_beat, beat_stopped) = tokio::sync::oneshot::channel::<()>();
    let beat = writer.spawn_heartbeat(announced, async move {
        let _ = beat_stopped.await;
    });
    members_until(&mut members, "the beating node", |m| m.len() == 1).await;

    // The bucket is lost (NATS restarted without its data): the next beats re-create it.
    delete_bucket(&prefix).await;
    let lost_at = Instant::now();
    // A read right after the loss may fail or time out (the bucket is being re-created):
    // the registry retries such reads itself; the test retries too.
    loop {
        if writer.scan().await.is_ok_and(|members| members.len() == 1) {
            break;
        }
        assert!(
            lost_at.elapsed() < Duration::from_secs(30),
            "the node was never re-announced after the bucket's loss"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    members_until(&mut members, "the node after the bucket's loss", |m| {
        m.len() == 1
    })
    .await;

    // A change is announced at once.
    let mut busy = announcement("ingester-0");
    busy.load = 7;
    announce.send(busy).unwrap();
    members_until(&mut members, "the new load", |m| {
        m.get("ingester-0").map(|a| a.load) == Some(7)
    })
    .await;

    // A node killed without withdrawing: its entry expires, and readers notice (the rescan:
    // nats-server 2.9 sends no event for an expiry).
    beat.abort();
    drop(stop_beat);
    members_until(&mut members, "the expiry", Members::is_empty).await;
    delete_bucket(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_not_signed_with_the_cluster_secret_are_ignored() {
    let prefix = prefix();
    let reader = registry(&prefix, SECRET).await;
    let stranger = registry(&prefix, "a-different-secret-4567").await;
    stranger.announce(&announcement("intruder")).await.unwrap();

    // Unsigned, and signed but naming another node than its key.
    let client = async_nats::connect(kansoku_testkit::nats_url())
        .await
        .unwrap();
    let store = async_nats::jetstream::new(client)
        .get_key_value(format!("{prefix}_nodes"))
        .await
        .unwrap();
    let unsigned = serde_json::to_vec(&announcement("unsigned")).unwrap();
    store.put("unsigned", unsigned.into()).await.unwrap();
    let signed = ClusterSecret::parse(SECRET)
        .unwrap()
        .sign(&announcement("ingester-0"))
        .unwrap();
    store.put("ingester-9", signed.into()).await.unwrap();

    let honest = registry(&prefix, SECRET).await;
    honest.announce(&announcement("ingester-1")).await.unwrap();
    let members = reader.scan().await.unwrap();
    assert_eq!(
        members.keys().collect::<Vec<_>>(),
        vec!["ingester-1"],
        "{members:?}"
    );
    assert_eq!(reader.rejected_entries(), 3);
    delete_bucket(&prefix).await;
}
