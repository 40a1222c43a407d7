//! Functions over instant vectors and scalars: element-wise math, `clamp*`, `round`, the date
//! functions, `timestamp`, `time`, `vector`, `scalar`, `absent`, `pi` and the experimental
//! `start`/`end`/`range`/`step`.

use promql_parser::parser::{Expr, VectorSelector};

use crate::engine::eval::{Evaluator, StepSeries, Val, unwrap_parens};
use crate::error::Result;
use crate::functions::arg;
use crate::labels::{Labels, LabelsBuilder, METRIC_NAME};
use crate::matcher::MatchKind;
use crate::value::Point;

/// Evaluates `name` if it is one of this module's functions.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Option<Val>> {
    if let Some(f) = element_wise(name) {
        let input = ev.eval_vector(arg(args, 0, name)?)?;
        return Ok(Some(Val::Vector(map_values(input, f))));
    }
    if let Some(f) = date_part(name) {
        return Ok(Some(date_function(ev, args, f)?));
    }
    let val = match name {
        "time" => Val::Scalar(ev.steps.iter().map(|t| t as f64 / 1000.0).collect()),
        "pi" => Val::Scalar(vec![std::f64::consts::PI; ev.steps.len()]),
        "start" => Val::Scalar(vec![ev.query.0 as f64 / 1000.0; ev.steps.len()]),
        "end" => Val::Scalar(vec![ev.query.1 as f64 / 1000.0; ev.steps.len()]),
        "range" => Val::Scalar(vec![
            (ev.query.1 - ev.query.0) as f64 / 1000.0;
            ev.steps.len()
        ]),
        "step" => Val::Scalar(vec![ev.steps.interval as f64 / 1000.0; ev.steps.len()]),
        "min_of" | "max_of" => {
            let left = ev.eval_scalar(arg(args, 0, name)?)?;
            let right = ev.eval_scalar(arg(args, 1, name)?)?;
            let pick = if name == "min_of" { go_min } else { go_max };
            Val::Scalar(left.iter().zip(&right).map(|(a, b)| pick(*a, *b)).collect())
        }
        "vector" => {
            let values = ev.eval_scalar(arg(args, 0, name)?)?;
            Val::Vector(vec![StepSeries {
                labels: Labels::empty(),
                drop_name: false,
                points: ev
                    .steps
                    .iter()
                    .zip(values)
                    .map(|(t, v)| Point { t, v })
                    .collect(),
            }])
        }
        "scalar" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let mut values = vec![f64::NAN; ev.steps.len()];
            let mut counts = vec![0usize; ev.steps.len()];
            for series in &input {
                for point in &series.points {
                    let step = ev.steps.index_of(point.t);
                    if let (Some(value), Some(count)) = (values.get_mut(step), counts.get_mut(step))
                    {
                        *value = point.v;
                        *count += 1;
                    }
                }
            }
            for (value, count) in values.iter_mut().zip(counts) {
                if count != 1 {
                    *value = f64::NAN;
                }
            }
            Val::Scalar(values)
        }
        "timestamp" => {
            let expr = arg(args, 0, name)?;
            let input = match unwrap_parens(expr) {
                Expr::VectorSelector(selector) => match ev.vector_selector(selector, true) {
                    Val::Vector(series) => series,
                    _ => Vec::new(),
                },
                other => {
                    let mut series = ev.eval_vector(other)?;
                    for s in &mut series {
                        for point in &mut s.points {
                            point.v = point.t as f64 / 1000.0;
                        }
                    }
                    series
                }
            };
            Val::Vector(
                input
                    .into_iter()
                    .map(|mut s| {
                        s.drop_name = true;
                        s
                    })
                    .collect(),
            )
        }
        "absent" => {
            let expr = arg(args, 0, name)?;
            let input = ev.eval_vector(expr)?;
            let mut present = vec![false; ev.steps.len()];
            for series in &input {
                for point in &series.points {
                    if let Some(slot) = present.get_mut(ev.steps.index_of(point.t)) {
                        *slot = true;
                    }
                }
            }
            let labels = match expr {
                Expr::VectorSelector(selector) => absent_labels(selector),
                _ => Labels::empty(),
            };
            let points: Vec<Point> = ev
                .steps
                .iter()
                .zip(present)
                .filter(|(_, present)| !present)
                .map(|(t, _)| Point { t, v: 1.0 })
                .collect();
            if points.is_empty() {
                Val::Vector(Vec::new())
            } else {
                Val::Vector(vec![StepSeries {
                    labels,
                    drop_name: false,
                    points,
                }])
            }
        }
        "clamp" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let min = ev.eval_scalar(arg(args, 1, name)?)?;
            let max = ev.eval_scalar(arg(args, 2, name)?)?;
            let steps = ev.steps;
            Val::Vector(map_points(input, |point| {
                let step = steps.index_of(point.t);
                let (low, high) = (*min.get(step)?, *max.get(step)?);
                if high < low {
                    return None;
                }
                Some(go_max(low, go_min(high, point.v)))
            }))
        }
        "clamp_min" | "clamp_max" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let bound = ev.eval_scalar(arg(args, 1, name)?)?;
            let steps = ev.steps;
            let is_min = name == "clamp_min";
            Val::Vector(map_points(input, |point| {
                let bound = *bound.get(steps.index_of(point.t))?;
                Some(if is_min {
                    go_max(bound, point.v)
                } else {
                    go_min(bound, point.v)
                })
            }))
        }
        "round" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let nearest = match args.get(1) {
                Some(expr) => ev.eval_scalar(expr)?,
                None => vec![1.0; ev.steps.len()],
            };
            let steps = ev.steps;
            Val::Vector(map_points(input, |point| {
                let inverse = 1.0 / *nearest.get(steps.index_of(point.t))?;
                Some((point.v * inverse + 0.5).floor() / inverse)
            }))
        }
        _ => return Ok(None),
    };
    Ok(Some(val))
}

