//! `kansoku_syslog_*` metrics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// What the syslog listeners count.
#[derive(Debug, Clone, Default)]
pub struct SyslogMetrics {
    messages: Family<Labels, Counter>,
    dropped: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
}

impl SyslogMetrics {
    /// Registers the metrics.
    pub fn register(registry: &mut Registry) -> SyslogMetrics {
        let metrics = SyslogMetrics::default();
        registry.register(
            "kansoku_syslog_messages",
            "Syslog frames received, per transport",
            metrics.messages.clone(),
        );
        registry.register(
            "kansoku_syslog_dropped_messages",
            "Syslog messages received but not stored, per transport and reason (UDP overload, \
             a refusal that cannot be retried, the node stopping before a frame was stored)",
            metrics.dropped.clone(),
        );
        registry.register(
            "kansoku_syslog_backpressure",
            "Times a connection's batch was refused (memory full, quota) and retried after a \
             pause instead of reading further, per transport",
            metrics.retries.clone(),
        );
        metrics
    }

    pub(super) fn received(&self, transport: &str, count: usize) {
        self.messages
            .get_or_create(&vec![("transport".to_string(), transport.to_string())])
            .inc_by(count as u64);
    }

    pub(super) fn dropped(&self, transport: &str, reason: &str, count: usize) {
        self.dropped
            .get_or_create(&vec![
                ("transport".to_string(), transport.to_string()),
                ("reason".to_string(), reason.to_string()),
            ])
            .inc_by(count as u64);
    }

    pub(super) fn retried(&self, transport: &str) {
        self.retries
            .get_or_create(&vec![("transport".to_string(), transport.to_string())])
            .inc();
    }
}
