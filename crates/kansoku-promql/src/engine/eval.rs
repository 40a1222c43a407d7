//! The evaluator: every node of an expression evaluated over all steps of a query at once.
//!
//! An instant vector is held as series whose points sit at step timestamps (an instant query has
//! one step); a scalar as one value per step; a range vector (only as a function argument, or
//! as the whole result of an instant query) as raw samples plus the window to cut per step.
//! Series keep their metric name until the end of the query and carry a `drop_name` flag
//! instead (Prometheus' delayed name removal, which its own test suite runs with): functions
//! and operators that would drop the name set the flag, and the name is removed from the final
//! result.

use std::collections::HashMap;
use std::time::Instant;

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use crate::annotations::Annotations;
use crate::engine::EngineOptions;
use crate::engine::plan::{at_ms, duration_ms, offset_ms, selector_key};
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::value::{Point, Series, is_stale};

/// The timestamps a node is evaluated at: `start`, `start + interval`, … up to `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Steps {
    pub start: i64,
    pub end: i64,
    /// 0 for a single step (instant evaluation).
    pub interval: i64,
}

impl Steps {
    /// Number of steps.
    pub fn len(&self) -> usize {
        if self.end < self.start {
            return 0;
        }
        if self.interval <= 0 {
            return 1;
        }
        ((self.end - self.start) / self.interval + 1) as usize
    }

    /// The `index`-th timestamp.
    pub fn at(&self, index: usize) -> i64 {
        self.start + index as i64 * self.interval
    }

    /// The step index of timestamp `t` (a step timestamp).
    pub fn index_of(&self, t: i64) -> usize {
        if self.interval <= 0 {
            return 0;
        }
        ((t - self.start) / self.interval) as usize
    }

    /// Every timestamp.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|index| self.at(index))
    }
}

/// A series of an evaluated vector (points at step timestamps) or range vector (raw samples).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    /// The metric name is to be removed from the final result.
    pub drop_name: bool,
    pub points: Vec<Point>,
}

