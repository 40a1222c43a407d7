//! Starting and stopping a node.
//!
//! ```text
//! roles (KANSOKU_ROLES; a partial list needs PostgreSQL, S3, NATS and the secret)
//!   → data dir → volume lock (DATA_DIR/wal/node.lock: one process per data directory)
//!   → node id → metadata DB (migrations) → bootstrap (default org, root user)
//!   → object store → HTTP listening (health answers, the rest 503 "starting")
//!   → ingester role, on PostgreSQL: the node's lease (waits while another live instance
//!     holds the id; crate::lease) → WAL replay
//!   → compactor role: compaction loop; alert-manager role: scheduler and alerts directory;
//!     ingester role: real-time alerts
//!   → ready → with KANSOKU_NATS_URL: announced in the registry with its roles
//!     (crate::membership), change events sent and applied (crate::changes)
//!   → ingester role: syslog and forward listeners serve (bound before the replay, so a
//!     taken port stops the start)
//! SIGTERM/SIGINT → announced draining in the registry → stop accepting connections, finish
//!   requests and syslog batches → flush memory to Parquet, lease marked drained (all within
//!   KANSOKU_DRAIN_TIMEOUT) → withdrawn from the registry → exit
//! lease fenced (another instance took the id) → stop without flushing, WAL left as it is
//!   → exit with an error
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use kansoku_ingest::Ingester;
use kansoku_meta::MetaStore;
use kansoku_query::QueryEngine;
use kansoku_storage::ObjectStore;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::app::{App, Ready};
use crate::bootstrap::{bootstrap, node_id};
use crate::config::Config;
use crate::lease::MountedLease;
use crate::membership::{Identity, Membership};
use kansoku_cluster::Role;

/// A running node (for tests and the binary).
pub struct Node {
    /// The bound HTTP address.
    pub http_addr: SocketAddr,
    /// The bound gRPC (OTLP) address.
    pub grpc_addr: SocketAddr,
    /// The bound syslog addresses (those configured).
    pub syslog_addrs: crate::syslog::SyslogAddrs,
    /// The bound Fluentd forward address, when configured.
    pub forward_addr: Option<SocketAddr>,
    /// Shared state.
    pub app: App,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    grpc: tokio::task::JoinHandle<()>,
    syslog: crate::accept::Stopper,
    forward: crate::accept::Stopper,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The lease on this node's id (PostgreSQL only).
    lease: Option<MountedLease>,
    /// Its place in the cluster's registry (with `KANSOKU_NATS_URL`).
    membership: Option<Membership>,
    /// Its fresh data served to queriers (an ingester on PostgreSQL with the cluster secret).
    fresh_service: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
    /// Held until the node has stopped: released last, after the final flush.
    volume: Arc<kansoku_cluster::VolumeLock>,
}

impl Node {
    /// Announces the node draining in the registry (routers stop sending to it).
    pub fn announce_draining(&self) {
        if let Some(membership) = &self.membership {
            membership.drain();
        }
    }

