//! Whether this node may acknowledge writes at all, as its lease says (scale-out, issue 11).
//!
//! The lease itself is kept by `kansoku-cluster`, which this crate does not depend on: the
//! server turns the lease's health into a [`WriteGate`] and sets it here. A node that takes no
//! lease (a single process on SQLite) stays [`WriteGate::Open`].
//!
//! ```text
//! Open    writes are admitted and acknowledged — until the lease's sureness deadline, which
//!         is checked on every write, whatever was last reported
//! Unsure  the lease went unrenewed for half its length: another instance may hold it, so
//!         nothing is acknowledged (503, retryable) until a renewal succeeds; flushes go on
//!         (the manifest transaction checks the lease itself)
//! Fenced  another instance holds the lease: nothing is written, frozen or flushed any more,
//!         the WAL is left as it is for the instance that replays it; the process exits
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::watch;

use crate::error::{Error, Result};

/// What the node's lease allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteGate {
    /// The lease is sure (or there is none): write.
    Open,
    /// The lease could not be renewed for half its length: acknowledge nothing.
    Unsure,
    /// Another instance took the lease over: stop writing for good.
    Fenced,
}

/// No deadline: a node without a lease.
const NO_DEADLINE: u64 = u64::MAX;

/// The gate's position, shared by writers and the flusher, and the deadline of the lease's
/// sureness: an `Open` gate whose deadline passed refuses writes as `Unsure`, so a process
/// that stalled (and whose renewal could not report in time) never acknowledges on the
/// strength of an old report.
#[derive(Debug)]
pub(crate) struct GateCell {
    gate: watch::Sender<WriteGate>,
    /// µs after `base` until which the lease is sure ([`NO_DEADLINE`] without a lease).
    sure_until: AtomicU64,
    base: Instant,
}

impl GateCell {
    pub(crate) fn open() -> GateCell {
        GateCell {
            gate: watch::channel(WriteGate::Open).0,
            sure_until: AtomicU64::new(NO_DEADLINE),
            base: Instant::now(),
        }
    }

    /// The position, with a passed deadline counting as `Unsure`.
    pub(crate) fn get(&self) -> WriteGate {
        let gate = *self.gate.borrow();
        if gate == WriteGate::Open && self.deadline_passed() {
            return WriteGate::Unsure;
        }
        gate
    }

    /// Moves the gate; `Fenced` is final.
    pub(crate) fn set(&self, next: WriteGate) {
        self.gate.send_if_modified(|current| {
            if *current == WriteGate::Fenced || *current == next {
                return false;
            }
            *current = next;
            true
        });
    }

    /// The lease is sure until `at` (and no longer, whatever the gate says).
    pub(crate) fn set_sure_until(&self, at: Instant) {
        let micros = u64::try_from(at.saturating_duration_since(self.base).as_micros())
            .unwrap_or(NO_DEADLINE - 1);
        self.sure_until.store(micros, Ordering::Release);
    }

    /// Every move of the gate (not the deadline's passing).
    pub(crate) fn subscribe(&self) -> watch::Receiver<WriteGate> {
        self.gate.subscribe()
    }

    fn deadline_passed(&self) -> bool {
        let deadline = self.sure_until.load(Ordering::Acquire);
        if deadline == NO_DEADLINE {
            return false;
        }
        let now = u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX);
        now > deadline
    }

    /// `Ok` when writes may be acknowledged.
    pub(crate) fn check_write(&self) -> Result<()> {
        match self.get() {
            WriteGate::Open => Ok(()),
            WriteGate::Unsure => Err(Error::LeaseUnsure),
            WriteGate::Fenced => Err(Error::Fenced),
        }
    }

    /// `Ok` unless fenced: freezing, flushing and deleting must not touch the WAL or the
    /// manifest any more.
    pub(crate) fn check_flush(&self) -> Result<()> {
        match *self.gate.borrow() {
            WriteGate::Fenced => Err(Error::Fenced),
            WriteGate::Open | WriteGate::Unsure => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_reopens_after_unsure_but_never_after_fenced() {
        let gate = GateCell::open();
        assert!(gate.check_write().is_ok());
        gate.set(WriteGate::Unsure);
        assert!(matches!(gate.check_write(), Err(Error::LeaseUnsure)));
        assert!(gate.check_flush().is_ok());
        gate.set(WriteGate::Open);
        assert!(gate.check_write().is_ok());
        let mut changes = gate.subscribe();
        gate.set(WriteGate::Fenced);
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), WriteGate::Fenced);
        gate.set(WriteGate::Open);
        assert!(!changes.has_changed().unwrap());
        assert_eq!(gate.get(), WriteGate::Fenced);
        assert!(matches!(gate.check_write(), Err(Error::Fenced)));
        assert!(matches!(gate.check_flush(), Err(Error::Fenced)));
    }

    #[test]
    fn an_open_gate_refuses_writes_once_the_lease_is_no_longer_sure() {
        let gate = GateCell::open();
        gate.set_sure_until(Instant::now() + std::time::Duration::from_secs(3600));
        assert!(gate.check_write().is_ok());
        // The renewal that would have reported it never came: the deadline alone decides.
        gate.set_sure_until(Instant::now() - std::time::Duration::from_millis(1));
        assert_eq!(gate.get(), WriteGate::Unsure);
        assert!(matches!(gate.check_write(), Err(Error::LeaseUnsure)));
        assert!(gate.check_flush().is_ok());
        gate.set_sure_until(Instant::now() + std::time::Duration::from_secs(3600));
        assert!(gate.check_write().is_ok());
    }
}
