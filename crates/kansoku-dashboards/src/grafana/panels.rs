//! One Grafana panel → one v8 panel (`../shared/reference/dashboards.md` §2.2, §2.6).
//!
//! Besides o2's keys, converted panels carry kansoku's extensions, which the browser reads and
//! o2 ignores: `queries[].config.instant` and `min_step`, and in `config`: `thresholds`,
//! `mappings`, `overrides`, `transformations`, `reduce`, `legend_calcs`, `display_name`, `color`,
//! `stacking`, `repeat`.

use serde_json::{Map, Value, json};

use super::{Report, units};

/// The grid: Grafana's 24 columns of 30 px rows (plus 8 px margins) → o2's 192 columns of 17 px
/// rows (plus 4 px margins).
const COLUMN_FACTOR: i64 = 8;
const ROW_FACTOR: i64 = 2;

/// Transformations the browser applies; others are dropped with a note.
const SUPPORTED_TRANSFORMATIONS: &[&str] = &[
    "merge",
    "joinByField",
    "seriesToColumns",
    "organize",
    "sortBy",
];
/// Override matchers and properties the browser applies.
const SUPPORTED_MATCHERS: &[&str] = &["byName", "byRegexp", "byFrameRefID"];
const SUPPORTED_PROPERTIES: &[&str] = &[
    "unit",
    "decimals",
    "color",
    "displayName",
    "custom.lineStyle",
];

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `object[key]`, `Null` when absent (a `Map` index would panic).
fn field<'a>(object: &'a Map<String, Value>, key: &str) -> &'a Value {
    object.get(key).unwrap_or(&Value::Null)
}

/// A v8 panel type for a Grafana panel, or why there is none.
fn panel_type(panel: &Map<String, Value>) -> Result<&'static str, String> {
    let defaults = panel
        .get("fieldConfig")
        .and_then(|f| f.get("defaults"))
        .cloned()
        .unwrap_or(Value::Null);
    let custom = &defaults["custom"];
    let stacked = custom["stacking"]["mode"]
        .as_str()
        .is_some_and(|mode| mode != "none")
        || panel.get("stack").and_then(Value::as_bool).unwrap_or(false);
    let filled = custom["fillOpacity"].as_f64().unwrap_or(0.0) > 0.0;
    Ok(match text(panel, "type") {
        "timeseries" | "graph" => {
            if custom["drawStyle"] == "points" {
                "scatter"
            } else if custom["drawStyle"] == "bars" || panel.get("bars") == Some(&Value::Bool(true))
            {
                if stacked { "stacked" } else { "bar" }
            } else if stacked {
                "area-stacked"
            } else if filled {
                "area"
            } else {
                "line"
            }
        }
        "stat" | "singlestat" => "metric",
        "gauge" => "gauge",
        "bargauge" => "h-bar",
        "table" | "table-old" => "table",
        "piechart" => {
            if field(panel, "options")["pieType"] == "donut" {
                "donut"
            } else {
                "pie"
            }
        }
        "heatmap" => "heatmap",
        "barchart" => "bar",
        "text" => {
            if field(panel, "options")["mode"] == "html" {
                "html"
            } else {
                "markdown"
            }
        }
        other => return Err(format!("type {other:?} has no kansoku equivalent")),
    })
}

/// Whether a data source reference is Prometheus (or the dashboard's variable / input for it).
fn is_prometheus(datasource: Option<&Value>) -> bool {
    match datasource {
        None | Some(Value::Null) => true,
        Some(Value::String(name)) => !name.eq_ignore_ascii_case("-- Grafana --"),
        Some(Value::Object(reference)) => {
            let kind = reference.get("type").and_then(Value::as_str).unwrap_or("");
            matches!(kind, "" | "prometheus" | "datasource")
                && reference.get("uid").and_then(Value::as_str) != Some("grafana")
        }
        Some(_) => false,
    }
}

