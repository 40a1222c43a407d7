//! The node's configuration: one typed struct, from flags and `KANSOKU_*` environment variables,
//! parsed once in `main` and passed down. `kansoku config` prints it with secrets redacted.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};
use kansoku_ingest::IngestConfig;
use kansoku_storage::StorageConfig;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "kansoku",
    version,
    about = "Self-hosted observability for Kubernetes: logs, metrics and traces on Parquet"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every role in this process (HTTP on 5080).
    Serve(Box<Config>),
    /// Print the effective configuration (secrets redacted) and exit.
    Config(Box<Config>),
    /// Apply an alerts-as-code file to a running server (creates and updates, never deletes).
    Apply(crate::apply_cli::ApplyArgs),
    /// Inspect or change a running cluster's ingesters (root).
    Cluster(crate::cluster_cli::ClusterArgs),
}

/// `KANSOKU_FRESH_TIMEOUT` stays below this: the listing that follows the fresh-data calls
/// must end within `kansoku_storage::fresh::MAX_LISTING_DELAY` (10 s) of their start.
const MAX_FRESH_TIMEOUT: Duration = Duration::from_secs(8);

/// The shortest `KANSOKU_NODE_LEASE`.
const MIN_NODE_LEASE: Duration = Duration::from_secs(1);

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting of a node. Each has a flag, an environment variable and a default.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Directory for the WAL, the SQLite database and (by default) stored files.
    #[arg(long, env = "KANSOKU_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Address to listen on for HTTP.
    #[arg(long, env = "KANSOKU_HTTP_ADDR", default_value = "0.0.0.0")]
    pub http_addr: IpAddr,
    /// HTTP port (API and UI).
    #[arg(long, env = "KANSOKU_HTTP_PORT", default_value_t = 5080)]
    pub http_port: u16,
    /// gRPC port (OTLP).
    #[arg(long, env = "KANSOKU_GRPC_PORT", default_value_t = 5081)]
    pub grpc_port: u16,
    /// E-mail of the root user created on first start.
    #[arg(
        long,
        env = "KANSOKU_ROOT_USER_EMAIL",
        default_value = "root@example.com"
    )]
    pub root_user_email: String,
    /// Password of the root user created on first start. If unset on first start, one is
    /// generated and printed once. Ignored once the root user exists.
    #[arg(long, env = "KANSOKU_ROOT_USER_PASSWORD", hide_env_values = true)]
    pub root_user_password: Option<String>,
    /// The roles this node runs: `all` (every role in one process) or a comma list of
    /// `router`, `ingester`, `querier`, `compactor`, `alert-manager`. A list needs PostgreSQL,
    /// S3, NATS and the cluster secret, shared with the other nodes.
    #[arg(long, env = "KANSOKU_ROLES", default_value = "all")]
    pub roles: String,
    /// This node's id; default: generated once and kept in DATA_DIR/node_id.
    #[arg(long, env = "KANSOKU_NODE_ID")]
    pub node_id: Option<String>,
    /// Metadata database: `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`.
    /// Default: sqlite://DATA_DIR/meta.sqlite.
    #[arg(long, env = "KANSOKU_META_DSN", hide_env_values = true)]
    pub meta_dsn: Option<String>,
    /// On PostgreSQL, how long this node's lease on its id outlives its last renewal (renewed
    /// every sixth of it). Writes are refused (503) after half of it without a renewal; root
    /// may forget a node whose volume is lost only once its lease lapsed.
    #[arg(long, env = "KANSOKU_NODE_LEASE", default_value = "30s", value_parser = parse_duration)]
    pub node_lease: Duration,
    /// Port of the cluster's internal Arrow Flight service on an ingester (fresh data for
    /// queriers; on KANSOKU_HTTP_ADDR). Served with PostgreSQL and KANSOKU_CLUSTER_SECRET.
    #[arg(long, env = "KANSOKU_CLUSTER_PORT", default_value_t = 5082)]
    pub cluster_port: u16,
    /// How long a query waits for another ingester's fresh data before answering without it
    /// (the answer then says it is partial).
    #[arg(long, env = "KANSOKU_FRESH_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub fresh_timeout: Duration,
    /// How long a stopping node (SIGTERM) may take to drain: finish requests, flush memory to
    /// stored files and commit. Past it the process exits anyway; its WAL keeps the rest for
    /// the next start. Keep it below the pod's termination grace period.
    #[arg(long, env = "KANSOKU_DRAIN_TIMEOUT", default_value = "240s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// The host other nodes reach this one at (a pod's IP or DNS name). Default: the HTTP
    /// listen address, or the host name when that is a wildcard.
    #[arg(long, env = "KANSOKU_ADVERTISE_HOST")]
    pub advertise_host: Option<String>,
    /// NATS server of the cluster's node registry: `nats://[USER:PASSWORD@]HOST:4222` or
    /// `nats://TOKEN@HOST:4222` (`tls://…` for TLS). Unset: no registry.
    #[arg(long, env = "KANSOKU_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Names the NATS bucket (`{prefix}_nodes`) and subjects, so clusters can share a server.
    #[arg(long, env = "KANSOKU_NATS_PREFIX", default_value = "kansoku")]
    pub nats_prefix: String,
    /// The secret the cluster's nodes share (signs registry entries); a comma list while one
    /// is rotated (the first signs). Required with KANSOKU_NATS_URL.
    #[arg(long, env = "KANSOKU_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// S3 bucket for stored files; when unset, files go to DATA_DIR/storage.
    #[arg(long, env = "KANSOKU_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint URL (for MinIO and other S3-compatible servers).
    #[arg(long, env = "KANSOKU_S3_ENDPOINT", default_value = "")]
    pub s3_endpoint: String,
    /// S3 region.
    #[arg(long, env = "KANSOKU_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 access key id (empty: use the environment / instance role).
    #[arg(long, env = "KANSOKU_S3_ACCESS_KEY", default_value = "")]
    pub s3_access_key: String,
    /// S3 secret key.
    #[arg(
        long,
        env = "KANSOKU_S3_SECRET_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_key: String,
    /// Key prefix inside the bucket.
    #[arg(long, env = "KANSOKU_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,
    /// How long one S3 request is retried (with backoff) before a flush or query fails; failed
    /// flushes are retried as a whole, the data staying in the WAL.
    #[arg(long, env = "KANSOKU_S3_RETRY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub s3_retry_timeout: Duration,
    /// How long one S3 request may take before it is abandoned and retried (a hung store holds
    /// a flush or a query no longer than this per attempt).
    #[arg(long, env = "KANSOKU_S3_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub s3_request_timeout: Duration,
    /// fdatasync the WAL before acknowledging a write. Turning this off trades durability on
    /// power loss or kernel crash for speed (see docs/durability.md).
    #[arg(long, env = "KANSOKU_WAL_FSYNC", default_value_t = true, action = ArgAction::Set)]
    pub wal_fsync: bool,
    /// Largest request body accepted, after decompression.
    #[arg(long, env = "KANSOKU_MAX_BODY_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_body_bytes: usize,
    /// Request bodies held in memory at once; further requests wait, then get 503.
    #[arg(long, env = "KANSOKU_MAX_INFLIGHT_BODY_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub max_inflight_body_bytes: usize,
    /// Longest wait for a request's head (headers), and for the next request on an idle
    /// keep-alive connection; slower clients are disconnected.
    #[arg(long, env = "KANSOKU_HTTP_HEADER_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub http_header_timeout: Duration,
    /// Longest wait for a whole request body once its headers arrived (408 after it).
    #[arg(long, env = "KANSOKU_HTTP_BODY_TIMEOUT", default_value = "120s", value_parser = parse_duration)]
    pub http_body_timeout: Duration,
    /// Most HTTP connections open at once; further ones wait in the kernel's backlog.
    #[arg(long, env = "KANSOKU_HTTP_MAX_CONNECTIONS", default_value_t = 4096)]
    pub http_max_connections: usize,
    /// Largest single record.
    #[arg(long, env = "KANSOKU_MAX_RECORD_BYTES", default_value = "4MiB", value_parser = parse_bytes)]
    pub max_record_bytes: usize,
    /// Most fields in one record.
    #[arg(long, env = "KANSOKU_MAX_FIELDS_PER_RECORD", default_value_t = 1000)]
    pub max_fields_per_record: usize,
    /// Most columns in one stream.
    #[arg(long, env = "KANSOKU_MAX_FIELDS_PER_STREAM", default_value_t = 5000)]
    pub max_fields_per_stream: usize,
    /// Nested-object levels flattened into columns (0 = unlimited).
    #[arg(long, env = "KANSOKU_FLATTEN_LEVEL", default_value_t = 3)]
    pub flatten_level: u32,
    /// Time zone for timestamps that carry none (IANA name or offset like +09:00).
    #[arg(long, env = "KANSOKU_DEFAULT_TIMEZONE", default_value = "UTC")]
    pub default_timezone: String,
    /// Oldest accepted event time, relative to now.
    #[arg(long, env = "KANSOKU_INGEST_MAX_AGE", default_value = "720h", value_parser = parse_duration)]
    pub ingest_max_age: Duration,
    /// Furthest accepted event time in the future.
    #[arg(long, env = "KANSOKU_INGEST_MAX_FUTURE", default_value = "24h", value_parser = parse_duration)]
    pub ingest_max_future: Duration,
    /// How long a record id (`_id`) is remembered to drop a re-sent copy, where a stream sets
    /// none (0 = off).
    #[arg(long, env = "KANSOKU_DEDUP_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub dedup_window: Duration,
    /// Most record ids a node remembers (about 16 bytes each); past it the oldest are forgotten
    /// early (counted).
    #[arg(long, env = "KANSOKU_DEDUP_MAX_IDS", default_value_t = 2_000_000)]
    pub dedup_max_ids: usize,
    /// In-memory data is flushed to Parquet at this size.
    #[arg(long, env = "KANSOKU_MEMTABLE_FLUSH_BYTES", default_value = "48MiB", value_parser = parse_bytes)]
    pub memtable_flush_bytes: usize,
    /// Above this much unflushed data, ingest answers 503 with Retry-After.
    #[arg(long, env = "KANSOKU_MEMTABLE_MAX_BYTES", default_value = "128MiB", value_parser = parse_bytes)]
    pub memtable_max_bytes: usize,
    /// In-memory data is flushed at least this often.
    #[arg(long, env = "KANSOKU_FLUSH_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub flush_interval: Duration,
    /// Map Logstash-style daily bulk indexes (`name-2020.03.02`) to the stream `name`.
    #[arg(long, env = "KANSOKU_BULK_STRIP_DATE_SUFFIX", default_value_t = true, action = ArgAction::Set)]
    pub bulk_strip_date_suffix: bool,
    /// Days stored data is kept when a stream sets no `data_retention`; 0 keeps it forever.
    #[arg(long, env = "KANSOKU_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: i64,
    /// How often expired files are looked for and deleted.
    #[arg(long, env = "KANSOKU_RETENTION_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub retention_interval: Duration,
    /// Ingested bytes per second one organisation may send (0 = no limit); over it, 429 with
    /// `Retry-After` (503 on remote_write).
    #[arg(long, env = "KANSOKU_ORG_INGEST_RATE", default_value = "0", value_parser = parse_bytes)]
    pub org_ingest_rate: usize,
    /// Bytes one organisation may send at once above its rate (default: one second's worth).
    #[arg(long, env = "KANSOKU_ORG_INGEST_BURST", default_value = "0", value_parser = parse_bytes)]
    pub org_ingest_burst: usize,
    /// Bytes one organisation may store, data files and indexes (0 = no limit); over it, ingest
    /// answers 429 (503 on remote_write) until retention or deletions free space.
    #[arg(long, env = "KANSOKU_ORG_STORAGE_QUOTA", default_value = "0", value_parser = parse_bytes)]
    pub org_storage_quota: usize,
    /// Whether small stored files are merged into large ones.
    #[arg(long, env = "KANSOKU_COMPACT_ENABLED", default_value_t = true, action = ArgAction::Set)]
    pub compact_enabled: bool,
    /// Time between compactor passes (merges, retention, deletions).
    #[arg(long, env = "KANSOKU_COMPACT_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub compact_interval: Duration,
    /// Ingested bytes one merge reads at most (its memory is about 2–3× this); files of half
    /// this size are final.
    #[arg(long, env = "KANSOKU_COMPACT_MAX_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub compact_max_bytes: usize,
    /// A file is merged only once committed this long (at least 20 s).
    #[arg(long, env = "KANSOKU_COMPACT_MIN_AGE", default_value = "60s", value_parser = parse_duration)]
    pub compact_min_age: Duration,
    /// How long replaced and expired files stay readable for queries that listed them; longer
    /// than the query timeout.
    #[arg(long, env = "KANSOKU_COMPACT_DELETE_GRACE", default_value = "15m", value_parser = parse_duration)]
    pub compact_delete_grace: Duration,
    /// Memory one query may use for sorts, aggregations and joins.
    #[arg(long, env = "KANSOKU_QUERY_MEMORY_LIMIT", default_value = "512MiB", value_parser = parse_bytes)]
    pub query_memory_limit: usize,
    /// Longest a query may run.
    #[arg(long, env = "KANSOKU_QUERY_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub query_timeout: Duration,
    /// Most hits one search may return (downloads are not capped).
    #[arg(long, env = "KANSOKU_QUERY_MAX_HITS", default_value_t = 10_000)]
    pub query_max_hits: usize,
    /// Most samples one PromQL query may hold in memory (Prometheus' `--query.max-samples`).
    #[arg(long, env = "KANSOKU_PROMQL_MAX_SAMPLES", default_value_t = 50_000_000)]
    pub promql_max_samples: usize,
    /// How far back a PromQL instant selector looks for a sample (`--query.lookback-delta`).
    #[arg(long, env = "KANSOKU_PROMQL_LOOKBACK_DELTA", default_value = "5m", value_parser = parse_duration)]
    pub promql_lookback_delta: Duration,
    /// Mark the UI session cookie `Secure` (set when kansoku is served over HTTPS).
    #[arg(long, env = "KANSOKU_COOKIE_SECURE", default_value_t = false, action = ArgAction::Set)]
    pub cookie_secure: bool,
    /// Allow reading /metrics without credentials (for Prometheus scrapes inside the cluster).
    #[arg(long, env = "KANSOKU_METRICS_PUBLIC", default_value_t = false, action = ArgAction::Set)]
    pub metrics_public: bool,
    /// Hosts and networks (comma-separated, CIDR allowed) that alert destinations may reach
    /// although they are not public, e.g. `127.0.0.1,10.0.0.0/8,receiver.monitoring.svc`.
    #[arg(long, env = "KANSOKU_DESTINATION_ALLOWLIST", default_value = "")]
    pub destination_allowlist: String,
    /// How often the alert scheduler looks for due alerts.
    #[arg(long, env = "KANSOKU_ALERT_SCHEDULER_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub alert_scheduler_interval: Duration,
    /// Attempts per notification (with exponential backoff between them).
    #[arg(long, env = "KANSOKU_ALERT_DELIVERY_ATTEMPTS", default_value_t = 3)]
    pub alert_delivery_attempts: u32,
    /// The address users reach the UI at, for links in notifications (`{alert_url}`); default
    /// `http://localhost:<port>`.
    #[arg(long, env = "KANSOKU_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP server for e-mail destinations (unset: e-mail destinations are refused).
    #[arg(long, env = "KANSOKU_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, env = "KANSOKU_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// `starttls` (default), `tls` (implicit TLS, port 465) or `none` (a local relay only).
    #[arg(long, env = "KANSOKU_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    /// SMTP login (empty: no authentication).
    #[arg(long, env = "KANSOKU_SMTP_USER", default_value = "")]
    pub smtp_user: String,
    /// SMTP password.
    #[arg(long, env = "KANSOKU_SMTP_PASSWORD")]
    pub smtp_password: Option<String>,
    /// The `From:` address of alert e-mails.
    #[arg(long, env = "KANSOKU_SMTP_FROM", default_value = "kansoku@localhost")]
    pub smtp_from: String,
    /// A directory of alerts-as-code YAML files, applied at start and whenever they change.
    #[arg(long, env = "KANSOKU_ALERTS_DIR")]
    pub alerts_dir: Option<PathBuf>,
    /// How often the alerts directory is checked for changes.
    #[arg(long, env = "KANSOKU_ALERTS_DIR_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub alerts_dir_interval: Duration,
    /// The syslog listeners (all off by default).
    #[command(flatten)]
    pub syslog: crate::syslog::SyslogConfig,
    /// The Fluentd forward listener (off by default).
    #[command(flatten)]
    pub forward: crate::forward::ForwardConfig,
    /// Log format.
    #[arg(long, env = "KANSOKU_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing syntax, e.g. `info,kansoku_ingest=debug`).
    #[arg(long, env = "KANSOKU_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The UI's public address, defaulted.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| format!("http://localhost:{}", self.http_port))
    }

    /// The alert service's settings.
    pub fn alerts(&self) -> Result<kansoku_alerts::AlertsConfig, String> {
        let allowlist = kansoku_alerts::ssrf::Allowlist::parse(&self.destination_allowlist)
            .map_err(|e| format!("KANSOKU_DESTINATION_ALLOWLIST: {e}"))?;
        Ok(kansoku_alerts::AlertsConfig {
            tick: self
                .alert_scheduler_interval
                .max(std::time::Duration::from_millis(50)),
            delivery: kansoku_alerts::deliver::DeliveryConfig {
                allowlist,
                attempts: self.alert_delivery_attempts.clamp(1, 10),
                ..kansoku_alerts::deliver::DeliveryConfig::default()
            },
            public_url: self.public_url(),
            smtp: self.smtp()?,
        })
    }

    fn smtp(&self) -> Result<Option<kansoku_alerts::email::SmtpConfig>, String> {
        let Some(host) = self.smtp_host.clone().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let security = kansoku_alerts::email::SmtpSecurity::parse(&self.smtp_security)
            .map_err(|e| format!("KANSOKU_SMTP_SECURITY: {e}"))?;
        Ok(Some(kansoku_alerts::email::SmtpConfig {
            host,
            port: self.smtp_port,
            security,
            username: self.smtp_user.clone(),
            password: self.smtp_password.clone().unwrap_or_default(),
            from: self.smtp_from.clone(),
            timeout: std::time::Duration::from_secs(15),
        }))
    }

    /// The metadata DSN, defaulted.
    pub fn meta_dsn(&self) -> String {
        self.meta_dsn
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("meta.sqlite").display()))
    }

    /// Where stored files go.
    pub fn storage(&self) -> StorageConfig {
        match &self.s3_bucket {
            Some(bucket) if !bucket.is_empty() => StorageConfig::S3 {
                endpoint: self.s3_endpoint.clone(),
                bucket: bucket.clone(),
                region: self.s3_region.clone(),
                access_key: self.s3_access_key.clone(),
                secret_key: self.s3_secret_key.clone(),
                prefix: self.s3_prefix.clone(),
                retry_timeout: self.s3_retry_timeout,
                request_timeout: self.s3_request_timeout,
            },
            _ => StorageConfig::Local {
                root: self.data_dir.join("storage"),
            },
        }
    }

    /// Refuses settings that contradict each other (checked when `kansoku serve` starts).
    pub fn check_consistency(&self) -> Result<(), String> {
        if self.memtable_max_bytes < self.memtable_flush_bytes {
            return Err(format!(
                "KANSOKU_MEMTABLE_MAX_BYTES ({} MiB) is below KANSOKU_MEMTABLE_FLUSH_BYTES ({} MiB): \
                 ingest would be refused (503) before a flush is due; raise the maximum or lower \
                 the flush size",
                self.memtable_max_bytes >> 20,
                self.memtable_flush_bytes >> 20
            ));
        }
        if self.compact_delete_grace <= self.query_timeout {
            return Err(format!(
                "KANSOKU_COMPACT_DELETE_GRACE ({}s) must be longer than KANSOKU_QUERY_TIMEOUT ({}s): \
                 a running query could find a replaced file deleted",
                self.compact_delete_grace.as_secs(),
                self.query_timeout.as_secs()
            ));
        }
        if self.node_lease < MIN_NODE_LEASE {
            return Err(format!(
                "KANSOKU_NODE_LEASE ({:?}) is below {MIN_NODE_LEASE:?}: renewals every sixth of it \
                 would outpace the metadata database",
                self.node_lease
            ));
        }
        if self.fresh_timeout >= MAX_FRESH_TIMEOUT {
            return Err(format!(
                "KANSOKU_FRESH_TIMEOUT ({:?}) must be below {MAX_FRESH_TIMEOUT:?}: a query lists the stored files within 10 s of reading the ingesters' memory",
                self.fresh_timeout
            ));
        }
        self.secret()?;
        self.registry()?;
        self.roles()?;
        self.compact("").check()
    }

    /// The roles this node runs, refused when a partial list lacks what it shares with the
    /// other nodes.
    pub fn roles(&self) -> Result<kansoku_cluster::Roles, String> {
        let roles = kansoku_cluster::Roles::parse(&self.roles)
            .map_err(|e| format!("KANSOKU_ROLES: {e}"))?;
        let present = |value: &Option<String>| {
            value
                .as_deref()
                .is_some_and(|value| !value.trim().is_empty())
        };
        roles.require_cluster(kansoku_cluster::ClusterSettings {
            postgres: kansoku_meta::dialect_of(&self.meta_dsn())
                .is_ok_and(|dialect| dialect == kansoku_meta::Dialect::Postgres),
            s3: present(&self.s3_bucket),
            nats: present(&self.nats_url),
            secret: present(&self.cluster_secret),
        })?;
        Ok(roles)
    }

    /// The cluster secret, when set (checked: 16+ bytes each).
    pub fn secret(&self) -> Result<Option<kansoku_cluster::signed::ClusterSecret>, String> {
        self.cluster_secret
            .as_deref()
            .filter(|secret| !secret.trim().is_empty())
            .map(kansoku_cluster::signed::ClusterSecret::parse)
            .transpose()
    }

    /// The node registry's settings, when `KANSOKU_NATS_URL` is set.
    pub fn registry(&self) -> Result<Option<kansoku_cluster::registry::RegistryConfig>, String> {
        let Some(url) = self
            .nats_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        else {
            return Ok(None);
        };
        if !kansoku_cluster::registry::is_valid_prefix(&self.nats_prefix) {
            return Err(format!(
                "KANSOKU_NATS_PREFIX ({:?}) must be 1 to 32 letters, digits, '_' or '-'",
                self.nats_prefix
            ));
        }
        let Some(secret) = self.cluster_secret.as_deref() else {
            return Err(
                "KANSOKU_NATS_URL is set but KANSOKU_CLUSTER_SECRET is not: the nodes of a cluster sign what they tell each other with a shared secret"
                    .to_string(),
            );
        };
        let secret = kansoku_cluster::signed::ClusterSecret::parse(secret)?;
        Ok(Some(
            kansoku_cluster::registry::RegistryConfig::with_defaults(
                url,
                &self.nats_prefix,
                secret,
            ),
        ))
    }

    /// The `host:port` other nodes reach this node's listener bound to `bound` at (HTTP, the
    /// cluster's Flight service).
    pub fn advertised(&self, bound: std::net::SocketAddr) -> String {
        let host = match self.advertise_host.as_deref().map(str::trim) {
            Some(host) if !host.is_empty() => host.to_string(),
            _ if !bound.ip().is_unspecified() => bound.ip().to_string(),
            _ => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_string())
                .ok()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "localhost".to_string()),
        };
        if host.contains(':') && !host.starts_with('[') {
            return format!("[{host}]:{}", bound.port());
        }
        format!("{host}:{}", bound.port())
    }

    /// The lease this node takes on its id on a shared (PostgreSQL) metadata database.
    pub fn lease(
        &self,
        node_id: &str,
        http: std::net::SocketAddr,
        cluster: Option<std::net::SocketAddr>,
    ) -> kansoku_cluster::LeaseConfig {
        kansoku_cluster::LeaseConfig {
            node: node_id.to_string(),
            http: self.advertised(http),
            cluster: cluster
                .map(|bound| self.advertised(bound))
                .unwrap_or_default(),
            lease: self.node_lease,
            renew_every: self.node_lease / 6,
        }
    }

    /// The compactor's configuration.
    pub fn compact(&self, node_id: &str) -> kansoku_compact::CompactConfig {
        kansoku_compact::CompactConfig {
            enabled: self.compact_enabled,
            interval: self.compact_interval,
            max_bytes: i64::try_from(self.compact_max_bytes).unwrap_or(i64::MAX),
            min_age: self.compact_min_age,
            delete_grace: self.compact_delete_grace,
            retention_days: self.retention_days,
            retention_interval: self.retention_interval,
            dedup_window_secs: u32::try_from(self.dedup_window.as_secs()).unwrap_or(u32::MAX),
            ..kansoku_compact::CompactConfig::with_defaults(node_id)
        }
    }

    /// The write path's configuration.
    pub fn ingest(&self, node_id: &str) -> IngestConfig {
        let mut ingest = IngestConfig::with_defaults(node_id, self.data_dir.join("wal"));
        ingest.wal_fsync = self.wal_fsync;
        ingest.max_record_bytes = self.max_record_bytes;
        ingest.max_fields_per_record = self.max_fields_per_record;
        ingest.max_fields_per_stream = self.max_fields_per_stream;
        ingest.flatten_level = self.flatten_level;
        ingest.default_time_zone = self.default_timezone.clone();
        ingest.max_age = self.ingest_max_age;
        ingest.max_future = self.ingest_max_future;
        ingest.memtable_flush_bytes = self.memtable_flush_bytes;
        ingest.memtable_max_bytes = self.memtable_max_bytes;
        ingest.flush_interval = self.flush_interval;
        ingest.bulk_strip_date_suffix = self.bulk_strip_date_suffix;
        ingest.quotas = self.ingest_quotas();
        ingest.dedup_window = self.dedup_window;
        ingest.dedup_max_ids = self.dedup_max_ids;
        ingest
    }

    /// The server-wide per-organisation quotas (an organisation's own settings replace them).
    pub fn ingest_quotas(&self) -> kansoku_ingest::quota::QuotaConfig {
        kansoku_ingest::quota::QuotaConfig {
            rate_bytes_per_sec: self.org_ingest_rate as u64,
            burst_bytes: self.org_ingest_burst as u64,
            storage_bytes: self.org_storage_quota as u64,
        }
    }

    /// The PromQL engine's limits (the query timeout is shared with SQL).
    pub fn promql(&self) -> kansoku_promql::EngineOptions {
        kansoku_promql::EngineOptions {
            lookback_ms: i64::try_from(self.promql_lookback_delta.as_millis()).unwrap_or(300_000),
            max_samples: self.promql_max_samples,
            timeout: Some(self.query_timeout),
            ..kansoku_promql::EngineOptions::default()
        }
    }

    /// The read path's limits.
    pub fn query(&self) -> kansoku_query::QueryConfig {
        kansoku_query::QueryConfig {
            memory_limit: self.query_memory_limit,
            timeout: self.query_timeout,
            max_hits: self.query_max_hits,
            ..kansoku_query::QueryConfig::default()
        }
    }

    /// The configuration as `KEY=value` lines, secrets shown only as set/unset. Only the fields
    /// listed here are printed (an allowlist, so a new secret cannot leak by accident).
    pub fn redacted(&self) -> Vec<(String, String)> {
        let secret = |value: &str| {
            if value.is_empty() {
                "(unset)".to_string()
            } else {
                "***".to_string()
            }
        };
        let mut lines = vec![
            (
                "KANSOKU_DATA_DIR".into(),
                self.data_dir.display().to_string(),
            ),
            ("KANSOKU_HTTP_ADDR".into(), self.http_addr.to_string()),
            ("KANSOKU_HTTP_PORT".into(), self.http_port.to_string()),
            ("KANSOKU_GRPC_PORT".into(), self.grpc_port.to_string()),
            (
                "KANSOKU_ROOT_USER_EMAIL".into(),
                self.root_user_email.clone(),
            ),
            (
                "KANSOKU_ROOT_USER_PASSWORD".into(),
                secret(self.root_user_password.as_deref().unwrap_or("")),
            ),
            ("KANSOKU_ROLES".into(), self.roles.clone()),
            (
                "KANSOKU_NODE_ID".into(),
                self.node_id.clone().unwrap_or_else(|| "(generated)".into()),
            ),
            (
                "KANSOKU_META_DSN".into(),
                kansoku_meta::redact_dsn(&self.meta_dsn()),
            ),
            (
                "KANSOKU_NODE_LEASE".into(),
                format!("{}s", self.node_lease.as_secs_f64()),
            ),
            ("KANSOKU_CLUSTER_PORT".into(), self.cluster_port.to_string()),
            (
                "KANSOKU_FRESH_TIMEOUT".into(),
                format!("{}s", self.fresh_timeout.as_secs_f64()),
            ),
            (
                "KANSOKU_DRAIN_TIMEOUT".into(),
                format!("{}s", self.drain_timeout.as_secs_f64()),
            ),
            (
                "KANSOKU_ADVERTISE_HOST".into(),
                self.advertise_host
                    .clone()
                    .unwrap_or_else(|| "(listen address or host name)".into()),
            ),
            (
                "KANSOKU_NATS_URL".into(),
                self.nats_url.as_deref().map_or_else(
                    || "(unset)".to_string(),
                    kansoku_cluster::registry::NatsUrl::redacted,
                ),
            ),
            ("KANSOKU_NATS_PREFIX".into(), self.nats_prefix.clone()),
            (
                "KANSOKU_CLUSTER_SECRET".into(),
                secret(self.cluster_secret.as_deref().unwrap_or("")),
            ),
            (
                "KANSOKU_S3_BUCKET".into(),
                self.s3_bucket.clone().unwrap_or_default(),
            ),
            ("KANSOKU_S3_ENDPOINT".into(), self.s3_endpoint.clone()),
            ("KANSOKU_S3_REGION".into(), self.s3_region.clone()),
            ("KANSOKU_S3_ACCESS_KEY".into(), self.s3_access_key.clone()),
            ("KANSOKU_S3_SECRET_KEY".into(), secret(&self.s3_secret_key)),
            ("KANSOKU_S3_PREFIX".into(), self.s3_prefix.clone()),
            (
                "KANSOKU_S3_RETRY_TIMEOUT".into(),
                format!("{}s", self.s3_retry_timeout.as_secs()),
            ),
            (
                "KANSOKU_S3_REQUEST_TIMEOUT".into(),
                format!("{}s", self.s3_request_timeout.as_secs()),
            ),
            ("KANSOKU_WAL_FSYNC".into(), self.wal_fsync.to_string()),
            (
                "KANSOKU_MAX_BODY_BYTES".into(),
                self.max_body_bytes.to_string(),
            ),
            (
                "KANSOKU_MAX_INFLIGHT_BODY_BYTES".into(),
                self.max_inflight_body_bytes.to_string(),
            ),
            (
                "KANSOKU_HTTP_HEADER_TIMEOUT".into(),
                format!("{}ms", self.http_header_timeout.as_millis()),
            ),
            (
                "KANSOKU_HTTP_BODY_TIMEOUT".into(),
                format!("{}ms", self.http_body_timeout.as_millis()),
            ),
            (
                "KANSOKU_HTTP_MAX_CONNECTIONS".into(),
                self.http_max_connections.to_string(),
            ),
            (
                "KANSOKU_MAX_RECORD_BYTES".into(),
                self.max_record_bytes.to_string(),
            ),
            (
                "KANSOKU_MAX_FIELDS_PER_RECORD".into(),
                self.max_fields_per_record.to_string(),
            ),
            (
                "KANSOKU_MAX_FIELDS_PER_STREAM".into(),
                self.max_fields_per_stream.to_string(),
            ),
            (
                "KANSOKU_FLATTEN_LEVEL".into(),
                self.flatten_level.to_string(),
            ),
            (
                "KANSOKU_DEFAULT_TIMEZONE".into(),
                self.default_timezone.clone(),
            ),
            (
                "KANSOKU_INGEST_MAX_AGE".into(),
                format!("{}s", self.ingest_max_age.as_secs()),
            ),
            (
                "KANSOKU_INGEST_MAX_FUTURE".into(),
                format!("{}s", self.ingest_max_future.as_secs()),
            ),
            (
                "KANSOKU_DEDUP_WINDOW".into(),
                format!("{}s", self.dedup_window.as_secs()),
            ),
            (
                "KANSOKU_DEDUP_MAX_IDS".into(),
                self.dedup_max_ids.to_string(),
            ),
            (
                "KANSOKU_MEMTABLE_FLUSH_BYTES".into(),
                self.memtable_flush_bytes.to_string(),
            ),
            (
                "KANSOKU_MEMTABLE_MAX_BYTES".into(),
                self.memtable_max_bytes.to_string(),
            ),
            (
                "KANSOKU_FLUSH_INTERVAL".into(),
                format!("{}s", self.flush_interval.as_secs()),
            ),
            (
                "KANSOKU_BULK_STRIP_DATE_SUFFIX".into(),
                self.bulk_strip_date_suffix.to_string(),
            ),
            (
                "KANSOKU_RETENTION_DAYS".into(),
                self.retention_days.to_string(),
            ),
            (
                "KANSOKU_RETENTION_INTERVAL".into(),
                format!("{}s", self.retention_interval.as_secs()),
            ),
            (
                "KANSOKU_ORG_INGEST_RATE".into(),
                self.org_ingest_rate.to_string(),
            ),
            (
                "KANSOKU_ORG_INGEST_BURST".into(),
                self.org_ingest_burst.to_string(),
            ),
            (
                "KANSOKU_ORG_STORAGE_QUOTA".into(),
                self.org_storage_quota.to_string(),
            ),
            (
                "KANSOKU_COMPACT_ENABLED".into(),
                self.compact_enabled.to_string(),
            ),
            (
                "KANSOKU_COMPACT_INTERVAL".into(),
                format!("{}s", self.compact_interval.as_secs()),
            ),
            (
                "KANSOKU_COMPACT_MAX_BYTES".into(),
                self.compact_max_bytes.to_string(),
            ),
            (
                "KANSOKU_COMPACT_MIN_AGE".into(),
                format!("{}s", self.compact_min_age.as_secs()),
            ),
            (
                "KANSOKU_COMPACT_DELETE_GRACE".into(),
                format!("{}s", self.compact_delete_grace.as_secs()),
            ),
            (
                "KANSOKU_QUERY_MEMORY_LIMIT".into(),
                self.query_memory_limit.to_string(),
            ),
            (
                "KANSOKU_QUERY_TIMEOUT".into(),
                format!("{}s", self.query_timeout.as_secs()),
            ),
            (
                "KANSOKU_QUERY_MAX_HITS".into(),
                self.query_max_hits.to_string(),
            ),
            (
                "KANSOKU_PROMQL_MAX_SAMPLES".into(),
                self.promql_max_samples.to_string(),
            ),
            (
                "KANSOKU_PROMQL_LOOKBACK_DELTA".into(),
                format!("{}s", self.promql_lookback_delta.as_secs()),
            ),
            (
                "KANSOKU_COOKIE_SECURE".into(),
                self.cookie_secure.to_string(),
            ),
            (
                "KANSOKU_METRICS_PUBLIC".into(),
                self.metrics_public.to_string(),
            ),
            (
                "KANSOKU_DESTINATION_ALLOWLIST".into(),
                self.destination_allowlist.clone(),
            ),
            (
                "KANSOKU_ALERT_SCHEDULER_INTERVAL".into(),
                format!("{}ms", self.alert_scheduler_interval.as_millis()),
            ),
            (
                "KANSOKU_ALERT_DELIVERY_ATTEMPTS".into(),
                self.alert_delivery_attempts.to_string(),
            ),
            ("KANSOKU_PUBLIC_URL".into(), self.public_url()),
            (
                "KANSOKU_SMTP_HOST".into(),
                self.smtp_host.clone().unwrap_or_default(),
            ),
            ("KANSOKU_SMTP_PORT".into(), self.smtp_port.to_string()),
            ("KANSOKU_SMTP_SECURITY".into(), self.smtp_security.clone()),
            ("KANSOKU_SMTP_USER".into(), self.smtp_user.clone()),
            (
                "KANSOKU_SMTP_PASSWORD".into(),
                secret(self.smtp_password.as_deref().unwrap_or("")),
            ),
            ("KANSOKU_SMTP_FROM".into(), self.smtp_from.clone()),
            (
                "KANSOKU_ALERTS_DIR".into(),
                self.alerts_dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            ),
            (
                "KANSOKU_ALERTS_DIR_INTERVAL".into(),
                format!("{}ms", self.alerts_dir_interval.as_millis()),
            ),
            (
                "KANSOKU_LOG_FORMAT".into(),
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            ("KANSOKU_LOG".into(), self.log.clone()),
        ];
        lines.extend(self.syslog.redacted());
        lines.extend(self.forward.redacted());
        lines
    }
}

