//! `_values` (top values of fields, with counts) and `_around` (records around an instant).
//!
//! Both are built with the DataFrame API over a validated query: field names become column
//! references and filter values literals, so request parameters are never pasted into SQL text.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Column;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::col;
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::{OrgId, StreamName, StreamType};
use serde::Serialize;

use crate::engine::{QueryEngine, batches_to_json};
use crate::error::{Error, Result, from_datafusion};
use crate::rewrite::quote_identifier;

/// A `_values` request.
#[derive(Debug, Clone)]
pub struct ValuesRequest {
    /// The stream.
    pub stream: StreamName,
    /// Fields to count values of.
    pub fields: Vec<String>,
    /// Values per field.
    pub size: usize,
    /// Time range, µs.
    pub start_time: i64,
    /// See `start_time`.
    pub end_time: i64,
    /// `field=value` conditions.
    pub filters: Vec<(String, String)>,
    /// A query to scope the counts to (its WHERE applies); default: the whole stream.
    pub sql: Option<String>,
}

/// One value and how often it occurs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueCount {
    /// The value as text (`null` for missing).
    pub zo_sql_key: Option<String>,
    /// Its count.
    pub zo_sql_num: i64,
}

/// The top values of one field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldValues {
    /// The field.
    pub field: String,
    /// Its values, most frequent first.
    pub values: Vec<ValueCount>,
}

/// A `_values` result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValuesResponse {
    /// Per requested field.
    pub hits: Vec<FieldValues>,
    /// Records the counts were taken over (the sample size).
    pub total_records: i64,
}

impl QueryEngine {
    /// Top values of `request.fields`.
    pub async fn values(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        request: &ValuesRequest,
    ) -> Result<ValuesResponse> {
        if request.fields.is_empty() {
            return Err(Error::InvalidParams(
                "fields must name at least one field".to_string(),
            ));
        }
        let sql = request.sql.clone().unwrap_or_else(|| {
            format!(
                "SELECT * FROM {}",
                quote_identifier(request.stream.as_str())
            )
        });
        let planned = self
            .plan(
                org,
                stream_type,
                &sql,
                request.start_time,
                request.end_time,
                false,
            )
            .await?;
        let fields = planned.fields.clone();
        let mut frame = planned.frame;
        for (field, value) in &request.filters {
            let column = column_of(&frame, field, &fields)?;
            frame = frame
                .filter(cast(column, DataType::Utf8).eq(lit(value.clone())))
                .map_err(|e| from_datafusion(e, &fields))?;
        }
        let total_records = self.count(frame.clone(), &fields).await?;
        let mut hits = Vec::with_capacity(request.fields.len());
        for field in &request.fields {
            let column = column_of(&frame, field, &fields)?;
            let counted = frame
                .clone()
                .aggregate(
                    vec![column.clone()],
                    vec![count(lit(1)).alias("zo_sql_num")],
                )
                .and_then(|f| {
                    f.sort(vec![
                        col("zo_sql_num").sort(false, false),
                        column.sort(true, true),
                    ])
                })
                .and_then(|f| f.limit(0, Some(request.size)))
                .map_err(|e| from_datafusion(e, &fields))?;
            let batches = self.collect(counted, &fields).await?;
            let mut values = Vec::new();
            for batch in &batches {
                let keys = arrow::compute::cast(batch.column(0), &DataType::Utf8)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let keys = keys.as_string::<i32>();
                let counts = batch.column(1).as_primitive::<Int64Type>();
                for row in 0..batch.num_rows() {
                    values.push(ValueCount {
                        zo_sql_key: keys.is_valid(row).then(|| keys.value(row).to_string()),
                        zo_sql_num: counts.value(row),
                    });
                }
            }
            hits.push(FieldValues {
                field: field.clone(),
                values,
            });
        }
        Ok(ValuesResponse {
            hits,
            total_records,
        })
    }

    /// Up to `size` records around `key` (µs): half at or before it, half after, newest first.
    pub async fn around(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        stream: &StreamName,
        key: i64,
        size: usize,
        window: (i64, i64),
    ) -> Result<(String, usize)> {
        let sql = format!("SELECT * FROM {}", quote_identifier(stream.as_str()));
        let planned = self
            .plan(org, stream_type, &sql, window.0, window.1, false)
            .await?;
        let fields = planned.fields;
        let timestamp = Expr::Column(Column::new_unqualified(TIMESTAMP_COLUMN));
        let before_count = size.div_ceil(2);
        let after_count = size - before_count;
        let before = planned
            .frame
            .clone()
            .filter(timestamp.clone().lt_eq(lit(key)))
            .and_then(|f| f.sort(vec![timestamp.clone().sort(false, false)]))
            .and_then(|f| f.limit(0, Some(before_count)))
            .map_err(|e| from_datafusion(e, &fields))?;
        let after = planned
            .frame
            .filter(timestamp.clone().gt(lit(key)))
            .and_then(|f| f.sort(vec![timestamp.clone().sort(true, false)]))
            .and_then(|f| f.limit(0, Some(after_count)))
            .map_err(|e| from_datafusion(e, &fields))?;
        let mut after = self.collect(after, &fields).await?;
        after.reverse();
        let after: Vec<_> = after
            .iter()
            .map(|batch| {
                let indices: arrow::array::UInt32Array =
                    (0..batch.num_rows() as u32).rev().collect();
                arrow::compute::take_record_batch(batch, &indices)
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let before = self.collect(before, &fields).await?;
        let all: Vec<_> = after.into_iter().chain(before).collect();
        let count = all.iter().map(|b| b.num_rows()).sum();
        Ok((batches_to_json(&all)?, count))
    }

    async fn count(&self, frame: datafusion::prelude::DataFrame, fields: &[String]) -> Result<i64> {
        let counted = frame
            .aggregate(vec![], vec![count(lit(1)).alias("n")])
            .map_err(|e| from_datafusion(e, fields))?;
        let batches = self.collect(counted, fields).await?;
        Ok(batches
            .first()
            .filter(|b| b.num_rows() > 0)
            .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
            .unwrap_or(0))
    }
}

fn column_of(
    frame: &datafusion::prelude::DataFrame,
    field: &str,
    fields: &[String],
) -> Result<Expr> {
    let exists = frame
        .schema()
        .fields()
        .iter()
        .any(|candidate| candidate.name() == field);
    if !exists {
        return Err(Error::FieldNotFound {
            field: field.to_string(),
            suggestion: crate::error::closest(field, fields),
        });
    }
    Ok(Expr::Column(Column::new_unqualified(field)))
}