/// Grafana's `{{label}}` legend → o2's `{label}`; `__auto` → empty (the series name).
pub fn legend(format: &str) -> String {
    if format == "__auto" {
        return String::new();
    }
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push('{');
        out.push_str(rest[start + 2..start + 2 + end].trim());
        out.push('}');
        rest = &rest[start + 2 + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Converts one panel (not a row); `None` when nothing of it can be shown.
pub fn convert(panel: &Map<String, Value>, index: usize, report: &mut Report) -> Option<Value> {
    let title = text(panel, "title").to_string();
    let name = if title.is_empty() {
        format!("panel {}", index + 1)
    } else {
        format!("panel {title:?}")
    };
    let kind = match panel_type(panel) {
        Ok(kind) => kind,
        Err(why) => {
            report.dropped.push(format!("{name}: {why}"));
            return None;
        }
    };
    let mut config = Map::new();
    let mut out = Map::new();
    out.insert("id".into(), json!(format!("Panel_ID{}", index + 1)));
    out.insert("type".into(), json!(kind));
    out.insert("title".into(), json!(title));
    out.insert("description".into(), json!(text(panel, "description")));
    out.insert("layout".into(), layout(panel, index));
    if matches!(kind, "markdown" | "html") {
        let content = field(panel, "options")["content"].as_str().unwrap_or("");
        out.insert("queryType".into(), json!(""));
        out.insert("queries".into(), json!([]));
        out.insert(
            "markdownContent".into(),
            json!(if kind == "markdown" { content } else { "" }),
        );
        out.insert(
            "htmlContent".into(),
            json!(if kind == "html" { content } else { "" }),
        );
        out.insert("config".into(), Value::Object(config));
        report.panels += 1;
        return Some(Value::Object(out));
    }
    if !is_prometheus(panel.get("datasource")) {
        report.dropped.push(format!(
            "{name}: its data source is not Prometheus ({})",
            panel
                .get("datasource")
                .map(Value::to_string)
                .unwrap_or_default()
        ));
        return None;
    }
    let queries = queries(panel, &name, report);
    if queries.is_empty() {
        report
            .dropped
            .push(format!("{name}: no Prometheus query to carry over"));
        return None;
    }
    out.insert("queryType".into(), json!("promql"));
    out.insert("queries".into(), json!(queries));
    field_config(panel, &name, &mut config, report);
    legacy_thresholds(panel, &mut config);
    legacy_table(panel, &name, &mut config, report);
    options(panel, kind, &mut config);
    time_overrides(panel, &mut config, &mut out);
    transformations(panel, &name, &mut config, report);
    if let Some(repeat) = panel.get("repeat").and_then(Value::as_str)
        && !repeat.is_empty()
    {
        config.insert("repeat".into(), json!(repeat));
    }
    out.insert("config".into(), Value::Object(config));
    report.panels += 1;
    Some(Value::Object(out))
}

fn layout(panel: &Map<String, Value>, index: usize) -> Value {
    let grid = panel.get("gridPos").cloned().unwrap_or(Value::Null);
    let cell = |key: &str, default: i64| grid[key].as_i64().unwrap_or(default).max(0);
    let w = (cell("w", 12).clamp(1, 24) * COLUMN_FACTOR).min(192);
    let x = (cell("x", 0) * COLUMN_FACTOR).min(192 - w);
    json!({
        "x": x,
        "y": cell("y", 0) * ROW_FACTOR,
        "w": w,
        "h": cell("h", 8).max(1) * ROW_FACTOR,
        "i": index + 1,
    })
}

fn queries(panel: &Map<String, Value>, name: &str, report: &mut Report) -> Vec<Value> {
    let panel_interval = text(panel, "interval");
    let mut out = Vec::new();
    let targets = panel
        .get("targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, target) in targets.iter().enumerate() {
        let Some(target) = target.as_object() else {
            continue;
        };
        if target.get("hide").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        if !is_prometheus(target.get("datasource")) {
            report.dropped.push(format!(
                "{name}: query {} uses a data source that is not Prometheus",
                index + 1
            ));
            continue;
        }
        let expr = text(target, "expr");
        if expr.trim().is_empty() {
            continue;
        }
        let ref_id = match text(target, "refId") {
            "" => char::from(b'A' + (index % 26) as u8).to_string(),
            given => given.to_string(),
        };
        let instant = target
            .get("instant")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            && !target
                .get("range")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let min_step = match text(target, "interval") {
            "" => panel_interval,
            given => given,
        };
        let mut config = json!({
            "promql_legend": legend(text(target, "legendFormat")),
            "step_value": "0",
            "query_label": ref_id,
        });
        if instant {
            config["instant"] = json!(true);
        }
        if !min_step.is_empty() {
            config["min_step"] = json!(min_step);
        }
        if text(target, "format") == "table" {
            config["format"] = json!("table");
        }
        out.push(json!({
            "query": expr,
            "vrlFunctionQuery": "",
            "customQuery": true,
            "fields": {
                "stream": "", "stream_type": "metrics",
                "x": [], "y": [], "z": [], "breakdown": [],
                "filter": {"filterType": "group", "logicalOperator": "AND", "conditions": []}
            },
            "config": config,
        }));
    }
    out
}

fn field_config(
    panel: &Map<String, Value>,
    name: &str,
    config: &mut Map<String, Value>,
    report: &mut Report,
) {
    let defaults = panel
        .get("fieldConfig")
        .and_then(|f| f.get("defaults"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let legacy_unit = panel
        .get("yaxes")
        .and_then(|axes| axes.get(0))
        .and_then(|axis| axis.get("format"))
        .and_then(Value::as_str)
        .or_else(|| panel.get("format").and_then(Value::as_str))
        .unwrap_or("");
    let grafana_unit = match text(&defaults, "unit") {
        "" => legacy_unit,
        unit => unit,
    };
    let unit = units::convert(grafana_unit);
    config.insert("unit".into(), json!(unit.unit));
    if let Some(custom) = unit.custom {
        config.insert("unit_custom".into(), json!(custom));
    }
    if let Some(why) = unit.approximation {
        report
            .approximated
            .push(format!("{name}: unit {grafana_unit:?}: {why}"));
    }
    for (from, to) in [
        ("decimals", "decimals"),
        ("min", "y_axis_min"),
        ("max", "y_axis_max"),
        ("noValue", "no_value_replacement"),
        ("displayName", "display_name"),
        ("thresholds", "thresholds"),
        ("mappings", "mappings"),
        ("color", "color"),
    ] {
        let Some(value) = defaults.get(from).filter(|v| !v.is_null()) else {
            continue;
        };
        if from == "decimals" && value.as_i64().is_some_and(|d| d < 0) {
            continue;
        }
        config.insert(to.into(), value.clone());
    }
    if let Some(stacking) = defaults
        .get("custom")
        .and_then(|c| c.get("stacking"))
        .and_then(|s| s.get("mode"))
        .and_then(Value::as_str)
        .filter(|mode| *mode != "none")
    {
        config.insert("stacking".into(), json!(stacking));
    }
    let overrides = panel
        .get("fieldConfig")
        .and_then(|f| f.get("overrides"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept = Vec::new();
    for rule in overrides {
        let matcher = rule["matcher"]["id"].as_str().unwrap_or("");
        if !SUPPORTED_MATCHERS.contains(&matcher) {
            report
                .dropped
                .push(format!("{name}: field override matched {matcher:?}"));
            continue;
        }
        let properties: Vec<Value> = rule["properties"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|property| {
                let id = property["id"].as_str().unwrap_or("");
                let supported = SUPPORTED_PROPERTIES.contains(&id);
                if !supported {
                    report
                        .dropped
                        .push(format!("{name}: field override property {id:?}"));
                }
                supported
            })
            .map(|property| o2_unit_property(&property))
            .collect();
        if !properties.is_empty() {
            kept.push(json!({"matcher": rule["matcher"], "properties": properties}));
        }
    }
    if !kept.is_empty() {
        config.insert("overrides".into(), json!(kept));
    }
}

/// An override property with a Grafana unit as `{id: "unit", value: <o2 unit>, custom: <suffix>}`.
fn o2_unit_property(property: &Value) -> Value {
    if property["id"] != "unit" {
        return property.clone();
    }
    let unit = units::convert(property["value"].as_str().unwrap_or(""));
    let mut converted = json!({"id": "unit", "value": unit.unit});
    if let Some(custom) = unit.custom {
        converted["custom"] = json!(custom);
    }
    converted
}

/// Grafana < 7: a singlestat's `thresholds: "70,80"` with three `colors`, or a graph's
/// `thresholds: [{value, colorMode, op}]`, as `config.thresholds` steps.
fn legacy_thresholds(panel: &Map<String, Value>, config: &mut Map<String, Value>) {
    if config.contains_key("thresholds") {
        return;
    }
    match panel.get("thresholds") {
        Some(Value::String(values)) => {
            let colors: Vec<String> = field(panel, "colors")
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .filter(|c: &Vec<String>| c.len() >= 3)
                .unwrap_or_else(|| {
                    vec!["green".to_string(), "orange".to_string(), "red".to_string()]
                });
            let values: Vec<f64> = values
                .split(',')
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .collect();
            if values.is_empty() {
                return;
            }
            let mut steps = vec![json!({"color": colors[0], "value": null})];
            for (index, value) in values.iter().take(2).enumerate() {
                steps.push(json!({"color": colors[index + 1], "value": value}));
            }
            config.insert(
                "thresholds".into(),
                json!({"mode": "absolute", "steps": steps}),
            );
        }
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut steps = vec![json!({"color": "transparent", "value": null})];
            let mut values: Vec<(f64, String)> = list
                .iter()
                .filter_map(|t| {
                    let value = t["value"].as_f64()?;
                    let color = match t["colorMode"].as_str() {
                        Some("critical") => "red".to_string(),
                        Some("warning") => "orange".to_string(),
                        Some("ok") => "green".to_string(),
                        _ => t["lineColor"].as_str().unwrap_or("red").to_string(),
                    };
                    Some((value, color))
                })
                .collect();
            values.sort_by(|a, b| a.0.total_cmp(&b.0));
            steps.extend(
                values
                    .into_iter()
                    .map(|(value, color)| json!({"color": color, "value": value})),
            );
            config.insert(
                "thresholds".into(),
                json!({"mode": "absolute", "steps": steps}),
            );
        }
        _ => {}
    }
}

/// Grafana < 7 tables: several (instant) queries merged into one row per label set
/// (`transform: "table"`), columns `Value #<refId>` renamed, hidden and given units by `styles`.
fn legacy_table(
    panel: &Map<String, Value>,
    name: &str,
    config: &mut Map<String, Value>,
    report: &mut Report,
) {
    let Some(styles) = panel.get("styles").and_then(Value::as_array) else {
        return;
    };
    let mut transformations = Vec::new();
    let targets = field(panel, "targets").as_array().map_or(0, Vec::len);
    if targets > 1 || field(panel, "transform") == "table" {
        transformations.push(json!({"id": "merge", "options": {}}));
    }
    let mut rename = Map::new();
    let mut exclude = Map::new();
    let mut overrides = Vec::new();
    let mut lost = false;
    for style in styles {
        let pattern = style["pattern"].as_str().unwrap_or("");
        if pattern.is_empty() || pattern.starts_with('/') {
            continue;
        }
        if style["type"] == "hidden" {
            exclude.insert(pattern.to_string(), json!(true));
            continue;
        }
        let alias = style["alias"]
            .as_str()
            .filter(|a| !a.is_empty())
            .unwrap_or(pattern);
        if alias != pattern {
            rename.insert(pattern.to_string(), json!(alias));
        }
        let mut properties = Vec::new();
        if let Some(unit) = style["unit"].as_str() {
            properties.push(o2_unit_property(&json!({"id": "unit", "value": unit})));
        }
        if let Some(decimals) = style["decimals"].as_i64().filter(|d| *d >= 0) {
            properties.push(json!({"id": "decimals", "value": decimals}));
        }
        if !properties.is_empty() {
            overrides.push(
                json!({"matcher": {"id": "byName", "options": alias}, "properties": properties}),
            );
        }
        lost |= style["link"] == Value::Bool(true) || !style["colorMode"].is_null();
    }
    if !rename.is_empty() || !exclude.is_empty() {
        transformations.push(json!({"id": "organize", "options": {"renameByName": rename, "excludeByName": exclude}}));
    }
    if lost {
        report.approximated.push(format!(
            "{name}: the old table's cell links and colours are not carried over"
        ));
    }
    if !transformations.is_empty() {
        let existing = config
            .remove("transformations")
            .and_then(|t| t.as_array().cloned())
            .unwrap_or_default();
        transformations.extend(existing);
        config.insert("transformations".into(), json!(transformations));
    }
    if !overrides.is_empty() {
        let existing = config
            .remove("overrides")
            .and_then(|o| o.as_array().cloned())
            .unwrap_or_default();
        overrides.extend(existing);
        config.insert("overrides".into(), json!(overrides));
    }
}

fn options(panel: &Map<String, Value>, kind: &str, config: &mut Map<String, Value>) {
    let options = panel.get("options").cloned().unwrap_or(Value::Null);
    let legend = &options["legend"];
    let legacy_hidden = panel
        .get("legend")
        .and_then(|l| l.get("show"))
        .and_then(Value::as_bool)
        == Some(false);
    let hidden = legend["showLegend"] == Value::Bool(false)
        || legend["displayMode"] == "hidden"
        || legacy_hidden;
    config.insert("show_legends".into(), json!(!hidden));
    config.insert(
        "legends_position".into(),
        match legend["placement"].as_str() {
            Some("right") => json!("right"),
            _ => Value::Null,
        },
    );
    if let Some(calcs) = legend["calcs"].as_array().filter(|c| !c.is_empty()) {
        config.insert("legend_calcs".into(), json!(calcs));
    }
    if let Some(calc) = options["reduceOptions"]["calcs"]
        .as_array()
        .and_then(|calcs| calcs.first())
        .and_then(Value::as_str)
    {
        config.insert("reduce".into(), json!(calc));
    }
    if kind == "metric" {
        let sparkline = options["graphMode"] == "area"
            || panel
                .get("sparkline")
                .and_then(|s| s.get("show"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
        config.insert("sparkline".into(), json!({"enabled": sparkline}));
    }
}

fn time_overrides(
    panel: &Map<String, Value>,
    config: &mut Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    if let Some(from) = panel
        .get("timeFrom")
        .and_then(Value::as_str)
        .map(|f| f.trim_start_matches("now-"))
        .filter(|f| !f.is_empty())
    {
        config.insert("panel_time_enabled".into(), json!(true));
        config.insert(
            "panel_time_range".into(),
            json!({"type": "relative", "relativeTimePeriod": from, "startTime": 0, "endTime": 0}),
        );
    }
    if let Some(shift) = panel
        .get("timeShift")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        && let Some(Value::Array(queries)) = out.get_mut("queries")
    {
        for query in queries {
            query["config"]["time_shift"] = json!([{"offSet": shift}]);
        }
    }
}

fn transformations(
    panel: &Map<String, Value>,
    name: &str,
    config: &mut Map<String, Value>,
    report: &mut Report,
) {
    let list = panel
        .get("transformations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept = Vec::new();
    for transformation in list {
        let id = transformation["id"].as_str().unwrap_or("");
        if SUPPORTED_TRANSFORMATIONS.contains(&id) {
            kept.push(transformation);
        } else {
            report
                .dropped
                .push(format!("{name}: transformation {id:?}"));
        }
    }
    if !kept.is_empty() {
        config.insert("transformations".into(), json!(kept));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn legends_become_single_braces() {
        assert_eq!(legend("{{pod}} / {{ container }}"), "{pod} / {container}");
        assert_eq!(legend("__auto"), "");
        assert_eq!(legend("requests"), "requests");
        assert_eq!(legend("{{unclosed"), "{{unclosed");
    }

    #[test]
    fn a_timeseries_panel_converts_with_layout_unit_and_queries() {
        let panel = object(json!({
            "type": "timeseries", "title": "CPU", "interval": "1m",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"x": 12, "y": 7, "w": 12, "h": 7},
            "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0,
                "custom": {"stacking": {"mode": "normal"}, "fillOpacity": 10},
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null}, {"color": "red", "value": 80}]}},
                "overrides": [
                    {"matcher": {"id": "byName", "options": "requests"}, "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}, {"id": "links", "value": []}]},
                    {"matcher": {"id": "byType", "options": "number"}, "properties": [{"id": "unit", "value": "s"}]}
                ]},
            "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]}},
            "targets": [
                {"expr": "sum(rate(x[$__rate_interval])) by (pod)", "legendFormat": "{{pod}}"},
                {"expr": "hidden", "hide": true},
                {"expr": "sum(kube_pod_container_resource_requests)", "legendFormat": "requests", "instant": true}
            ]
        }));
        let mut report = Report::default();
        let out = convert(&panel, 2, &mut report).unwrap();
        assert_eq!(out["type"], "area-stacked");
        assert_eq!(
            out["layout"],
            json!({"x": 96, "y": 14, "w": 96, "h": 14, "i": 3})
        );
        assert_eq!(out["config"]["unit"], "percent-1");
        assert_eq!(out["config"]["legends_position"], "right");
        assert_eq!(out["config"]["thresholds"]["steps"][1]["value"], 80);
        let queries = out["queries"].as_array().unwrap();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0]["config"]["promql_legend"], "{pod}");
        assert_eq!(queries[0]["config"]["min_step"], "1m");
        assert_eq!(queries[0]["config"]["query_label"], "A");
        assert_eq!(queries[1]["config"]["instant"], true);
        assert_eq!(
            out["config"]["overrides"][0]["properties"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(report.dropped.len(), 2, "{report:?}");
        assert_eq!(report.panels, 1);
    }

    #[test]
    fn unsupported_panels_and_data_sources_are_reported() {
        let mut report = Report::default();
        let loki = object(json!({"type": "timeseries", "title": "logs",
            "datasource": {"type": "loki", "uid": "l"}, "targets": [{"expr": "{app=\"x\"}"}]}));
        assert!(convert(&loki, 0, &mut report).is_none());
        let timeline = object(json!({"type": "state-timeline", "title": "states"}));
        assert!(convert(&timeline, 1, &mut report).is_none());
        assert_eq!(report.dropped.len(), 2);
        assert!(report.dropped[0].contains("not Prometheus"), "{report:?}");
        assert!(report.dropped[1].contains("state-timeline"), "{report:?}");
    }

    #[test]
    fn text_and_stat_panels_convert() {
        let mut report = Report::default();
        let text = object(json!({"type": "text", "title": "Read me",
            "options": {"mode": "markdown", "content": "# Hello"}}));
        let out = convert(&text, 0, &mut report).unwrap();
        assert_eq!(out["type"], "markdown");
        assert_eq!(out["markdownContent"], "# Hello");
        let stat = object(json!({"type": "stat", "title": "Up",
            "options": {"graphMode": "area", "reduceOptions": {"calcs": ["mean"]}},
            "targets": [{"expr": "up", "instant": true}]}));
        let out = convert(&stat, 1, &mut report).unwrap();
        assert_eq!(out["type"], "metric");
        assert_eq!(out["config"]["sparkline"]["enabled"], true);
        assert_eq!(out["config"]["reduce"], "mean");
    }
}