/// An evaluated node.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// A string.
    String(String),
    /// An instant vector over the steps.
    Vector(Vec<StepSeries>),
    /// A range vector with raw samples (single-step evaluation only).
    Matrix(Vec<StepSeries>),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::String(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// A range vector argument: raw samples (no stale markers) and how to cut each step's window
/// `(ref − range, ref]`, with `ref = (@ or step) − offset`.
#[derive(Debug, Clone)]
pub(crate) struct RangeVector {
    pub series: Vec<StepSeries>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

impl RangeVector {
    /// `(exclusive start, inclusive end)` of the window at step `t`.
    pub fn window(&self, t: i64) -> (i64, i64) {
        let reference = self.at.unwrap_or(t) - self.offset;
        (reference - self.range, reference)
    }
}

/// One window of one series at one step.
pub(crate) struct Window<'a> {
    /// The samples in the window, ascending.
    pub points: &'a [Point],
    /// The step timestamp.
    pub t: i64,
    /// Exclusive lower bound of the window.
    pub start: i64,
    /// Inclusive upper bound of the window.
    pub end: i64,
    /// The range, in milliseconds.
    pub range: i64,
}

/// Loaded series per selector.
pub(crate) type SelectorData = HashMap<usize, Vec<Series>>;

/// Evaluates one expression over one set of steps.
pub(crate) struct Evaluator<'a> {
    pub steps: Steps,
    /// The query's own start and end (`@ start()`, `@ end()`).
    pub query: (i64, i64),
    pub options: &'a EngineOptions,
    pub annotations: Annotations,
    data: &'a SelectorData,
    deadline: Option<Instant>,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        steps: Steps,
        query: (i64, i64),
        options: &'a EngineOptions,
        data: &'a SelectorData,
        deadline: Option<Instant>,
    ) -> Evaluator<'a> {
        Evaluator {
            steps,
            query,
            options,
            annotations: Annotations::default(),
            data,
            deadline,
        }
    }

    /// Whether this is a single-step evaluation at the top of an instant query.
    pub fn is_instant(&self) -> bool {
        self.steps.interval <= 0
    }

    fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(deadline) if Instant::now() > deadline => {
                Err(Error::Timeout("expression evaluation"))
            }
            _ => Ok(()),
        }
    }

    /// Refuses a value holding more points than a query may.
    pub fn check_samples(&self, val: &Val) -> Result<()> {
        let points: usize = match val {
            Val::Vector(series) | Val::Matrix(series) => {
                series.iter().map(|s| s.points.len()).sum()
            }
            Val::Scalar(_) | Val::String(_) => 0,
        };
        if points > self.options.max_samples {
            return Err(Error::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// Evaluates `expr`.
    pub fn eval(&mut self, expr: &Expr) -> Result<Val> {
        self.check_deadline()?;
        let val = match expr {
            Expr::NumberLiteral(number) => Val::Scalar(vec![number.val; self.steps.len()]),
            Expr::StringLiteral(text) => Val::String(text.val.clone()),
            Expr::Paren(paren) => self.eval(&paren.expr)?,
            Expr::Unary(unary) => negate(self.eval(&unary.expr)?)?,
            Expr::VectorSelector(selector) => self.vector_selector(selector, false),
            Expr::MatrixSelector(matrix) => {
                let range = self.matrix_selector(matrix);
                self.range_vector_value(range)?
            }
            Expr::Subquery(subquery) => {
                let range = self.subquery(subquery)?;
                self.range_vector_value(range)?
            }
            Expr::Call(call) => crate::functions::call(self, call)?,
            Expr::Aggregate(aggregate) => crate::engine::aggregate::eval(self, aggregate)?,
            Expr::Binary(binary) => crate::engine::binary::eval(self, binary)?,
            Expr::Extension(_) => {
                return Err(Error::BadData("unsupported expression".to_string()));
            }
        };
        self.check_samples(&val)?;
        Ok(val)
    }

    /// Evaluates `expr`, which must be an instant vector.
    pub fn eval_vector(&mut self, expr: &Expr) -> Result<Vec<StepSeries>> {
        match self.eval(expr)? {
            Val::Vector(series) => Ok(series),
            other => Err(Error::BadData(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `expr`, which must be a scalar.
    pub fn eval_scalar(&mut self, expr: &Expr) -> Result<Vec<f64>> {
        match self.eval(expr)? {
            Val::Scalar(values) => Ok(values),
            other => Err(Error::BadData(format!(
                "expected scalar, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `expr`, which must be a string.
    pub fn eval_string(&mut self, expr: &Expr) -> Result<String> {
        match self.eval(expr)? {
            Val::String(text) => Ok(text),
            other => Err(Error::BadData(format!(
                "expected string, got {}",
                other.type_name()
            ))),
        }
    }

    fn loaded(&self, selector: &VectorSelector) -> &'a [Series] {
        self.data
            .get(&selector_key(selector))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// An instant vector selector: at each step the newest sample in `(ref − lookback, ref]`,
    /// unless it is a stale marker. With `sample_time`, the value is the sample's own time in
    /// seconds (for `timestamp()`).
    pub fn vector_selector(&self, selector: &VectorSelector, sample_time: bool) -> Val {
        let at = at_ms(&selector.at, self.query.0, self.query.1);
        let offset = offset_ms(&selector.offset);
        let lookback = self.options.lookback_ms;
        let mut out = Vec::new();
        for series in self.loaded(selector) {
            let mut points = Vec::new();
            let mut cursor = 0;
            for t in self.steps.iter() {
                let reference = at.unwrap_or(t) - offset;
                if at.is_some() {
                    cursor = series.points.partition_point(|p| p.t <= reference);
                } else {
                    while cursor < series.points.len() && series.points[cursor].t <= reference {
                        cursor += 1;
                    }
                }
                let Some(sample) = cursor.checked_sub(1).map(|i| series.points[i]) else {
                    continue;
                };
                if sample.t <= reference - lookback || is_stale(sample.v) {
                    continue;
                }
                let v = if sample_time {
                    sample.t as f64 / 1000.0
                } else {
                    sample.v
                };
                points.push(Point { t, v });
            }
            if !points.is_empty() {
                out.push(StepSeries {
                    labels: series.labels.clone(),
                    drop_name: false,
                    points,
                });
            }
        }
        Val::Vector(out)
    }

    /// A range selector's samples (stale markers left out).
    pub fn matrix_selector(&self, matrix: &MatrixSelector) -> RangeVector {
        let series = self
            .loaded(&matrix.vs)
            .iter()
            .map(|series| StepSeries {
                labels: series.labels.clone(),
                drop_name: false,
                points: series
                    .points
                    .iter()
                    .filter(|p| !is_stale(p.v))
                    .copied()
                    .collect(),
            })
            .collect();
        RangeVector {
            series,
            range: duration_ms(matrix.range),
            offset: offset_ms(&matrix.vs.offset),
            at: at_ms(&matrix.vs.at, self.query.0, self.query.1),
        }
    }

    /// A subquery: its expression evaluated at the subquery's own steps, aligned to multiples
    /// of the step, covering every window the enclosing steps will cut.
    pub fn subquery(&mut self, subquery: &SubqueryExpr) -> Result<RangeVector> {
        let at = at_ms(&subquery.at, self.query.0, self.query.1);
        let offset = offset_ms(&subquery.offset);
        let range = duration_ms(subquery.range);
        let step = subquery
            .step
            .map(duration_ms)
            .filter(|step| *step > 0)
            .unwrap_or(self.options.subquery_step_ms);
        let (outer_start, outer_end) = at.map_or((self.steps.start, self.steps.end), |at| (at, at));
        let lower = outer_start - offset - range;
        // Go's integer division truncates towards zero; so does Rust's.
        let mut start = step * (lower / step);
        if start <= lower {
            start += step;
        }
        let steps = Steps {
            start,
            end: outer_end - offset,
            interval: step,
        };
        let mut inner = Evaluator::new(steps, self.query, self.options, self.data, self.deadline);
        let value = inner.eval(&subquery.expr)?;
        self.annotations.merge(inner.annotations);
        let series = match value {
            Val::Vector(series) => series,
            Val::Scalar(values) => vec![StepSeries {
                labels: Labels::empty(),
                drop_name: false,
                points: steps
                    .iter()
                    .zip(values)
                    .map(|(t, v)| Point { t, v })
                    .collect(),
            }],
            other => {
                return Err(Error::BadData(format!(
                    "subquery is only allowed on instant vector, got {}",
                    other.type_name()
                )));
            }
        };
        Ok(RangeVector {
            series,
            range,
            offset,
            at,
        })
    }

    /// The range vector argument `expr` (a range selector or a subquery, maybe in parentheses).
    pub fn range_arg(&mut self, expr: &Expr) -> Result<RangeVector> {
        match unwrap_parens(expr) {
            Expr::MatrixSelector(matrix) => Ok(self.matrix_selector(matrix)),
            Expr::Subquery(subquery) => self.subquery(subquery),
            other => Err(Error::BadData(format!(
                "expected type range vector in call to function, got {}",
                crate::engine::type_name(other)
            ))),
        }
    }

    /// A range vector as a value (the result of an instant query such as `up[5m]`).
    fn range_vector_value(&self, range: RangeVector) -> Result<Val> {
        let t = self.steps.start;
        let (start, end) = range.window(t);
        let series = range
            .series
            .into_iter()
            .filter_map(|mut series| {
                series.points.retain(|p| p.t > start && p.t <= end);
                (!series.points.is_empty()).then_some(series)
            })
            .collect();
        Ok(Val::Matrix(series))
    }

    /// Applies `f` to the window of every series at every step; `keep_name` keeps the metric
    /// name in the result.
    pub fn over_windows(
        &mut self,
        range: &RangeVector,
        keep_name: bool,
        mut f: impl FnMut(&Window<'_>, &mut Annotations, &Labels) -> Option<f64>,
    ) -> Vec<StepSeries> {
        let mut out = Vec::with_capacity(range.series.len());
        for series in &range.series {
            let mut points = Vec::new();
            let (mut low, mut high) = (0, 0);
            for t in self.steps.iter() {
                let (start, end) = range.window(t);
                if range.at.is_some() {
                    low = series.points.partition_point(|p| p.t <= start);
                    high = series.points.partition_point(|p| p.t <= end);
                } else {
                    while low < series.points.len() && series.points[low].t <= start {
                        low += 1;
                    }
                    high = high.max(low);
                    while high < series.points.len() && series.points[high].t <= end {
                        high += 1;
                    }
                }
                if low >= high {
                    continue;
                }
                let window = Window {
                    points: &series.points[low..high],
                    t,
                    start,
                    end,
                    range: range.range,
                };
                if let Some(v) = f(&window, &mut self.annotations, &series.labels) {
                    points.push(Point { t, v });
                }
            }
            if !points.is_empty() {
                out.push(StepSeries {
                    labels: series.labels.clone(),
                    drop_name: series.drop_name || !keep_name,
                    points,
                });
            }
        }
        out
    }
}

/// `expr` without enclosing parentheses.
pub(crate) fn unwrap_parens(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(paren) => unwrap_parens(&paren.expr),
        other => other,
    }
}

fn negate(value: Val) -> Result<Val> {
    match value {
        Val::Scalar(values) => Ok(Val::Scalar(values.into_iter().map(|v| -v).collect())),
        Val::Vector(mut series) => {
            for s in &mut series {
                s.drop_name = true;
                for point in &mut s.points {
                    point.v = -point.v;
                }
            }
            Ok(Val::Vector(series))
        }
        other => Err(Error::BadData(format!(
            "unary expression only allowed on expressions of type scalar or instant vector, got {}",
            other.type_name()
        ))),
    }
}

/// Collects output samples step by step into series keyed by label set, refusing two samples
/// of the same label set at one step.
pub(crate) struct SeriesCollector {
    index: HashMap<Labels, usize>,
    series: Vec<StepSeries>,
}

impl SeriesCollector {
    pub fn new() -> SeriesCollector {
        SeriesCollector {
            index: HashMap::new(),
            series: Vec::new(),
        }
    }

    /// Adds a sample at step `t` (steps must be added in ascending order).
    pub fn push(&mut self, labels: Labels, drop_name: bool, point: Point) -> Result<()> {
        match self.index.get(&labels) {
            Some(&index) => {
                let series = &mut self.series[index];
                if series.points.last().is_some_and(|last| last.t == point.t) {
                    return Err(duplicate_labelset());
                }
                series.drop_name = drop_name;
                series.points.push(point);
            }
            None => {
                self.index.insert(labels.clone(), self.series.len());
                self.series.push(StepSeries {
                    labels,
                    drop_name,
                    points: vec![point],
                });
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Vec<StepSeries> {
        self.series
    }
}

/// Joins series that have the same labels (after a relabelling or a name removal), refusing
/// two points of one label set at the same time.
pub(crate) fn merge_same_labels(series: Vec<StepSeries>) -> Result<Vec<StepSeries>> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut merged = false;
    for s in series {
        match index.get(&s.labels) {
            Some(&at) => {
                out[at].points.extend(s.points);
                out[at].drop_name |= s.drop_name;
                merged = true;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    if merged {
        for s in &mut out {
            s.points.sort_by_key(|p| p.t);
            if s.points.windows(2).any(|pair| pair[0].t == pair[1].t) {
                return Err(duplicate_labelset());
            }
        }
    }
    Ok(out)
}

/// Prometheus' error for two series with the same labels in one result.
pub(crate) fn duplicate_labelset() -> Error {
    Error::Execution("vector cannot contain metrics with the same labelset".to_string())
}

/// The samples of `series` grouped by step: for every step index, `(series index, value)` in
/// series order.
pub(crate) fn by_step(steps: &Steps, series: &[StepSeries]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); steps.len()];
    for (index, s) in series.iter().enumerate() {
        for point in &s.points {
            let step = steps.index_of(point.t);
            if let Some(list) = out.get_mut(step) {
                list.push((index, point.v));
            }
        }
    }
    out
}
