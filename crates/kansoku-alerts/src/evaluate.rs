//! Evaluating an alert: its queries over its window (or over one ingested batch for real-time
//! alerts), the value compared with the threshold.

use arrow::array::RecordBatch;
use kansoku_core::{OrgId, StreamName, StreamType};
use kansoku_query::{QueryEngine, SearchRequest};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{Alert, RuleKind, compare};
use crate::sql;

/// Rows kept for `{rows}`.
pub const MAX_ROWS: usize = 100;

/// What an evaluation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Whether the trigger condition holds.
    pub fired: bool,
    /// Matching records, groups when aggregated, new values for `new_term` alerts.
    pub count: u64,
    /// The number compared with the threshold: `count`, or for `spike` alerts the ratio of
    /// `count` to `previous`.
    pub value: f64,
    /// `spike` alerts: the count of the period before.
    pub previous: Option<u64>,
    /// The largest aggregate value among the groups (aggregated alerts).
    pub agg_value: Option<f64>,
    /// Up to [`MAX_ROWS`] result rows.
    pub rows: Vec<Map<String, Value>>,
    /// The window, µs: `[start, end)`.
    pub window: (i64, i64),
}

impl Evaluation {
    /// An evaluation that compared `count` with the alert's threshold.
    pub fn counted(
        alert: &Alert,
        count: u64,
        rows: Vec<Map<String, Value>>,
        window: (i64, i64),
    ) -> Evaluation {
        let trigger = &alert.trigger_condition;
        Evaluation {
            fired: compare(count as f64, &trigger.operator, trigger.threshold),
            count,
            value: count as f64,
            previous: None,
            agg_value: None,
            rows,
            window,
        }
    }

    /// The compared value as JSON: whole numbers stay integers (10, not 10.0).
    pub fn value_json(&self) -> Value {
        if self.value.fract() == 0.0 && self.value.abs() < 9e15 {
            Value::from(self.value as i64)
        } else {
            Value::from(self.value)
        }
    }

    /// What was compared, as JSON (history entries and the preview endpoint).
    pub fn detail(&self, alert: &Alert) -> Value {
        let mut detail = serde_json::json!({
            "value": self.value_json(),
            "count": self.count,
            "agg_value": self.agg_value,
            "operator": alert.trigger_condition.operator,
            "threshold": alert.trigger_condition.threshold,
            "start_time": self.window.0,
            "end_time": self.window.1,
        });
        if let (Some(previous), Value::Object(map)) = (self.previous, &mut detail) {
            map.insert("previous".to_string(), previous.into());
        }
        detail
    }
}

fn stream_type_of(alert: &Alert) -> Result<StreamType> {
    StreamType::parse(alert.stream_type_name()).map_err(|e| Error::Invalid(e.to_string()))
}

