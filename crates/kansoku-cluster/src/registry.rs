//! The node registry: which nodes are up, with their roles and addresses, in a NATS JetStream
//! key-value bucket (`{prefix}_nodes`, history 1, entries expiring after `expiry`).
//!
//! ```text
//! announce   put key = node id, value = signed NodeAnnouncement, every `heartbeat`
//!            (first only once the node is ready); a failed put re-creates the bucket
//!            (NATS restarted without its data) and tries again at the next beat
//! withdraw   delete the key (a clean stop)
//! members    watch the bucket, and rescan it every `heartbeat`: nats-server 2.9 sends no
//!            event when a key expires; a watch that ends or fails is re-created with back-off
//! ```
//!
//! Liveness only: nothing that must be correct is decided from here (leases, manifest and
//! checkpoints are in PostgreSQL), so NATS being down costs freshness of this view, never data.
//! Entries not signed with the cluster secret are ignored and counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{kv, stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::signed::ClusterSecret;
use crate::{Error, Result};

/// The announcement format's version.
pub const ANNOUNCEMENT_VERSION: u32 = 1;
/// The longest wait between two attempts to re-create a failed watch.
const MAX_WATCH_BACKOFF: Duration = Duration::from_secs(30);
/// The longest one registry operation may take before it counts as failed.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// How a node reaches the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `KANSOKU_NATS_URL` (`nats://[user:password@]host:4222`, `tls://…` for TLS).
    pub url: String,
    /// `KANSOKU_NATS_PREFIX`: names the bucket (`{prefix}_nodes`) and subjects, so clusters can
    /// share one NATS server.
    pub prefix: String,
    /// `KANSOKU_CLUSTER_SECRET`.
    pub secret: ClusterSecret,
    /// How often a node puts its entry and readers rescan (5 s).
    pub heartbeat: Duration,
    /// How long an entry outlives its last put (15 s).
    pub expiry: Duration,
}

