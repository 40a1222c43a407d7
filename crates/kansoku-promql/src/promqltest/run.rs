//! Running a parsed test file against the engine, the way Prometheus' own runner does:
//!
//! - every instant eval is checked at its time, then (unless it uses a function whose result
//!   depends on the evaluation time) again with `@ T` added to every selector and subquery, at
//!   five other evaluation times;
//! - each of those that succeeds is run once more as a range query from T − 1m to T + 1m, whose
//!   middle step must give the same values;
//! - values are equal within a relative 1e-6 (NaN equals NaN); annotations are checked only when
//!   the eval names some.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr};

use crate::engine::{Engine, QueryResult};
use crate::error::Error;
use crate::labels::Labels;
use crate::promqltest::parse::{Command, Eval, EvalKind, Expected, Message, TestFile};
use crate::source::MemorySource;
use crate::value::{Point, QueryValue, almost_equal, is_stale};

/// The result of one `eval`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Line of the `eval` (1-based).
    pub line: usize,
    /// The query.
    pub query: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// Functions whose value depends on the evaluation time itself, so `@` changes their result.
const AT_UNSAFE: [&str; 11] = [
    "time",
    "timestamp",
    "predict_linear",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
];

/// Runs every command of `file`.
pub async fn run_file(engine: &Engine, file: &TestFile) -> Vec<Outcome> {
    let mut source = MemorySource::new();
    let mut outcomes = Vec::new();
    let mut histograms_loaded = false;
    for command in &file.commands {
        match command {
            Command::Load(load) => {
                histograms_loaded |= load.skipped_histograms;
                for (labels, values) in &load.series {
                    let points = values.iter().enumerate().filter_map(|(index, value)| {
                        value.map(|v| Point {
                            t: index as i64 * load.interval,
                            v,
                        })
                    });
                    source.add(labels, points);
                }
            }
            Command::Clear => {
                source.clear();
                histograms_loaded = false;
            }
            Command::Eval(eval) => {
                let failure = match &eval.unsupported {
                    Some(reason) => Some(reason.clone()),
                    None => run_eval(engine, &source, eval).await.err(),
                };
                let failure = failure.map(|reason| {
                    if histograms_loaded {
                        format!("{reason} (native histograms in the data are not loaded)")
                    } else {
                        reason
                    }
                });
                outcomes.push(Outcome {
                    line: eval.line,
                    query: eval.query.clone(),
                    failure,
                });
            }
        }
    }
    outcomes
}

async fn run_eval(engine: &Engine, source: &MemorySource, eval: &Eval) -> Result<(), String> {
    let times = match eval.kind {
        EvalKind::Instant { at } => crate::duration_expr::QueryTimes {
            step: 0,
            start: at,
            end: at,
        },
        EvalKind::Range { start, end, step } => {
            crate::duration_expr::QueryTimes { step, start, end }
        }
    };
    let expr = match crate::engine::parse_with_times(&eval.query, times) {
        Ok(expr) => expr,
        Err(error) => return check_failure(eval, Err(error)).map(|_| ()),
    };
    match eval.kind {
        EvalKind::Range { start, end, step } => {
            let result = engine.range_expr(source, &expr, start, end, step).await;
            let Some(result) = check_failure(eval, result)? else {
                return Ok(());
            };
            check_annotations(eval, &result)?;
            check_matrix(&eval.expected, &result.value, start, step, true)
        }
        EvalKind::Instant { at } => {
            check_instant(engine, source, eval, &expr, at).await?;
            if contains_at_unsafe(&expr) {
                return Ok(());
            }
            let mut pinned = expr.clone();
            if !pin_at(&mut pinned, at) {
                return Ok(());
            }
            let times = if at == 0 {
                vec![-1000, 0, 1000]
            } else {
                vec![-10 * at, 0, at / 5, at, 10 * at]
            };
            for time in times {
                check_instant(engine, source, eval, &pinned, time)
                    .await
                    .map_err(|e| format!("with @ {at} evaluated at {time}: {e}"))?;
            }
            Ok(())
        }
    }
}