    /// Drains: announced `draining` in the registry first (routers send nothing new), stops
    /// accepting requests and finishes those in flight, flushes and commits memory, marks the
    /// lease drained, and leaves the registry — within `KANSOKU_DRAIN_TIMEOUT`, past which it
    /// stops anyway with an error (the WAL keeps what was not flushed, for the next start).
    /// A fenced node stops without flushing: its WAL belongs to the instance that took over.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.announce_draining();
        let drain_timeout = self.app.config.drain_timeout;
        let _ = self.shutdown.send(true);
        tokio::join!(self.syslog.stop(), self.forward.stop());
        self.server.await??;
        let _ = self.grpc.await;
        let ingester = self.app.local_ingester();
        let fenced = self.lease.as_ref().is_some_and(MountedLease::is_fenced)
            || ingester
                .is_some_and(|ingester| ingester.write_gate() == kansoku_ingest::WriteGate::Fenced);
        let flushed = match ingester {
            Some(ingester) if fenced => {
                ingester.set_write_gate(kansoku_ingest::WriteGate::Fenced);
                Ok(())
            }
            Some(ingester) => {
                match tokio::time::timeout(drain_timeout, ingester.shutdown()).await {
                    Ok(flushed) => flushed.map_err(anyhow::Error::from),
                    Err(_) => Err(anyhow::anyhow!(
                        "the drain did not finish within KANSOKU_DRAIN_TIMEOUT ({drain_timeout:?}): stopping anyway; the WAL keeps what was not flushed and the next start replays it"
                    )),
                }
            }
            None => Ok(()),
        };
        // Out of the registry, and no longer serving fresh data, last: while draining it still
        // held unflushed records.
        if let Some((stop, mut task)) = self.fresh_service {
            let _ = stop.send(true);
            // A querier's connection left open must not hold the stop.
            if tokio::time::timeout(FRESH_STOP_WAIT, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        if let Some(membership) = self.membership {
            membership.stop().await;
        }
        drop(self.lease);
        self.app.meta.close().await;
        drop(self.volume);
        flushed?;
        Ok(())
    }

    /// Resolves once another instance has taken this node's id over, as the lease's renewal or
    /// a flush's manifest transaction found (never without a lease).
    pub async fn fenced(&self) {
        let Some(lease) = &self.lease else {
            return std::future::pending().await;
        };
        let Some(ingester) = self.app.local_ingester() else {
            return lease.fenced().await;
        };
        let mut gate = ingester.write_gate_changes();
        tokio::select! {
            _ = lease.fenced() => {}
            Ok(_) = gate.wait_for(|gate| *gate == kansoku_ingest::WriteGate::Fenced) => {}
        }
    }
}

/// Starts a node and returns once it is ready.
pub async fn start(config: Config) -> anyhow::Result<Node> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let roles = config.roles().map_err(anyhow::Error::msg)?;
    let ingests = roles.runs(Role::Ingester);
    let nats_registry = config.registry().map_err(anyhow::Error::msg)?;
    let volume = Arc::new(lock_volume(config.data_dir.join("wal")).await?);
    let node_id = node_id(&config)?;
    let meta = MetaStore::connect(&config.meta_dsn()).await?;
    bootstrap(&meta, &config).await?;
    if !ingests {
        warn_of_an_unreplayed_wal(&meta, &node_id).await;
    }
    let store = ObjectStore::open(&config.storage())?;
    tracing::info!(node = %node_id, %roles, storage = store.description(), meta = %kansoku_meta::redact_dsn(&config.meta_dsn()), "starting");
    let app = App::new(
        config.clone(),
        node_id.clone(),
        roles.clone(),
        meta.clone(),
        store.clone(),
    )
    .map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind((config.http_addr, config.http_port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}:{}: {e}",
                config.http_addr,
                config.http_port
            )
        })?;
    let http_addr = listener.local_addr()?;
    let grpc_listener = TcpListener::bind((config.http_addr, config.grpc_port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen for gRPC on {}:{} (KANSOKU_GRPC_PORT): {e}",
                config.http_addr,
                config.grpc_port
            )
        })?;
    let grpc_addr = grpc_listener.local_addr()?;
    let postgres = meta.dialect() == kansoku_meta::Dialect::Postgres;
    let cluster_secret = config.secret().map_err(anyhow::Error::msg)?;
    // An ingester on a shared database serves its fresh data to the queriers (it needs the
    // secret that signs their tickets).
    let fresh_listener = if ingests && postgres && cluster_secret.is_some() {
        Some(
            TcpListener::bind((config.http_addr, config.cluster_port))
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot listen for the cluster's Flight service on {}:{} (KANSOKU_CLUSTER_PORT): {e}",
                        config.http_addr,
                        config.cluster_port
                    )
                })?,
        )
    } else {
        None
    };
    let cluster_addr = fresh_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    // Syslog and Fluentd forward feed the write path: only ingesters listen for them (every
    // role gets the same configuration).
    let syslog = if ingests {
        Some(
            crate::syslog::Bound::bind(&config.syslog)
                .await
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let syslog_addrs = syslog.as_ref().map(|bound| bound.addrs).unwrap_or_default();
    let forward = if ingests {
        Some(
            crate::forward::Bound::bind(&config.forward)
                .await
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let forward_addr = forward.as_ref().and_then(|bound| bound.addr);
    let (shutdown, mut shutdown_receiver) = tokio::sync::watch::channel(false);
    let router = crate::http::router(app.clone());
    let limits = crate::http::serve::Limits {
        header_read: config.http_header_timeout,
        max_connections: config.http_max_connections,
    };
    let server = tokio::spawn(crate::http::serve::serve(
        listener,
        router,
        limits,
        async move {
            let _ = shutdown_receiver.wait_for(|stop| *stop).await;
        },
    ));
    tracing::info!(%http_addr, "listening for HTTP");
    let grpc = {
        let mut stop = shutdown.subscribe();
        let app = app.clone();
        let max_message = config.max_body_bytes;
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) =
                crate::otlp::grpc::serve(app, grpc_listener, max_message, stopped).await
            {
                tracing::error!(%error, "the gRPC (OTLP) server stopped");
            }
        })
    };
    tracing::info!(%grpc_addr, "listening for gRPC (OTLP)");
    let abort_listeners = || {
        server.abort();
        grpc.abort();
    };
    let lease = if ingests && postgres {
        app.set_starting(
            "claiming this node's lease (the log says if another volume's process holds the id)",
        );
        let claimed = MountedLease::claim(
            &meta,
            Arc::clone(&volume),
            &config.lease(&node_id, http_addr, cluster_addr),
        )
        .await;
        match claimed {
            Ok(lease) => Some(lease),
            Err(error) => {
                abort_listeners();
                return Err(error);
            }
        }
    } else {
        None
    };
    // Served from the lease on: calls during the WAL replay are answered UNAVAILABLE at once.
    let local_memory: kansoku_cluster::fresh::LocalFresh = Arc::default();
    let fresh_service = match (fresh_listener, &lease, &cluster_secret) {
        (Some(listener), Some(lease), Some(secret)) => Some(serve_fresh_data(
            kansoku_cluster::fresh::FreshService::new(
                Arc::clone(&local_memory),
                &node_id,
                &lease.identity().instance,
                secret.clone(),
            ),
            listener,
        )),
        _ => None,
    };
    let mut registry = Registry::default();
    app.request_log.register(&mut registry);
    let ingester = if ingests {
        app.set_starting("replaying the write-ahead log");
        let mut ingest_config = config.ingest(&node_id);
        ingest_config.lease = lease.as_ref().map(MountedLease::identity);
        match Ingester::start(ingest_config, meta, store, &mut registry).await {
            Ok(ingester) => Some(ingester),
            Err(error) => {
                abort_listeners();
                if let Some((_, task)) = &fresh_service {
                    task.abort();
                }
                drop(lease);
                return Err(error.into());
            }
        }
    } else {
        None
    };
    if let (Some(lease), Some(ingester)) = (&lease, &ingester) {
        lease.gate(Arc::clone(ingester));
    }
    let syslog = match (syslog, &ingester) {
        (Some(syslog), Some(ingester)) => {
            syslog.serve(Arc::clone(ingester), config.max_record_bytes, &mut registry)
        }
        _ => crate::accept::tracker().1,
    };
    let forward = match (forward, &ingester) {
        (Some(forward), Some(ingester)) => {
            forward.serve(Arc::clone(ingester), config.max_body_bytes, &mut registry)
        }
        _ => crate::accept::tracker().1,
    };
    let local_fresh = ingester.as_ref().map(|ingester| ingester.fresh_data());
    if let Some(local) = &local_fresh {
        let _ = local_memory.set(Arc::clone(local));
    }
    // On a shared database, queries read every ingester's memory; alone, this node's.
    let fresh: Arc<dyn kansoku_storage::FreshData> = if postgres {
        Arc::new(kansoku_cluster::fresh::ClusterFresh::new(
            local_fresh,
            &node_id,
            app.meta.clone(),
            cluster_secret.clone(),
            config.fresh_timeout,
        ))
    } else {
        local_fresh.unwrap_or_else(|| Arc::new(kansoku_storage::NoFreshData))
    };
    let engine = Arc::new(QueryEngine::new(
        app.meta.clone(),
        app.store.clone(),
        Arc::clone(&fresh),
        config.query(),
    ));
    let alerts_config = config.alerts().map_err(anyhow::Error::msg)?;
    let metrics = kansoku_metrics::MetricsStore::new(app.meta.clone(), app.store.clone(), fresh);
    let promql = kansoku_promql::Engine::new(config.promql());
    let alerts = Arc::new(
        kansoku_alerts::Alerts::new(app.meta.clone(), Arc::clone(&engine), alerts_config)
            .with_promql(metrics.clone(), promql.clone()),
    );
    if roles.runs(Role::AlertManager) {
        spawn_alert_scheduler(&alerts, &shutdown);
    }
    if let Some(ingester) = &ingester {
        spawn_real_time_alerts(&alerts, ingester, &shutdown);
    }
    let compactor = kansoku_compact::Compactor::new(
        app.meta.clone(),
        app.store.clone(),
        config.compact(&node_id),
        &mut registry,
    );
    if roles.runs(Role::Compactor) {
        tokio::spawn(Arc::clone(&compactor).run(shutdown.subscribe()));
    }
    if let Some(dir) = config
        .alerts_dir
        .clone()
        .filter(|_| roles.runs(Role::AlertManager))
    {
        // Applied once before the node reports ready, then whenever the files change.
        let mut state = kansoku_alerts::DirState::default();
        alerts.sync_dir(&dir, &mut state).await;
        let mut stop = shutdown.subscribe();
        tokio::spawn(
            Arc::clone(&alerts).watch_dir(
                dir,
                config
                    .alerts_dir_interval
                    .max(std::time::Duration::from_millis(50)),
                state,
                async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                },
            ),
        );
    }
    let membership = nats_registry.map(|nats_registry| {
        let instance = lease.as_ref().map_or_else(
            || uuid::Uuid::new_v4().to_string(),
            |lease| lease.identity().instance,
        );
        let connected = {
            let (app, instance, stop) = (app.clone(), instance.clone(), shutdown.subscribe());
            move |registry: &Arc<kansoku_cluster::registry::Registry>| {
                crate::changes::attach(&app, registry, &instance, stop);
            }
        };
        Membership::start(
            nats_registry,
            Identity {
                node: node_id.clone(),
                instance,
                roles: roles.names(),
                http: config.advertised(http_addr),
                cluster: cluster_addr
                    .map(|bound| config.advertised(bound))
                    .unwrap_or_default(),
            },
            connected,
        )
    });
    app.set_ready(Ready {
        ingester,
        engine,
        registry,
        alerts,
        metrics,
        promql,
        compactor,
        registered: membership.as_ref().map(Membership::members),
    });
    tracing::info!("ready");
    Ok(Node {
        http_addr,
        grpc_addr,
        syslog_addrs,
        forward_addr,
        app,
        server,
        grpc,
        syslog,
        forward,
        shutdown,
        lease,
        membership,
        fresh_service,
        volume,
    })
}

