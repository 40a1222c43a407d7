//! A kansoku node: configuration, HTTP APIs, authentication and authorisation, and the
//! composition of the other crates into a running process.
//!
//! This is the only crate that knows HTTP. It owns
//! - [`config`]: every setting, from flags and `KANSOKU_*` variables;
//! - [`auth`]: passwords, tokens, sessions and the permission table;
//! - [`http`]: one module per API, the body limits, and the single error → status mapping;
//! - [`run`]: start-up (bootstrap, WAL replay) and graceful shutdown.

pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod http;
pub mod process;
pub mod run;
pub mod telemetry;

pub use config::{Cli, Command, Config};
pub use run::{Node, serve, start};