async fn check_instant(
    engine: &Engine,
    source: &MemorySource,
    eval: &Eval,
    expr: &Expr,
    at: i64,
) -> Result<(), String> {
    let result = engine.instant_expr(source, expr, at).await;
    let Some(result) = check_failure(eval, result)? else {
        return Ok(());
    };
    check_annotations(eval, &result)?;
    match (&eval.expected, &result.value) {
        (Expected::String(text), QueryValue::String(_, actual)) if text == actual => {}
        (Expected::String(text), other) => {
            return Err(format!("expected string {text:?}, got {other:?}"));
        }
        (Expected::RangeVector { start, step, .. }, value) => {
            return check_matrix(&eval.expected, value, *start, *step, false);
        }
        (Expected::Scalar(expected), QueryValue::Scalar(point)) => {
            if !almost_equal(*expected, point.v) {
                return Err(format!("expected scalar {expected}, got {}", point.v));
            }
        }
        (Expected::Series(expected), QueryValue::Vector(samples)) => {
            let actual: Vec<(Labels, f64)> = samples
                .iter()
                .map(|s| (s.labels.clone(), s.point.v))
                .collect();
            check_vector(expected, &actual, eval.ordered)?;
        }
        (expected, other) => {
            return Err(format!(
                "expected {}, got {} result",
                match expected {
                    Expected::Scalar(_) => "a scalar",
                    _ => "a vector",
                },
                other.result_type()
            ));
        }
    }
    let range_check_applies = matches!(eval.expected, Expected::Series(_) | Expected::Scalar(_))
        && !["start()", "end()", "range()", "step()"]
            .iter()
            .any(|f| eval.query.contains(f));
    if !range_check_applies {
        return Ok(());
    }
    let ranged = engine
        .range_expr(source, expr, at - 60_000, at + 60_000, 60_000)
        .await
        .map_err(|e| format!("as a range query: {e}"))?;
    if eval.ordered {
        return Ok(());
    }
    let QueryValue::Matrix(series) = &ranged.value else {
        return Err("as a range query: not a matrix".to_string());
    };
    let middle: Vec<(Labels, f64)> = series
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.t == at)
                .map(|p| (s.labels.clone(), p.v))
        })
        .collect();
    match &eval.expected {
        Expected::Scalar(expected) => match middle.as_slice() {
            [(_, v)] if almost_equal(*expected, *v) => Ok(()),
            other => Err(format!(
                "as a range query: expected scalar {expected}, got {other:?}"
            )),
        },
        Expected::Series(expected) => {
            check_vector(expected, &middle, false).map_err(|e| format!("as a range query: {e}"))
        }
        _ => Ok(()),
    }
}

/// `Ok(Some(result))` to go on checking, `Ok(None)` when the expected failure happened.
fn check_failure(
    eval: &Eval,
    result: Result<QueryResult, Error>,
) -> Result<Option<QueryResult>, String> {
    match (&eval.fail, result) {
        (None, Ok(result)) => Ok(Some(result)),
        (None, Err(error)) => Err(format!("unexpected error: {error}")),
        (Some(_), Ok(_)) => Err("expected an error, the query succeeded".to_string()),
        (Some(expected), Err(error)) => {
            let text = error.to_string();
            if message_matches(expected, &text) {
                Ok(None)
            } else {
                Err(format!("expected error {expected:?}, got {text:?}"))
            }
        }
    }
}

fn message_matches(expected: &Message, actual: &str) -> bool {
    match expected {
        Message::Any => true,
        Message::Exact(text) => text.trim() == actual.trim(),
        Message::Regex(pattern) => regex::Regex::new(pattern).is_ok_and(|r| r.is_match(actual)),
    }
}

fn check_annotations(eval: &Eval, result: &QueryResult) -> Result<(), String> {
    check_kind(
        "warning",
        &eval.warn,
        eval.no_warn,
        &result.annotations.warnings,
    )?;
    check_kind("info", &eval.info, eval.no_info, &result.annotations.infos)
}

fn check_kind(
    kind: &str,
    expected: &[Message],
    none: bool,
    actual: &[String],
) -> Result<(), String> {
    if none && !actual.is_empty() {
        return Err(format!("expected no {kind}, got {actual:?}"));
    }
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected a {kind}, got none"));
    }
    for message in expected {
        if !actual.iter().any(|a| message_matches(message, a)) {
            return Err(format!("expected {kind} {message:?}, got {actual:?}"));
        }
    }
    if expected.iter().all(|m| *m != Message::Any) {
        for message in actual {
            if !expected.iter().any(|e| message_matches(e, message)) {
                return Err(format!("unexpected {kind} {message:?}"));
            }
        }
    }
    Ok(())
}

fn values_equal(expected: f64, actual: f64) -> bool {
    if is_stale(expected) || is_stale(actual) {
        return is_stale(expected) && is_stale(actual);
    }
    almost_equal(expected, actual)
}

fn check_vector(
    expected: &[(Labels, Vec<Option<f64>>)],
    actual: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            expected.len(),
            actual.len(),
            describe(actual)
        ));
    }
    for (position, (labels, values)) in expected.iter().enumerate() {
        let want = values.first().copied().flatten().unwrap_or(f64::NAN);
        let found = if ordered {
            actual.get(position).filter(|(l, _)| l == labels)
        } else {
            actual.iter().find(|(l, _)| l == labels)
        };
        let Some((_, value)) = found else {
            return Err(format!(
                "expected {labels} {want}{}, got {}",
                if ordered { " at this position" } else { "" },
                describe(actual)
            ));
        };
        if !values_equal(want, *value) {
            return Err(format!("{labels}: expected {want}, got {value}"));
        }
    }
    Ok(())
}

