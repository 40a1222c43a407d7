//! This node's place in the cluster's registry (`kansoku-cluster` `registry`), when
//! `KANSOKU_NATS_URL` is set: announced once the node is ready, every heartbeat, withdrawn at a
//! clean stop; and the registered nodes as the registry shows them. The connection also
//! carries the change events (`crate::changes`).
//!
//! NATS is never on the ack path: if it is down at start-up the node starts anyway and keeps
//! trying to connect; while it is down, the last known members stay.

use std::sync::Arc;
use std::time::Duration;

use kansoku_cluster::registry::{
    ANNOUNCEMENT_VERSION, Members, NodeAnnouncement, NodeState, Registry, RegistryConfig,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a stopping node waits for its withdrawal from the registry.
const WITHDRAW_WAIT: Duration = Duration::from_secs(5);

/// The registry as this node sees and feeds it.
pub struct Membership {
    members: watch::Receiver<Members>,
    state: watch::Sender<NodeState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Who this node is, for its announcement.
pub struct Identity {
    /// Node id.
    pub node: String,
    /// This process (its lease's instance, or a fresh id).
    pub instance: String,
    /// Its roles' names (`["all"]` or the list).
    pub roles: Vec<String>,
    /// Public HTTP address, as other nodes reach it.
    pub http: String,
    /// Its cluster (Flight) address, empty when it serves none.
    pub cluster: String,
}

impl Membership {
    /// Connects (retrying every heartbeat while NATS is unreachable), calls `connected` with
    /// the connection once, and announces `identity` until [`Membership::stop`].
    pub fn start(
        config: RegistryConfig,
        identity: Identity,
        connected: impl FnOnce(&Arc<Registry>) + Send + 'static,
    ) -> Membership {
        let (members_sender, members) = watch::channel(Members::new());
        let (state, announced_state) = watch::channel(NodeState::Active);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let retry_every = config.heartbeat;
            let registry = loop {
                match Registry::connect(config.clone()).await {
                    Ok(registry) => break registry,
                    Err(error) => {
                        tracing::warn!(%error, "cannot reach the node registry yet; retrying");
                    }
                }
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    _ = tokio::time::sleep(retry_every) => {}
                }
            };
            connected(&registry);
            run(registry, identity, announced_state, members_sender, stopped).await;
        });
        Membership {
            members,
            state,
            stop,
            task,
        }
    }

    /// The registered nodes, as last seen and from now on.
    pub fn members(&self) -> watch::Receiver<Members> {
        self.members.clone()
    }

    /// Announces that this node is stopping (`draining`): routers send it nothing new, while
    /// it still finishes and flushes what it took.
    pub fn drain(&self) {
        self.state.send_replace(NodeState::Draining);
    }

    /// Withdraws this node (waiting a few seconds at most) and stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(WITHDRAW_WAIT, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Announces `identity` and mirrors the members until `stopped`, then withdraws.
async fn run(
    registry: Arc<Registry>,
    identity: Identity,
    mut state: watch::Receiver<NodeState>,
    members_sender: watch::Sender<Members>,
    stopped: watch::Receiver<bool>,
) {
    let announcement = NodeAnnouncement {
        v: ANNOUNCEMENT_VERSION,
        node: identity.node,
        instance: identity.instance,
        roles: identity.roles,
        http: identity.http,
        cluster: identity.cluster,
        state: *state.borrow_and_update(),
        load: 0,
    };
    let (announce, announced) = watch::channel(announcement);
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let beat = registry.spawn_heartbeat(announced, until_stopped(stopped.clone()));
    let (mut members, watching) = registry.spawn_members(until_stopped(stopped.clone()));
    let mut stopped = stopped;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            Ok(()) = state.changed() => {
                let now = *state.borrow_and_update();
                // The heartbeat puts the new state at once.
                announce.send_modify(|announcement| announcement.state = now);
            }
            changed = members.changed() => {
                if changed.is_err() {
                    break;
                }
                let current = members.borrow_and_update().clone();
                members_sender.send_replace(current);
            }
        }
    }
    // The heartbeat withdraws the node when it sees the stop.
    let _ = beat.await;
    watching.abort();
}
