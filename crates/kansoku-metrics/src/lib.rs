//! The metrics store's read side.
//!
//! This crate owns reading the metrics streams of an organisation (ARCHITECTURE.md "Metrics")
//! for PromQL and the Prometheus API: the [`stored::OrgSeries`] `SeriesSource` (fresh data plus
//! stored files through their series index), label-set listings for `/series`, `/labels` and
//! `/label/{name}/values`, and [`exemplars`]. It reads fresh data only through
//! `kansoku_storage::FreshData` and never depends on the write path or on the SQL engine.

mod error;
pub mod exemplars;
pub mod read;
pub mod rows;
pub mod stored;

pub use error::{Error, Result};
pub use exemplars::{Exemplar, SeriesExemplars};
pub use stored::{MetricsStore, OrgSeries};