/// Go's `math.Max`: an infinity beats NaN, NaN beats the rest, `+0` beats `-0`.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// Go's `math.Min`: an infinity beats NaN, NaN beats the rest, `-0` beats `+0`.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

fn element_wise(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

fn map_values(input: Vec<StepSeries>, f: fn(f64) -> f64) -> Vec<StepSeries> {
    map_points(input, |point| Some(f(point.v)))
}

/// Applies `f` to every point (dropping points it returns `None` for); the metric name is
/// dropped.
fn map_points(input: Vec<StepSeries>, mut f: impl FnMut(Point) -> Option<f64>) -> Vec<StepSeries> {
    input
        .into_iter()
        .filter_map(|mut series| {
            series.points = series
                .points
                .iter()
                .filter_map(|point| f(*point).map(|v| Point { t: point.t, v }))
                .collect();
            series.drop_name = true;
            (!series.points.is_empty()).then_some(series)
        })
        .collect()
}

/// A broken-down UTC time.
pub(crate) struct Civil {
    year: i64,
    month: i64,
    day: i64,
    day_of_week: i64,
    day_of_year: i64,
    hour: i64,
    minute: i64,
}

impl Civil {
    /// The UTC date and time of `seconds` since the epoch.
    pub(crate) fn from_unix(seconds: i64) -> Civil {
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let shifted_day_of_year =
            day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * shifted_day_of_year + 2) / 153;
        let day = shifted_day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let day_of_year = cumulative_days(year, month) + day;
        Civil {
            year,
            month,
            day,
            day_of_week: (days + 4).rem_euclid(7),
            day_of_year,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
        }
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn cumulative_days(year: i64, month: i64) -> i64 {
    (1..month).map(|m| days_in_month(year, m)).sum()
}

fn date_part(name: &str) -> Option<fn(&Civil) -> f64> {
    Some(match name {
        "year" => |c| c.year as f64,
        "month" => |c| c.month as f64,
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.day_of_week as f64,
        "day_of_year" => |c| c.day_of_year as f64,
        "days_in_month" => |c| days_in_month(c.year, c.month) as f64,
        "hour" => |c| c.hour as f64,
        "minute" => |c| c.minute as f64,
        _ => return None,
    })
}

fn date_function(ev: &mut Evaluator<'_>, args: &[&Expr], f: fn(&Civil) -> f64) -> Result<Val> {
    let Some(expr) = args.first() else {
        return Ok(Val::Vector(vec![StepSeries {
            labels: Labels::empty(),
            drop_name: false,
            points: ev
                .steps
                .iter()
                .map(|t| Point {
                    t,
                    v: f(&Civil::from_unix(t / 1000)),
                })
                .collect(),
        }]));
    };
    let input = ev.eval_vector(expr)?;
    Ok(Val::Vector(map_points(input, |point| {
        if !point.v.is_finite() {
            return Some(f64::NAN);
        }
        Some(f(&Civil::from_unix(point.v as i64)))
    })))
}

/// The labels `absent(selector)` reports: the selector's equality matchers (a label named by
/// more than one matcher is left out).
pub(crate) fn absent_labels(selector: &VectorSelector) -> Labels {
    let Ok((matchers, _)) = crate::engine::plan::selector_matchers(selector) else {
        return Labels::empty();
    };
    let mut builder = LabelsBuilder::new(&Labels::empty());
    let mut seen: Vec<&str> = Vec::new();
    for matcher in &matchers {
        if matcher.name == METRIC_NAME {
            continue;
        }
        if matcher.kind == MatchKind::Equal && !seen.contains(&matcher.name.as_str()) {
            builder.set(&matcher.name, &matcher.value);
            seen.push(&matcher.name);
        } else {
            builder.del(&matcher.name);
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let date = Civil::from_unix(951_825_600);
        assert_eq!(
            (date.year, date.month, date.day, date.hour),
            (2000, 2, 29, 12)
        );
        assert_eq!(date.day_of_year, 60);
        assert_eq!(date.day_of_week, 2);
        let before = Civil::from_unix(-1);
        assert_eq!((before.year, before.month, before.day), (1969, 12, 31));
        assert_eq!(before.day_of_week, 3);
    }
}
