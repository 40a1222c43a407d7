//! Where every listener hands its frames: the ingester, with the retry rule of each transport.

use std::sync::Arc;

use kansoku_core::OrgId;
use kansoku_ingest::Ingester;
use kansoku_ingest::decode::syslog::{Frame, Routes};
use tokio::sync::watch;

use super::metrics::SyslogMetrics;
use crate::accept::{Offered, Unstored, until_stored};

/// Why frames were not stored (counted as dropped either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotStored {
    /// Refused by an error that retrying cannot pass (logged).
    Refused,
    /// The node is stopping.
    Stopping,
}

/// Stores frames for the listeners.
pub(super) struct Sink {
    pub(super) ingester: Arc<Ingester>,
    pub(super) org: OrgId,
    pub(super) routes: Arc<Routes>,
    pub(super) metrics: SyslogMetrics,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) max_frame_bytes: usize,
}

impl Sink {
    /// Offers `frames` once.
    pub(super) async fn offer(&self, frames: Arc<[Frame]>) -> Offered<()> {
        let received = kansoku_meta::now_micros();
        let result = self
            .ingester
            .ingest_syslog(self.org.clone(), frames, Arc::clone(&self.routes), received)
            .await;
        Offered::from_result(result.map(|_| ()))
    }

    /// Stores `frames` for a connection that can push back (`crate::accept::until_stored`); a
    /// refusal that cannot pass is logged and counted as dropped. A connection that answers
    /// (RELP) must not answer frames that were not stored.
    pub(super) async fn store(&self, transport: &str, frames: Vec<Frame>) -> Result<(), NotStored> {
        let count = frames.len();
        self.metrics.received(transport, count);
        let frames: Arc<[Frame]> = frames.into();
        let retried = |why: &str| {
            self.metrics.retried(transport);
            tracing::debug!(transport, error = %why, "syslog batch refused; retrying without reading further");
        };
        match until_stored(|| self.offer(Arc::clone(&frames)), &self.stop, retried).await {
            Ok(()) => Ok(()),
            Err(Unstored::Refused(why)) => {
                tracing::warn!(transport, messages = count, error = %why, "syslog messages refused; dropped");
                self.metrics.dropped(transport, "refused", count);
                Err(NotStored::Refused)
            }
            Err(Unstored::Stopping) => {
                self.metrics.dropped(transport, "stopping", count);
                Err(NotStored::Stopping)
            }
        }
    }

    /// A datagram (or a line) as a frame: its terminator dropped, too large ones refused,
    /// empty ones none.
    pub(super) fn frame_of(&self, bytes: &[u8]) -> Option<Frame> {
        let mut end = bytes.len();
        while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r' | 0) {
            end -= 1;
        }
        if end == 0 {
            return None;
        }
        if end > self.max_frame_bytes {
            return Some(Frame::Refused(format!(
                "a message of {end} bytes exceeds the {} byte limit (KANSOKU_MAX_RECORD_BYTES)",
                self.max_frame_bytes
            )));
        }
        Some(Frame::Message(bytes::Bytes::copy_from_slice(&bytes[..end])))
    }
}
