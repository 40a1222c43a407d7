//! Templates, destinations and alerts: the JSON shapes of the API (OpenObserve's, see
//! `docs/alerts.md`), stored as they are in the metadata database. Every field has a default, so
//! documents written by older or newer servers still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// A message template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// Unique in the organisation.
    pub name: String,
    /// The message (for HTTP destinations usually JSON) with `{variables}`.
    pub body: String,
    /// A title (e-mail subject).
    pub title: String,
    /// `http` or `email`.
    #[serde(rename = "type")]
    pub template_type: String,
    /// Set when the template comes from an alerts-as-code file (`file:<name>`); such objects are
    /// removed when they leave their file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub managed_by: String,
}

/// Where notifications go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Destination {
    /// Unique in the organisation.
    pub name: String,
    /// `http` (webhooks, Slack) or `email`.
    #[serde(rename = "type")]
    pub destination_type: String,
    /// The webhook URL.
    pub url: String,
    /// `post` (default), `put` or `get`.
    pub method: String,
    /// Extra request headers (e.g. `Authorization`).
    pub headers: BTreeMap<String, String>,
    /// The template used when the alert names none.
    pub template: String,
    /// Recipients of `email` destinations.
    pub emails: Vec<String>,
    /// A preset: `slack` renders a Block Kit message when no template is given.
    pub destination_type_name: String,
    /// Must stay false: kansoku always verifies TLS.
    pub skip_tls_verify: bool,
    /// Most notifications sent to this destination per hour (0: no limit); the ones over the
    /// limit are recorded in the history as `rate_limited`.
    pub rate_limit_per_hour: u32,
    /// See [`Template::managed_by`].
    #[serde(skip_serializing_if = "String::is_empty")]
    pub managed_by: String,
}

/// One condition: `column operator value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Condition {
    /// The field.
    pub column: String,
    /// `=`, `!=`, `>`, `>=`, `<`, `<=`, `contains`, `not_contains`.
    pub operator: String,
    /// A string, number or boolean.
    pub value: Value,
    /// Case-insensitive comparison of text.
    pub ignore_case: bool,
}

/// A tree of conditions: `{"and":[…]}`, `{"or":[…]}`, `{"not":…}`, a condition, or a list (AND).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionTree {
    /// All must hold.
    And {
        /// The parts.
        and: Vec<ConditionTree>,
    },
    /// One must hold.
    Or {
        /// The parts.
        or: Vec<ConditionTree>,
    },
    /// Must not hold.
    Not {
        /// The negated part.
        not: Box<ConditionTree>,
    },
    /// The legacy flat list (AND).
    List(Vec<ConditionTree>),
    /// A single condition.
    Leaf(Condition),
}

/// Aggregation of the matching records per group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Aggregation {
    /// Group-by fields.
    pub group_by: Vec<String>,
    /// `count`, `avg`, `min`, `max`, `sum`, `median`, `p50`, `p75`, `p90`, `p95`, `p99`.
    pub function: String,
    /// The aggregated field and the comparison each group must pass.
    pub having: Condition,
}

/// What an alert looks at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryCondition {
    /// `custom` (conditions + aggregation), `sql` or `promql`.
    #[serde(rename = "type")]
    pub query_type: String,
    /// The expression of a `promql` alert, evaluated as an instant query when the alert runs.
    pub promql: Option<String>,
    /// The comparison each series of a `promql` alert must pass to count (`value` against a
    /// number, e.g. `{"column": "value", "operator": ">", "value": 0.9}`); none: every series
    /// the expression returns counts.
    pub promql_condition: Option<Condition>,
    /// The conditions of a `custom` alert.
    pub conditions: Option<ConditionTree>,
    /// The SQL of a `sql` alert.
    pub sql: Option<String>,
    /// Aggregation of a `custom` alert.
    pub aggregation: Option<Aggregation>,
}

