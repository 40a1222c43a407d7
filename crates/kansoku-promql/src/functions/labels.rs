//! `label_replace`, `label_join` and the sorting functions.

use std::cmp::Ordering;

use promql_parser::parser::Expr;
use regex::Regex;

use crate::engine::aggregate::nan_first;
use crate::engine::eval::{Evaluator, StepSeries, Val, merge_same_labels};
use crate::error::{Error, Result};
use crate::functions::arg;
use crate::labels::{LabelsBuilder, METRIC_NAME};

/// Evaluates `name` if it is one of this module's functions.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Option<Val>> {
    let val = match name {
        "label_replace" => label_replace(ev, args)?,
        "label_join" => label_join(ev, args)?,
        "sort" | "sort_desc" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            if !ev.is_instant() {
                ev.annotations
                    .warn("sort is ineffective for range queries since results are always ordered by labels");
                return Ok(Some(Val::Vector(input)));
            }
            let mut input = input;
            let value = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.v);
            if name == "sort" {
                input.sort_by(|a, b| nan_last_ascending(value(a), value(b)));
            } else {
                input.sort_by(|a, b| nan_last_descending(value(a), value(b)));
            }
            Val::Vector(input)
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let mut names = Vec::new();
            for expr in args.iter().skip(1) {
                names.push(ev.eval_string(expr)?);
            }
            if !ev.is_instant() {
                ev.annotations
                    .warn("sort is ineffective for range queries since results are always ordered by labels");
                return Ok(Some(Val::Vector(input)));
            }
            let mut input = input;
            input.sort_by(|a, b| {
                let mut order = Ordering::Equal;
                for label in &names {
                    order = natural_cmp(a.labels.get(label), b.labels.get(label));
                    if order != Ordering::Equal {
                        break;
                    }
                }
                order.then_with(|| a.labels.cmp(&b.labels))
            });
            if name == "sort_by_label_desc" {
                input.reverse();
            }
            Val::Vector(input)
        }
        _ => return Ok(None),
    };
    Ok(Some(val))
}

fn nan_last_ascending(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => nan_first(a, b),
    }
}

fn nan_last_descending(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => nan_first(b, a),
    }
}

/// Natural order: runs of digits compare as numbers, the rest as text.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let chunks = |text: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in text.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((kind, chunk)) if *kind == digit => chunk.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    };
    let (left, right) = (chunks(a), chunks(b));
    for (l, r) in left.iter().zip(&right) {
        let order = match (l.0, r.0) {
            (true, true) => {
                let (lt, rt) = (l.1.trim_start_matches('0'), r.1.trim_start_matches('0'));
                lt.len().cmp(&rt.len()).then_with(|| lt.cmp(rt))
            }
            _ => l.1.cmp(&r.1),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

fn label_replace(ev: &mut Evaluator<'_>, args: &[&Expr]) -> Result<Val> {
    const NAME: &str = "label_replace";
    let destination = ev.eval_string(arg(args, 1, NAME)?)?;
    let replacement = ev.eval_string(arg(args, 2, NAME)?)?;
    let source = ev.eval_string(arg(args, 3, NAME)?)?;
    let pattern = ev.eval_string(arg(args, 4, NAME)?)?;
    let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|_| {
        Error::Execution(format!(
            "invalid regular expression in label_replace(): {pattern}"
        ))
    })?;
    if destination.is_empty() {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_replace(): {destination}"
        )));
    }
    let mut input = ev.eval_vector(arg(args, 0, NAME)?)?;
    for series in &mut input {
        let value = series.labels.get(&source).to_string();
        let Some(captures) = regex.captures(&value) else {
            continue;
        };
        let mut expanded = String::new();
        captures.expand(&replacement, &mut expanded);
        let mut builder = LabelsBuilder::new(&series.labels);
        builder.set(&destination, &expanded);
        series.labels = builder.build();
        if destination == METRIC_NAME {
            series.drop_name = false;
        }
    }
    Ok(Val::Vector(merge_same_labels(input)?))
}

fn label_join(ev: &mut Evaluator<'_>, args: &[&Expr]) -> Result<Val> {
    const NAME: &str = "label_join";
    let destination = ev.eval_string(arg(args, 1, NAME)?)?;
    let separator = ev.eval_string(arg(args, 2, NAME)?)?;
    let mut sources = Vec::new();
    for expr in args.iter().skip(3) {
        let source = ev.eval_string(expr)?;
        if source.is_empty() {
            return Err(Error::Execution(format!(
                "invalid source label name in label_join(): {source}"
            )));
        }
        sources.push(source);
    }
    if destination.is_empty() {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_join(): {destination}"
        )));
    }
    let mut input = ev.eval_vector(arg(args, 0, NAME)?)?;
    for series in &mut input {
        let joined = sources
            .iter()
            .map(|source| series.labels.get(source))
            .collect::<Vec<_>>()
            .join(&separator);
        let mut builder = LabelsBuilder::new(&series.labels);
        builder.set(&destination, &joined);
        series.labels = builder.build();
        if destination == METRIC_NAME {
            series.drop_name = false;
        }
    }
    Ok(Val::Vector(merge_same_labels(input)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural_cmp("a10", "a9"), Ordering::Greater);
        assert_eq!(natural_cmp("a9", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp("1.2.10", "1.2.9"), Ordering::Greater);
    }
}