impl RegistryConfig {
    /// The design's timing: a put every 5 s, entries expiring after 15 s.
    pub fn with_defaults(url: &str, prefix: &str, secret: ClusterSecret) -> RegistryConfig {
        RegistryConfig {
            url: url.to_string(),
            prefix: prefix.to_string(),
            secret,
            heartbeat: Duration::from_secs(5),
            expiry: Duration::from_secs(15),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> String {
        format!("{}_nodes", self.prefix)
    }
}

/// Whether `prefix` can name buckets and subjects: letters, digits, `_` and `-`, 1–32 bytes.
pub fn is_valid_prefix(prefix: &str) -> bool {
    (1..=32).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// What a node says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAnnouncement {
    /// Format version ([`ANNOUNCEMENT_VERSION`]).
    pub v: u32,
    /// Node id.
    pub node: String,
    /// The process (its lease's instance, or a fresh id without a lease).
    pub instance: String,
    /// Its roles (`all`, or some of `router`, `ingester`, `querier`, `compactor`,
    /// `alert-manager`).
    pub roles: Vec<String>,
    /// Public HTTP address, `host:port`.
    pub http: String,
    /// Cluster (Flight) address, `host:port` (empty while nothing listens there).
    pub cluster: String,
    /// `active`, or `draining` once it stopped taking new work.
    pub state: NodeState,
    /// A load figure routers may prefer lower values of (requests in flight).
    pub load: u64,
}

/// A registered node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Taking work.
    Active,
    /// Stopping: send it nothing new.
    Draining,
}

/// The registered nodes, by node id.
pub type Members = BTreeMap<String, NodeAnnouncement>;

/// A connection to the registry bucket.
pub struct Registry {
    config: RegistryConfig,
    jetstream: async_nats::jetstream::Context,
    store: tokio::sync::RwLock<kv::Store>,
    rejected: AtomicU64,
    /// Keys of ignored entries already warned about.
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Counts the connection's (re)connects.
    reconnects: watch::Receiver<u64>,
}

impl Registry {
    /// Connects to NATS and creates (or adopts) the bucket.
    pub async fn connect(config: RegistryConfig) -> Result<Arc<Registry>> {
        let server = NatsUrl::parse(&config.url);
        let (reconnected, reconnects) = watch::channel(0u64);
        let mut options = async_nats::ConnectOptions::new()
            .connection_timeout(OPERATION_TIMEOUT)
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Connected) {
                    reconnected.send_modify(|count| *count += 1);
                }
                std::future::ready(())
            });
        options = match server.credentials {
            Some(Credentials::UserPassword(user, password)) => {
                options.user_and_password(user, password)
            }
            Some(Credentials::Token(token)) => options.token(token),
            None => options,
        };
        let client = options
            .connect(server.address.as_str())
            .await
            .map_err(|e| nats("connect to", &server.address, e))?;
        let jetstream = async_nats::jetstream::new(client);
        let store = create_bucket(&jetstream, &config).await?;
        Ok(Arc::new(Registry {
            config,
            jetstream,
            store: tokio::sync::RwLock::new(store),
            rejected: AtomicU64::new(0),
            warned: std::sync::Mutex::new(std::collections::HashSet::new()),
            reconnects,
        }))
    }

    /// The NATS connection (for [`crate::events`], which shares it).
    pub fn client(&self) -> async_nats::Client {
        self.jetstream.client()
    }

    /// Changes each time the connection is established again: whatever was published
    /// meanwhile was missed (core subscriptions are resumed, not replayed).
    pub fn reconnects(&self) -> watch::Receiver<u64> {
        self.reconnects.clone()
    }

    /// `KANSOKU_NATS_PREFIX`.
    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// Entries ignored so far because their signature was missing or wrong.
    pub fn rejected_entries(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Puts `announcement` (signed) under its node id.
    pub async fn announce(&self, announcement: &NodeAnnouncement) -> Result<()> {
        let signed = self
            .config
            .secret
            .sign(announcement)
            .map_err(|e| Error::Registry(format!("cannot sign the announcement: {e}")))?;
        let store = self.store.read().await.clone();
        timed(store.put(&announcement.node, signed.into()))
            .await
            .map_err(|e| nats("put into", &self.config.bucket(), e))?;
        Ok(())
    }

    /// Removes `node`'s entry if it is still `instance`'s (a clean stop; a fenced process must
    /// not remove the entry of the one that took its id over).
    pub async fn withdraw(&self, node: &str, instance: &str) -> Result<()> {
        let store = self.store.read().await.clone();
        let bucket = self.config.bucket();
        let current = timed(store.get(node))
            .await
            .map_err(|e| nats("read from", &bucket, e))?;
        let ours = current
            .and_then(|bytes| self.config.secret.verify::<NodeAnnouncement>(&bytes).ok())
            .is_some_and(|announcement| announcement.instance == instance);
        if !ours {
            return Ok(());
        }
        timed(store.delete(node))
            .await
            .map_err(|e| nats("delete from", &bucket, e))
    }

    /// Every registered node whose entry is validly signed, read afresh.
    pub async fn scan(&self) -> Result<Members> {
        let store = self.store.read().await.clone();
        let bucket = self.config.bucket();
        let keys: Vec<String> = timed(async {
            let keys = store.keys().await.map_err(|e| e.to_string())?;
            keys.collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<std::result::Result<Vec<String>, _>>()
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| nats("list the keys of", &bucket, e))?;
        let mut members = Members::new();
        for key in keys {
            let value = timed(store.get(key.as_str()))
                .await
                .map_err(|e| nats("read from", &bucket, e))?;
            if let Some(announcement) = value.and_then(|bytes| self.accept(&key, &bytes)) {
                members.insert(key, announcement);
            }
        }
        Ok(members)
    }

    /// Puts `announcement`'s latest value every heartbeat until `stop` resolves, then
    /// withdraws it. A failed put is logged, the bucket re-created, and the next beat tries
    /// again.
    pub fn spawn_heartbeat(
        self: &Arc<Self>,
        mut announcement: watch::Receiver<NodeAnnouncement>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let registry = Arc::clone(self);
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                let current = announcement.borrow_and_update().clone();
                if let Err(error) = registry.announce(&current).await {
                    tracing::warn!(%error, "cannot announce this node in the registry; trying again");
                    registry.recreate_bucket().await;
                }
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(registry.config.heartbeat) => {}
                    changed = announcement.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
            }
            let (node, instance) = {
                let last = announcement.borrow();
                (last.node.clone(), last.instance.clone())
            };
            if let Err(error) = registry.withdraw(&node, &instance).await {
                tracing::warn!(%error, "cannot withdraw this node from the registry; its entry expires");
            }
        })
    }

    /// Keeps the registered nodes up to date until `stop` resolves: a watch of the bucket, and
    /// a rescan every heartbeat.
    pub fn spawn_members(
        self: &Arc<Self>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (watch::Receiver<Members>, JoinHandle<()>) {
        let (sender, receiver) = watch::channel(Members::new());
        let registry = Arc::clone(self);
        let task = tokio::spawn(async move {
            tokio::pin!(stop);
            let first_backoff = registry.config.heartbeat.min(Duration::from_secs(1));
            let mut backoff = first_backoff;
            loop {
                let watched = registry.watch_until_failure(&sender);
                tokio::select! {
                    _ = &mut stop => return,
                    (ended, served) = watched => {
                        if served {
                            // It worked for a while: a new failure, not the same one again.
                            backoff = first_backoff;
                        }
                        tracing::warn!(reason = %ended, retry_in = ?backoff, "the registry watch ended; re-creating it");
                    }
                }
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_WATCH_BACKOFF);
                registry.recreate_bucket().await;
            }
        });
        (receiver, task)
    }

    /// Runs one watch (with rescans) until it fails; returns why, and whether a rescan had
    /// succeeded before.
    async fn watch_until_failure(&self, sender: &watch::Sender<Members>) -> (String, bool) {
        let store = self.store.read().await.clone();
        let mut entries = match timed(store.watch_all()).await {
            Ok(entries) => entries,
            Err(error) => return (error, false),
        };
        let mut rescan = tokio::time::interval(self.config.heartbeat);
        let mut served = false;
        loop {
            tokio::select! {
                _ = rescan.tick() => match self.scan().await {
                    Ok(members) => {
                        served = true;
                        sender.send_if_modified(|current| replace(current, members));
                    }
                    Err(error) => return (error.to_string(), served),
                },
                entry = entries.next() => match entry {
                    None => return ("the watch was closed".to_string(), served),
                    Some(Err(error)) => return (error.to_string(), served),
                    Some(Ok(entry)) => {
                        sender.send_if_modified(|members| self.apply(members, &entry));
                    }
                },
            }
        }
    }

    /// Applies one watched entry; `true` when the members changed.
    fn apply(&self, members: &mut Members, entry: &kv::Entry) -> bool {
        match entry.operation {
            kv::Operation::Delete | kv::Operation::Purge => members.remove(&entry.key).is_some(),
            kv::Operation::Put => match self.accept(&entry.key, &entry.value) {
                Some(announcement) => {
                    if members.get(&entry.key) == Some(&announcement) {
                        return false;
                    }
                    members.insert(entry.key.clone(), announcement);
                    true
                }
                None => members.remove(&entry.key).is_some(),
            },
        }
    }

    /// The announcement in `value` under `key`, if it is validly signed and names that node.
    fn accept(&self, key: &str, value: &[u8]) -> Option<NodeAnnouncement> {
        match self.config.secret.verify::<NodeAnnouncement>(value) {
            Ok(announcement) if announcement.node == key => Some(announcement),
            Ok(announcement) => {
                self.reject(key, &format!("names node {}", announcement.node));
                None
            }
            Err(why) => {
                self.reject(key, &why);
                None
            }
        }
    }

    /// Counts an ignored entry; warns once per key (rescans meet it again every heartbeat).
    fn reject(&self, key: &str, why: &str) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        let first = self
            .warned
            .lock()
            .map_or(true, |mut warned| warned.insert(key.to_string()));
        if first {
            tracing::warn!(
                key,
                why,
                "ignoring a registry entry that is not validly signed"
            );
        }
    }

    /// Re-creates the bucket (after NATS lost it) and uses the new handle; failures are logged.
    async fn recreate_bucket(&self) {
        match create_bucket(&self.jetstream, &self.config).await {
            Ok(store) => *self.store.write().await = store,
            Err(error) => tracing::warn!(%error, "cannot create the registry bucket"),
        }
    }
}

