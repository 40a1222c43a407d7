//! Syslog settings (`KANSOKU_SYSLOG_*`): every listener is off until its address is set.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The syslog listeners' settings.
#[derive(Debug, Clone, Args)]
pub struct SyslogConfig {
    /// Syslog over TCP (RFC 6587 octet counting or newline framing), e.g. `0.0.0.0:5514`;
    /// off when unset.
    #[arg(long, env = "KANSOKU_SYSLOG_TCP_ADDR")]
    pub syslog_tcp_addr: Option<SocketAddr>,
    /// Syslog over UDP (one message per datagram); off when unset.
    #[arg(long, env = "KANSOKU_SYSLOG_UDP_ADDR")]
    pub syslog_udp_addr: Option<SocketAddr>,
    /// Syslog over TLS (RFC 5425 framing); needs KANSOKU_SYSLOG_TLS_CERT and _KEY; off when unset.
    #[arg(long, env = "KANSOKU_SYSLOG_TLS_ADDR")]
    pub syslog_tls_addr: Option<SocketAddr>,
    /// PEM certificate chain of the TLS listener.
    #[arg(long, env = "KANSOKU_SYSLOG_TLS_CERT")]
    pub syslog_tls_cert: Option<PathBuf>,
    /// PEM private key of the TLS listener.
    #[arg(long, env = "KANSOKU_SYSLOG_TLS_KEY")]
    pub syslog_tls_key: Option<PathBuf>,
    /// PEM CA certificates: when set, TLS senders must present a certificate they signed.
    #[arg(long, env = "KANSOKU_SYSLOG_TLS_CLIENT_CA")]
    pub syslog_tls_client_ca: Option<PathBuf>,
    /// RELP (rsyslog's `omrelp`: every message acknowledged once durable); off when unset.
    #[arg(long, env = "KANSOKU_SYSLOG_RELP_ADDR")]
    pub syslog_relp_addr: Option<SocketAddr>,
    /// Organisation syslog messages are stored in.
    #[arg(long, env = "KANSOKU_SYSLOG_ORG", default_value = "default")]
    pub syslog_org: String,
    /// Stream of messages no route names.
    #[arg(long, env = "KANSOKU_SYSLOG_STREAM", default_value = "syslog")]
    pub syslog_stream: String,
    /// Routes to other streams: `FIELD=PATTERN=>STREAM,…`, FIELD one of hostname, appname,
    /// facility, severity; `*` matches any text; the first matching rule wins.
    #[arg(long, env = "KANSOKU_SYSLOG_ROUTES", default_value = "")]
    pub syslog_routes: String,
    /// Most syslog connections open at once on each of the TCP, TLS and RELP listeners;
    /// further ones wait in the kernel's backlog.
    #[arg(long, env = "KANSOKU_SYSLOG_MAX_CONNECTIONS", default_value_t = 256)]
    pub syslog_max_connections: usize,
}

impl SyslogConfig {
    /// Whether any listener is configured.
    pub fn any_listener(&self) -> bool {
        self.syslog_tcp_addr.is_some()
            || self.syslog_udp_addr.is_some()
            || self.syslog_tls_addr.is_some()
            || self.syslog_relp_addr.is_some()
    }

    /// The settings as `KEY=value` lines for `kansoku config`.
    pub fn redacted(&self) -> Vec<(String, String)> {
        let addr = |value: &Option<SocketAddr>| value.map(|a| a.to_string()).unwrap_or_default();
        let path = |value: &Option<PathBuf>| {
            value
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        vec![
            (
                "KANSOKU_SYSLOG_TCP_ADDR".into(),
                addr(&self.syslog_tcp_addr),
            ),
            (
                "KANSOKU_SYSLOG_UDP_ADDR".into(),
                addr(&self.syslog_udp_addr),
            ),
            (
                "KANSOKU_SYSLOG_TLS_ADDR".into(),
                addr(&self.syslog_tls_addr),
            ),
            (
                "KANSOKU_SYSLOG_TLS_CERT".into(),
                path(&self.syslog_tls_cert),
            ),
            ("KANSOKU_SYSLOG_TLS_KEY".into(), path(&self.syslog_tls_key)),
            (
                "KANSOKU_SYSLOG_TLS_CLIENT_CA".into(),
                path(&self.syslog_tls_client_ca),
            ),
            (
                "KANSOKU_SYSLOG_RELP_ADDR".into(),
                addr(&self.syslog_relp_addr),
            ),
            ("KANSOKU_SYSLOG_ORG".into(), self.syslog_org.clone()),
            ("KANSOKU_SYSLOG_STREAM".into(), self.syslog_stream.clone()),
            ("KANSOKU_SYSLOG_ROUTES".into(), self.syslog_routes.clone()),
            (
                "KANSOKU_SYSLOG_MAX_CONNECTIONS".into(),
                self.syslog_max_connections.to_string(),
            ),
        ]
    }
}
