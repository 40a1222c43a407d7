//! Grafana dashboard JSON → o2 v8, one way (`../shared/reference/dashboards.md` §2).
//!
//! Accepts the classic model (schemaVersion ≥ 16; older `rows[].panels[]` with `span` are laid
//! out on the grid first), the same wrapped as a Grafana 12 V1 resource (`spec`) or as the HTTP
//! API's `{dashboard, meta}`, and grafana.com downloads (`__inputs`: every `${DS_…}` is kansoku).
//! V2 resources are refused with a message. Queries on Prometheus data sources are kept verbatim
//! (PromQL, variables and all); everything that cannot be carried over is listed in the
//! [`Report`], never dropped silently.

mod panels;
mod units;
mod variables;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

pub use panels::legend;

/// What a conversion carried over.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Panels converted (rows included).
    pub panels: usize,
    /// Things carried over with a difference, each with the difference.
    pub approximated: Vec<String>,
    /// Things not carried over, each with the reason.
    pub dropped: Vec<String>,
}

/// A converted dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The v8 document (not yet validated or stored).
    pub dashboard: Value,
    /// What was converted, approximated and dropped.
    pub report: Report,
}

/// Whether `value` is a Grafana dashboard (in any of the accepted wrappings) rather than v8.
pub fn is_grafana(value: &Value) -> bool {
    if value.get("tabs").is_some() {
        return false;
    }
    value.get("schemaVersion").is_some()
        || value.get("panels").is_some()
        || value.get("rows").is_some()
        || value.get("templating").is_some()
        || value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("dashboard.grafana.app/"))
        || value
            .get("dashboard")
            .is_some_and(|d| d.get("panels").is_some())
}

/// The classic dashboard inside a wrapper.
fn unwrap(value: &Value) -> Result<&Map<String, Value>> {
    if let Some(api_version) = value.get("apiVersion").and_then(Value::as_str) {
        if !api_version.starts_with("dashboard.grafana.app/v1") {
            return Err(Error::Invalid(format!(
                "{api_version} dashboards (Grafana 13's v2 schema) are not supported: in Grafana, \
                 export the dashboard as Classic JSON"
            )));
        }
        return value
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Invalid("a dashboard resource without spec".into()));
    }
    if let Some(inner) = value.get("dashboard").and_then(Value::as_object) {
        return Ok(inner);
    }
    value
        .as_object()
        .ok_or_else(|| Error::Invalid("a Grafana dashboard is a JSON object".into()))
}