/// When an alert runs and fires. Durations are minutes (fractions allowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TriggerCondition {
    /// Look-back window.
    pub period: f64,
    /// `>=`, `>`, `<=`, `<`, `=`, `!=`: how the value compares with the threshold.
    pub operator: String,
    /// The threshold.
    pub threshold: f64,
    /// How often the alert is evaluated.
    pub frequency: f64,
    /// After a notification, further ones are held back this long.
    pub silence: f64,
    /// `threshold` (default): the count (or groups) compared with the threshold; `spike`: the
    /// count in the period divided by the count in the period before it; `new_term`: values of
    /// `term_fields` seen in the period but not in the `term_window` before it.
    pub kind: String,
    /// `spike`: the previous period needs at least this many records to be compared with.
    pub min_previous: f64,
    /// `new_term`: the fields whose new values are looked for.
    pub term_fields: Vec<String>,
    /// `new_term`: how far back, before the period, values count as known (minutes).
    pub term_window: f64,
    /// How long to wait for late records (minutes, default 0): a run due at `t` evaluates
    /// `[t − delay − period, t − delay)`, so records whose event time trails their ingestion by
    /// up to `delay` are still counted.
    pub delay: f64,
}

impl Default for TriggerCondition {
    fn default() -> TriggerCondition {
        TriggerCondition {
            period: 10.0,
            operator: ">=".to_string(),
            threshold: 1.0,
            frequency: 1.0,
            silence: 10.0,
            kind: String::new(),
            min_previous: 1.0,
            term_fields: Vec::new(),
            term_window: 60.0 * 24.0,
            delay: 0.0,
        }
    }
}

/// An alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Alert {
    /// Assigned by the server.
    pub id: String,
    /// Unique in the organisation.
    pub name: String,
    /// `logs` (default), `metrics`, `traces`.
    pub stream_type: String,
    /// The stream it watches.
    pub stream_name: String,
    /// Evaluated on every ingested batch instead of on a schedule.
    pub is_real_time: bool,
    /// What it looks at.
    pub query_condition: QueryCondition,
    /// When it fires.
    pub trigger_condition: TriggerCondition,
    /// Destination names.
    pub destinations: Vec<String>,
    /// Template name (else each destination's).
    pub template: Option<String>,
    /// Template for each result row in `{rows}`; default: the row as JSON.
    pub row_template: String,
    /// Free text, `{alert_description}`.
    pub description: String,
    /// Disabled alerts are never evaluated by the scheduler.
    pub enabled: bool,
    /// See [`Template::managed_by`].
    #[serde(skip_serializing_if = "String::is_empty")]
    pub managed_by: String,
}

impl Default for Alert {
    fn default() -> Alert {
        Alert {
            id: String::new(),
            name: String::new(),
            stream_type: "logs".to_string(),
            stream_name: String::new(),
            is_real_time: false,
            query_condition: QueryCondition::default(),
            trigger_condition: TriggerCondition::default(),
            destinations: Vec::new(),
            template: None,
            row_template: String::new(),
            description: String::new(),
            enabled: true,
            managed_by: String::new(),
        }
    }
}

/// The rule kinds (`trigger_condition.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Count (or groups) against the threshold: frequency and, with `<`, flatline.
    Threshold,
    /// The period's count against the previous period's, as a ratio.
    Spike,
    /// Values not seen before the period.
    NewTerm,
    /// Anything else (refused by validation).
    Unknown,
}

/// Comparison operators of thresholds.
pub const OPERATORS: [&str; 6] = [">=", ">", "<=", "<", "=", "!="];

/// Whether `value operator threshold` holds.
pub fn compare(value: f64, operator: &str, threshold: f64) -> bool {
    match operator {
        ">=" => value >= threshold,
        ">" => value > threshold,
        "<=" => value <= threshold,
        "<" => value < threshold,
        "=" | "==" => value == threshold,
        "!=" => value != threshold,
        _ => false,
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 128 {
        return Err(Error::Invalid(format!(
            "{what} name must be 1 to 128 characters"
        )));
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{what} name '{name}' must not contain '/' or control characters"
        )));
    }
    Ok(())
}

impl Template {
    /// Checks a template before it is saved.
    pub fn validate(&self) -> Result<()> {
        check_name("template", &self.name)?;
        if self.body.trim().is_empty() {
            return Err(Error::Invalid(
                "template body must not be empty".to_string(),
            ));
        }
        if !matches!(self.template_type.as_str(), "" | "http" | "email") {
            return Err(Error::Invalid(format!(
                "template type '{}' is not http or email",
                self.template_type
            )));
        }
        Ok(())
    }
}

