//! Binary operators: arithmetic, comparisons (filtering or with `bool`), `and`/`or`/`unless`,
//! and vector matching with `on`/`ignoring` and `group_left`/`group_right`.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::engine::eval::{Evaluator, SeriesCollector, StepSeries, Val, by_step};
use crate::error::{Error, Result};
use crate::labels::{Labels, LabelsBuilder};
use crate::value::Point;

/// The operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(text: &str) -> Result<Op> {
        Ok(match text {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            other => return Err(Error::BadData(format!("unknown binary operator {other:?}"))),
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Arithmetic drops the metric name; comparisons and set operators keep it.
    fn drops_name(self) -> bool {
        !self.is_comparison() && !self.is_set()
    }
}

/// The value of `left op right`, and whether a comparison holds (always true for arithmetic).
fn apply(op: Op, left: f64, right: f64) -> (f64, bool) {
    match op {
        Op::Add => (left + right, true),
        Op::Sub => (left - right, true),
        Op::Mul => (left * right, true),
        Op::Div => (left / right, true),
        Op::Mod => (left % right, true),
        Op::Pow => (left.powf(right), true),
        Op::Atan2 => (left.atan2(right), true),
        Op::Eq => (left, left == right),
        Op::Ne => (left, left != right),
        Op::Gt => (left, left > right),
        Op::Lt => (left, left < right),
        Op::Ge => (left, left >= right),
        Op::Le => (left, left <= right),
        Op::And | Op::Or | Op::Unless => (left, true),
    }
}

/// How two vectors are matched.
struct Matching<'m> {
    card: &'m VectorMatchCardinality,
    /// `on (…)` labels, or `None` for `ignoring (…)` / no modifier.
    on: Option<&'m [String]>,
    ignoring: &'m [String],
    /// `group_left (…)` / `group_right (…)` labels copied from the "one" side.
    include: &'m [String],
}

impl<'m> Matching<'m> {
    fn new(expr: &'m BinaryExpr) -> Matching<'m> {
        const NONE: &[String] = &[];
        static ONE_TO_ONE: VectorMatchCardinality = VectorMatchCardinality::OneToOne;
        let Some(modifier) = &expr.modifier else {
            return Matching {
                card: &ONE_TO_ONE,
                on: None,
                ignoring: NONE,
                include: NONE,
            };
        };
        let (on, ignoring) = match &modifier.matching {
            Some(LabelModifier::Include(labels)) => (Some(labels.labels.as_slice()), NONE),
            Some(LabelModifier::Exclude(labels)) => (None, labels.labels.as_slice()),
            None => (None, NONE),
        };
        let include = match &modifier.card {
            VectorMatchCardinality::ManyToOne(labels)
            | VectorMatchCardinality::OneToMany(labels) => labels.labels.as_slice(),
            _ => NONE,
        };
        Matching {
            card: &modifier.card,
            on,
            ignoring,
            include,
        }
    }

    /// The labels two series are matched on.
    fn signature(&self, series: &StepSeries) -> Labels {
        match self.on {
            Some(on) => series.labels.keep(on),
            None => series.labels.drop_with_name(self.ignoring),
        }
    }

    fn one_to_many(&self) -> bool {
        matches!(self.card, VectorMatchCardinality::OneToMany(_))
    }

    fn one_to_one(&self) -> bool {
        matches!(self.card, VectorMatchCardinality::OneToOne)
    }
}

/// Evaluates a binary expression.
pub(crate) fn eval(ev: &mut Evaluator<'_>, expr: &BinaryExpr) -> Result<Val> {
    let op = Op::parse(&expr.op.to_string().to_lowercase())?;
    let return_bool = expr.modifier.as_ref().is_some_and(|m| m.return_bool);
    let left = ev.eval(&expr.lhs)?;
    let right = ev.eval(&expr.rhs)?;
    match (left, right) {
        (Val::Scalar(left), Val::Scalar(right)) => Ok(Val::Scalar(
            left.iter()
                .zip(&right)
                .map(|(l, r)| {
                    let (value, holds) = apply(op, *l, *r);
                    if op.is_comparison() {
                        f64::from(u8::from(holds))
                    } else {
                        value
                    }
                })
                .collect(),
        )),
        (Val::Vector(vector), Val::Scalar(scalar)) => Ok(Val::Vector(vector_scalar(
            ev,
            op,
            vector,
            &scalar,
            false,
            return_bool,
        ))),
        (Val::Scalar(scalar), Val::Vector(vector)) => Ok(Val::Vector(vector_scalar(
            ev,
            op,
            vector,
            &scalar,
            true,
            return_bool,
        ))),
        (Val::Vector(left), Val::Vector(right)) => {
            let matching = Matching::new(expr);
            if op.is_set() {
                return set_operation(ev, op, left, right, &matching);
            }
            vector_vector(ev, op, &left, &right, &matching, return_bool)
        }
        (left, right) => Err(Error::BadData(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            left.type_name(),
            right.type_name()
        ))),
    }
}

