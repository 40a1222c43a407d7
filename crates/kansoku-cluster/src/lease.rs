//! Claiming and keeping an ingester's lease (`cluster_ingesters`, kansoku-meta's `ingesters`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kansoku_meta::{ClaimOutcome, LeaseClaim, MetaStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Error, Result, VolumeLock};

/// How a node holds its lease.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The node id (`KANSOKU_NODE_ID`).
    pub node: String,
    /// Public HTTP address other nodes reach it on.
    pub http: String,
    /// Cluster (Flight) address.
    pub cluster: String,
    /// How long an unrenewed lease stays valid (`KANSOKU_NODE_LEASE`, 30 s).
    pub lease: Duration,
    /// How often it is renewed (5 s).
    pub renew_every: Duration,
}

impl LeaseConfig {
    /// The defaults of the design: a 30 s lease renewed every 5 s.
    pub fn with_defaults(node: &str, http: &str, cluster: &str) -> Self {
        LeaseConfig {
            node: node.to_string(),
            http: http.to_string(),
            cluster: cluster.to_string(),
            lease: Duration::from_secs(30),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// A lease this process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The node id.
    pub node: String,
    /// This process's instance id.
    pub instance: String,
    /// The epoch of this takeover (flush file names are to carry it).
    pub epoch: i64,
    /// When the claim that won was sent: the lease is sure for half its length from here
    /// until the first renewal.
    pub claimed_at: Instant,
}

/// What the renewal knows about the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseHealth {
    /// Renewed within half the lease.
    Held,
    /// Not renewed for half the lease (the database is unreachable): it may have been taken
    /// over without this process knowing, so writes are answered 503 until a renewal succeeds.
    Unsure,
    /// Another instance holds the lease: this process must stop writing and exit without
    /// touching its WAL.
    Fenced,
}

/// The health after a renewal attempt: `renewed` is its answer (`Ok(false)`: the row names
/// another instance), `since_last_renewal` the time since the last one that succeeded.
pub fn health_after(
    renewed: &Result<bool>,
    since_last_renewal: Duration,
    lease: Duration,
) -> LeaseHealth {
    match renewed {
        Ok(true) => LeaseHealth::Held,
        Ok(false) => LeaseHealth::Fenced,
        Err(_) if since_last_renewal >= lease / 2 => LeaseHealth::Unsure,
        Err(_) => LeaseHealth::Held,
    }
}

/// Claims `config.node`'s lease for a new instance and records that instance beside the WAL.
/// Takes the row at once when it names `volume`'s previous instance (or is drained, or lapsed);
/// otherwise waits, logging, until the holder's lease lapses — never gives up, as a restarted
/// pod must not crash-loop while its predecessor's lease runs out.
pub async fn acquire_lease(
    meta: &MetaStore,
    volume: Arc<VolumeLock>,
    config: &LeaseConfig,
) -> Result<Lease> {
    let previous = blocking({
        let volume = Arc::clone(&volume);
        move || volume.previous_instance()
    })
    .await?;
    let instance = uuid::Uuid::new_v4().to_string();
    let claim = LeaseClaim {
        node: &config.node,
        instance: &instance,
        previous_instance: previous.as_deref(),
        http: &config.http,
        cluster: &config.cluster,
        lease: config.lease,
    };
    let (epoch, claimed_at) = loop {
        let sent = Instant::now();
        match meta.claim_ingester(&claim).await {
            Ok(ClaimOutcome::Claimed { epoch }) => break (epoch, sent),
            Ok(ClaimOutcome::Held {
                instance: holder,
                remaining,
            }) => {
                tracing::warn!(
                    node = %config.node,
                    holder = %holder,
                    remaining_ms = remaining.as_millis() as u64,
                    "node id held by another instance; waiting for its lease to lapse"
                );
                tokio::time::sleep(
                    remaining
                        .min(config.renew_every)
                        .max(Duration::from_millis(10)),
                )
                .await;
            }
            Err(error) => {
                tracing::warn!(node = %config.node, %error, "cannot claim the node's lease yet");
                tokio::time::sleep(config.renew_every).await;
            }
        }
    };
    blocking({
        let instance = instance.clone();
        move || volume.record_instance(&instance)
    })
    .await?;
    tracing::info!(node = %config.node, %instance, epoch, "node lease claimed");
    Ok(Lease {
        node: config.node.clone(),
        instance,
        epoch,
        claimed_at,
    })
}

/// Renews `lease` every `config.renew_every` until `Fenced` or until every receiver is gone;
/// the receiver reports the [`LeaseHealth`] after each attempt. An attempt that takes longer
/// than `renew_every` counts as failed, and a success counts from when it was sent (the
/// database may have run it at once and answered late), so `Unsure` is reported no later than
/// about half the lease plus two periods after the last renewal the database ran.
pub fn spawn_renewal(
    meta: MetaStore,
    lease: Lease,
    config: &LeaseConfig,
) -> (watch::Receiver<LeaseHealth>, JoinHandle<()>) {
    let (sender, receiver) = watch::channel(LeaseHealth::Held);
    let every = config.renew_every;
    let length = config.lease;
    let task = tokio::spawn(async move {
        let mut last_renewal = lease.claimed_at;
        loop {
            tokio::time::sleep(every).await;
            let sent = Instant::now();
            let renewed = match tokio::time::timeout(
                every,
                meta.renew_ingester(&lease.node, &lease.instance),
            )
            .await
            {
                Ok(answer) => answer.map_err(Error::from),
                Err(_) => Err(Error::RenewalTimedOut { after: every }),
            };
            if matches!(renewed, Ok(true)) {
                last_renewal = sent;
            }
            if let Err(error) = &renewed {
                tracing::warn!(node = %lease.node, %error, "cannot renew the node's lease");
            }
            let health = health_after(&renewed, last_renewal.elapsed(), length);
            if health == LeaseHealth::Fenced {
                tracing::error!(
                    node = %lease.node,
                    instance = %lease.instance,
                    "another instance took over this node's lease: fenced"
                );
            }
            if sender.send(health).is_err() || health == LeaseHealth::Fenced {
                return;
            }
        }
    });
    (receiver, task)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| Error::Io {
            what: "run file work for",
            path: "the WAL directory".into(),
            source: std::io::Error::other(join.to_string()),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(30);

    fn unreachable() -> Result<bool> {
        Err(Error::CorruptInstance { path: "x".into() })
    }

    #[test]
    fn a_renewal_decides_the_health() {
        assert_eq!(health_after(&Ok(true), LEASE * 3, LEASE), LeaseHealth::Held);
        assert_eq!(
            health_after(&Ok(false), Duration::ZERO, LEASE),
            LeaseHealth::Fenced
        );
        assert_eq!(
            health_after(&unreachable(), Duration::from_secs(14), LEASE),
            LeaseHealth::Held
        );
        assert_eq!(
            health_after(&unreachable(), Duration::from_secs(15), LEASE),
            LeaseHealth::Unsure
        );
    }
}