impl Destination {
    /// Checks a destination before it is saved (the URL's address is checked again at delivery).
    pub fn validate(&self) -> Result<()> {
        check_name("destination", &self.name)?;
        if self.skip_tls_verify {
            return Err(Error::Invalid(
                "skip_tls_verify is not supported: kansoku always verifies TLS certificates"
                    .to_string(),
            ));
        }
        match self.destination_type.as_str() {
            "" | "http" => {
                crate::ssrf::parse_destination_url(&self.url)?;
                if !matches!(
                    self.method.to_ascii_lowercase().as_str(),
                    "" | "post" | "put" | "get"
                ) {
                    return Err(Error::Invalid(format!(
                        "method '{}' is not post, put or get",
                        self.method
                    )));
                }
                for name in self.headers.keys() {
                    if reqwest_tls::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(Error::Invalid(format!("invalid header name '{name}'")));
                    }
                }
                Ok(())
            }
            "email" => {
                if self.emails.is_empty() {
                    return Err(Error::Invalid(
                        "an email destination needs at least one address in emails".to_string(),
                    ));
                }
                for address in &self.emails {
                    if address.parse::<lettre::Address>().is_err() {
                        return Err(Error::Invalid(format!(
                            "'{address}' is not an e-mail address"
                        )));
                    }
                }
                Ok(())
            }
            other => Err(Error::Invalid(format!(
                "destination type '{other}' is not http or email"
            ))),
        }
    }
}

impl Alert {
    /// Checks an alert before it is saved.
    pub fn validate(&self) -> Result<()> {
        check_name("alert", &self.name)?;
        if self.stream_name.trim().is_empty() && !self.is_promql() {
            return Err(Error::Invalid("stream_name is required".to_string()));
        }
        let trigger = &self.trigger_condition;
        if !OPERATORS.contains(&trigger.operator.as_str()) {
            return Err(Error::Invalid(format!(
                "trigger_condition.operator '{}' is not one of {}",
                trigger.operator,
                OPERATORS.join(" ")
            )));
        }
        for (what, minutes) in [("period", trigger.period), ("frequency", trigger.frequency)] {
            if !(minutes.is_finite() && minutes > 0.0 && minutes <= 60.0 * 24.0 * 31.0) {
                return Err(Error::Invalid(format!(
                    "trigger_condition.{what} must be more than 0 and at most 44640 minutes"
                )));
            }
        }
        if !(trigger.delay.is_finite() && trigger.delay >= 0.0 && trigger.delay <= 60.0 * 24.0) {
            return Err(Error::Invalid(
                "trigger_condition.delay must be 0 to 1440 minutes".to_string(),
            ));
        }
        if !(trigger.silence.is_finite() && trigger.silence >= 0.0) {
            return Err(Error::Invalid(
                "trigger_condition.silence must be 0 or more minutes".to_string(),
            ));
        }
        if !trigger.threshold.is_finite() {
            return Err(Error::Invalid(
                "trigger_condition.threshold must be a number".to_string(),
            ));
        }
        self.validate_kind()?;
        match self.query_condition.query_type.as_str() {
            "sql" => {
                if self
                    .query_condition
                    .sql
                    .as_deref()
                    .is_none_or(|s| s.trim().is_empty())
                {
                    return Err(Error::Invalid(
                        "query_condition.sql is required for type sql".to_string(),
                    ));
                }
            }
            "" | "custom" => {
                crate::sql::condition_sql(self.query_condition.conditions.as_ref())?;
                if let Some(aggregation) = &self.query_condition.aggregation {
                    crate::sql::aggregate_expr(aggregation)?;
                }
            }
            "promql" => self.validate_promql()?,
            other => {
                return Err(Error::Invalid(format!(
                    "query_condition.type '{other}' is not custom, sql or promql"
                )));
            }
        }
        if self.destinations.is_empty() {
            return Err(Error::Invalid(
                "an alert needs at least one destination".to_string(),
            ));
        }
        Ok(())
    }

    /// Whether the alert's condition is a PromQL expression.
    pub fn is_promql(&self) -> bool {
        self.query_condition.query_type == "promql"
    }

