//! Claiming and keeping an ingester's lease (`cluster_ingesters`, kansoku-meta's `ingesters`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kansoku_meta::{ClaimOutcome, LeaseClaim, MetaStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Error, Result, VolumeLock};

/// How often a claim that keeps waiting says so.
const WAIT_WARNING_EVERY: Duration = Duration::from_secs(60);

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

/// What the renewal reports after each attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseStatus {
    /// The lease's health.
    pub health: LeaseHealth,
    /// Until when the lease is sure (half its length after the last renewal that succeeded,
    /// counted from when it was sent): writes must stop then even if no report arrives — a
    /// stalled process must not go on acknowledging on the strength of an old report.
    pub sure_until: Instant,
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

/// Claims `config.node`'s lease for a new instance of `volume`. Takes the row at once when it
/// names this volume (its previous process is gone: the volume lock proves it), or is drained
/// or forgotten; otherwise waits, logging, until the other volume's node drains or root forgets
/// it — never gives up (a restarted pod must not crash-loop), and never takes the id over just
/// because a lease lapsed (that volume's WAL may hold acknowledged records).
pub async fn acquire_lease(
    meta: &MetaStore,
    volume: Arc<VolumeLock>,
    config: &LeaseConfig,
) -> Result<Lease> {
    let (volume_id, legacy_instance) =
        blocking(move || Ok((volume.volume_id()?, volume.legacy_instance()?))).await?;
    let instance = uuid::Uuid::new_v4().to_string();
    let claim = LeaseClaim {
        node: &config.node,
        instance: &instance,
        volume: &volume_id,
        legacy_instance: legacy_instance.as_deref(),
        http: &config.http,
        cluster: &config.cluster,
        lease: config.lease,
    };
    let mut last_warning: Option<Instant> = None;
    let (epoch, claimed_at) = loop {
        let sent = Instant::now();
        let outcome = meta.claim_ingester(&claim).await;
        if let Ok(ClaimOutcome::Claimed { epoch }) = outcome {
            break (epoch, sent);
        }
        if last_warning.is_none_or(|at| at.elapsed() >= WAIT_WARNING_EVERY) {
            last_warning = Some(Instant::now());
            match outcome {
                Ok(ClaimOutcome::Held {
                    instance: holder,
                    remaining,
                }) => tracing::warn!(
                    node = %config.node,
                    holder = %holder,
                    lease_left_s = remaining.as_secs(),
                    "node id held by another volume's process: waiting until it stops cleanly, \
                     or until root forgets it (kansoku cluster forget-node) once its lease lapsed"
                ),
                Err(error) => {
                    tracing::warn!(node = %config.node, %error, "cannot claim the node's lease yet")
                }
                Ok(ClaimOutcome::Claimed { .. }) => {}
            }
        }
        tokio::time::sleep(config.renew_every).await;
    };
    tracing::info!(node = %config.node, %instance, epoch, volume = %volume_id, "node lease claimed");
    Ok(Lease {
        node: config.node.clone(),
        instance,
        epoch,
        claimed_at,
    })
}

/// Renews `lease` every `config.renew_every` until `Fenced` or until every receiver is gone;
/// the receiver reports the [`LeaseStatus`] after each attempt. An attempt that takes longer
/// than `renew_every` counts as failed, and a success counts from when it was sent (the
/// database may have run it at once and answered late), so `Unsure` is reported no later than
/// about half the lease plus two periods after the last renewal the database ran.
pub fn spawn_renewal(
    meta: MetaStore,
    lease: Lease,
    config: &LeaseConfig,
) -> (watch::Receiver<LeaseStatus>, JoinHandle<()>) {
    let every = config.renew_every;
    let length = config.lease;
    let (sender, receiver) = watch::channel(LeaseStatus {
        health: LeaseHealth::Held,
        sure_until: lease.claimed_at + length / 2,
    });
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
            let status = LeaseStatus {
                health,
                sure_until: last_renewal + length / 2,
            };
            if sender.send(status).is_err() || health == LeaseHealth::Fenced {
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
        Err(Error::CorruptVolumeId { path: "x".into() })
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