fn describe(actual: &[(Labels, f64)]) -> String {
    let parts: Vec<String> = actual
        .iter()
        .take(8)
        .map(|(labels, v)| format!("{labels} {v}"))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn check_matrix(
    expected: &Expected,
    value: &QueryValue,
    start: i64,
    step: i64,
    scalar_allowed: bool,
) -> Result<(), String> {
    let expected_series: Vec<(Labels, Vec<Option<f64>>)> = match expected {
        Expected::Series(series) | Expected::RangeVector { series, .. } => series.clone(),
        Expected::Scalar(v) if scalar_allowed => vec![(Labels::empty(), vec![Some(*v)])],
        other => return Err(format!("cannot compare {other:?} with a matrix")),
    };
    let QueryValue::Matrix(series) = value else {
        return Err(format!("expected a matrix, got {}", value.result_type()));
    };
    if series
        .windows(2)
        .any(|pair| pair[0].labels > pair[1].labels)
    {
        return Err("matrix results should always be sorted by labels".to_string());
    }
    let expected_count = expected_series
        .iter()
        .filter(|(_, values)| values.iter().any(Option::is_some))
        .count();
    if series.len() != expected_count {
        let names: Vec<String> = series.iter().map(|s| s.labels.to_string()).collect();
        return Err(format!(
            "expected {expected_count} series, got {}: {names:?}",
            series.len()
        ));
    }
    for (labels, values) in &expected_series {
        if values.iter().all(Option::is_none) {
            continue;
        }
        let Some(actual) = series.iter().find(|s| &s.labels == labels) else {
            return Err(format!("expected series {labels} missing"));
        };
        let wanted: Vec<Point> = values
            .iter()
            .enumerate()
            .filter_map(|(index, v)| {
                v.map(|v| Point {
                    t: start + index as i64 * step,
                    v,
                })
            })
            .collect();
        if wanted.len() != actual.points.len() {
            return Err(format!(
                "{labels}: expected {} points, got {}: {:?}",
                wanted.len(),
                actual.points.len(),
                actual.points
            ));
        }
        for (want, got) in wanted.iter().zip(&actual.points) {
            if want.t != got.t || !values_equal(want.v, got.v) {
                return Err(format!(
                    "{labels}: expected {} at {}, got {} at {}",
                    want.v, want.t, got.v, got.t
                ));
            }
        }
    }
    Ok(())
}

fn contains_at_unsafe(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => {
            AT_UNSAFE.contains(&call.func.name)
                || call.args.args.iter().any(|a| contains_at_unsafe(a))
        }
        Expr::Aggregate(aggregate) => {
            contains_at_unsafe(&aggregate.expr)
                || aggregate
                    .param
                    .as_ref()
                    .is_some_and(|p| contains_at_unsafe(p))
        }
        Expr::Binary(binary) => contains_at_unsafe(&binary.lhs) || contains_at_unsafe(&binary.rhs),
        Expr::Paren(paren) => contains_at_unsafe(&paren.expr),
        Expr::Unary(unary) => contains_at_unsafe(&unary.expr),
        Expr::Subquery(subquery) => contains_at_unsafe(&subquery.expr),
        _ => false,
    }
}

fn system_time(millis: i64) -> SystemTime {
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// Adds `@ at` to every selector and subquery without one (not descending into subqueries,
/// whose selectors then follow the subquery's time); returns whether anything was pinned.
fn pin_at(expr: &mut Expr, at: i64) -> bool {
    let pinned = || Some(AtModifier::At(system_time(at)));
    match expr {
        Expr::VectorSelector(selector) => {
            if selector.at.is_none() {
                selector.at = pinned();
            }
            true
        }
        Expr::MatrixSelector(matrix) => {
            if matrix.vs.at.is_none() {
                matrix.vs.at = pinned();
            }
            true
        }
        Expr::Subquery(subquery) => {
            if subquery.at.is_none() {
                subquery.at = pinned();
            }
            true
        }
        Expr::Call(call) => {
            let mut any = false;
            for arg in &mut call.args.args {
                any |= pin_at(arg, at);
            }
            any
        }
        Expr::Aggregate(aggregate) => {
            let mut any = pin_at(&mut aggregate.expr, at);
            if let Some(param) = &mut aggregate.param {
                any |= pin_at(param, at);
            }
            any
        }
        Expr::Binary(binary) => {
            let left = pin_at(&mut binary.lhs, at);
            let right = pin_at(&mut binary.rhs, at);
            left || right
        }
        Expr::Paren(paren) => pin_at(&mut paren.expr, at),
        Expr::Unary(unary) => pin_at(&mut unary.expr, at),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => false,
    }
}