/// Parses `123`, `64KiB`, `64MiB`, `1GiB`, `10MB`, `1GB` (case-insensitive).
pub fn parse_bytes(raw: &str) -> Result<usize, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits.parse().map_err(|_| {
        format!("invalid size '{raw}': use a number with an optional unit like 64MiB")
    })?;
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "invalid size unit '{other}' in '{raw}': use B, KiB, MiB, GiB, KB, MB or GB"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size '{raw}' is too large"))
}

/// Parses `500ms`, `30s`, `5m`, `720h`, `7d`, or a plain number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|_| {
        format!("invalid duration '{raw}': use a number with a unit like 30s, 5m, 720h or 7d")
    })?;
    let seconds = |factor: u64| {
        number
            .checked_mul(factor)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("duration '{raw}' is too large"))
    };
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(86_400),
        other => Err(format!(
            "invalid duration unit '{other}' in '{raw}': use ms, s, m, h or d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("10mb"), Ok(10_000_000));
        assert_eq!(parse_bytes("123"), Ok(123));
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
        assert_eq!(parse_duration("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("3w").is_err());
    }

    #[test]
    fn redaction_hides_secrets() {
        let cli = Cli::try_parse_from([
            "kansoku",
            "config",
            "--root-user-password",
            "hunter2hunter2",
            "--meta-dsn",
            "postgres://u:pw@db/x",
            "--s3-secret-key",
            "s3cr3t",
        ])
        .unwrap();
        let Command::Config(config) = cli.command else {
            panic!("config command")
        };
        let printed = format!("{:?}", config.redacted());
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("pw@"));
        assert!(!printed.contains("s3cr3t"));
        assert!(printed.contains("KANSOKU_ROOT_USER_PASSWORD"));
    }
}