    fn validate_promql(&self) -> Result<()> {
        let query = &self.query_condition;
        let expr = query.promql.as_deref().unwrap_or_default();
        if expr.trim().is_empty() {
            return Err(Error::Invalid(
                "query_condition.promql is required for type promql".to_string(),
            ));
        }
        kansoku_promql::engine::parse(expr)
            .map_err(|e| Error::Invalid(format!("query_condition.promql: {e}")))?;
        if self.stream_type_name() != "metrics" {
            return Err(Error::Invalid(
                "a promql alert reads metrics: set stream_type to metrics".to_string(),
            ));
        }
        if self.is_real_time {
            return Err(Error::Invalid(
                "promql alerts run on a schedule, not in real time".to_string(),
            ));
        }
        if self.kind() != RuleKind::Threshold {
            return Err(Error::Invalid(
                "promql alerts compare the number of matching series with the threshold; spike and new_term do not apply".to_string(),
            ));
        }
        if let Some(condition) = &query.promql_condition {
            if !OPERATORS.contains(&condition.operator.as_str()) {
                return Err(Error::Invalid(format!(
                    "query_condition.promql_condition.operator '{}' is not one of {}",
                    condition.operator,
                    OPERATORS.join(" ")
                )));
            }
            if condition.value.as_f64().is_none() {
                return Err(Error::Invalid(
                    "query_condition.promql_condition.value must be a number".to_string(),
                ));
            }
        }
        Ok(())
    }

    fn validate_kind(&self) -> Result<()> {
        let trigger = &self.trigger_condition;
        match self.kind() {
            RuleKind::Threshold => Ok(()),
            RuleKind::Spike => {
                if self.is_real_time {
                    return Err(Error::Invalid(
                        "spike alerts compare two periods and cannot be real-time".to_string(),
                    ));
                }
                if self.query_condition.query_type == "sql" {
                    return Err(Error::Invalid(
                        "spike alerts use conditions, not SQL".to_string(),
                    ));
                }
                if !(trigger.min_previous.is_finite() && trigger.min_previous >= 0.0) {
                    return Err(Error::Invalid(
                        "trigger_condition.min_previous must be 0 or more".to_string(),
                    ));
                }
                Ok(())
            }
            RuleKind::NewTerm => {
                if self.is_real_time || self.query_condition.query_type == "sql" {
                    return Err(Error::Invalid(
                        "new_term alerts use conditions on a schedule, not SQL or real-time"
                            .to_string(),
                    ));
                }
                if trigger.term_fields.is_empty()
                    || trigger.term_fields.iter().any(|f| f.trim().is_empty())
                {
                    return Err(Error::Invalid(
                        "trigger_condition.term_fields must name at least one field".to_string(),
                    ));
                }
                if !(trigger.term_window.is_finite()
                    && trigger.term_window > 0.0
                    && trigger.term_window <= 60.0 * 24.0 * 90.0)
                {
                    return Err(Error::Invalid(
                        "trigger_condition.term_window must be more than 0 and at most 129600 minutes"
                            .to_string(),
                    ));
                }
                Ok(())
            }
            RuleKind::Unknown => Err(Error::Invalid(format!(
                "trigger_condition.kind '{}' is not threshold, spike or new_term",
                trigger.kind
            ))),
        }
    }

    /// What kind of rule the alert is.
    pub fn kind(&self) -> RuleKind {
        match self.trigger_condition.kind.as_str() {
            "" | "threshold" | "frequency" => RuleKind::Threshold,
            "spike" => RuleKind::Spike,
            "new_term" => RuleKind::NewTerm,
            _ => RuleKind::Unknown,
        }
    }

    /// The stream type, `logs` when the document leaves it empty.
    pub fn stream_type_name(&self) -> &str {
        if self.stream_type.is_empty() {
            "logs"
        } else {
            &self.stream_type
        }
    }

    /// Minutes → microseconds.
    pub fn micros(minutes: f64) -> i64 {
        (minutes * 60.0 * 1_000_000.0) as i64
    }

    /// The window a run due at `due` (µs) evaluates: `[due − delay − period, due − delay)`.
    /// Runs are due on the alert's schedule, not when the scheduler gets to them, so
    /// consecutive windows meet (when the period is at least the frequency) however late the
    /// runs are.
    pub fn window_due_at(&self, due: i64) -> (i64, i64) {
        let end = due - Alert::micros(self.trigger_condition.delay);
        (end - Alert::micros(self.trigger_condition.period), end)
    }
}

/// A number as people write it: `10`, not `10.0`; `0.5` stays `0.5`.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn minutes_text(minutes: f64) -> String {
    if minutes < 1.0 {
        let seconds = (minutes * 60.0).round();
        return format!("{seconds} second{}", if seconds == 1.0 { "" } else { "s" });
    }
    let shown = format_number(minutes);
    format!("{shown} minute{}", if minutes == 1.0 { "" } else { "s" })
}

