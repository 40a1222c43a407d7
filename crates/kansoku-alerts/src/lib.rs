//! Alerts: message templates, destinations (webhooks with a Slack preset), alert rules, their
//! evaluation on a schedule, on demand and on every ingested batch (real-time), notification
//! delivery guarded against SSRF, and the history of every evaluation and delivery.
//!
//! | module | owns |
//! |---|---|
//! | [`model`] | the JSON documents (OpenObserve's shapes) and their validation |
//! | [`sql`] | SQL built from an alert's conditions (quoted identifiers, literal values) |
//! | [`evaluate`] | running an alert's queries and comparing with its threshold |
//! | [`template`] | `{variable}` rendering, JSON-safe; the Slack Block Kit preset |
//! | [`ssrf`] | the destination URL guard and `KANSOKU_DESTINATION_ALLOWLIST` |
//! | [`deliver`] | sending to a destination: pinned address, no redirects, retries |
//! | [`email`] | sending through the configured SMTP server |
//! | [`service`] | [`Alerts`]: storage, scheduler, trigger, real-time, history, rate limits |
//! | [`code`] | alerts as code: the YAML documents and the alerts directory's files |
//! | `apply` | applying those documents (create, update, delete what left the files) |
//! | [`pipelines`] | streams' ingest pipelines declared as code (checked with `kansoku-ingest`'s compiler) |
//!
//! Documents are stored by `kansoku-meta`; this crate reads data only through `kansoku-query`.

mod apply;
pub mod code;
pub mod deliver;
pub mod email;
mod error;
pub mod evaluate;
pub mod model;
pub mod pipelines;
pub mod schedule;
pub mod service;
pub mod sql;
pub mod ssrf;
pub mod template;

pub use apply::DirState;
pub use error::{Error, Result};
pub use service::{Alerts, AlertsConfig, Outcome};
