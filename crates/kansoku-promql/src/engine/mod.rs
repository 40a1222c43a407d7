//! Running a PromQL query: parse, plan which series each selector needs, read them from a
//! [`SeriesSource`], evaluate ([`eval`]), and shape the result as Prometheus does.
//!
//! Semantics are Prometheus 3's as its test suite runs them: left-open range and lookback
//! windows, 5-minute lookback, stale markers, `@` and negative offsets, subqueries aligned to
//! their step, experimental functions enabled and delayed `__name__` removal.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod eval;
pub mod plan;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use promql_parser::parser::{Expr, value::ValueType};

use crate::annotations::Annotations;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::source::SeriesSource;
use crate::value::{Point, QueryValue, Sample, Series};
use eval::{Evaluator, SelectorData, StepSeries, Steps, Val};

/// Limits and defaults of query evaluation.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5 minutes).
    pub lookback_ms: i64,
    /// Most samples a query may hold (Prometheus: 50 million).
    pub max_samples: usize,
    /// The step of a subquery that names none (Prometheus: the evaluation interval, 1 minute).
    pub subquery_step_ms: i64,
    /// Longest a query may run.
    pub timeout: Option<Duration>,
    /// Most points per series of a range query (Prometheus: 11,000).
    pub max_points_per_series: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            subquery_step_ms: 60 * 1000,
            timeout: Some(Duration::from_secs(120)),
            max_points_per_series: 11_000,
        }
    }
}

/// What a query returned, with its annotations and what it read.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: QueryValue,
    /// Warnings and infos.
    pub annotations: Annotations,
    /// Samples read from the source.
    pub samples_read: usize,
}

/// The PromQL engine (stateless apart from its options).
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// An engine with `options`.
    pub fn new(options: EngineOptions) -> Engine {
        Engine { options }
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Evaluates `query` at `time` (milliseconds).
    pub async fn instant(
        &self,
        source: &dyn SeriesSource,
        query: &str,
        time: i64,
    ) -> Result<QueryResult> {
        let expr = parse_with_times(
            query,
            crate::duration_expr::QueryTimes {
                step: 0,
                start: time,
                end: time,
            },
        )?;
        self.instant_expr(source, &expr, time).await
    }

    /// Evaluates a parsed expression at `time` (milliseconds).
    pub async fn instant_expr(
        &self,
        source: &dyn SeriesSource,
        expr: &Expr,
        time: i64,
    ) -> Result<QueryResult> {
        self.run(
            source,
            expr,
            Steps {
                start: time,
                end: time,
                interval: 0,
            },
        )
        .await
    }

    /// Evaluates `query` from `start` to `end` every `step` (milliseconds).
    pub async fn range(
        &self,
        source: &dyn SeriesSource,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        let expr = parse_with_times(query, crate::duration_expr::QueryTimes { step, start, end })?;
        self.range_expr(source, &expr, start, end, step).await
    }

    /// Evaluates a parsed expression from `start` to `end` every `step` (milliseconds).
    pub async fn range_expr(
        &self,
        source: &dyn SeriesSource,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        if step <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".to_string(),
            ));
        }
        if end < start {
            return Err(Error::BadData(
                "end timestamp must not be before start time".to_string(),
            ));
        }
        if (end - start) / step >= self.options.max_points_per_series {
            return Err(Error::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                thousands(self.options.max_points_per_series)
            )));
        }
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                return Err(Error::BadData(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    value_type_name(other)
                )));
            }
        }
        self.run(
            source,
            expr,
            Steps {
                start,
                end,
                interval: step,
            },
        )
        .await
    }

    /// Evaluates an already parsed expression over `steps` (an interval of 0 is an instant
    /// query).
    pub(crate) async fn run(
        &self,
        source: &dyn SeriesSource,
        expr: &Expr,
        steps: Steps,
    ) -> Result<QueryResult> {
        let started = Instant::now();
        let deadline = self.options.timeout.map(|timeout| started + timeout);
        // Selectors are known by their address in the tree (`plan::selector_key`): the tree
        // the plan reads is the one evaluated, boxed so that moving it to the evaluation
        // thread moves no node.
        let expr = Box::new(expr.clone());
        let needs = plan::plan(&expr, steps.start, steps.end, self.options.lookback_ms)?;
        let mut data: SelectorData = HashMap::new();
        let mut samples_read = 0usize;
        for need in needs {
            let mut series = source.select(&need.matchers, need.start, need.end).await?;
            for alternative in &need.alternatives {
                for extra in source.select(alternative, need.start, need.end).await? {
                    if !series.iter().any(|s| s.labels == extra.labels) {
                        series.push(extra);
                    }
                }
            }
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            samples_read += series.iter().map(|s| s.points.len()).sum::<usize>();
            if samples_read > self.options.max_samples {
                return Err(Error::TooManySamples("query execution"));
            }
            if deadline.is_some_and(|deadline| Instant::now() > deadline) {
                return Err(Error::Timeout("query preparation"));
            }
            data.insert(need.key, series);
        }
        let options = self.options.clone();
        on_large_stack(move || {
            let mut evaluator =
                Evaluator::new(steps, (steps.start, steps.end), &options, &data, deadline);
            let value = evaluator.eval(&expr)?;
            let annotations = evaluator.annotations;
            let value = shape(value, steps)?;
            Ok(QueryResult {
                value,
                annotations,
                samples_read,
            })
        })
        .await
    }
}

