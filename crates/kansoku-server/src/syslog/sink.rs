//! Where every listener hands its frames: the ingester, with the retry rule of each transport.

use std::sync::Arc;

use kansoku_core::OrgId;
use kansoku_ingest::Ingester;
use kansoku_ingest::decode::syslog::{Frame, Routes};
use tokio::sync::watch;

use super::metrics::SyslogMetrics;
use crate::accept::{Offered, Unstored, until_stored};

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
    pub(super) async fn store(&self, transport: &str, frames: Vec<Frame>) -> Result<(), Unstored> {
        let count = frames.len();
        self.metrics.received(transport, count);
        let frames: Arc<[Frame]> = frames.into();
        let retried = |why: &str| {
            self.metrics.retried(transport);
            tracing::debug!(transport, error = %why, "syslog batch refused; retrying without reading further");
        };
        let stored = until_stored(|| self.offer(Arc::clone(&frames)), &self.stop, retried).await;
        match &stored {
            Ok(()) => {}
            Err(Unstored::Refused(why)) => {
                tracing::warn!(transport, messages = count, error = %why, "syslog messages refused; dropped");
                self.metrics.dropped(transport, "refused", count);
            }
            Err(Unstored::Stopping) => self.metrics.dropped(transport, "stopping", count),
        }
        stored
    }
}
