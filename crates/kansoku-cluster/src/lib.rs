//! Scale-out: what lets several kansoku processes share one PostgreSQL, S3 bucket and NATS
//! server as a cluster of roles (issue 11; the design is ARCHITECTURE.md, "Design for the roles").
//!
//! Built so far — the ingester's right to write, which everything else rests on:
//!
//! ```text
//! VolumeLock::acquire(wal dir)     exclusive flock on DATA_DIR/wal/node.lock: one process per volume
//! acquire_lease(meta, volume, …)   claims the node's `cluster_ingesters` row (kansoku-meta):
//!                                  at once if it names this volume (DATA_DIR/wal/volume) or
//!                                  is drained or forgotten, else waits until it is
//! spawn_renewal(…)                 renews every few seconds and reports LeaseStatus: the
//!                                  health — Held, Unsure (no renewal for half the lease:
//!                                  answer writes 503), Fenced (another instance took over:
//!                                  stop writing) — and until when the lease is sure
//! ```
//!
//! the roles a node runs ([`roles`]: `all`, or some of router, ingester, querier, compactor,
//! alert-manager, which need PostgreSQL, S3 and NATS to share their state),
//! and the liveness view beside it, in NATS ([`registry`]): each node puts a signed
//! ([`signed`]) announcement of its roles and addresses every few seconds; readers watch and
//! rescan the bucket.
//!
//! A flush that names the instance in its `kansoku_meta::Checkpoint` is refused by the manifest
//! transaction itself once the process is fenced. `kansoku serve` takes the volume lock, and on
//! PostgreSQL the lease (its server crate turns the health into the ingester's write gate) and,
//! with `KANSOKU_NATS_URL`, a place in the registry, and cache-invalidation [`events`] on the
//! same connection, the order in which a router tries nodes ([`routing`]), and every
//! ingester's not-yet-flushed records read over Arrow Flight ([`fresh`]). Still to come: the
//! split of stored files across queriers.

mod error;
pub mod events;
pub mod fresh;
mod lease;
pub mod registry;
pub mod roles;
pub mod routing;
pub mod signed;
mod volume;

pub use error::{Error, Result};
pub use lease::{
    Lease, LeaseConfig, LeaseHealth, LeaseStatus, acquire_lease, health_after, spawn_renewal,
};
pub use roles::{ClusterSettings, Role, Roles};
pub use volume::VolumeLock;