fn parse_rows(json: &str) -> Vec<Map<String, Value>> {
    match serde_json::from_str::<Vec<Value>>(json) {
        Ok(values) => values
            .into_iter()
            .filter_map(|value| match value {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn agg_value(rows: &[Map<String, Value>]) -> Option<f64> {
    rows.iter()
        .filter_map(|row| row.get("alert_agg_value").and_then(Value::as_f64))
        .reduce(f64::max)
}

/// Runs `queries` over `window`: the count, and the rows when there are any. A stream that does
/// not exist (yet, or any more) has no records: that is a count of 0, not an error.
async fn count_and_rows(
    engine: &QueryEngine,
    org: &OrgId,
    alert: &Alert,
    queries: &sql::AlertQueries,
    window: (i64, i64),
    search_from: i64,
    with_rows: bool,
) -> Result<(u64, Vec<Map<String, Value>>)> {
    let stream_type = stream_type_of(alert)?;
    let request = |sql: String, size: usize| SearchRequest {
        sql,
        start_time: search_from,
        end_time: window.1,
        from: 0,
        size,
        track_total_hits: false,
    };
    let counted = match engine
        .search(org, stream_type, &request(queries.count.clone(), 1))
        .await
    {
        Ok(counted) => counted,
        Err(kansoku_query::Error::StreamNotFound(_)) => return Ok((0, Vec::new())),
        Err(error) => return Err(error.into()),
    };
    let count = parse_rows(&counted.hits_json)
        .first()
        .and_then(|row| row.get("alert_count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if count == 0 || !with_rows {
        return Ok((count, Vec::new()));
    }
    let found = engine
        .search(org, stream_type, &request(queries.rows.clone(), MAX_ROWS))
        .await?;
    Ok((count, parse_rows(&found.hits_json)))
}

/// How a PromQL alert reads metrics.
pub struct Promql<'a> {
    /// The metrics store.
    pub metrics: &'a kansoku_metrics::MetricsStore,
    /// The engine.
    pub engine: &'a kansoku_promql::Engine,
}

/// Evaluates a PromQL alert: its expression at `now`; every series whose value passes
/// `promql_condition` is a row (its labels and `value`), and the number of rows is compared
/// with the threshold.
pub async fn promql(
    promql: &Promql<'_>,
    org: &OrgId,
    alert: &Alert,
    now: i64,
) -> Result<Evaluation> {
    let expr = alert.query_condition.promql.as_deref().unwrap_or_default();
    let source = promql
        .metrics
        .org(org)
        .await
        .map_err(kansoku_promql::Error::from)?;
    let result = promql.engine.instant(&source, expr, now / 1000).await?;
    let samples: Vec<(kansoku_promql::Labels, f64)> = match result.value {
        kansoku_promql::QueryValue::Vector(samples) => samples
            .into_iter()
            .map(|sample| (sample.labels, sample.point.v))
            .collect(),
        kansoku_promql::QueryValue::Scalar(point) => {
            vec![(kansoku_promql::Labels::empty(), point.v)]
        }
        other => {
            return Err(Error::Invalid(format!(
                "query_condition.promql must give an instant vector or a scalar, not a {}",
                other.result_type()
            )));
        }
    };
    let passes = |value: f64| match &alert.query_condition.promql_condition {
        None => true,
        Some(condition) => condition
            .value
            .as_f64()
            .is_some_and(|threshold| compare(value, &condition.operator, threshold)),
    };
    let mut rows = Vec::new();
    let mut count = 0u64;
    let mut largest: Option<f64> = None;
    for (labels, value) in samples {
        if !passes(value) {
            continue;
        }
        count += 1;
        largest = Some(largest.map_or(value, |l| l.max(value)));
        if rows.len() < MAX_ROWS {
            let mut row = Map::new();
            for (name, label_value) in labels.to_pairs() {
                row.insert(name, Value::String(label_value));
            }
            let json_value = if value.is_finite() && value.fract() == 0.0 && value.abs() < 9e15 {
                Value::from(value as i64)
            } else {
                serde_json::Number::from_f64(value)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(kansoku_promql::format::format_value(value)))
            };
            row.insert("value".to_string(), json_value);
            rows.push(row);
        }
    }
    let mut evaluation = Evaluation::counted(alert, count, rows, (now, now));
    evaluation.agg_value = largest.filter(|v| v.is_finite());
    Ok(evaluation)
}

/// Evaluates a scheduled alert over `window` (µs, `[start, end)`; see `Alert::window_due_at`).
pub async fn scheduled(
    engine: &QueryEngine,
    org: &OrgId,
    alert: &Alert,
    window: (i64, i64),
) -> Result<Evaluation> {
    match alert.kind() {
        RuleKind::Spike => spike(engine, org, alert, window).await,
        RuleKind::NewTerm => {
            let queries = sql::new_term_queries(alert, window.0)?;
            let known_from = window.0 - Alert::micros(alert.trigger_condition.term_window);
            let (count, rows) =
                count_and_rows(engine, org, alert, &queries, window, known_from, true).await?;
            Ok(Evaluation::counted(alert, count, rows, window))
        }
        RuleKind::Threshold | RuleKind::Unknown => {
            let queries = sql::queries(alert)?;
            let (count, rows) =
                count_and_rows(engine, org, alert, &queries, window, window.0, true).await?;
            let mut evaluation = Evaluation::counted(alert, count, rows, window);
            if queries.aggregated {
                evaluation.agg_value = agg_value(&evaluation.rows);
            }
            Ok(evaluation)
        }
    }
}

/// A spike: the period's count over the count of the period before it.
async fn spike(
    engine: &QueryEngine,
    org: &OrgId,
    alert: &Alert,
    window: (i64, i64),
) -> Result<Evaluation> {
    let queries = sql::queries(alert)?;
    let (count, rows) =
        count_and_rows(engine, org, alert, &queries, window, window.0, true).await?;
    let before = (2 * window.0 - window.1, window.0);
    let (previous, _) =
        count_and_rows(engine, org, alert, &queries, before, before.0, false).await?;
    let trigger = &alert.trigger_condition;
    let value = if previous == 0 {
        if count == 0 { 0.0 } else { f64::INFINITY }
    } else {
        count as f64 / previous as f64
    };
    let judged = previous as f64 >= trigger.min_previous;
    Ok(Evaluation {
        fired: judged && compare(value, &trigger.operator, trigger.threshold),
        count,
        // JSON has no infinity: a rise from nothing is shown as the count itself.
        value: if value.is_finite() {
            value
        } else {
            count as f64
        },
        previous: Some(previous),
        agg_value: None,
        rows,
        window,
    })
}

/// Evaluates a real-time alert over one acknowledged batch of its stream.
pub async fn real_time(
    engine: &QueryEngine,
    org: &OrgId,
    alert: &Alert,
    batches: &[RecordBatch],
    now: i64,
) -> Result<Evaluation> {
    let queries = sql::queries(alert)?;
    let stream_type = stream_type_of(alert)?;
    let stream =
        StreamName::normalise(&alert.stream_name).map_err(|e| Error::Invalid(e.to_string()))?;
    let found = engine
        .run_over_batches(org, stream_type, &stream, &queries.rows, batches)
        .await?;
    let count: usize = found.iter().map(RecordBatch::num_rows).sum();
    let rows = if count == 0 {
        Vec::new()
    } else {
        let limited: Vec<RecordBatch> = found
            .iter()
            .map(|batch| batch.slice(0, batch.num_rows().min(MAX_ROWS)))
            .collect();
        kansoku_query::engine::batches_to_json(&limited)
            .map(|json| parse_rows(&json))
            .unwrap_or_default()
            .into_iter()
            .take(MAX_ROWS)
            .collect()
    };
    Ok(Evaluation::counted(alert, count as u64, rows, (now, now)))
}
