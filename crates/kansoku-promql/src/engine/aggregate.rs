//! Aggregation operators: `sum`, `avg`, `count`, `min`, `max`, `group`, `stddev`, `stdvar`,
//! `quantile`, `topk`, `bottomk`, `count_values`, `limitk` and `limit_ratio`, with `by` and
//! `without`.

use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, LabelModifier};

use crate::engine::eval::{Evaluator, SeriesCollector, StepSeries, Val, by_step};
use crate::error::{Error, Result};
use crate::kahan;
use crate::labels::{Labels, LabelsBuilder};
use crate::value::Point;

/// Evaluates an aggregation.
pub(crate) fn eval(ev: &mut Evaluator<'_>, aggregate: &AggregateExpr) -> Result<Val> {
    let op = aggregate.op.to_string().to_lowercase();
    let steps = ev.steps.len();
    let (scalar_param, label_param) = match (op.as_str(), &aggregate.param) {
        ("count_values", Some(param)) => (None, Some(ev.eval_string(param)?)),
        (_, Some(param)) => (Some(ev.eval_scalar(param)?), None),
        (_, None) => (None, None),
    };
    let input = ev.eval_vector(&aggregate.expr)?;
    let groups = Groups::new(&input, aggregate.modifier.as_ref());
    let samples = by_step(&ev.steps, &input);
    match op.as_str() {
        "topk" | "bottomk" | "limitk" | "limit_ratio" => {
            let params = scalar_param.unwrap_or_else(|| vec![f64::NAN; steps]);
            select_series(ev, &op, &input, &groups, &samples, &params)
        }
        "count_values" => {
            let label = label_param.unwrap_or_default();
            count_values(ev, &label, &input, &groups, &samples)
        }
        _ => {
            if op == "quantile"
                && let Some(params) = &scalar_param
            {
                warn_quantile_params(ev, params);
            }
            fold(ev, &op, &input, &groups, &samples, scalar_param.as_deref())
        }
    }
}

/// Prometheus' warnings for `quantile` parameters outside [0, 1], given once per query.
fn warn_quantile_params(ev: &mut Evaluator<'_>, params: &[f64]) {
    let warn = |ev: &mut Evaluator<'_>, q: f64| {
        ev.annotations.warn(format!(
            "quantile value should be between 0 and 1, got {}",
            crate::format::format_go_g(q)
        ));
    };
    if params.iter().any(|q| q.is_nan()) {
        warn(ev, f64::NAN);
    }
    let finite = params.iter().copied().filter(|q| !q.is_nan());
    let max = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let min = finite.fold(f64::INFINITY, f64::min);
    if max > 1.0 {
        warn(ev, max);
    }
    if min < 0.0 {
        warn(ev, min);
    }
}

/// The groups of the input series.
struct Groups {
    /// Group of each input series.
    of_series: Vec<usize>,
    /// Labels of each group.
    labels: Vec<Labels>,
}

impl Groups {
    fn new(input: &[StepSeries], modifier: Option<&LabelModifier>) -> Groups {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut labels = Vec::new();
        let of_series = input
            .iter()
            .map(|series| {
                let key = group_labels(&series.labels, modifier);
                *index.entry(key.clone()).or_insert_with(|| {
                    labels.push(key);
                    labels.len() - 1
                })
            })
            .collect();
        Groups { of_series, labels }
    }
}

/// The output labels of a series' group.
fn group_labels(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        None => Labels::empty(),
        Some(LabelModifier::Include(names)) => labels.keep(&names.labels),
        Some(LabelModifier::Exclude(names)) => labels.drop_with_name(&names.labels),
    }
}

/// One group's running state at one step.
#[derive(Debug, Clone, Default)]
struct Accumulator {
    count: f64,
    value: f64,
    compensation: f64,
    mean: f64,
    incremental_mean: bool,
    values: Vec<f64>,
    drop_name: bool,
}

fn fold(
    ev: &mut Evaluator<'_>,
    op: &str,
    input: &[StepSeries],
    groups: &Groups,
    samples: &[Vec<(usize, f64)>],
    params: Option<&[f64]>,
) -> Result<Val> {
    let mut out: Vec<StepSeries> = groups
        .labels
        .iter()
        .map(|labels| StepSeries {
            labels: labels.clone(),
            drop_name: false,
            points: Vec::new(),
        })
        .collect();
    let mut accumulators: Vec<Option<Accumulator>> = vec![None; groups.labels.len()];
    let mut touched: Vec<usize> = Vec::new();
    for (step, step_samples) in samples.iter().enumerate() {
        let t = ev.steps.at(step);
        for &(series, v) in step_samples {
            let group = groups.of_series[series];
            match &mut accumulators[group] {
                slot @ None => {
                    let mut accumulator = start(op, v);
                    accumulator.drop_name = input[series].drop_name;
                    *slot = Some(accumulator);
                    touched.push(group);
                }
                Some(accumulator) => {
                    accumulator.drop_name |= input[series].drop_name;
                    add(op, accumulator, v);
                }
            }
        }
        for &group in &touched {
            let Some(accumulator) = accumulators[group].take() else {
                continue;
            };
            let param = params
                .and_then(|p| p.get(step).copied())
                .unwrap_or(f64::NAN);
            out[group].drop_name |= accumulator.drop_name;
            let v = finish(op, accumulator, param)?;
            out[group].points.push(Point { t, v });
        }
        touched.clear();
    }
    out.retain(|series| !series.points.is_empty());
    let _ = ev;
    Ok(Val::Vector(out))
}