/// How long a stopping node waits for its Flight service's open calls.
const FRESH_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves this ingester's fresh data to the queriers until the returned sender says stop
/// (after the drain's last flush: queriers read its memory until it is committed).
fn serve_fresh_data(
    service: kansoku_cluster::fresh::FreshService,
    listener: TcpListener,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let until_stopped = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(error) = kansoku_cluster::fresh::serve(service, listener, until_stopped).await {
            tracing::error!(%error, "the cluster's Flight service (fresh data) stopped");
        }
    });
    (stop, task)
}

/// Warns when this node id, started without the ingester role, still holds records it has not
/// flushed: its WAL is replayed only by a start with the ingester role.
async fn warn_of_an_unreplayed_wal(meta: &MetaStore, node_id: &str) {
    if meta.dialect() != kansoku_meta::Dialect::Postgres {
        return;
    }
    if let Ok(Some(row)) = meta.ingester(node_id).await
        && row.state == kansoku_meta::IngesterState::Active
    {
        tracing::warn!(node = %node_id, "this node id ingested before and did not drain: its WAL is replayed only when it starts with the ingester role again (queries report it as partial until then)");
    }
}

/// Takes the data directory's volume lock before anything reads or writes the WAL: a second
/// process on the same directory stops here, naming the lock file.
async fn lock_volume(wal_dir: std::path::PathBuf) -> anyhow::Result<kansoku_cluster::VolumeLock> {
    let volume =
        tokio::task::spawn_blocking(move || kansoku_cluster::VolumeLock::acquire(&wal_dir))
            .await??;
    Ok(volume)
}

