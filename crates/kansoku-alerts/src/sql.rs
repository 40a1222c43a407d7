//! SQL for `custom` alerts, built from their conditions. Identifiers are always double-quoted and
//! values always literals (strings quoted and escaped, numbers and booleans checked), so nothing
//! from an alert document is pasted into SQL as code.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Aggregation, Alert, Condition, ConditionTree};

pub use kansoku_query::rewrite::{quote_identifier, sql_string as quote_string};

fn literal(value: &Value) -> Result<String> {
    match value {
        Value::String(text) => Ok(quote_string(text)),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(Error::Invalid(format!(
            "condition value {other} must be a string, number or boolean"
        ))),
    }
}

fn leaf(condition: &Condition) -> Result<String> {
    if condition.column.trim().is_empty() {
        return Err(Error::Invalid("a condition needs a column".to_string()));
    }
    let column = quote_identifier(&condition.column);
    let text = || -> Result<String> {
        match &condition.value {
            Value::String(text) => Ok(quote_string(text)),
            Value::Number(number) => Ok(quote_string(&number.to_string())),
            Value::Bool(flag) => Ok(quote_string(&flag.to_string())),
            other => Err(Error::Invalid(format!(
                "condition value {other} must be a string, number or boolean"
            ))),
        }
    };
    match condition.operator.as_str() {
        "contains" => Ok(format!(
            "COALESCE(contains_ignore_case({column}, {}), false)",
            text()?
        )),
        "not_contains" => Ok(format!(
            "NOT COALESCE(contains_ignore_case({column}, {}), false)",
            text()?
        )),
        "=" | "==" | "!=" if condition.ignore_case && condition.value.is_string() => {
            let negate = if condition.operator == "!=" {
                "NOT "
            } else {
                ""
            };
            Ok(format!(
                "{negate}COALESCE(lower(CAST({column} AS VARCHAR)) = lower({}), false)",
                text()?
            ))
        }
        operator @ ("=" | "!=" | ">" | ">=" | "<" | "<=") => {
            let operator = if operator == "==" { "=" } else { operator };
            Ok(format!(
                "{column} {operator} {}",
                literal(&condition.value)?
            ))
        }
        "==" => Ok(format!("{column} = {}", literal(&condition.value)?)),
        other => Err(Error::Invalid(format!(
            "condition operator '{other}' is not one of = != > >= < <= contains not_contains"
        ))),
    }
}

fn tree(node: &ConditionTree, depth: usize) -> Result<String> {
    if depth > 32 {
        return Err(Error::Invalid(
            "conditions are nested too deeply".to_string(),
        ));
    }
    let join = |parts: &[ConditionTree], separator: &str| -> Result<String> {
        if parts.is_empty() {
            return Ok("true".to_string());
        }
        let parts = parts
            .iter()
            .map(|part| tree(part, depth + 1).map(|sql| format!("({sql})")))
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(separator))
    };
    match node {
        ConditionTree::And { and } | ConditionTree::List(and) => join(and, " AND "),
        ConditionTree::Or { or } => join(or, " OR "),
        ConditionTree::Not { not } => Ok(format!("NOT ({})", tree(not, depth + 1)?)),
        ConditionTree::Leaf(condition) => leaf(condition),
    }
}

/// The WHERE condition of a `custom` alert (`true` when it has none).
pub fn condition_sql(conditions: Option<&ConditionTree>) -> Result<String> {
    conditions.map_or_else(|| Ok("true".to_string()), |node| tree(node, 0))
}

/// The aggregate expression of an aggregation, e.g. `avg("latency")`.
pub fn aggregate_expr(aggregation: &Aggregation) -> Result<String> {
    let column = &aggregation.having.column;
    let function = aggregation.function.to_ascii_lowercase();
    if function == "count" && column.is_empty() {
        return Ok("count(*)".to_string());
    }
    if column.trim().is_empty() {
        return Err(Error::Invalid(
            "aggregation.having.column is required".to_string(),
        ));
    }
    let column = quote_identifier(column);
    let percentile = |p: f64| format!("approx_percentile_cont({column}, {p})");
    Ok(match function.as_str() {
        "count" => format!("count({column})"),
        "avg" | "min" | "max" | "sum" => format!("{function}(CAST({column} AS DOUBLE))"),
        "median" | "p50" => percentile(0.5),
        "p75" => percentile(0.75),
        "p90" => percentile(0.9),
        "p95" => percentile(0.95),
        "p99" => percentile(0.99),
        other => {
            return Err(Error::Invalid(format!(
                "aggregation function '{other}' is not one of count avg min max sum median p50 p75 p90 p95 p99"
            )));
        }
    })
}

/// The queries an alert runs over its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQueries {
    /// Returns the matching records (or the groups, when aggregated); its rows fill `{rows}`.
    pub rows: String,
    /// Returns one row with the column `alert_count`: how many rows `rows` returns.
    pub count: String,
    /// Whether `rows` returns groups with an `alert_agg_value` column.
    pub aggregated: bool,
}

