//! Dashboards: OpenObserve **v8** dashboard documents, stored per organisation in folders.
//!
//! - [`document`]: the v8 shape — validation with errors that name the offending path, the
//!   fields the server sets, the hash that makes updates optimistic;
//! - [`service`]: [`Dashboards`], the create/read/update/delete/move operations over the
//!   metadata store, folders, permissions by role, and applying dashboards as code;
//! - [`builtin`]: dashboards shipped in the binary (the read-only folder `builtin`);
//! - [`grafana`]: the one-way converter from Grafana's classic dashboard JSON (Prometheus data
//!   source) to v8, with a report of what was converted, approximated or dropped.
//!
//! Queries are not run here: panels query the public search and Prometheus APIs from the
//! browser.

pub mod builtin;
pub mod document;
mod error;
pub mod grafana;
pub mod service;

pub use document::Dashboard;
pub use error::{Error, Result};
pub use service::{Dashboards, Editor, Stored};
