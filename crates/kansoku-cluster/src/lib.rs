//! Scale-out: what lets several kansoku processes share one PostgreSQL, S3 bucket and NATS
//! server as a cluster of roles (issue 11; the design is ARCHITECTURE.md, "Design for the roles").
//!
//! Built so far — the ingester's right to write, which everything else rests on:
//!
//! ```text
//! VolumeLock::acquire(wal dir)     exclusive flock on DATA_DIR/wal/node.lock: one process per volume
//! acquire_lease(meta, volume, …)   claims the node's `cluster_ingesters` row (kansoku-meta):
//!                                  at once if it names this volume's previous instance, else
//!                                  waits until the holder's lease lapses; records the new
//!                                  instance beside the WAL
//! spawn_renewal(…)                 renews every few seconds and reports LeaseHealth: Held,
//!                                  Unsure (no renewal for half the lease: answer writes 503),
//!                                  Fenced (another instance took over: stop writing)
//! ```
//!
//! A flush that names the instance in its `kansoku_meta::Checkpoint` is refused by the manifest
//! transaction itself once the process is fenced. `kansoku serve` mounts only the volume lock so
//! far; taking and renewing the lease, passing the instance to flushes and acting on the health
//! come with the roles. Still to come here as well: the NATS registry and events, fresh data over
//! Arrow Flight, the router's targets, drain.

mod error;
mod lease;
mod volume;

pub use error::{Error, Result};
pub use lease::{Lease, LeaseConfig, LeaseHealth, acquire_lease, health_after, spawn_renewal};
pub use volume::VolumeLock;
