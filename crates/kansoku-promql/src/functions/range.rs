//! Functions over range vectors: `rate`, `increase`, `delta`, `irate`, `idelta`, `deriv`,
//! `predict_linear`, `changes`, `resets`, the `*_over_time` family,
//! `double_exponential_smoothing` and `absent_over_time`.

use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::engine::eval::{Evaluator, RangeVector, StepSeries, Val, Window, unwrap_parens};
use crate::error::{Error, Result};
use crate::functions::arg;
use crate::functions::instant::absent_labels;
use crate::kahan::KahanSum;
use crate::labels::Labels;
use crate::value::Point;

/// A function of one window's samples.
type WindowFn = fn(&[Point]) -> Option<f64>;

/// Evaluates `name` if it is a range-vector function.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Option<Val>> {
    let simple: Option<(bool, WindowFn)> = match name {
        "avg_over_time" => Some((false, avg_over_time)),
        "sum_over_time" => Some((false, sum_over_time)),
        "count_over_time" => Some((false, |p: &[Point]| Some(p.len() as f64))),
        "min_over_time" => Some((false, min_over_time)),
        "max_over_time" => Some((false, max_over_time)),
        "last_over_time" => Some((true, |p: &[Point]| p.last().map(|p| p.v))),
        "first_over_time" => Some((true, |p: &[Point]| p.first().map(|p| p.v))),
        "present_over_time" => Some((false, |_: &[Point]| Some(1.0))),
        "stddev_over_time" => Some((false, |p: &[Point]| variance(p).map(f64::sqrt))),
        "stdvar_over_time" => Some((false, variance)),
        "mad_over_time" => Some((false, mad_over_time)),
        "changes" => Some((false, changes)),
        "resets" => Some((false, resets)),
        "deriv" => Some((false, deriv)),
        "ts_of_min_over_time" => Some((false, ts_of_min)),
        "ts_of_max_over_time" => Some((false, ts_of_max)),
        "ts_of_first_over_time" => {
            Some((false, |p: &[Point]| p.first().map(|p| p.t as f64 / 1000.0)))
        }
        "ts_of_last_over_time" => {
            Some((false, |p: &[Point]| p.last().map(|p| p.t as f64 / 1000.0)))
        }
        _ => None,
    };
    if let Some((keep_name, f)) = simple {
        let range = ev.range_arg(arg(args, 0, name)?)?;
        let out = ev.over_windows(&range, keep_name, |window, _, _| f(window.points));
        return Ok(Some(Val::Vector(out)));
    }
    let val = match name {
        "rate" | "increase" | "delta" => {
            let range = ev.range_arg(arg(args, 0, name)?)?;
            let is_counter = name != "delta";
            let is_rate = name == "rate";
            let out = ev.over_windows(&range, false, |window, annotations, labels| {
                let value = extrapolated_rate(window, is_counter, is_rate)?;
                if is_counter {
                    note_non_counter(annotations, labels);
                }
                Some(value)
            });
            Val::Vector(out)
        }
        "irate" | "idelta" => {
            let range = ev.range_arg(arg(args, 0, name)?)?;
            let is_rate = name == "irate";
            Val::Vector(ev.over_windows(&range, false, |window, _, _| {
                instant_value(window.points, is_rate)
            }))
        }
        "predict_linear" => {
            let range = ev.range_arg(arg(args, 0, name)?)?;
            let durations = ev.eval_scalar(arg(args, 1, name)?)?;
            let steps = ev.steps;
            Val::Vector(ev.over_windows(&range, false, |window, _, _| {
                let duration = durations.get(steps.index_of(window.t)).copied()?;
                predict_linear(window, duration)
            }))
        }
        "quantile_over_time" => {
            let quantiles = ev.eval_scalar(arg(args, 0, name)?)?;
            let range = ev.range_arg(arg(args, 1, name)?)?;
            let steps = ev.steps;
            if quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) {
                // Prometheus warns once a result is produced, with the offending value.
                let q = quantiles
                    .iter()
                    .find(|q| !(0.0..=1.0).contains(*q))
                    .copied()
                    .unwrap_or(f64::NAN);
                if !range.series.is_empty() {
                    ev.annotations.warn(format!(
                        "quantile value should be between 0 and 1, got {}",
                        crate::format::format_go_g(q)
                    ));
                }
            }
            Val::Vector(ev.over_windows(&range, false, |window, _, _| {
                let q = quantiles.get(steps.index_of(window.t)).copied()?;
                Some(crate::engine::aggregate::quantile(
                    q,
                    window.points.iter().map(|p| p.v).collect(),
                ))
            }))
        }
        "double_exponential_smoothing" | "holt_winters" => {
            let range = ev.range_arg(arg(args, 0, name)?)?;
            let smoothing = ev.eval_scalar(arg(args, 1, name)?)?;
            let trend = ev.eval_scalar(arg(args, 2, name)?)?;
            let steps = ev.steps;
            let has_samples = range.series.iter().any(|s| s.points.len() >= 2);
            for (sf, tf) in smoothing.iter().zip(&trend).filter(|_| has_samples) {
                if *sf <= 0.0 || *sf >= 1.0 {
                    return Err(Error::Execution(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if *tf <= 0.0 || *tf >= 1.0 {
                    return Err(Error::Execution(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
            }
            Val::Vector(ev.over_windows(&range, false, |window, _, _| {
                let step = steps.index_of(window.t);
                double_exponential_smoothing(
                    window.points,
                    *smoothing.get(step)?,
                    *trend.get(step)?,
                )
            }))
        }
        "absent_over_time" => {
            let expr = arg(args, 0, name)?;
            let range = ev.range_arg(expr)?;
            absent_over_time(ev, &range, expr)
        }
        _ => return Ok(None),
    };
    Ok(Some(val))
}

/// Adds the info that `rate`/`increase` got a series whose name does not look like a counter.
fn note_non_counter(annotations: &mut Annotations, labels: &Labels) {
    let name = labels.metric_name();
    if name.is_empty() {
        return;
    }
    let counter_like = ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    if !counter_like {
        annotations.info(format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
        ));
    }
}

/// `rate`, `increase` and `delta`: the change over the window, extrapolated towards the
/// window's edges when the samples come close enough to them.
fn extrapolated_rate(window: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let points = window.points;
    if points.len() < 2 {
        return None;
    }
    let first = points[0];
    let last = points[points.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        let mut previous = first.v;
        for point in &points[1..] {
            if point.v < previous {
                result += previous;
            }
            previous = point.v;
        }
    }
    let range_start = window.start;
    let range_end = window.end;
    let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
    let mut duration_to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_between_samples = sampled_interval / (points.len() - 1) as f64;
    let threshold = average_between_samples * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_between_samples / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_between_samples / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= window.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_value(points: &[Point], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let last = points[points.len() - 1];
    let previous = points[points.len() - 2];
    let mut result = if is_rate && last.v < previous.v {
        last.v
    } else {
        last.v - previous.v
    };
    let interval = last.t - previous.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

fn sum_over_time(points: &[Point]) -> Option<f64> {
    let mut sum = KahanSum::default();
    for point in points {
        sum.add(point.v);
    }
    Some(sum.value())
}

fn avg_over_time(points: &[Point]) -> Option<f64> {
    let first = points.first()?;
    let (mut sum, mut compensation) = (first.v, 0.0);
    let mut mean = 0.0;
    let mut incremental = false;
    let mut count = 1.0;
    for point in &points[1..] {
        count += 1.0;
        if !incremental {
            let (new_sum, new_compensation) = crate::kahan::add(point.v, sum, compensation);
            if !new_sum.is_infinite() {
                sum = new_sum;
                compensation = new_compensation;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            compensation /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, compensation) = crate::kahan::add(point.v / count, q * mean, q * compensation);
    }
    if incremental {
        return Some(mean + compensation);
    }
    Some((sum + compensation) / count)
}

fn min_over_time(points: &[Point]) -> Option<f64> {
    let mut min = points.first()?.v;
    for point in &points[1..] {
        if point.v < min || min.is_nan() {
            min = point.v;
        }
    }
    Some(min)
}

fn max_over_time(points: &[Point]) -> Option<f64> {
    let mut max = points.first()?.v;
    for point in &points[1..] {
        if point.v > max || max.is_nan() {
            max = point.v;
        }
    }
    Some(max)
}

fn ts_of_min(points: &[Point]) -> Option<f64> {
    let mut best = *points.first()?;
    for point in &points[1..] {
        if point.v <= best.v || best.v.is_nan() {
            best = *point;
        }
    }
    Some(best.t as f64 / 1000.0)
}

fn ts_of_max(points: &[Point]) -> Option<f64> {
    let mut best = *points.first()?;
    for point in &points[1..] {
        if point.v >= best.v || best.v.is_nan() {
            best = *point;
        }
    }
    Some(best.t as f64 / 1000.0)
}

/// Population variance: Welford's method with compensated mean and sum of squares.
fn variance(points: &[Point]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut mean_c, mut m2, mut m2_c) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for point in points {
        count += 1.0;
        let delta = point.v - (mean + mean_c);
        (mean, mean_c) = crate::kahan::add(delta / count, mean, mean_c);
        (m2, m2_c) = crate::kahan::add(delta * (point.v - (mean + mean_c)), m2, m2_c);
    }
    Some((m2 + m2_c) / count)
}

fn mad_over_time(points: &[Point]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let values: Vec<f64> = points.iter().map(|p| p.v).collect();
    if values.iter().any(|v| v.is_nan()) {
        return Some(f64::NAN);
    }
    let median = crate::engine::aggregate::quantile(0.5, values.clone());
    let deviations = values.iter().map(|v| (v - median).abs()).collect();
    Some(crate::engine::aggregate::quantile(0.5, deviations))
}

fn changes(points: &[Point]) -> Option<f64> {
    let first = points.first()?;
    let mut changes = 0.0;
    let mut previous = first.v;
    for point in &points[1..] {
        let current = point.v;
        if current != previous && !(current.is_nan() && previous.is_nan()) {
            changes += 1.0;
        }
        previous = current;
    }
    Some(changes)
}

fn resets(points: &[Point]) -> Option<f64> {
    let first = points.first()?;
    let mut resets = 0.0;
    let mut previous = first.v;
    for point in &points[1..] {
        if point.v < previous {
            resets += 1.0;
        }
        previous = point.v;
    }
    Some(resets)
}

/// Least-squares slope and intercept (at `intercept_time`) of the window's samples.
fn linear_regression(points: &[Point], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let mut init_y = 0.0;
    let mut constant_y = true;
    for (index, point) in points.iter().enumerate() {
        if index == 0 {
            init_y = point.v;
        } else if constant_y && point.v != init_y {
            constant_y = false;
        }
        n += 1.0;
        let x = (point.t - intercept_time) as f64 / 1000.0;
        (sum_x, c_x) = crate::kahan::add(x, sum_x, c_x);
        (sum_y, c_y) = crate::kahan::add(point.v, sum_y, c_y);
        (sum_xy, c_xy) = crate::kahan::add(x * point.v, sum_xy, c_xy);
        (sum_x2, c_x2) = crate::kahan::add(x * x, sum_x2, c_x2);
    }
    if constant_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let sum_x = sum_x + c_x;
    let sum_y = sum_y + c_y;
    let sum_xy = sum_xy + c_xy;
    let sum_x2 = sum_x2 + c_x2;
    let covariance_xy = sum_xy - sum_x * sum_y / n;
    let variance_x = sum_x2 - sum_x * sum_x / n;
    let slope = covariance_xy / variance_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

fn deriv(points: &[Point]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (slope, _) = linear_regression(points, points[0].t);
    Some(slope)
}

fn predict_linear(window: &Window<'_>, duration: f64) -> Option<f64> {
    if window.points.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(window.points, window.t);
    Some(slope * duration + intercept)
}

fn double_exponential_smoothing(points: &[Point], smoothing: f64, trend: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (mut previous, mut level) = (0.0, points[0].v);
    let mut slope = points[1].v - points[0].v;
    for (index, point) in points.iter().enumerate().skip(1) {
        if index > 1 {
            slope = trend * (level - previous) + (1.0 - trend) * slope;
        }
        let smoothed = smoothing * point.v + (1.0 - smoothing) * (level + slope);
        previous = level;
        level = smoothed;
    }
    Some(level)
}

/// `absent_over_time(v[r])`: 1 at the steps where no series has a sample in its window.
fn absent_over_time(ev: &mut Evaluator<'_>, range: &RangeVector, expr: &Expr) -> Val {
    let present = ev.over_windows(range, false, |_, _, _| Some(1.0));
    let mut covered = vec![false; ev.steps.len()];
    for series in &present {
        for point in &series.points {
            if let Some(slot) = covered.get_mut(ev.steps.index_of(point.t)) {
                *slot = true;
            }
        }
    }
    let labels = match unwrap_parens(expr) {
        Expr::MatrixSelector(matrix) => absent_labels(&matrix.vs),
        _ => Labels::empty(),
    };
    let points: Vec<Point> = ev
        .steps
        .iter()
        .zip(covered)
        .filter(|(_, covered)| !covered)
        .map(|(t, _)| Point { t, v: 1.0 })
        .collect();
    if points.is_empty() {
        return Val::Vector(Vec::new());
    }
    Val::Vector(vec![StepSeries {
        labels,
        drop_name: false,
        points,
    }])
}
