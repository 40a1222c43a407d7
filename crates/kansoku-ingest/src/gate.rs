//! Whether this node may acknowledge writes at all, as its lease says (scale-out, issue 11).
//!
//! The lease itself is kept by `kansoku-cluster`, which this crate does not depend on: the
//! server turns the lease's health into a [`WriteGate`] and sets it here. A node that takes no
//! lease (a single process on SQLite) stays [`WriteGate::Open`].
//!
//! ```text
//! Open    writes are admitted and acknowledged
//! Unsure  the lease went unrenewed for half its length: another instance may hold it, so
//!         nothing is acknowledged (503, retryable) until a renewal succeeds; flushes go on
//!         (the manifest transaction checks the lease itself)
//! Fenced  another instance holds the lease: nothing is written, frozen or flushed any more,
//!         the WAL is left as it is for the instance that replays it; the process exits
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

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

/// The gate's current position, shared by writers and the flusher.
#[derive(Debug)]
pub(crate) struct GateCell(AtomicU8);

impl GateCell {
    pub(crate) fn open() -> GateCell {
        GateCell(AtomicU8::new(0))
    }

    pub(crate) fn get(&self) -> WriteGate {
        match self.0.load(Ordering::Acquire) {
            0 => WriteGate::Open,
            1 => WriteGate::Unsure,
            _ => WriteGate::Fenced,
        }
    }

    /// Moves the gate; `Fenced` is final.
    pub(crate) fn set(&self, gate: WriteGate) {
        let value = match gate {
            WriteGate::Open => 0,
            WriteGate::Unsure => 1,
            WriteGate::Fenced => 2,
        };
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != 2).then_some(value)
            });
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
        match self.get() {
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
        gate.set(WriteGate::Fenced);
        gate.set(WriteGate::Open);
        assert_eq!(gate.get(), WriteGate::Fenced);
        assert!(matches!(gate.check_write(), Err(Error::Fenced)));
        assert!(matches!(gate.check_flush(), Err(Error::Fenced)));
    }
}