/// A NATS server's address and the credentials written into its URL
/// (`nats://USER:PASSWORD@HOST:PORT`, `nats://TOKEN@HOST:PORT`), which the client does not take
/// from the URL itself.
#[derive(Debug, PartialEq, Eq)]
pub struct NatsUrl {
    /// The URL without credentials (safe to log).
    pub address: String,
    /// What was before the `@`.
    pub credentials: Option<Credentials>,
}

/// Credentials of a NATS connection.
#[derive(PartialEq, Eq)]
pub enum Credentials {
    /// `USER:PASSWORD@`.
    UserPassword(String, String),
    /// `TOKEN@`.
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::UserPassword(user, _) => write!(f, "UserPassword({user}, ***)"),
            Credentials::Token(_) => f.write_str("Token(***)"),
        }
    }
}

impl NatsUrl {
    /// Splits `url`'s credentials off.
    pub fn parse(url: &str) -> NatsUrl {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else {
            return NatsUrl {
                address: url.to_string(),
                credentials: None,
            };
        };
        let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
        let address = if scheme.is_empty() {
            host.to_string()
        } else {
            format!("{scheme}://{host}")
        };
        let credentials = match userinfo.split_once(':') {
            Some((user, password)) => {
                Credentials::UserPassword(user.to_string(), password.to_string())
            }
            None => Credentials::Token(userinfo.to_string()),
        };
        NatsUrl {
            address,
            credentials: Some(credentials),
        }
    }

