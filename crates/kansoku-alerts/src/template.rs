//! Rendering templates: `{variable}` is replaced by its value, `{variable:N}` by at most N
//! characters of it, `{rows}` by the result rows (one per line, each through the alert's row
//! template), any result column `{field}` by its value in the first row. Unknown variables are
//! left as they are. When the destination expects JSON, values are escaped as JSON string
//! content, so record text can never break the message's structure.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How values are written into the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// As they are (plain-text bodies).
    None,
    /// As the content of a JSON string.
    Json,
}

/// The values a template can use.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Named variables (`alert_name`, `alert_count`, …).
    pub variables: BTreeMap<String, String>,
    /// Result rows.
    pub rows: Vec<Map<String, Value>>,
    /// The alert's row template (empty: each row as JSON).
    pub row_template: String,
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn escape(text: &str, escaping: Escaping) -> String {
    match escaping {
        Escaping::None => text.to_string(),
        Escaping::Json => {
            let quoted = Value::String(text.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
    }
}

impl Context {
    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(value) = self.variables.get(name) {
            return Some(value.clone());
        }
        if name == "rows" {
            return Some(self.rows_text());
        }
        self.rows.first()?.get(name).map(value_text)
    }

    fn rows_text(&self) -> String {
        self.rows
            .iter()
            .map(|row| {
                if self.row_template.is_empty() {
                    return Value::Object(row.clone()).to_string();
                }
                let row_context = Context {
                    variables: row
                        .iter()
                        .map(|(k, v)| (k.clone(), value_text(v)))
                        .collect(),
                    rows: Vec::new(),
                    row_template: String::new(),
                };
                render(&self.row_template, &row_context, Escaping::None)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Renders `template` with `context`.
pub fn render(template: &str, context: &Context, escaping: Escaping) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let (name, limit) = match inner.split_once(':') {
            Some((name, limit)) => (name, limit.trim().parse::<usize>().ok()),
            None => (inner, None),
        };
        let is_variable = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '@');
        match is_variable.then(|| context.lookup(name)).flatten() {
            Some(value) => {
                let value = match limit {
                    Some(limit) => value.chars().take(limit).collect(),
                    None => value,
                };
                out.push_str(&escape(&value, escaping));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders `body`, escaping values as JSON string content when the body is JSON.
pub fn render_body(body: &str, context: &Context) -> String {
    let escaping = if looks_like_json(body) {
        Escaping::Json
    } else {
        Escaping::None
    };
    render(body, context, escaping)
}

/// The Slack preset: a Block Kit message with a header, the alert's numbers and the first rows.
pub fn slack_preset_body() -> &'static str {
    r#"{"text": "{alert_name} fired: {alert_count} matching records in {stream_name}",
 "blocks": [
  {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: {alert_name}"}},
  {"type": "section", "fields": [
    {"type": "mrkdwn", "text": "*Stream*\n{stream_name}"},
    {"type": "mrkdwn", "text": "*Matches*\n{alert_count} ({alert_operator} {alert_threshold})"},
    {"type": "mrkdwn", "text": "*From*\n{alert_start_time}"},
    {"type": "mrkdwn", "text": "*To*\n{alert_end_time}"}]},
  {"type": "section", "text": {"type": "mrkdwn", "text": "```{rows:2500}```"}},
  {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in kansoku"}, "url": "{alert_url}"}]}
 ]}"#
}

/// The body sent when neither the alert nor the destination names a template.
pub fn default_body() -> &'static str {
    r#"{"alert_name": "{alert_name}", "stream_name": "{stream_name}", "alert_count": "{alert_count}", "alert_agg_value": "{alert_agg_value}", "alert_start_time": "{alert_start_time}", "alert_end_time": "{alert_end_time}", "alert_url": "{alert_url}", "rows": "{rows:4000}"}"#
}

/// The subject of e-mails whose template has no title.
pub fn default_email_title() -> &'static str {
    "[kansoku] {alert_name} fired on {stream_name}"
}

/// The text of e-mails when neither the alert nor the destination names a template.
pub fn default_email_body() -> &'static str {
    "Alert {alert_name} fired on stream {stream_name} ({org_name}).\n\n\
     Value: {alert_count} ({alert_operator} {alert_threshold}) between {alert_start_time} and {alert_end_time}.\n\n\
     {rows:4000}\n\n\
     Open in kansoku: {alert_url}\n"
}

/// Whether a rendered body should be sent as JSON.
pub fn looks_like_json(body: &str) -> bool {
    let trimmed = body.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Context {
        let mut variables = BTreeMap::new();
        variables.insert("alert_name".to_string(), "myapp errors".to_string());
        variables.insert("alert_count".to_string(), "12".to_string());
        let row = |log: &str| match json!({"log": log, "pod": "myapp-1"}) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Context {
            variables,
            rows: vec![row("error: \"boom\"\nnext"), row("error two")],
            row_template: "{pod}: {log}".to_string(),
        }
    }

    #[test]
    fn variables_rows_and_columns_are_substituted() {
        let text = render(
            "{alert_name}: {alert_count} ({pod}) {unknown} {rows} {alert_name:5} {",
            &context(),
            Escaping::None,
        );
        assert_eq!(
            text,
            "myapp errors: 12 (myapp-1) {unknown} myapp-1: error: \"boom\"\nnext\nmyapp-1: error two myapp {"
        );
    }

    #[test]
    fn json_bodies_stay_valid_whatever_the_records_contain() {
        let body = render(
            r#"{"text": "{alert_name}", "rows": "{rows}"}"#,
            &context(),
            Escaping::Json,
        );
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(
            parsed["rows"],
            "myapp-1: error: \"boom\"\nnext\nmyapp-1: error two"
        );
        let slack = render(slack_preset_body(), &context(), Escaping::Json);
        let parsed: Value = serde_json::from_str(&slack).unwrap_or_else(|e| panic!("{e}: {slack}"));
        assert_eq!(parsed["blocks"][0]["type"], "header");
    }
}
