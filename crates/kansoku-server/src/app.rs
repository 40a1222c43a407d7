//! The state shared by every request handler.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use kansoku_core::{ErrorCode, OrgId};
use kansoku_ingest::Ingester;
use kansoku_meta::MetaStore;
use kansoku_query::QueryEngine;
use kansoku_storage::ObjectStore;
use prometheus_client::registry::Registry;

use crate::auth::{Access, Authenticator};
use crate::config::Config;
use crate::http::body::BodyLimits;
use crate::http::error::ApiError;
use crate::http::request_log::RequestLog;
use kansoku_cluster::Role;

/// Parts that exist once the WAL has been replayed.
pub struct Ready {
    /// The write path (ingester role only).
    pub ingester: Option<Arc<Ingester>>,
    /// The read path.
    pub engine: Arc<QueryEngine>,
    /// All metrics.
    pub registry: Registry,
    /// Alerts: storage, scheduler, real-time evaluation.
    pub alerts: Arc<kansoku_alerts::Alerts>,
    /// The metrics store's read side.
    pub metrics: kansoku_metrics::MetricsStore,
    /// The PromQL engine.
    pub promql: kansoku_promql::Engine,
    /// Compaction, retention and deferred deletion of stored files.
    pub compactor: Arc<kansoku_compact::Compactor>,
    /// The nodes the cluster's registry shows (`None` without `KANSOKU_NATS_URL`).
    pub registered: Option<tokio::sync::watch::Receiver<kansoku_cluster::registry::Members>>,
}

/// Everything handlers need; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

/// The shared state.
pub struct AppInner {
    /// The configuration.
    pub config: Config,
    /// This node's id.
    pub node_id: String,
    /// The roles it runs.
    pub roles: kansoku_cluster::Roles,
    /// Metadata database.
    pub meta: MetaStore,
    /// Object storage.
    pub store: ObjectStore,
    /// Credential checks.
    pub auth: Authenticator,
    /// Body limits and budget.
    pub body_limits: BodyLimits,
    /// When the process started.
    pub started_at: Instant,
    /// Live tails open on this node.
    pub open_tails: Arc<std::sync::atomic::AtomicUsize>,
    /// Failed-request counts and the WARN-line budget.
    pub request_log: RequestLog,
    /// The next Splunk HEC `ackId` (ids are only handed out once their events are durable).
    pub hec_ack_ids: std::sync::atomic::AtomicU64,
    /// On a router (without `all`): the client that passes requests on.
    pub proxy: Option<crate::http::proxy::Proxy>,
    /// Changes announced to and by the other nodes (with `KANSOKU_NATS_URL`).
    pub changes: crate::changes::Changes,
    ready: OnceLock<Ready>,
    /// What the start is doing, for `/readyz` until the node is ready.
    starting: std::sync::RwLock<&'static str>,
    known_orgs: Mutex<HashSet<String>>,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.inner
    }
}

