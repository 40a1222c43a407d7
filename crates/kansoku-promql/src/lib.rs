//! PromQL for kansoku.
//!
//! This crate owns the query language, not the storage: it parses with `promql-parser`,
//! evaluates with Prometheus 3 semantics over series read from any [`SeriesSource`]
//! ([`engine`], [`functions`]), renders numbers the way Prometheus' API does ([`format`]) and
//! runs Prometheus' own PromQL test files against itself ([`promqltest`]). Where the series come
//! from (kansoku's stored metric streams) is the caller's business.

pub mod annotations;
pub mod complexity;
pub mod duration;
pub mod duration_expr;
pub mod engine;
pub mod error;
pub mod format;
mod functions;
pub mod hash;
mod kahan;
pub mod labels;
pub mod matcher;
pub mod promqltest;
pub mod source;
pub mod value;

pub use annotations::Annotations;
pub use engine::{Engine, EngineOptions, QueryResult};
pub use error::{Error, Result};
pub use labels::{Label, Labels, LabelsBuilder};
pub use matcher::{LabelMatcher, MatchKind};
pub use source::{MemorySource, SeriesSource};
pub use value::{Point, QueryValue, Sample, Series};
