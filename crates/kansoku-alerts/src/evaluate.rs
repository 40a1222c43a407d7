//! Evaluating an alert: its queries over its window (or over one ingested batch for real-time
//! alerts), the value compared with the threshold.

use arrow::array::RecordBatch;
use kansoku_core::{OrgId, StreamName, StreamType};
use kansoku_query::{QueryEngine, SearchRequest};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{Alert, compare};
use crate::sql;

/// Rows kept for `{rows}`.
pub const MAX_ROWS: usize = 100;

/// What an evaluation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Whether the trigger condition holds.
    pub fired: bool,
    /// The number compared with the threshold: matching records, or groups when aggregated.
    pub count: u64,
    /// The largest aggregate value among the groups (aggregated alerts).
    pub agg_value: Option<f64>,
    /// Up to [`MAX_ROWS`] result rows.
    pub rows: Vec<Map<String, Value>>,
    /// The window, µs: `[start, end)`.
    pub window: (i64, i64),
}

impl Evaluation {
    /// What was compared, as JSON (history entries and the preview endpoint).
    pub fn detail(&self, alert: &Alert) -> Value {
        serde_json::json!({
            "value": self.count,
            "agg_value": self.agg_value,
            "operator": alert.trigger_condition.operator,
            "threshold": alert.trigger_condition.threshold,
            "start_time": self.window.0,
            "end_time": self.window.1,
        })
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

/// Evaluates a scheduled alert over `[now − period, now)`.
pub async fn scheduled(
    engine: &QueryEngine,
    org: &OrgId,
    alert: &Alert,
    now: i64,
) -> Result<Evaluation> {
    let queries = sql::queries(alert)?;
    let stream_type = stream_type_of(alert)?;
    let window = (now - Alert::micros(alert.trigger_condition.period), now);
    let request = |sql: String, size: usize| SearchRequest {
        sql,
        start_time: window.0,
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
        // A stream that does not exist (yet, or any more) has no records: a no-data alert on it
        // fires, a frequency alert does not, and neither is an error.
        Err(kansoku_query::Error::StreamNotFound(_)) => {
            let trigger = &alert.trigger_condition;
            return Ok(Evaluation {
                fired: compare(0.0, &trigger.operator, trigger.threshold),
                count: 0,
                agg_value: None,
                rows: Vec::new(),
                window,
            });
        }
        Err(error) => return Err(error.into()),
    };
    let count = parse_rows(&counted.hits_json)
        .first()
        .and_then(|row| row.get("alert_count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let rows = if count > 0 {
        let found = engine
            .search(org, stream_type, &request(queries.rows.clone(), MAX_ROWS))
            .await?;
        parse_rows(&found.hits_json)
    } else {
        Vec::new()
    };
    let trigger = &alert.trigger_condition;
    Ok(Evaluation {
        fired: compare(count as f64, &trigger.operator, trigger.threshold),
        count,
        agg_value: queries.aggregated.then(|| agg_value(&rows)).flatten(),
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
    let trigger = &alert.trigger_condition;
    Ok(Evaluation {
        fired: compare(count as f64, &trigger.operator, trigger.threshold),
        count: count as u64,
        agg_value: None,
        rows,
        window: (now, now),
    })
}