/// Runs a node until SIGTERM or SIGINT.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_consistency().map_err(anyhow::Error::msg)?;
    let node = start(config).await?;
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = node.fenced() => {
            tracing::error!("another process took over this node's id: stopping without flushing; the WAL stays for the process that holds the id");
            let node_id = node.app.node_id.clone();
            if let Err(error) = node.stop().await {
                tracing::debug!(%error, "stopping a fenced node");
            }
            anyhow::bail!(
                "fenced: another process holds node {node_id}'s lease (a process restarted on this volume while this one was still running, or root forgot this node)"
            );
        }
    }
    tracing::info!("shutting down: finishing requests and flushing data");
    node.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// The alert scheduler (alert-manager role), until the node shuts down.
fn spawn_alert_scheduler(
    alerts: &Arc<kansoku_alerts::Alerts>,
    shutdown: &tokio::sync::watch::Sender<bool>,
) {
    let mut stop = shutdown.subscribe();
    tokio::spawn(Arc::clone(alerts).scheduler(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }));
}

/// The real-time evaluation of every batch this node acknowledged (ingester role), until the
/// node shuts down.
fn spawn_real_time_alerts(
    alerts: &Arc<kansoku_alerts::Alerts>,
    ingester: &Arc<Ingester>,
    shutdown: &tokio::sync::watch::Sender<bool>,
) {
    let mut stop = shutdown.subscribe();
    let mut committed = ingester.subscribe();
    let alerts = Arc::clone(alerts);
    tokio::spawn(async move {
        loop {
            let batch = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                batch = committed.recv() => batch,
            };
            match batch {
                Ok(batch) => {
                    if let Err(error) = alerts.on_batch(&batch.stream, &batch.batch).await {
                        tracing::warn!(%error, "real-time alert evaluation failed");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        skipped,
                        "real-time alerts fell behind ingest; batches skipped"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