fn operator_text(operator: &str) -> &'static str {
    match operator {
        ">=" => "at least",
        ">" => "more than",
        "<=" => "at most",
        "<" => "fewer than",
        "=" | "==" => "exactly",
        "!=" => "other than",
        _ => "?",
    }
}

impl Alert {
    /// A sentence saying when the alert fires, for people.
    pub fn summary(&self) -> String {
        let trigger = &self.trigger_condition;
        let what = match (
            &self.query_condition.query_type[..],
            &self.query_condition.aggregation,
        ) {
            ("sql", _) => "rows of its SQL query".to_string(),
            ("promql", _) => {
                let expr = self.query_condition.promql.as_deref().unwrap_or_default();
                match &self.query_condition.promql_condition {
                    Some(condition) => format!(
                        "series of `{expr}` whose value is {} {}",
                        condition.operator, condition.value
                    ),
                    None => format!("series of `{expr}`"),
                }
            }
            (_, Some(aggregation)) => format!(
                "groups by {} whose {}({}) is {} {}",
                if aggregation.group_by.is_empty() {
                    "(all)".to_string()
                } else {
                    aggregation.group_by.join(", ")
                },
                aggregation.function,
                aggregation.having.column,
                aggregation.having.operator,
                aggregation.having.value
            ),
            _ => "matching records".to_string(),
        };
        let threshold = format_number(trigger.threshold);
        let when = if self.is_real_time {
            "in any ingested batch".to_string()
        } else if self.is_promql() {
            format!("now, checked every {}", minutes_text(trigger.frequency))
        } else {
            format!(
                "in the last {}, checked every {}",
                minutes_text(trigger.period),
                minutes_text(trigger.frequency)
            )
        };
        let silence = if trigger.silence > 0.0 {
            format!("; then quiet for {}", minutes_text(trigger.silence))
        } else {
            String::new()
        };
        let notifies = if self.destinations.is_empty() {
            "nobody".to_string()
        } else {
            self.destinations.join(", ")
        };
        match self.kind() {
            RuleKind::Spike => {
                return format!(
                    "Notifies {notifies} when the {what} of stream '{}' in the last {} are {} {threshold} times those of the {} before (which needs at least {}), checked every {}{silence}.",
                    self.stream_name,
                    minutes_text(trigger.period),
                    operator_text(&trigger.operator),
                    minutes_text(trigger.period),
                    format_number(trigger.min_previous),
                    minutes_text(trigger.frequency),
                );
            }
            RuleKind::NewTerm => {
                return format!(
                    "Notifies {notifies} when stream '{}' has {} {threshold} values of {} in the last {} not seen in the {} before, checked every {}{silence}.",
                    self.stream_name,
                    operator_text(&trigger.operator),
                    trigger.term_fields.join(", "),
                    minutes_text(trigger.period),
                    minutes_text(trigger.term_window),
                    minutes_text(trigger.frequency),
                );
            }
            RuleKind::Threshold | RuleKind::Unknown => {}
        }
        format!(
            "Notifies {notifies} when stream '{}' has {} {threshold} {what} {when}{silence}.",
            self.stream_name,
            operator_text(&trigger.operator),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_read_like_sentences() {
        let alert: Alert = serde_json::from_value(json!({
            "name": "myapp errors", "stream_name": "app",
            "query_condition": {"type": "sql", "sql": "SELECT 1"},
            "trigger_condition": {"period": 1, "operator": ">=", "threshold": 10, "frequency": 1, "silence": 10},
            "destinations": ["slack-ops"],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            alert.summary(),
            "Notifies slack-ops when stream 'app' has at least 10 rows of its SQL query in the last 1 minute, checked every 1 minute; then quiet for 10 minutes."
        );
        let quiet = Alert {
            trigger_condition: TriggerCondition {
                operator: "<".to_string(),
                period: 0.5,
                silence: 0.0,
                ..TriggerCondition::default()
            },
            stream_name: "app".to_string(),
            ..Alert::default()
        };
        assert_eq!(
            quiet.summary(),
            "Notifies nobody when stream 'app' has fewer than 1 matching records in the last 30 seconds, checked every 1 minute."
        );
    }
}