impl App {
    /// State for a node whose WAL is not replayed yet.
    pub fn new(
        config: Config,
        node_id: String,
        roles: kansoku_cluster::Roles,
        meta: MetaStore,
        store: ObjectStore,
    ) -> Result<App, String> {
        let auth = Authenticator::new(meta.clone())?;
        let proxy = if !roles.is_all() && roles.runs(Role::Router) {
            Some(crate::http::proxy::Proxy::new()?)
        } else {
            None
        };
        let body_limits = BodyLimits::new(
            config.max_body_bytes,
            config.max_inflight_body_bytes,
            config.http_body_timeout,
        );
        Ok(App {
            inner: Arc::new(AppInner {
                config,
                node_id,
                roles,
                meta,
                store,
                auth,
                body_limits,
                started_at: Instant::now(),
                open_tails: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
                request_log: RequestLog::default(),
                hec_ack_ids: std::sync::atomic::AtomicU64::new(0),
                changes: crate::changes::Changes::default(),
                proxy,
                ready: OnceLock::new(),
                starting: std::sync::RwLock::new("replaying the write-ahead log"),
                known_orgs: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Says what the start is doing (`/readyz` reports it until the node is ready).
    pub fn set_starting(&self, what: &'static str) {
        if let Ok(mut starting) = self.starting.write() {
            *starting = what;
        }
    }

    /// What the start is doing.
    pub fn starting(&self) -> &'static str {
        self.starting
            .read()
            .map_or("starting", |starting| *starting)
    }

    /// Marks the node ready (called once, after WAL replay).
    pub fn set_ready(&self, ready: Ready) {
        let _ = self.inner.ready.set(ready);
    }

    /// The ready parts, if ready.
    pub fn ready(&self) -> Option<&Ready> {
        self.inner.ready.get()
    }

    /// The write path: 421 on a node without the ingester role, 503 while the WAL is being
    /// replayed.
    pub fn ingester(&self) -> Result<&Arc<Ingester>, ApiError> {
        self.require_role(Role::Ingester, "writes")?;
        self.ready()
            .and_then(|ready| ready.ingester.as_ref())
            .ok_or_else(|| not_ready(self.starting()))
    }

    /// The read path: 421 on a node without the querier role, 503 while starting.
    pub fn query_engine(&self) -> Result<&Arc<QueryEngine>, ApiError> {
        self.require_role(Role::Querier, "searches and queries")?;
        self.ready()
            .map(|ready| &ready.engine)
            .ok_or_else(|| not_ready(self.starting()))
    }

    /// The parts PromQL needs: 421 on a node without the querier role, 503 while starting.
    pub fn promql(
        &self,
    ) -> Result<(&kansoku_metrics::MetricsStore, &kansoku_promql::Engine), ApiError> {
        self.require_role(Role::Querier, "PromQL queries")?;
        self.ready()
            .map(|ready| (&ready.metrics, &ready.promql))
            .ok_or_else(|| not_ready(self.starting()))
    }

    /// The local write path when this node has one and is ready (for changes that must reach
    /// its memory: dropped caches, quota limits), else nothing to do.
    pub fn local_ingester(&self) -> Option<&Arc<Ingester>> {
        self.ready().and_then(|ready| ready.ingester.as_ref())
    }

    /// The read path for one request, remembering which nodes' not-yet-flushed records it
    /// could not read (`ReportedFresh::unread_nodes`): the answer says it is partial.
    pub fn reporting_query_engine(
        &self,
    ) -> Result<(QueryEngine, Arc<kansoku_storage::ReportedFresh>), ApiError> {
        let engine = self.query_engine()?;
        let reported = Arc::new(kansoku_storage::ReportedFresh::new(Arc::clone(
            engine.fresh(),
        )));
        Ok((engine.with_fresh(reported.clone()), reported))
    }

    /// The PromQL parts for one request, reporting as [`App::reporting_query_engine`] does.
    pub fn reporting_promql(
        &self,
    ) -> Result<
        (
            kansoku_metrics::MetricsStore,
            &kansoku_promql::Engine,
            Arc<kansoku_storage::ReportedFresh>,
        ),
        ApiError,
    > {
        let (store, engine) = self.promql()?;
        let reported = Arc::new(kansoku_storage::ReportedFresh::new(Arc::clone(
            store.fresh(),
        )));
        Ok((store.with_fresh(reported.clone()), engine, reported))
    }

    /// 421 naming the roles that answer `what`, when this node does not run `role`.
    fn require_role(&self, role: Role, what: &str) -> Result<(), ApiError> {
        if self.roles.runs(role) {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::MisdirectedRequest,
            format!(
                "this node runs the roles {}; {what} are answered by nodes with the {role} role",
                self.roles
            ),
        ))
    }

    /// The compactor, or 503 while the WAL is being replayed.
    pub fn compactor(&self) -> Result<&Arc<kansoku_compact::Compactor>, ApiError> {
        self.ready()
            .map(|ready| &ready.compactor)
            .ok_or_else(|| not_ready(self.starting()))
    }

    /// Makes sure `org` exists before data is written to it. Only root may create organisations
    /// this way; for others, membership (checked by the guard) implies the organisation exists.
    pub async fn ensure_org_for_ingest(
        &self,
        access: &Access,
        org: &OrgId,
    ) -> Result<(), ApiError> {
        if self.org_known(org) {
            return Ok(());
        }
        if access.principal.is_root() {
            if self.meta.ensure_org(org).await? {
                tracing::info!(%org, "created organization on first ingest");
            }
        } else if self.meta.get_org(org).await?.is_none() {
            return Err(ApiError::forbidden(format!(
                "no access to organization '{org}'"
            )));
        }
        if let Ok(mut known) = self.known_orgs.lock() {
            known.insert(org.to_string());
        }
        Ok(())
    }

    /// Forgets which organisations are known to exist (one was changed on another node).
    pub fn forget_known_orgs(&self) {
        if let Ok(mut known) = self.known_orgs.lock() {
            known.clear();
        }
    }

    fn org_known(&self, org: &OrgId) -> bool {
        self.known_orgs
            .lock()
            .map(|known| known.contains(org.as_str()))
            .unwrap_or(false)
    }
}

/// The answer of a route whose service is not ready yet.
fn not_ready(starting: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        format!("starting up ({starting}); retry shortly"),
    )
    .with_retry_after(1)
    .with_refusal(kansoku_core::Refusal::Overloaded)
}