fn start(op: &str, v: f64) -> Accumulator {
    match op {
        "stddev" | "stdvar" => Accumulator {
            count: 1.0,
            mean: v,
            value: if v.is_finite() { 0.0 } else { f64::NAN },
            ..Accumulator::default()
        },
        "quantile" => Accumulator {
            count: 1.0,
            values: vec![v],
            ..Accumulator::default()
        },
        _ => Accumulator {
            count: 1.0,
            value: v,
            mean: v,
            ..Accumulator::default()
        },
    }
}

fn add(op: &str, accumulator: &mut Accumulator, v: f64) {
    match op {
        "sum" => {
            (accumulator.value, accumulator.compensation) =
                kahan::add(v, accumulator.value, accumulator.compensation);
        }
        "avg" => {
            accumulator.count += 1.0;
            if !accumulator.incremental_mean {
                let (sum, compensation) =
                    kahan::add(v, accumulator.value, accumulator.compensation);
                if !sum.is_infinite() {
                    accumulator.value = sum;
                    accumulator.compensation = compensation;
                    return;
                }
                accumulator.incremental_mean = true;
                accumulator.mean = accumulator.value / (accumulator.count - 1.0);
                accumulator.compensation /= accumulator.count - 1.0;
            }
            let q = (accumulator.count - 1.0) / accumulator.count;
            (accumulator.mean, accumulator.compensation) = kahan::add(
                v / accumulator.count,
                q * accumulator.mean,
                q * accumulator.compensation,
            );
        }
        "count" => accumulator.count += 1.0,
        "max" if accumulator.value < v || accumulator.value.is_nan() => accumulator.value = v,
        "min" if accumulator.value > v || accumulator.value.is_nan() => accumulator.value = v,
        "group" => {}
        "stddev" | "stdvar" => {
            accumulator.count += 1.0;
            let delta = v - accumulator.mean;
            accumulator.mean += delta / accumulator.count;
            accumulator.value += delta * (v - accumulator.mean);
        }
        "quantile" => {
            accumulator.count += 1.0;
            accumulator.values.push(v);
        }
        _ => {}
    }
}

fn finish(op: &str, accumulator: Accumulator, param: f64) -> Result<f64> {
    Ok(match op {
        "sum" => accumulator.value + accumulator.compensation,
        "avg" => {
            if accumulator.incremental_mean {
                accumulator.mean + accumulator.compensation
            } else {
                accumulator.value / accumulator.count + accumulator.compensation / accumulator.count
            }
        }
        "count" => accumulator.count,
        "max" | "min" => accumulator.value,
        "group" => 1.0,
        "stdvar" => accumulator.value / accumulator.count,
        "stddev" => (accumulator.value / accumulator.count).sqrt(),
        "quantile" => quantile(param, accumulator.values),
        other => {
            return Err(Error::BadData(format!("unknown aggregation {other}")));
        }
    })
}

