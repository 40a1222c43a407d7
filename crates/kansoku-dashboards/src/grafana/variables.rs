//! Grafana `templating.list[]` → v8 `variables.list[]`.
//!
//! Query variables keep Grafana's Prometheus query text in `query_data.promql`
//! (`label_values(metric{sel}, label)`, `label_values(label)`, `label_names()`,
//! `metrics(regex)`, `query_result(expr)`) with `regex`, `sort` and `refresh`; the browser runs
//! them against the Prometheus API. Multi-value and All are kept as `multiSelect`, `includeAll`
//! and `allValue` (Grafana's semantics: regex-escaped `(a|b)` for several values, `allValue`
//! inserted as is).

use serde_json::{Map, Value, json};

use super::Report;

/// Converts the variables; `datasource` variables are dropped (kansoku is the data source).
pub fn convert(list: &[Value], report: &mut Report) -> Vec<Value> {
    let mut out = Vec::new();
    for variable in list {
        let Some(variable) = variable.as_object() else {
            continue;
        };
        let name = text(variable, "name");
        if name.is_empty() {
            report.dropped.push("a variable without a name".into());
            continue;
        }
        let kind = text(variable, "type");
        let mut converted = Map::new();
        converted.insert("name".into(), json!(name));
        converted.insert(
            "label".into(),
            json!(if text(variable, "label").is_empty() {
                name
            } else {
                text(variable, "label")
            }),
        );
        let hidden = variable.get("hide").and_then(Value::as_i64).unwrap_or(0) == 2;
        converted.insert("hideOnDashboard".into(), json!(hidden));
        let current = current_values(variable);
        match kind {
            "query" => {
                let query = query_text(variable.get("query"));
                if query.trim().is_empty() {
                    report
                        .dropped
                        .push(format!("variable {name}: a query variable without a query"));
                    continue;
                }
                converted.insert("type".into(), json!("query_values"));
                converted.insert(
                    "query_data".into(),
                    json!({"stream_type": "metrics", "stream": "", "field": "",
                           "promql": query.trim()}),
                );
                converted.insert("regex".into(), json!(text(variable, "regex")));
                converted.insert(
                    "sort".into(),
                    json!(variable.get("sort").and_then(Value::as_i64).unwrap_or(0)),
                );
                converted.insert(
                    "refresh".into(),
                    json!(variable.get("refresh").and_then(Value::as_i64).unwrap_or(1)),
                );
                multi_and_all(variable, &mut converted);
                converted.insert("value".into(), value_of(&current, &converted));
            }
            "custom" => {
                converted.insert("type".into(), json!("custom"));
                let options = custom_options(&query_text(variable.get("query")), &current);
                converted.insert("options".into(), json!(options));
                multi_and_all(variable, &mut converted);
                converted.insert("value".into(), value_of(&current, &converted));
            }
            "constant" => {
                converted.insert("type".into(), json!("constant"));
                converted.insert("value".into(), json!(query_text(variable.get("query"))));
            }
            "textbox" => {
                converted.insert("type".into(), json!("textbox"));
                let default = current
                    .first()
                    .cloned()
                    .unwrap_or_else(|| query_text(variable.get("query")));
                converted.insert("value".into(), json!(default));
            }
            "interval" => {
                converted.insert("type".into(), json!("interval"));
                let options: Vec<Value> = query_text(variable.get("query"))
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| json!({"label": o, "value": o}))
                    .collect();
                converted.insert("options".into(), json!(options));
                converted.insert(
                    "auto".into(),
                    json!(
                        variable
                            .get("auto")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    ),
                );
                converted.insert(
                    "auto_count".into(),
                    json!(
                        variable
                            .get("auto_count")
                            .and_then(Value::as_i64)
                            .unwrap_or(30)
                    ),
                );
                converted.insert("auto_min".into(), json!(text(variable, "auto_min")));
                converted.insert(
                    "value".into(),
                    json!(current.first().cloned().unwrap_or_default()),
                );
            }
            "adhoc" => {
                converted.insert("type".into(), json!("dynamic_filters"));
                converted.insert("value".into(), json!([]));
            }
            "datasource" => {
                report.approximated.push(format!(
                    "variable {name}: data source variable; kansoku answers every query"
                ));
                continue;
            }
            other => {
                report
                    .dropped
                    .push(format!("variable {name}: type {other:?} is not supported"));
                continue;
            }
        }
        out.push(Value::Object(converted));
    }
    out
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A variable's query: a string, or `{query: …}` in newer exports.
fn query_text(query: Option<&Value>) -> String {
    match query {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(object)) => object
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

/// `current.value` as a list (a string or a list of strings).
fn current_values(variable: &Map<String, Value>) -> Vec<String> {
    match variable.get("current").and_then(|c| c.get("value")) {
        Some(Value::String(value)) => vec![value.clone()],
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn multi_and_all(variable: &Map<String, Value>, converted: &mut Map<String, Value>) {
    let multi = variable
        .get("multi")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let include_all = variable
        .get("includeAll")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    converted.insert("multiSelect".into(), json!(multi));
    converted.insert("includeAll".into(), json!(include_all));
    if let Some(all) = variable.get("allValue").and_then(Value::as_str)
        && !all.is_empty()
    {
        converted.insert("allValue".into(), json!(all));
    }
}

/// The selected value(s): Grafana's `$__all` stays as is (the browser expands it).
fn value_of(current: &[String], converted: &Map<String, Value>) -> Value {
    let multi = converted
        .get("multiSelect")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if multi {
        return json!(current);
    }
    json!(current.first().cloned().unwrap_or_default())
}

/// `a,b,c` or `label : value, …` (Grafana's custom variable syntax; `\,` escapes a comma).
fn custom_options(query: &str, current: &[String]) -> Vec<Value> {
    let mut options = Vec::new();
    let mut item = String::new();
    let mut chars = query.chars().peekable();
    let mut items = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                item.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut item)),
            _ => item.push(c),
        }
    }
    items.push(item);
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (label, value) = match item.split_once(" : ") {
            Some((label, value)) => (label.trim(), value.trim()),
            None => (item, item),
        };
        options.push(json!({
            "label": label,
            "value": value,
            "selected": current.iter().any(|c| c == value),
        }));
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_prometheus_variables_convert() {
        let list = vec![
            json!({"name": "datasource", "type": "datasource", "query": "prometheus"}),
            json!({"name": "cluster", "type": "query", "hide": 2, "refresh": 2, "sort": 1,
                   "query": {"query": "label_values(up{job=\"kube-state-metrics\"}, cluster)", "refId": "x"},
                   "current": {"text": "", "value": ""}}),
            json!({"name": "namespace", "type": "query", "includeAll": true, "allValue": ".+",
                   "multi": true, "query": "label_values(kube_pod_info{cluster=\"$cluster\"}, namespace)",
                   "current": {"value": ["$__all"]}}),
            json!({"name": "env", "type": "custom", "query": "prod : production,dev\\,test",
                   "current": {"value": "production"}}),
            json!({"name": "every", "type": "interval", "query": "1m,10m,1h", "auto": true}),
            json!({"name": "weird", "type": "snapshot"}),
        ];
        let mut report = Report::default();
        let out = convert(&list, &mut report);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0]["type"], "query_values");
        assert_eq!(
            out[0]["query_data"]["promql"],
            "label_values(up{job=\"kube-state-metrics\"}, cluster)"
        );
        assert_eq!(out[0]["hideOnDashboard"], true);
        assert_eq!(out[1]["includeAll"], true);
        assert_eq!(out[1]["allValue"], ".+");
        assert_eq!(out[1]["value"], json!(["$__all"]));
        assert_eq!(
            out[2]["options"],
            json!([
                {"label": "prod", "value": "production", "selected": true},
                {"label": "dev,test", "value": "dev,test", "selected": false}
            ])
        );
        assert_eq!(out[3]["options"][2]["value"], "1h");
        assert_eq!(report.dropped.len(), 1, "{report:?}");
        assert!(report.dropped[0].contains("weird"));
        assert_eq!(report.approximated.len(), 1);
    }
}