/// Lays out pre-16 `rows[].panels[]` (12-column `span`, pixel row heights) as grid panels with
/// row panels between them.
fn panels_of_rows(rows: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut y = 0;
    for row in rows {
        let height = row["height"]
            .as_str()
            .and_then(|h| h.trim_end_matches("px").parse::<i64>().ok())
            .or_else(|| row["height"].as_i64())
            .unwrap_or(250);
        let h = (height / 38).max(3);
        if row["showTitle"] == Value::Bool(true) || !row["title"].as_str().unwrap_or("").is_empty()
        {
            out.push(json!({"type": "row", "title": row["title"], "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}}));
            y += 1;
        }
        let mut x = 0;
        for panel in row["panels"].as_array().cloned().unwrap_or_default() {
            if !panel.is_object() {
                continue;
            }
            let w = (panel["span"].as_f64().unwrap_or(12.0) * 2.0).round() as i64;
            if x + w > 24 {
                x = 0;
                y += h;
            }
            let mut panel = panel;
            panel["gridPos"] = json!({"x": x, "y": y, "w": w.clamp(1, 24), "h": h});
            out.push(panel);
            x += w;
        }
        y += h;
    }
    out
}

/// The panels in reading order, rows' collapsed children after their row.
fn flat_panels(dashboard: &Map<String, Value>) -> Vec<Value> {
    let top = match dashboard.get("panels").and_then(Value::as_array) {
        Some(panels) => panels.clone(),
        None => panels_of_rows(
            dashboard
                .get("rows")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        ),
    };
    let position = |panel: &Value| {
        (
            panel["gridPos"]["y"].as_i64().unwrap_or(0),
            panel["gridPos"]["x"].as_i64().unwrap_or(0),
        )
    };
    let mut sorted = top;
    sorted.sort_by_key(position);
    let mut out = Vec::new();
    for panel in sorted {
        let children = panel["panels"].as_array().cloned().unwrap_or_default();
        out.push(panel);
        let mut children = children;
        children.sort_by_key(position);
        out.extend(children);
    }
    out
}

fn row_panel(panel: &Map<String, Value>, index: usize) -> Value {
    let y = panel
        .get("gridPos")
        .and_then(|g| g.get("y"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    json!({
        "id": format!("Panel_ID{}", index + 1),
        "type": "row",
        "title": panel.get("title").and_then(Value::as_str).unwrap_or(""),
        "description": "",
        "queryType": "",
        "queries": [],
        "config": {"collapsed": panel.get("collapsed").and_then(Value::as_bool).unwrap_or(false)},
        "layout": {"x": 0, "y": y * 2, "w": 192, "h": 2, "i": index + 1},
    })
}

/// `now-6h` → relative `6h`; an ISO time or epoch ms → absolute µs.
fn time_range(dashboard: &Map<String, Value>, report: &mut Report) -> Value {
    let from = dashboard
        .get("time")
        .and_then(|t| t.get("from"))
        .and_then(Value::as_str)
        .unwrap_or("now-6h");
    let to = dashboard
        .get("time")
        .and_then(|t| t.get("to"))
        .and_then(Value::as_str)
        .unwrap_or("now");
    if let Some(period) = from.strip_prefix("now-")
        && to == "now"
        && !period.contains('/')
    {
        return json!({"type": "relative", "relativeTimePeriod": period, "startTime": 0, "endTime": 0});
    }
    let absolute = |text: &str| -> Option<i64> {
        if let Ok(ms) = text.parse::<i64>() {
            return Some(ms * 1000);
        }
        text.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_microsecond())
    };
    if let (Some(start), Some(end)) = (absolute(from), absolute(to)) {
        return json!({"type": "absolute", "relativeTimePeriod": "", "startTime": start, "endTime": end});
    }
    report.approximated.push(format!(
        "time range {from} to {to}: shown as the last 6 hours"
    ));
    json!({"type": "relative", "relativeTimePeriod": "6h", "startTime": 0, "endTime": 0})
}

/// Converts a Grafana dashboard to v8.
pub fn convert(value: &Value) -> Result<Converted> {
    let dashboard = unwrap(value)?;
    let mut report = Report::default();
    if let Some(inputs) = dashboard.get("__inputs").and_then(Value::as_array) {
        for input in inputs {
            let plugin = input["pluginId"].as_str().unwrap_or("");
            if input["type"] == "datasource" && plugin != "prometheus" {
                report.dropped.push(format!(
                    "input {}: data source {plugin:?} is not Prometheus; its panels are dropped",
                    input["name"].as_str().unwrap_or("")
                ));
            }
        }
    }
    let mut panels = Vec::new();
    for (index, panel) in flat_panels(dashboard).iter().enumerate() {
        let Some(panel) = panel.as_object() else {
            continue;
        };
        if panel.get("type").and_then(Value::as_str) == Some("row") {
            panels.push(row_panel(panel, index));
            report.panels += 1;
            continue;
        }
        if let Some(converted) = panels::convert(panel, index, &mut report) {
            panels.push(converted);
        }
    }
    let list = dashboard
        .get("templating")
        .and_then(|t| t.get("list"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let variables = variables::convert(list, &mut report);
    let has_adhoc = variables.iter().any(|v| v["type"] == "dynamic_filters");
    let title = dashboard
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("Imported from Grafana");
    let mut document = json!({
        "version": 8,
        "title": title,
        "description": dashboard.get("description").and_then(Value::as_str).unwrap_or(""),
        "role": "",
        "tabs": [{"tabId": "default", "name": "Default", "panels": panels}],
        "variables": {"list": variables, "showDynamicFilters": has_adhoc},
        "defaultDatetimeDuration": time_range(dashboard, &mut report),
    });
    if let Some(refresh) = dashboard
        .get("refresh")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        document["refresh"] = json!(refresh);
    }
    if let Some(tags) = dashboard.get("tags").filter(|t| t.is_array()) {
        document["tags"] = tags.clone();
    }
    Ok(Converted {
        dashboard: document,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Dashboard;

    fn sample() -> Value {
        json!({
            "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
            "title": "Kubernetes / Compute Resources / Pod",
            "schemaVersion": 39, "refresh": "10s", "tags": ["kubernetes-mixin"],
            "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {"name": "namespace", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "query": "label_values(kube_namespace_status_phase{job=\"kube-state-metrics\"}, namespace)", "refresh": 2, "sort": 1}
            ]},
            "panels": [
                {"type": "row", "title": "CPU", "collapsed": false, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
                {"type": "timeseries", "title": "CPU Usage", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                 "gridPos": {"x": 0, "y": 1, "w": 24, "h": 7},
                 "targets": [{"expr": "sum(rate(container_cpu_usage_seconds_total{namespace=\"$namespace\"}[$__rate_interval])) by (pod)", "legendFormat": "{{pod}}"}]},
                {"type": "row", "title": "Memory", "collapsed": true, "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1},
                 "panels": [{"type": "stat", "title": "Memory", "gridPos": {"x": 0, "y": 9, "w": 6, "h": 4},
                             "targets": [{"expr": "sum(container_memory_working_set_bytes)", "instant": true}],
                             "fieldConfig": {"defaults": {"unit": "bytes"}}}]},
                {"type": "news", "title": "Grafana blog", "gridPos": {"x": 0, "y": 20, "w": 24, "h": 4}}
            ]
        })
    }

    #[test]
    fn a_classic_dashboard_converts_to_a_valid_v8_document() {
        let converted = convert(&sample()).unwrap();
        let dashboard = Dashboard::from_value(converted.dashboard.clone()).unwrap();
        let panels: Vec<_> = dashboard.panels().collect();
        let kinds: Vec<&str> = panels.iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["row", "line", "row", "metric"]);
        assert_eq!(panels[2]["config"]["collapsed"], true);
        assert_eq!(panels[3]["config"]["unit"], "bytes");
        assert_eq!(converted.dashboard["refresh"], "10s");
        assert_eq!(
            converted.dashboard["defaultDatetimeDuration"]["relativeTimePeriod"],
            "1h"
        );
        assert_eq!(
            converted.dashboard["variables"]["list"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(converted.report.panels, 4);
        assert_eq!(converted.report.dropped.len(), 1, "{:?}", converted.report);
        assert!(converted.report.dropped[0].contains("news"));
    }

    #[test]
    fn wrappers_are_unwrapped_and_v2_is_refused() {
        let api = json!({"dashboard": sample(), "meta": {"slug": "pod"}});
        assert!(is_grafana(&api));
        assert_eq!(convert(&api).unwrap().report.panels, 4);
        let v1 = json!({"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard", "spec": sample()});
        assert_eq!(convert(&v1).unwrap().report.panels, 4);
        let v2 =
            json!({"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard", "spec": {}});
        match convert(&v2) {
            Err(Error::Invalid(message)) => assert!(message.contains("Classic"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(!is_grafana(&json!({"title": "x", "tabs": []})));
    }

    #[test]
    fn old_rows_are_laid_out_on_the_grid() {
        let old = json!({"title": "old", "rows": [
            {"title": "Row", "height": "250px", "panels": [
                {"type": "graph", "title": "a", "span": 6, "targets": [{"expr": "up"}]},
                {"type": "graph", "title": "b", "span": 6, "targets": [{"expr": "up"}]},
                {"type": "singlestat", "title": "c", "span": 12, "targets": [{"expr": "up"}]}
            ]}
        ]});
        let converted = convert(&old).unwrap();
        let dashboard = Dashboard::from_value(converted.dashboard).unwrap();
        let layouts: Vec<(i64, i64, i64)> = dashboard
            .panels()
            .map(|p| {
                (
                    p["layout"]["x"].as_i64().unwrap(),
                    p["layout"]["y"].as_i64().unwrap(),
                    p["layout"]["w"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            layouts,
            [(0, 0, 192), (0, 2, 96), (96, 2, 96), (0, 14, 192)]
        );
    }
}