/// The SQL of an alert.
pub fn queries(alert: &Alert) -> Result<AlertQueries> {
    let condition = &alert.query_condition;
    let rows = if condition.query_type == "sql" {
        condition
            .sql
            .clone()
            .filter(|sql| !sql.trim().is_empty())
            .ok_or_else(|| Error::Invalid("query_condition.sql is required".to_string()))?
            .trim()
            .trim_end_matches(';')
            .to_string()
    } else {
        let stream = quote_identifier(&alert.stream_name);
        let filter = condition_sql(condition.conditions.as_ref())?;
        match &condition.aggregation {
            None => format!("SELECT * FROM {stream} WHERE {filter}"),
            Some(aggregation) => {
                let value = aggregate_expr(aggregation)?;
                let groups: Vec<String> = aggregation
                    .group_by
                    .iter()
                    .map(|g| quote_identifier(g))
                    .collect();
                let select = groups.iter().map(|g| format!("{g}, ")).collect::<String>();
                let group_by = if groups.is_empty() {
                    String::new()
                } else {
                    format!(" GROUP BY {}", groups.join(", "))
                };
                let having = match aggregation.having.operator.as_str() {
                    "" => String::new(),
                    operator @ (">=" | ">" | "<=" | "<" | "=" | "!=") => {
                        let threshold = aggregation.having.value.as_f64().ok_or_else(|| {
                            Error::Invalid("aggregation.having.value must be a number".to_string())
                        })?;
                        format!(" HAVING {value} {operator} {threshold}")
                    }
                    other => {
                        return Err(Error::Invalid(format!(
                            "aggregation.having.operator '{other}' is not one of >= > <= < = !="
                        )));
                    }
                };
                format!(
                    "SELECT {select}{value} AS alert_agg_value, count(*) AS alert_count FROM {stream} WHERE {filter}{group_by}{having}"
                )
            }
        }
    };
    let aggregated = condition.query_type != "sql" && condition.aggregation.is_some();
    let count = format!("SELECT count(*) AS alert_count FROM ({rows}) AS alert_rows");
    Ok(AlertQueries {
        rows,
        count,
        aggregated,
    })
}

/// The queries of a `new_term` alert: the distinct values of its term fields among the records
/// matching its conditions from `period_start` on, less those already seen before `period_start`
/// (the search's time range starts `term_window` earlier).
pub fn new_term_queries(alert: &Alert, period_start: i64) -> Result<AlertQueries> {
    let stream = quote_identifier(&alert.stream_name);
    let filter = condition_sql(alert.query_condition.conditions.as_ref())?;
    let fields: Vec<String> = alert
        .trigger_condition
        .term_fields
        .iter()
        .map(|f| quote_identifier(f))
        .collect();
    if fields.is_empty() {
        return Err(Error::Invalid(
            "trigger_condition.term_fields must name at least one field".to_string(),
        ));
    }
    let columns = fields.join(", ");
    let present = fields
        .iter()
        .map(|f| format!(" AND {f} IS NOT NULL"))
        .collect::<String>();
    let timestamp = quote_identifier(kansoku_core::schema::TIMESTAMP_COLUMN);
    let rows = format!(
        "SELECT DISTINCT {columns} FROM {stream} WHERE ({filter}){present} AND {timestamp} >= {period_start} \
         EXCEPT SELECT DISTINCT {columns} FROM {stream} WHERE ({filter}){present} AND {timestamp} < {period_start}"
    );
    let count = format!("SELECT count(*) AS alert_count FROM ({rows}) AS alert_rows");
    Ok(AlertQueries {
        rows,
        count,
        aggregated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> ConditionTree {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn conditions_become_quoted_sql() {
        let conditions = parse(json!({"and": [
            {"column": "container_name", "operator": "=", "value": "myapp"},
            {"column": "log", "operator": "contains", "value": "error"},
            {"or": [{"column": "code", "operator": ">=", "value": 500}, {"not": {"column": "ok", "operator": "=", "value": true}}]}
        ]}));
        assert_eq!(
            condition_sql(Some(&conditions)).unwrap_or_else(|e| panic!("{e}")),
            "(\"container_name\" = 'myapp') AND (COALESCE(contains_ignore_case(\"log\", 'error'), false)) AND ((\"code\" >= 500) OR (NOT (\"ok\" = true)))"
        );
    }

    #[test]
    fn legacy_lists_and_hostile_values_are_safe() {
        let conditions = parse(json!([
            {"column": "a\"b", "operator": "=", "value": "x' OR '1'='1"}
        ]));
        assert_eq!(
            condition_sql(Some(&conditions)).unwrap_or_else(|e| panic!("{e}")),
            "(\"a\"\"b\" = 'x'' OR ''1''=''1')"
        );
        let bad = parse(json!({"column": "a", "operator": "; DROP", "value": 1}));
        assert!(condition_sql(Some(&bad)).is_err());
        let bad = parse(json!({"column": "a", "operator": "=", "value": {"x": 1}}));
        assert!(condition_sql(Some(&bad)).is_err());
    }

    #[test]
    fn aggregated_alerts_group_and_count() {
        let alert: Alert = serde_json::from_value(json!({
            "name": "slow", "stream_name": "web",
            "query_condition": {"type": "custom",
                "conditions": [{"column": "path", "operator": "=", "value": "/api"}],
                "aggregation": {"group_by": ["host"], "function": "p95",
                    "having": {"column": "latency", "operator": ">", "value": 500}}},
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let queries = queries(&alert).unwrap_or_else(|e| panic!("{e}"));
        assert!(queries.aggregated);
        assert_eq!(
            queries.rows,
            "SELECT \"host\", approx_percentile_cont(\"latency\", 0.95) AS alert_agg_value, count(*) AS alert_count FROM \"web\" WHERE (\"path\" = '/api') GROUP BY \"host\" HAVING approx_percentile_cont(\"latency\", 0.95) > 500"
        );
        assert!(
            queries
                .count
                .starts_with("SELECT count(*) AS alert_count FROM (SELECT")
        );
    }
}
