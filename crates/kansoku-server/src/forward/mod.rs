//! The Fluentd forward listener (what Fluent Bit's and Fluentd's `forward` outputs speak), off
//! until `KANSOKU_FORWARD_ADDR` is set. Messages are read whole, stored in batches, and each
//! `chunk` is answered `{"ack": chunk}` only once durable, so a sender with `Require_ack_response`
//! (Fluent Bit) or `require_ack_response` (Fluentd) re-sends what was not answered. With
//! `KANSOKU_FORWARD_SHARED_KEY` a sender must pass the shared-key handshake first. Decoding is
//! `kansoku_ingest::decode::forward`'s.

mod connection;
mod handshake;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use kansoku_core::OrgId;
use kansoku_ingest::Ingester;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::accept::Stopper;

/// The forward listener's settings.
#[derive(Debug, Clone, Args)]
pub struct ForwardConfig {
    /// Fluentd forward protocol over TCP, e.g. `0.0.0.0:24224`; off when unset.
    #[arg(long, env = "KANSOKU_FORWARD_ADDR")]
    pub forward_addr: Option<SocketAddr>,
    /// Organisation forwarded events are stored in.
    #[arg(long, env = "KANSOKU_FORWARD_ORG", default_value = "default")]
    pub forward_org: String,
    /// Stream of every event; unset: the tag names the stream (normalised: `kube.app` →
    /// `kube_app`).
    #[arg(long, env = "KANSOKU_FORWARD_STREAM")]
    pub forward_stream: Option<String>,
    /// Shared key of the forward handshake; unset: no handshake (bind to a trusted network).
    #[arg(long, env = "KANSOKU_FORWARD_SHARED_KEY", hide_env_values = true)]
    pub forward_shared_key: Option<String>,
    /// This server's name in the handshake (`self_hostname`).
    #[arg(long, env = "KANSOKU_FORWARD_HOSTNAME", default_value = "kansoku")]
    pub forward_hostname: String,
    /// Most forward connections open at once; further ones wait.
    #[arg(long, env = "KANSOKU_FORWARD_MAX_CONNECTIONS", default_value_t = 256)]
    pub forward_max_connections: usize,
}

impl ForwardConfig {
    /// The settings as `KEY=value` lines for `kansoku config` (the key only as set/unset).
    pub fn redacted(&self) -> Vec<(String, String)> {
        vec![
            (
                "KANSOKU_FORWARD_ADDR".into(),
                self.forward_addr.map(|a| a.to_string()).unwrap_or_default(),
            ),
            ("KANSOKU_FORWARD_ORG".into(), self.forward_org.clone()),
            (
                "KANSOKU_FORWARD_STREAM".into(),
                self.forward_stream.clone().unwrap_or_default(),
            ),
            (
                "KANSOKU_FORWARD_SHARED_KEY".into(),
                if self.forward_shared_key.is_some() {
                    "***"
                } else {
                    "(unset)"
                }
                .into(),
            ),
            (
                "KANSOKU_FORWARD_HOSTNAME".into(),
                self.forward_hostname.clone(),
            ),
            (
                "KANSOKU_FORWARD_MAX_CONNECTIONS".into(),
                self.forward_max_connections.to_string(),
            ),
        ]
    }
}

/// Bound but not yet serving.
pub struct Bound {
    listener: Option<TcpListener>,
    settings: Settings,
    max_connections: usize,
    /// Where it listens, when configured.
    pub addr: Option<SocketAddr>,
}

/// What every connection needs to know.
#[derive(Debug, Clone)]
struct Settings {
    org: OrgId,
    stream: Option<Arc<str>>,
    shared_key: Option<String>,
    hostname: String,
}

/// `kansoku_forward_*` metrics.
#[derive(Debug, Clone, Default)]
struct ForwardMetrics {
    messages: Counter,
    dropped: Family<Vec<(String, String)>, Counter>,
    backpressure: Counter,
    handshake_failures: Counter,
}

impl Bound {
    /// Checks the settings and binds the listener when configured.
    pub async fn bind(config: &ForwardConfig) -> Result<Bound, String> {
        let org =
            OrgId::parse(&config.forward_org).map_err(|e| format!("KANSOKU_FORWARD_ORG: {e}"))?;
        if let Some(stream) = &config.forward_stream {
            kansoku_core::StreamName::normalise(stream)
                .map_err(|e| format!("KANSOKU_FORWARD_STREAM: {e}"))?;
        }
        if config.forward_shared_key.as_deref() == Some("") {
            return Err("KANSOKU_FORWARD_SHARED_KEY is set but empty".to_string());
        }
        let listener = match config.forward_addr {
            None => None,
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                format!("cannot listen for Fluentd forward on {addr} (KANSOKU_FORWARD_ADDR): {e}")
            })?),
        };
        let addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        Ok(Bound {
            listener,
            settings: Settings {
                org,
                stream: config.forward_stream.as_deref().map(Arc::from),
                shared_key: config.forward_shared_key.clone(),
                hostname: config.forward_hostname.clone(),
            },
            max_connections: config.forward_max_connections,
            addr,
        })
    }

    /// Starts serving into `ingester`; a message may decompress to `max_bytes`.
    pub fn serve(
        self,
        ingester: Arc<Ingester>,
        max_bytes: usize,
        registry: &mut Registry,
    ) -> Stopper {
        let (tracker, stopper) = crate::accept::tracker();
        let metrics = ForwardMetrics::default();
        registry.register(
            "kansoku_forward_messages",
            "Fluentd forward messages received",
            metrics.messages.clone(),
        );
        registry.register(
            "kansoku_forward_dropped_messages",
            "Forward messages read but not stored, per reason (a refusal that cannot be \
             retried, the node stopping; neither is acknowledged)",
            metrics.dropped.clone(),
        );
        registry.register(
            "kansoku_forward_backpressure",
            "Times a connection's batch was refused (memory full, quota) and retried after a \
             pause instead of reading further",
            metrics.backpressure.clone(),
        );
        registry.register(
            "kansoku_forward_handshake_failures",
            "Forward connections refused by the shared-key handshake",
            metrics.handshake_failures.clone(),
        );
        let Some(listener) = self.listener else {
            return stopper;
        };
        tracing::info!(addr = ?self.addr, "listening for Fluentd forward");
        let session = Arc::new(connection::Shared {
            ingester,
            settings: self.settings,
            metrics,
            stop: tracker.stop.clone(),
            max_bytes,
        });
        tracker.accept(
            listener,
            "forward",
            self.max_connections,
            move |stream, peer| connection::serve(stream, peer, Arc::clone(&session)),
        );
        stopper
    }
}