fn vector_scalar(
    ev: &Evaluator<'_>,
    op: Op,
    vector: Vec<StepSeries>,
    scalar: &[f64],
    scalar_on_left: bool,
    return_bool: bool,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(vector.len());
    for mut series in vector {
        let mut points = Vec::with_capacity(series.points.len());
        for point in &series.points {
            let Some(&s) = scalar.get(ev.steps.index_of(point.t)) else {
                continue;
            };
            let (left, right) = if scalar_on_left {
                (s, point.v)
            } else {
                (point.v, s)
            };
            let (mut value, holds) = apply(op, left, right);
            if op.is_comparison() && scalar_on_left {
                value = right;
            }
            if return_bool {
                value = f64::from(u8::from(holds));
            } else if !holds {
                continue;
            }
            points.push(Point {
                t: point.t,
                v: value,
            });
        }
        if points.is_empty() {
            continue;
        }
        series.points = points;
        series.drop_name |= op.drops_name() || return_bool;
        out.push(series);
    }
    out
}

/// Interns signatures as small ids.
fn signature_ids(
    series: &[StepSeries],
    matching: &Matching<'_>,
    ids: &mut HashMap<Labels, usize>,
    names: &mut Vec<Labels>,
) -> Vec<usize> {
    series
        .iter()
        .map(|s| {
            let signature = matching.signature(s);
            *ids.entry(signature.clone()).or_insert_with(|| {
                names.push(signature);
                names.len() - 1
            })
        })
        .collect()
}

fn set_operation(
    ev: &mut Evaluator<'_>,
    op: Op,
    left: Vec<StepSeries>,
    right: Vec<StepSeries>,
    matching: &Matching<'_>,
) -> Result<Val> {
    let mut ids = HashMap::new();
    let mut names = Vec::new();
    let left_ids = signature_ids(&left, matching, &mut ids, &mut names);
    let right_ids = signature_ids(&right, matching, &mut ids, &mut names);
    let left_steps = by_step(&ev.steps, &left);
    let right_steps = by_step(&ev.steps, &right);
    let mut collector = SeriesCollector::new();
    let mut present: HashSet<usize> = HashSet::new();
    for step in 0..ev.steps.len() {
        let t = ev.steps.at(step);
        present.clear();
        match op {
            Op::And | Op::Unless => {
                for &(series, _) in &right_steps[step] {
                    present.insert(right_ids[series]);
                }
                for &(series, v) in &left_steps[step] {
                    let matched = present.contains(&left_ids[series]);
                    if matched == (op == Op::And) {
                        let s = &left[series];
                        collector.push(s.labels.clone(), s.drop_name, Point { t, v })?;
                    }
                }
            }
            _ => {
                for &(series, v) in &left_steps[step] {
                    present.insert(left_ids[series]);
                    let s = &left[series];
                    collector.push(s.labels.clone(), s.drop_name, Point { t, v })?;
                }
                for &(series, v) in &right_steps[step] {
                    if !present.contains(&right_ids[series]) {
                        let s = &right[series];
                        collector.push(s.labels.clone(), s.drop_name, Point { t, v })?;
                    }
                }
            }
        }
    }
    Ok(Val::Vector(collector.finish()))
}

