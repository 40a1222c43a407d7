//! Before evaluation: which series each selector needs, over which time range.
//!
//! The whole expression is walked once with the evaluation interval each node will be evaluated
//! over (subqueries shift and widen it, `@` pins it), so that every selector's series are read
//! once, before the CPU-bound evaluation starts.

use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::error::Result;
use crate::matcher::LabelMatcher;

/// The series a selector needs.
#[derive(Debug, Clone)]
pub struct SelectorNeed {
    /// The selector's identity (its address in the parsed expression).
    pub key: usize,
    /// Its matchers (the metric name as a `__name__` matcher).
    pub matchers: Vec<LabelMatcher>,
    /// Alternative matcher sets (`{a="1" or b="2"}`); empty when there are none.
    pub alternatives: Vec<Vec<LabelMatcher>>,
    /// First millisecond needed (inclusive).
    pub start: i64,
    /// Last millisecond needed (inclusive).
    pub end: i64,
}

/// The identity of a selector node.
pub fn selector_key(selector: &VectorSelector) -> usize {
    std::ptr::from_ref(selector) as usize
}

/// Milliseconds of an `offset` (negative offsets look into the future).
pub fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(duration)) => duration_ms(*duration),
        Some(Offset::Neg(duration)) => -duration_ms(*duration),
    }
}

/// Milliseconds of a duration.
pub fn duration_ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The time an `@` modifier pins evaluation to, with `start()`/`end()` resolved.
pub fn at_ms(at: &Option<AtModifier>, query_start: i64, query_end: i64) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(query_start),
        Some(AtModifier::End) => Some(query_end),
        Some(AtModifier::At(time)) => Some(system_time_ms(*time)),
    }
}

/// A `SystemTime` as milliseconds since the epoch (negative before 1970).
pub fn system_time_ms(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => duration_ms(after),
        Err(before) => -duration_ms(before.duration()),
    }
}

/// The selector matchers of `selector`, including its metric name.
pub fn selector_matchers(
    selector: &VectorSelector,
) -> Result<(Vec<LabelMatcher>, Vec<Vec<LabelMatcher>>)> {
    let mut matchers = Vec::new();
    let has_name_matcher = selector
        .matchers
        .matchers
        .iter()
        .any(|m| m.name == crate::labels::METRIC_NAME);
    if let Some(name) = &selector.name
        && !has_name_matcher
    {
        matchers.push(LabelMatcher::new(
            crate::labels::METRIC_NAME,
            crate::matcher::MatchKind::Equal,
            name,
        )?);
    }
    for matcher in &selector.matchers.matchers {
        matchers.push(LabelMatcher::from_parsed(matcher)?);
    }
    let mut alternatives = Vec::new();
    for group in &selector.matchers.or_matchers {
        let mut set = Vec::new();
        if let Some(name) = &selector.name {
            set.push(LabelMatcher::new(
                crate::labels::METRIC_NAME,
                crate::matcher::MatchKind::Equal,
                name,
            )?);
        }
        for matcher in group {
            set.push(LabelMatcher::from_parsed(matcher)?);
        }
        alternatives.push(set);
    }
    Ok((matchers, alternatives))
}

/// The evaluation interval a node is evaluated over.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: i64,
    end: i64,
}

/// Walks `expr` evaluated over `[start, end]` and lists what every selector needs.
pub fn plan(expr: &Expr, start: i64, end: i64, lookback: i64) -> Result<Vec<SelectorNeed>> {
    let mut needs = Vec::new();
    walk(
        expr,
        Interval { start, end },
        (start, end),
        lookback,
        &mut needs,
    )?;
    Ok(needs)
}

fn walk(
    expr: &Expr,
    interval: Interval,
    query: (i64, i64),
    lookback: i64,
    needs: &mut Vec<SelectorNeed>,
) -> Result<()> {
    match expr {
        Expr::VectorSelector(selector) => {
            needs.push(need(selector, interval, query, lookback)?);
        }
        Expr::MatrixSelector(matrix) => {
            needs.push(need(
                &matrix.vs,
                interval,
                query,
                duration_ms(matrix.range),
            )?);
        }
        Expr::Subquery(subquery) => {
            let pinned = at_ms(&subquery.at, query.0, query.1);
            let (start, end) = pinned.map_or((interval.start, interval.end), |at| (at, at));
            let offset = offset_ms(&subquery.offset);
            let inner = Interval {
                start: start - offset - duration_ms(subquery.range),
                end: end - offset,
            };
            walk(&subquery.expr, inner, query, lookback, needs)?;
        }
        Expr::Aggregate(aggregate) => {
            walk(&aggregate.expr, interval, query, lookback, needs)?;
            if let Some(param) = &aggregate.param {
                walk(param, interval, query, lookback, needs)?;
            }
        }
        Expr::Unary(unary) => walk(&unary.expr, interval, query, lookback, needs)?,
        Expr::Binary(binary) => {
            walk(&binary.lhs, interval, query, lookback, needs)?;
            walk(&binary.rhs, interval, query, lookback, needs)?;
        }
        Expr::Paren(paren) => walk(&paren.expr, interval, query, lookback, needs)?,
        Expr::Call(call) => {
            for arg in &call.args.args {
                walk(arg, interval, query, lookback, needs)?;
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
    Ok(())
}

fn need(
    selector: &VectorSelector,
    interval: Interval,
    query: (i64, i64),
    look_back: i64,
) -> Result<SelectorNeed> {
    let (matchers, alternatives) = selector_matchers(selector)?;
    let (start, end) = match at_ms(&selector.at, query.0, query.1) {
        Some(at) => (at, at),
        None => (interval.start, interval.end),
    };
    let offset = offset_ms(&selector.offset);
    Ok(SelectorNeed {
        key: selector_key(selector),
        matchers,
        alternatives,
        start: start - offset - look_back,
        end: end - offset,
    })
}
