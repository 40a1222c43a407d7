//! Mounting the node's lease (`kansoku-cluster`) on a node whose metadata database is shared
//! (PostgreSQL): claimed before the WAL is replayed, renewed for the life of the process, its
//! health turned into the ingester's write gate.
//!
//! ```text
//! claim (waits while another live instance holds the id) → renewal task
//!   Held   → gate Open
//!   Unsure → gate Unsure (writes 503 until a renewal succeeds)
//!   Fenced → gate Fenced (no write, freeze or flush), the process stops without flushing
//!            and exits with an error
//! ```

use std::sync::Arc;

use kansoku_cluster::{Lease, LeaseConfig, LeaseHealth, LeaseStatus, VolumeLock};
use kansoku_ingest::{Ingester, LeaseIdentity, WriteGate};
use kansoku_meta::MetaStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A lease this process holds, with its renewal running.
pub struct MountedLease {
    lease: Lease,
    status: watch::Receiver<LeaseStatus>,
    renewal: JoinHandle<()>,
}

impl MountedLease {
    /// Claims the node's lease (waiting, however long, while another live instance holds it)
    /// and starts renewing it.
    pub async fn claim(
        meta: &MetaStore,
        volume: Arc<VolumeLock>,
        config: &LeaseConfig,
    ) -> anyhow::Result<MountedLease> {
        let lease = kansoku_cluster::acquire_lease(meta, volume, config).await?;
        let (status, renewal) = kansoku_cluster::spawn_renewal(meta.clone(), lease.clone(), config);
        Ok(MountedLease {
            lease,
            status,
            renewal,
        })
    }

    /// What the write path needs to know of the lease.
    pub fn identity(&self) -> LeaseIdentity {
        LeaseIdentity {
            instance: self.lease.instance.clone(),
            epoch: self.lease.epoch,
        }
    }

    /// Sets `ingester`'s write gate and its deadline from the lease's status, now and at
    /// every report, until the lease is fenced. Should this task fall behind, the deadline
    /// passes and writes stop on their own.
    pub fn gate(&self, ingester: Arc<Ingester>) {
        let mut status = self.status.clone();
        let apply = move |ingester: &Ingester, status: &mut watch::Receiver<LeaseStatus>| {
            let current = *status.borrow_and_update();
            ingester.set_lease_sure_until(current.sure_until);
            ingester.set_write_gate(gate_of(current.health));
            current.health
        };
        // At once, before anything can be written: the ingester starts open, without a deadline.
        if apply(&ingester, &mut status) == LeaseHealth::Fenced {
            return;
        }
        tokio::spawn(async move {
            while status.changed().await.is_ok() {
                if apply(&ingester, &mut status) == LeaseHealth::Fenced {
                    return;
                }
            }
        });
    }

    /// Resolves once the lease is fenced (never, while it is not).
    pub async fn fenced(&self) {
        let mut status = self.status.clone();
        if status
            .wait_for(|status| status.health == LeaseHealth::Fenced)
            .await
            .is_err()
        {
            std::future::pending::<()>().await;
        }
    }

    /// Whether the lease is fenced now.
    pub fn is_fenced(&self) -> bool {
        self.status.borrow().health == LeaseHealth::Fenced
    }
}

impl Drop for MountedLease {
    /// Stops renewing (the process is stopping, or its start failed).
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// The write gate a lease health calls for.
pub fn gate_of(health: LeaseHealth) -> WriteGate {
    match health {
        LeaseHealth::Held => WriteGate::Open,
        LeaseHealth::Unsure => WriteGate::Unsure,
        LeaseHealth::Fenced => WriteGate::Fenced,
    }
}