    /// The URL with its credentials masked, for logs and `kansoku config`.
    pub fn redacted(url: &str) -> String {
        let parsed = NatsUrl::parse(url);
        let Some(credentials) = parsed.credentials else {
            return parsed.address;
        };
        let (scheme, host) = parsed
            .address
            .split_once("://")
            .unwrap_or(("", parsed.address.as_str()));
        let masked = match credentials {
            Credentials::UserPassword(user, _) => format!("{user}:***"),
            Credentials::Token(_) => "***".to_string(),
        };
        if scheme.is_empty() {
            format!("{masked}@{host}")
        } else {
            format!("{scheme}://{masked}@{host}")
        }
    }
}

/// Replaces `current` with `next`; `true` when they differ.
fn replace(current: &mut Members, next: Members) -> bool {
    if *current == next {
        return false;
    }
    *current = next;
    true
}

/// Creates the bucket's stream (or adopts the one there) and opens the bucket. The stream is
/// declared here, as JetStream KV lays buckets out (`KV_{bucket}`, subjects `$KV.{bucket}.>`),
/// rather than through the client's bucket creation, which first reads account information in
/// a shape nats-server 2.9 does not send.
async fn create_bucket(
    jetstream: &async_nats::jetstream::Context,
    config: &RegistryConfig,
) -> Result<kv::Store> {
    let bucket = config.bucket();
    let stream = stream::Config {
        name: format!("KV_{bucket}"),
        description: Some("kansoku node registry".to_string()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_bytes: -1,
        max_messages: -1,
        max_age: config.expiry,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    timed(jetstream.get_or_create_stream(stream))
        .await
        .map_err(|e| nats("create", &bucket, e))?;
    timed(jetstream.get_key_value(bucket.as_str()))
        .await
        .map_err(|e| nats("open", &bucket, e))
}

/// `operation`, abandoned after [`OPERATION_TIMEOUT`].
async fn timed<T, E>(
    operation: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, String>
where
    E: std::fmt::Display,
{
    timed_within(OPERATION_TIMEOUT, operation).await
}

/// `operation`, abandoned after `limit`; its error as text.
pub(crate) async fn timed_within<T, E>(
    limit: Duration,
    operation: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, String>
where
    E: std::fmt::Display,
{
    match tokio::time::timeout(limit, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}

/// A NATS operation's failure: `cannot {what} {target}: {error}`.
pub(crate) fn nats(what: &str, target: &str, error: impl std::fmt::Display) -> Error {
    Error::Registry(format!("cannot {what} {target}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_off_the_url_and_never_shown() {
        assert_eq!(
            NatsUrl::parse("nats://127.0.0.1:4222"),
            NatsUrl {
                address: "nats://127.0.0.1:4222".to_string(),
                credentials: None
            }
        );
        assert_eq!(
            NatsUrl::parse("tls://kansoku:s3cret@nats.example:4222"),
            NatsUrl {
                address: "tls://nats.example:4222".to_string(),
                credentials: Some(Credentials::UserPassword(
                    "kansoku".to_string(),
                    "s3cret".to_string()
                ))
            }
        );
        assert_eq!(
            NatsUrl::parse("nats://tok3n@nats:4222").credentials,
            Some(Credentials::Token("tok3n".to_string()))
        );
        assert_eq!(
            NatsUrl::redacted("nats://kansoku:s3cret@nats:4222"),
            "nats://kansoku:***@nats:4222"
        );
        assert_eq!(
            NatsUrl::redacted("nats://tok3n@nats:4222"),
            "nats://***@nats:4222"
        );
        assert!(!format!("{:?}", NatsUrl::parse("nats://u:s3cret@n:1")).contains("s3cret"));
    }
}