fn vector_vector(
    ev: &mut Evaluator<'_>,
    op: Op,
    left: &[StepSeries],
    right: &[StepSeries],
    matching: &Matching<'_>,
    return_bool: bool,
) -> Result<Val> {
    // The "one" side is always `one`, the side with many series per match group `many`.
    let swapped = matching.one_to_many();
    let (many, one) = if swapped {
        (right, left)
    } else {
        (left, right)
    };
    let mut ids = HashMap::new();
    let mut names = Vec::new();
    let many_ids = signature_ids(many, matching, &mut ids, &mut names);
    let one_ids = signature_ids(one, matching, &mut ids, &mut names);
    let many_steps = by_step(&ev.steps, many);
    let one_steps = by_step(&ev.steps, one);
    let mut collector = SeriesCollector::new();
    let mut result_labels: HashMap<(usize, usize), Labels> = HashMap::new();
    let mut one_by_signature: HashMap<usize, (usize, f64)> = HashMap::new();
    let mut matched: HashMap<usize, HashSet<Labels>> = HashMap::new();
    for step in 0..ev.steps.len() {
        let t = ev.steps.at(step);
        if many_steps[step].is_empty() || one_steps[step].is_empty() {
            continue;
        }
        one_by_signature.clear();
        matched.clear();
        for &(series, v) in &one_steps[step] {
            let signature = one_ids[series];
            if let Some(&(previous, _)) = one_by_signature.get(&signature) {
                let side = if swapped { "left" } else { "right" };
                return Err(Error::Execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    names[signature], one[series].labels, one[previous].labels
                )));
            }
            one_by_signature.insert(signature, (series, v));
        }
        for &(series, v) in &many_steps[step] {
            let signature = many_ids[series];
            let Some(&(other, other_v)) = one_by_signature.get(&signature) else {
                continue;
            };
            let (l, r) = if swapped { (other_v, v) } else { (v, other_v) };
            let (mut value, holds) = apply(op, l, r);
            let labels = result_labels
                .entry((series, other))
                .or_insert_with(|| result_metric(op, &many[series], &one[other], matching))
                .clone();
            let group = matched.entry(signature);
            if matching.one_to_one() {
                if let std::collections::hash_map::Entry::Occupied(_) = group {
                    return Err(Error::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .to_string(),
                    ));
                }
                group.or_default();
            } else if !group.or_default().insert(labels.clone()) {
                return Err(Error::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .to_string(),
                ));
            }
            if return_bool {
                value = f64::from(u8::from(holds));
            } else if !holds {
                continue;
            }
            let drop_name = many[series].drop_name || return_bool;
            collector.push(labels, drop_name, Point { t, v: value })?;
        }
    }
    Ok(Val::Vector(collector.finish()))
}

/// The labels of a result element: the "many" side's (without the metric name for arithmetic,
/// which drops it at once even under delayed name removal), reduced to the matching labels for
/// one-to-one `on`, without the ignored labels for one-to-one `ignoring`, plus the `group_x`
/// labels taken from the "one" side.
fn result_metric(op: Op, many: &StepSeries, one: &StepSeries, matching: &Matching<'_>) -> Labels {
    let base = if op.drops_name() {
        many.labels.without_metric_name()
    } else {
        many.labels.clone()
    };
    let base = if matching.one_to_one() {
        match matching.on {
            Some(on) => base.keep(on),
            None => base.drop(matching.ignoring),
        }
    } else {
        base
    };
    if matching.include.is_empty() {
        return base;
    }
    let mut builder = LabelsBuilder::new(&base);
    for name in matching.include {
        builder.set(name, one.labels.get(name));
    }
    builder.build()
}
