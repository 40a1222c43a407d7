//! Syslog listeners: TCP and TLS (RFC 6587 framing), UDP, and RELP, each off until its
//! `KANSOKU_SYSLOG_*_ADDR` is set. They are bound when the node starts (a taken port or a bad
//! certificate stops the start) and served once the WAL is replayed; decoding and routing are
//! `kansoku_ingest::decode::syslog`'s. The ports take no credentials: bind them to networks
//! whose senders may write to the configured organisation, or require client certificates.

mod config;
mod metrics;
mod relp;
mod sink;
mod stream;
mod tls;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kansoku_core::OrgId;
use kansoku_ingest::Ingester;
use kansoku_ingest::decode::syslog::Routes;
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::TlsAcceptor;

use crate::accept::{Stopper, Tracker};

pub use config::SyslogConfig;
pub use metrics::SyslogMetrics;
use sink::Sink;

/// Longest wait for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The addresses the listeners are bound to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyslogAddrs {
    /// TCP.
    pub tcp: Option<SocketAddr>,
    /// UDP.
    pub udp: Option<SocketAddr>,
    /// TLS.
    pub tls: Option<SocketAddr>,
    /// RELP.
    pub relp: Option<SocketAddr>,
}

/// Bound but not yet serving.
pub struct Bound {
    tcp: Option<TcpListener>,
    udp: Option<UdpSocket>,
    tls: Option<(TcpListener, TlsAcceptor)>,
    relp: Option<TcpListener>,
    org: OrgId,
    routes: Arc<Routes>,
    max_connections: usize,
    /// Where they listen.
    pub addrs: SyslogAddrs,
}

impl Bound {
    /// Checks the settings and binds every configured listener.
    pub async fn bind(config: &SyslogConfig) -> Result<Bound, String> {
        let org =
            OrgId::parse(&config.syslog_org).map_err(|e| format!("KANSOKU_SYSLOG_ORG: {e}"))?;
        let routes = Routes::parse(&config.syslog_routes, &config.syslog_stream)
            .map_err(|e| format!("KANSOKU_SYSLOG_ROUTES: {e}"))?;
        for stream in routes
            .rules
            .iter()
            .map(|rule| rule.stream.as_str())
            .chain([routes.default_stream.as_str()])
        {
            kansoku_core::StreamName::normalise(stream).map_err(|e| {
                format!("syslog stream '{stream}' (KANSOKU_SYSLOG_STREAM or _ROUTES): {e}")
            })?;
        }
        let tcp = bind_tcp(config.syslog_tcp_addr, "KANSOKU_SYSLOG_TCP_ADDR").await?;
        let relp = bind_tcp(config.syslog_relp_addr, "KANSOKU_SYSLOG_RELP_ADDR").await?;
        let tls = match config.syslog_tls_addr {
            None => None,
            Some(_) => {
                let acceptor = tls::acceptor(
                    config.syslog_tls_cert.as_deref(),
                    config.syslog_tls_key.as_deref(),
                    config.syslog_tls_client_ca.as_deref(),
                )?;
                bind_tcp(config.syslog_tls_addr, "KANSOKU_SYSLOG_TLS_ADDR")
                    .await?
                    .map(|listener| (listener, acceptor))
            }
        };
        let udp = match config.syslog_udp_addr {
            None => None,
            Some(addr) => Some(UdpSocket::bind(addr).await.map_err(|e| {
                format!("cannot listen for syslog on UDP {addr} (KANSOKU_SYSLOG_UDP_ADDR): {e}")
            })?),
        };
        let local = |listener: &TcpListener| listener.local_addr().ok();
        let addrs = SyslogAddrs {
            tcp: tcp.as_ref().and_then(local),
            udp: udp.as_ref().and_then(|socket| socket.local_addr().ok()),
            tls: tls.as_ref().and_then(|(listener, _)| local(listener)),
            relp: relp.as_ref().and_then(local),
        };
        Ok(Bound {
            tcp,
            udp,
            tls,
            relp,
            org,
            routes: Arc::new(routes),
            max_connections: config.syslog_max_connections.max(1),
            addrs,
        })
    }

    /// Starts serving into `ingester`; the stopper ends every listener and connection.
    pub fn serve(
        self,
        ingester: Arc<Ingester>,
        max_frame_bytes: usize,
        registry: &mut Registry,
    ) -> Stopper {
        let (tracker, stopper) = crate::accept::tracker();
        let cap = self.max_connections;
        let sink = Arc::new(Sink {
            ingester,
            org: self.org,
            routes: self.routes,
            metrics: SyslogMetrics::register(registry),
            stop: tracker.stop.clone(),
            max_frame_bytes,
        });
        if let Some(listener) = self.tcp {
            tracing::info!(addr = ?self.addrs.tcp, "listening for syslog over TCP");
            serve_framed(&tracker, listener, None, "tcp", cap, &sink);
        }
        if let Some((listener, acceptor)) = self.tls {
            tracing::info!(addr = ?self.addrs.tls, "listening for syslog over TLS");
            serve_framed(&tracker, listener, Some(acceptor), "tls", cap, &sink);
        }
        if let Some(listener) = self.relp {
            tracing::info!(addr = ?self.addrs.relp, "listening for syslog over RELP");
            let sink = Arc::clone(&sink);
            tracker.accept(listener, "syslog RELP", cap, move |connection, peer| {
                relp::serve(connection, peer, Arc::clone(&sink))
            });
        }
        if let Some(socket) = self.udp {
            tracing::info!(addr = ?self.addrs.udp, "listening for syslog over UDP");
            tracker.spawn(udp::serve(socket, Arc::clone(&sink)));
        }
        stopper
    }
}

async fn bind_tcp(addr: Option<SocketAddr>, setting: &str) -> Result<Option<TcpListener>, String> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|e| format!("cannot listen for syslog on {addr} ({setting}): {e}"))
}

/// TCP or TLS connections with RFC 6587 framing.
fn serve_framed(
    tracker: &Tracker,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    transport: &'static str,
    max_connections: usize,
    sink: &Arc<Sink>,
) {
    let sink = Arc::clone(sink);
    tracker.accept(
        listener,
        "syslog",
        max_connections,
        move |connection, peer| {
            let sink = Arc::clone(&sink);
            let tls = tls.clone();
            async move {
                let Some(tls) = tls else {
                    return stream::serve(connection, peer, transport, sink).await;
                };
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(connection)).await {
                    Ok(Ok(connection)) => stream::serve(connection, peer, transport, sink).await,
                    Ok(Err(error)) => tracing::info!(%peer, %error, "syslog TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "syslog TLS handshake timed out"),
                }
            }
        },
    );
}
