//! Classic histograms (`_bucket` series with an `le` label): `histogram_quantile` and
//! `histogram_fraction`. The native-histogram functions (`histogram_count`, `histogram_sum`,
//! `histogram_avg`, `histogram_stddev`, `histogram_stdvar`) ignore float samples, so over the
//! float series kansoku stores they return nothing, as in Prometheus.

use std::collections::HashMap;

use promql_parser::parser::Expr;

use crate::engine::eval::{Evaluator, SeriesCollector, StepSeries, Val, by_step};
use crate::error::Result;
use crate::functions::arg;
use crate::labels::Labels;
use crate::value::Point;

/// Relative tolerance under which two bucket counts are taken as equal.
const SMALL_DELTA: f64 = 1e-12;

/// Evaluates `name` if it is one of this module's functions.
pub(crate) fn call(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr]) -> Result<Option<Val>> {
    let val = match name {
        "histogram_quantile" => {
            let quantiles = ev.eval_scalar(arg(args, 0, name)?)?;
            let input = ev.eval_vector(arg(args, 1, name)?)?;
            if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                ev.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    crate::format::format_go_g(*q)
                ));
            }
            classic(ev, &input, |ev, step, buckets, name| {
                quantile_with_info(
                    ev,
                    quantiles.get(step).copied().unwrap_or(f64::NAN),
                    buckets,
                    name,
                )
            })?
        }
        "histogram_quantiles" => {
            let input = ev.eval_vector(arg(args, 0, name)?)?;
            let label = ev.eval_string(arg(args, 1, name)?)?;
            let mut quantiles = Vec::new();
            for expr in args.iter().skip(2) {
                quantiles.push(ev.eval_scalar(expr)?);
            }
            let mut out = Vec::new();
            for values in &quantiles {
                if let Some(q) = values.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                    ev.annotations.warn(format!(
                        "quantile value should be between 0 and 1, got {}",
                        crate::format::format_go_g(*q)
                    ));
                }
                let Val::Vector(series) = classic(ev, &input, |ev, step, buckets, name| {
                    quantile_with_info(
                        ev,
                        values.get(step).copied().unwrap_or(f64::NAN),
                        buckets,
                        name,
                    )
                })?
                else {
                    continue;
                };
                for mut s in series {
                    let q = values.first().copied().unwrap_or(f64::NAN);
                    let mut builder = crate::labels::LabelsBuilder::new(&s.labels);
                    builder.set(&label, &open_metrics_float(q));
                    s.labels = builder.build();
                    out.push(s);
                }
            }
            Val::Vector(crate::engine::eval::merge_same_labels(out)?)
        }
        "histogram_fraction" => {
            let lower = ev.eval_scalar(arg(args, 0, name)?)?;
            let upper = ev.eval_scalar(arg(args, 1, name)?)?;
            let input = ev.eval_vector(arg(args, 2, name)?)?;
            classic(ev, &input, |_, step, buckets, _| {
                let low = lower.get(step).copied().unwrap_or(f64::NAN);
                let high = upper.get(step).copied().unwrap_or(f64::NAN);
                bucket_fraction(low, high, buckets)
            })?
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            ev.eval_vector(arg(args, 0, name)?)?;
            Val::Vector(Vec::new())
        }
        _ => return Ok(None),
    };
    Ok(Some(val))
}

fn quantile_with_info(
    ev: &mut Evaluator<'_>,
    q: f64,
    buckets: &mut Vec<Bucket>,
    name: &str,
) -> f64 {
    let (value, forced) = bucket_quantile(q, buckets);
    if forced {
        ev.annotations.info(format!(
            "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){}",
            name_suffix(name)
        ));
    }
    value
}

/// A float as OpenMetrics writes it: Go's shortest `%g`, with `.0` added to integers.
fn open_metrics_float(value: f64) -> String {
    let text = crate::format::format_go_g(value);
    if value.is_finite() && !text.contains(['.', 'e']) {
        return format!("{text}.0");
    }
    text
}

fn name_suffix(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" for metric name {name:?}")
    }
}

/// One bucket: its upper bound and cumulative count.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    upper: f64,
    count: f64,
}