/// Prometheus' `quantile`: linear interpolation between the closest ranks, `-Inf` below 0,
/// `+Inf` above 1, NaN for NaN or no values.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| nan_first(*a, *b));
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Ascending order with NaN first (Prometheus' value heap order).
pub(crate) fn nan_first(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// `topk`, `bottomk`, `limitk` and `limit_ratio`: whole input series selected per step.
fn select_series(
    ev: &mut Evaluator<'_>,
    op: &str,
    input: &[StepSeries],
    groups: &Groups,
    samples: &[Vec<(usize, f64)>],
    params: &[f64],
) -> Result<Val> {
    let mut outputs: HashMap<usize, StepSeries> = HashMap::new();
    let mut order: Vec<usize> = Vec::new();
    let instant = ev.is_instant();
    let finite = params.iter().copied().filter(|p| !p.is_nan());
    let max = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let min = finite.fold(f64::INFINITY, f64::min);
    let has_nan = params.iter().any(|p| p.is_nan());
    if op == "limit_ratio" {
        if max == 0.0 && min == 0.0 && !has_nan {
            return Ok(Val::Vector(Vec::new()));
        }
        if has_nan {
            return Err(Error::Execution("Ratio value is NaN".to_string()));
        }
        if max > 1.0 {
            ev.annotations.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to 1",
                crate::format::format_go_g(max)
            ));
        }
        if min < -1.0 {
            ev.annotations.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to -1",
                crate::format::format_go_g(min)
            ));
        }
    } else {
        if max < 1.0 && !has_nan {
            return Ok(Val::Vector(Vec::new()));
        }
        if has_nan {
            return Err(Error::Execution("Parameter value is NaN".to_string()));
        }
        if min <= -9.223_372_036_854_776e18 {
            return Err(Error::Execution(format!(
                "Scalar value {} underflows int64",
                crate::format::format_go_g(min)
            )));
        }
        if max >= 9.223_372_036_854_775e18 {
            return Err(Error::Execution(format!(
                "Scalar value {} overflows int64",
                crate::format::format_go_g(max)
            )));
        }
    }
    for (step, step_samples) in samples.iter().enumerate() {
        if step_samples.is_empty() {
            continue;
        }
        let t = ev.steps.at(step);
        let param = params.get(step).copied().unwrap_or(f64::NAN);
        let mut members: Vec<Vec<(usize, f64)>> = vec![Vec::new(); groups.labels.len()];
        let mut group_order = Vec::new();
        for &(series, v) in step_samples {
            let group = groups.of_series[series];
            if members[group].is_empty() {
                group_order.push(group);
            }
            members[group].push((series, v));
        }
        let ratio = param.clamp(-1.0, 1.0);
        if op == "limit_ratio" && param == 0.0 {
            continue;
        }
        let k = if param < 1.0 {
            0
        } else {
            (param as usize).min(input.len())
        };
        for group in group_order {
            let mut chosen = std::mem::take(&mut members[group]);
            match op {
                "topk" => {
                    chosen.sort_by(|a, b| nan_last_descending(a.1, b.1));
                    chosen.truncate(k);
                }
                "bottomk" => {
                    chosen.sort_by(|a, b| nan_last(a.1, b.1));
                    chosen.truncate(k);
                }
                "limitk" => chosen.truncate(k),
                _ => chosen.retain(|(series, _)| ratio_admits(ratio, &input[*series].labels)),
            }
            for (series, v) in chosen {
                let entry = outputs.entry(series).or_insert_with(|| {
                    order.push(series);
                    StepSeries {
                        labels: input[series].labels.clone(),
                        drop_name: input[series].drop_name,
                        points: Vec::new(),
                    }
                });
                entry.points.push(Point { t, v });
            }
        }
    }
    let mut out: Vec<StepSeries> = order
        .into_iter()
        .filter_map(|series| outputs.remove(&series))
        .collect();
    if !instant {
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    Ok(Val::Vector(out))
}

/// Descending order with NaN last.
fn nan_last_descending(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// Ascending order with NaN last.
fn nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// Whether `limit_ratio(ratio, …)` keeps the series `labels`: its label hash, as a fraction of
/// the hash space, below `ratio` (or, for a negative ratio, at or above `1 + ratio`).
fn ratio_admits(ratio: f64, labels: &Labels) -> bool {
    let offset = crate::hash::labels_hash(labels) as f64 / u64::MAX as f64;
    if ratio >= 0.0 {
        offset < ratio
    } else {
        offset >= 1.0 + ratio
    }
}

/// `count_values("label", v)`: per group and distinct value, how many series have it.
fn count_values(
    ev: &mut Evaluator<'_>,
    label: &str,
    input: &[StepSeries],
    groups: &Groups,
    samples: &[Vec<(usize, f64)>],
) -> Result<Val> {
    if !is_valid_label_name(label) {
        return Err(Error::Execution(format!("invalid label name {label:?}")));
    }
    let _ = input;
    let mut collector = SeriesCollector::new();
    for (step, step_samples) in samples.iter().enumerate() {
        let t = ev.steps.at(step);
        let mut counts: Vec<(Labels, f64)> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for &(series, v) in step_samples {
            let group = groups.of_series[series];
            let mut builder = LabelsBuilder::new(&groups.labels[group]);
            builder.set(label, &crate::format::format_plain(v));
            let labels = builder.build();
            match index.get(&labels) {
                Some(&at) => counts[at].1 += 1.0,
                None => {
                    index.insert(labels.clone(), counts.len());
                    counts.push((labels, 1.0));
                }
            }
        }
        for (labels, count) in counts {
            collector.push(labels, false, Point { t, v: count })?;
        }
    }
    Ok(Val::Vector(collector.finish()))
}

/// A label name Prometheus accepts (any non-empty UTF-8 in Prometheus 3).
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}