/// Stack of the thread that evaluates a query: evaluation recurses once per nesting level of
/// the expression (at most [`crate::complexity::MAX_OPERATORS`] levels), which the 2 MiB of a
/// runtime thread do not hold in every build. Untouched stack pages cost no memory.
const EVALUATION_STACK_BYTES: usize = 64 << 20;

/// Runs `evaluate` (CPU work) on its own thread with a large stack, off the async runtime.
async fn on_large_stack<T: Send + 'static>(
    evaluate: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("promql-eval".to_string())
        .stack_size(EVALUATION_STACK_BYTES)
        .spawn(move || {
            let _ = sender.send(evaluate());
        })
        .map_err(|e| Error::Internal(format!("cannot start the evaluation thread: {e}")))?;
    receiver.await.map_err(|_| {
        Error::Internal("the evaluation thread stopped without an answer".to_string())
    })?
}

/// `11000` → `11,000`, as Prometheus writes the resolution limit.
fn thousands(value: i64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, c) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses `query` after computing its duration expressions for a query over `times`.
pub fn parse_with_times(query: &str, times: crate::duration_expr::QueryTimes) -> Result<Expr> {
    // Before the duration expressions are computed: they are parsed recursively too.
    crate::complexity::check(query).map_err(Error::BadData)?;
    let expanded = crate::duration_expr::expand(query, times).map_err(Error::BadData)?;
    parse(&expanded)
}

/// Parses `query`, reporting a failure as Prometheus' `bad_data`.
pub fn parse(query: &str) -> Result<Expr> {
    crate::complexity::check(query).map_err(Error::BadData)?;
    promql_parser::parser::parse(query).map_err(|message| Error::BadData(parse_error(&message)))
}

fn parse_error(message: &str) -> String {
    let trimmed = message.trim();
    if trimmed.starts_with("parse error") || trimmed.contains(": parse error") {
        return trimmed.to_string();
    }
    format!("parse error: {trimmed}")
}

fn value_type_name(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Vector => "instant vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

/// The type name of an expression, as in Prometheus' messages.
pub(crate) fn type_name(expr: &Expr) -> &'static str {
    value_type_name(expr.value_type())
}

/// The final result: metric names dropped where flagged, duplicate label sets refused, a range
/// query's series sorted by labels.
fn shape(value: Val, steps: Steps) -> Result<QueryValue> {
    let instant = steps.interval <= 0;
    match value {
        Val::Scalar(values) if instant => Ok(QueryValue::Scalar(Point {
            t: steps.start,
            v: values.first().copied().unwrap_or(f64::NAN),
        })),
        Val::Scalar(values) => Ok(QueryValue::Matrix(vec![Series {
            labels: Labels::empty(),
            points: steps
                .iter()
                .zip(values)
                .map(|(t, v)| Point { t, v })
                .collect(),
        }])),
        Val::String(text) => Ok(QueryValue::String(steps.start, text)),
        Val::Vector(series) if instant => {
            let series = drop_flagged_names(series);
            let mut seen = std::collections::HashSet::with_capacity(series.len());
            if !series.iter().all(|s| seen.insert(&s.labels)) {
                return Err(eval::duplicate_labelset());
            }
            Ok(QueryValue::Vector(
                series
                    .into_iter()
                    .filter_map(|s| {
                        s.points.first().map(|p| Sample {
                            labels: s.labels,
                            point: Point {
                                t: steps.start,
                                v: p.v,
                            },
                        })
                    })
                    .collect(),
            ))
        }
        Val::Vector(series) | Val::Matrix(series) => {
            let mut series: Vec<Series> = eval::merge_same_labels(drop_flagged_names(series))?
                .into_iter()
                .map(|s| Series {
                    labels: s.labels,
                    points: s.points,
                })
                .collect();
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(QueryValue::Matrix(series))
        }
    }
}

/// Removes the metric name where an operation asked for it.
fn drop_flagged_names(series: Vec<StepSeries>) -> Vec<StepSeries> {
    series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = s.labels.without_metric_name();
                s.drop_name = false;
            }
            s
        })
        .collect()
}
