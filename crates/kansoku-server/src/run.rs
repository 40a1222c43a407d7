//! Starting and stopping a node.
//!
//! ```text
//! data dir → volume lock (DATA_DIR/wal/node.lock: one process per data directory)
//!   → node id → metadata DB (migrations) → bootstrap (default org, root user)
//!   → object store → HTTP listening (health answers, the rest 503 "starting")
//!   → on PostgreSQL: the node's lease (waits while another live instance holds the id;
//!     crate::lease) → WAL replay → ready → with KANSOKU_NATS_URL: announced in the registry
//!     (crate::membership)
//!   → syslog and forward listeners serve (bound before the replay, so a taken port stops
//!     the start)
//! SIGTERM/SIGINT → withdrawn from the registry → stop accepting connections, finish requests
//!   and syslog batches → flush
//!   memory to Parquet → exit
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
    /// Held until the node has stopped: released last, after the final flush.
    volume: Arc<kansoku_cluster::VolumeLock>,
}

impl Node {
    /// Stops accepting requests, flushes, and returns when done.
    /// A fenced node stops without flushing: its WAL belongs to the instance that took over.
    pub async fn stop(self) -> anyhow::Result<()> {
        // Out of the registry first, so that no node sends it anything new.
        if let Some(membership) = self.membership {
            membership.stop().await;
        }
        let _ = self.shutdown.send(true);
        tokio::join!(self.syslog.stop(), self.forward.stop());
        self.server.await??;
        let _ = self.grpc.await;
        let fenced = self.lease.as_ref().is_some_and(MountedLease::is_fenced)
            || self.app.ready().is_some_and(|ready| {
                ready.ingester.write_gate() == kansoku_ingest::WriteGate::Fenced
            });
        let flushed = match self.app.ready() {
            Some(ready) if fenced => {
                ready
                    .ingester
                    .set_write_gate(kansoku_ingest::WriteGate::Fenced);
                Ok(())
            }
            Some(ready) => ready.ingester.shutdown().await,
            None => Ok(()),
        };
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
        let Some(ready) = self.app.ready() else {
            return lease.fenced().await;
        };
        let mut gate = ready.ingester.write_gate_changes();
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
    let nats_registry = config.registry().map_err(anyhow::Error::msg)?;
    let volume = Arc::new(lock_volume(config.data_dir.join("wal")).await?);
    let node_id = node_id(&config)?;
    let meta = MetaStore::connect(&config.meta_dsn()).await?;
    bootstrap(&meta, &config).await?;
    let store = ObjectStore::open(&config.storage())?;
    tracing::info!(node = %node_id, storage = store.description(), meta = %kansoku_meta::redact_dsn(&config.meta_dsn()), "starting");
    let app = App::new(config.clone(), node_id.clone(), meta.clone(), store.clone())
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
    let syslog = crate::syslog::Bound::bind(&config.syslog)
        .await
        .map_err(anyhow::Error::msg)?;
    let syslog_addrs = syslog.addrs;
    let forward = crate::forward::Bound::bind(&config.forward)
        .await
        .map_err(anyhow::Error::msg)?;
    let forward_addr = forward.addr;
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
    let lease = if meta.dialect() == kansoku_meta::Dialect::Postgres {
        app.set_starting(
            "claiming this node's lease (the log says if another volume's process holds the id)",
        );
        let claimed = MountedLease::claim(
            &meta,
            Arc::clone(&volume),
            &config.lease(&node_id, http_addr),
        )
        .await;
        match claimed {
            Ok(lease) => Some(lease),
            Err(error) => {
                server.abort();
                grpc.abort();
                return Err(error);
            }
        }
    } else {
        None
    };
    app.set_starting("replaying the write-ahead log");
    let mut ingest_config = config.ingest(&node_id);
    ingest_config.lease = lease.as_ref().map(MountedLease::identity);
    let mut registry = Registry::default();
    app.request_log.register(&mut registry);
    let ingester = match Ingester::start(ingest_config, meta, store, &mut registry).await {
        Ok(ingester) => ingester,
        Err(error) => {
            server.abort();
            grpc.abort();
            drop(lease);
            return Err(error.into());
        }
    };
    if let Some(lease) = &lease {
        lease.gate(Arc::clone(&ingester));
    }
    let syslog = syslog.serve(
        Arc::clone(&ingester),
        config.max_record_bytes,
        &mut registry,
    );
    let forward = forward.serve(Arc::clone(&ingester), config.max_body_bytes, &mut registry);
    let engine = Arc::new(QueryEngine::new(
        app.meta.clone(),
        app.store.clone(),
        ingester.fresh_data(),
        config.query(),
    ));
    let alerts_config = config.alerts().map_err(anyhow::Error::msg)?;
    let metrics = kansoku_metrics::MetricsStore::new(
        app.meta.clone(),
        app.store.clone(),
        ingester.fresh_data(),
    );
    let promql = kansoku_promql::Engine::new(config.promql());
    let alerts = Arc::new(
        kansoku_alerts::Alerts::new(app.meta.clone(), Arc::clone(&engine), alerts_config)
            .with_promql(metrics.clone(), promql.clone()),
    );
    spawn_alert_tasks(&alerts, &ingester, &shutdown);
    let compactor = kansoku_compact::Compactor::new(
        app.meta.clone(),
        app.store.clone(),
        config.compact(&node_id),
        &mut registry,
    );
    tokio::spawn(Arc::clone(&compactor).run(shutdown.subscribe()));
    if let Some(dir) = config.alerts_dir.clone() {
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
        Membership::start(
            nats_registry,
            Identity {
                node: node_id.clone(),
                instance: lease.as_ref().map_or_else(
                    || uuid::Uuid::new_v4().to_string(),
                    |lease| lease.identity().instance,
                ),
                http: config.advertised_http(http_addr),
            },
        )
    });
    app.set_ready(Ready {
        ingester: Arc::clone(&ingester),
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
        volume,
    })
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

/// The alert scheduler, and the real-time evaluation of every acknowledged batch; both stop
/// when the node shuts down.
fn spawn_alert_tasks(
    alerts: &Arc<kansoku_alerts::Alerts>,
    ingester: &Arc<Ingester>,
    shutdown: &tokio::sync::watch::Sender<bool>,
) {
    let mut stop = shutdown.subscribe();
    tokio::spawn(Arc::clone(alerts).scheduler(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }));
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
