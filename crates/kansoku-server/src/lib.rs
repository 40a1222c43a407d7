//! A kansoku node: configuration, HTTP APIs, authentication and authorisation, and the
//! composition of the other crates into a running process.
//!
//! This is the only crate that knows HTTP. It owns
//! - [`config`]: every setting, from flags and `KANSOKU_*` variables;
//! - [`auth`]: passwords, tokens, sessions and the permission table;
//! - [`http`]: one module per API, the body limits, and the single error → status mapping;
//! - [`otlp`]: OpenTelemetry ingest over HTTP and gRPC;
//! - [`syslog`]: the syslog listeners (TCP, UDP, TLS, RELP);
//! - [`forward`]: the Fluentd forward listener;
//! - [`accept`]: what those TCP listeners share (connection cap, graceful stop, retries);
//! - [`run`]: start-up (bootstrap, WAL replay) and graceful shutdown;
//! - [`lease`]: the node's lease on its id on PostgreSQL (kansoku-cluster), mounted on the
//!   ingester's write gate; [`membership`]: its place in the cluster's NATS registry;
//!   [`changes`]: cache-invalidation events between nodes;
//! - [`apply_cli`], [`cluster_cli`]: the `kansoku apply -f FILE` and `kansoku cluster` clients,
//!   over [`remote`].

pub mod accept;
pub mod app;
pub mod apply_cli;
pub mod auth;
pub mod bootstrap;
pub mod changes;
pub mod cluster_cli;
pub mod config;
pub mod forward;
pub mod http;
pub mod lease;
pub mod membership;
pub mod otlp;
pub mod process;
pub mod remote;
pub mod run;
pub mod syslog;
pub mod telemetry;

pub use config::{Cli, Command, Config};
pub use run::{Node, serve, start};