/// Groups the `le` series of `input` per step by their other labels and computes one value
/// per group with `f(step, buckets, metric name)`.
fn classic(
    ev: &mut Evaluator<'_>,
    input: &[StepSeries],
    mut f: impl FnMut(&mut Evaluator<'_>, usize, &mut Vec<Bucket>, &str) -> f64,
) -> Result<Val> {
    let mut bounds: Vec<Option<f64>> = Vec::with_capacity(input.len());
    let mut group_of = Vec::with_capacity(input.len());
    let mut groups: Vec<Labels> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for series in input {
        let le = series.labels.get("le");
        let bound = parse_bound(le);
        if bound.is_none() {
            ev.annotations.warn(format!(
                "bucket label \"le\" is missing or has a malformed value of {le:?}{}",
                name_suffix(series.labels.metric_name())
            ));
        }
        bounds.push(bound);
        let key = series.labels.drop(&["le".to_string()]);
        let group = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(key);
            groups.len() - 1
        });
        group_of.push(group);
    }
    let samples = by_step(&ev.steps, input);
    let mut collector = SeriesCollector::new();
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); groups.len()];
    for (step, step_samples) in samples.iter().enumerate() {
        let t = ev.steps.at(step);
        let mut order = Vec::new();
        for &(series, v) in step_samples {
            let Some(upper) = bounds[series] else {
                continue;
            };
            let group = group_of[series];
            if buckets[group].is_empty() {
                order.push(group);
            }
            buckets[group].push(Bucket { upper, count: v });
        }
        for group in order {
            let mut group_buckets = std::mem::take(&mut buckets[group]);
            let name = groups[group].metric_name().to_string();
            let v = f(ev, step, &mut group_buckets, &name);
            collector.push(groups[group].clone(), true, Point { t, v })?;
        }
    }
    Ok(Val::Vector(collector.finish()))
}

/// An `le` value as Go's `ParseFloat` reads it.
fn parse_bound(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if trimmed.is_empty() {
        return None;
    }
    trimmed.parse().ok()
}

/// Sorts by bound, merges equal bounds and forces the counts to be monotonic; returns whether
/// a count had to be raised (beyond rounding noise).
fn prepare(buckets: &mut Vec<Bucket>) -> bool {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for bucket in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == bucket.upper => last.count += bucket.count,
            _ => merged.push(*bucket),
        }
    }
    *buckets = merged;
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut previous = first.count;
    for bucket in buckets.iter_mut().skip(1) {
        let current = bucket.count;
        if current == previous {
            continue;
        }
        if crate::value::almost_equal_within(previous, current, SMALL_DELTA) {
            bucket.count = previous;
            continue;
        }
        if current < previous {
            bucket.count = previous;
            forced = true;
            continue;
        }
        previous = current;
    }
    forced
}

/// The `q`-quantile of a classic histogram, and whether the buckets had to be fixed for
/// monotonicity.
fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return (f64::NAN, false);
    }
    let forced = prepare(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * total;
    let last = buckets.len() - 1;
    let index = buckets[..last]
        .iter()
        .position(|b| b.count >= rank)
        .unwrap_or(last);
    if index == last {
        return (buckets[last - 1].upper, forced);
    }
    if index == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let (start, below) = if index > 0 {
        (buckets[index - 1].upper, buckets[index - 1].count)
    } else {
        (0.0, 0.0)
    };
    let count = buckets[index].count - below;
    rank -= below;
    (
        start + (buckets[index].upper - start) * (rank / count),
        forced,
    )
}

/// The fraction of observations between `lower` and `upper` in a classic histogram.
fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return f64::NAN;
    }
    prepare(buckets);
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut rank = 0.0;
    let mut lower_rank: Option<f64> = None;
    let mut upper_rank: Option<f64> = None;
    let mut lower_bound = if buckets[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (index, bucket) in buckets.iter().enumerate() {
        if index > 0 {
            lower_bound = buckets[index - 1].upper;
        }
        let interpolate = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                bucket.count
            } else {
                rank + (bucket.count - rank) * (v - lower_bound) / (bucket.upper - lower_bound)
            }
        };
        if lower_rank.is_none() && lower_bound >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && lower_bound >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && lower_bound < lower && lower < bucket.upper {
            lower_rank = Some(interpolate(lower));
        }
        if upper_rank.is_none() && lower_bound < upper && upper < bucket.upper {
            upper_rank = Some(interpolate(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank = bucket.count;
    }
    let lower_rank = lower_rank.filter(|r| *r <= total).unwrap_or(total);
    let upper_rank = upper_rank.filter(|r| *r <= total).unwrap_or(total);
    (upper_rank - lower_rank) / total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let mut b = buckets(&[
            (0.1, 2.0),
            (1.0, 1.0),
            (10.0, 5.0),
            (100.0, 4.0),
            (1000.0, 9.0),
            (f64::INFINITY, 8.0),
        ]);
        let (value, forced) = bucket_quantile(0.5, &mut b);
        assert!(forced);
        assert!((value - 8.5).abs() < 1e-9, "{value}");
        let mut no_inf = buckets(&[(1.0, 1.0), (2.0, 2.0)]);
        assert!(bucket_quantile(0.5, &mut no_inf).0.is_nan());
    }
}
