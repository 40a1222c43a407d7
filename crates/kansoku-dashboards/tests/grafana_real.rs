//! Real Grafana dashboards (kubernetes-mixin as compiled by kube-prometheus, and
//! dotdc/grafana-dashboards-kubernetes; see `testdata/grafana/README.md`) convert to valid v8
//! documents whose every PromQL query parses once its variables are substituted, with a report
//! for whatever could not be carried over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kansoku_dashboards::Dashboard;
use kansoku_dashboards::grafana::{self, Converted};
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/grafana");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What the browser does with "All" selected and the built-ins at a 1 h range.
fn substitute(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find(['$', '[']) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (name, length) = if let Some(inner) = tail.strip_prefix("${") {
            let end = inner.find('}').unwrap();
            (inner[..end].split(':').next().unwrap().to_string(), end + 3)
        } else if let Some(inner) = tail.strip_prefix("[[") {
            let end = inner.find("]]").unwrap();
            (inner[..end].split(':').next().unwrap().to_string(), end + 4)
        } else if let Some(inner) = tail.strip_prefix('$') {
            let end = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            (inner[..end].to_string(), end + 1)
        } else {
            out.push('[');
            rest = &tail[1..];
            continue;
        };
        let value = match name.as_str() {
            "__rate_interval" | "__interval" | "resolution" => "1m",
            "__range" => "1h",
            "__range_s" => "3600",
            "__interval_ms" | "__range_ms" => "60000",
            "" => "$",
            n if n.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                out.push_str(&tail[..length]);
                rest = &tail[length..];
                continue;
            }
            _ => ".+",
        };
        out.push_str(value);
        rest = &tail[length..];
    }
    out.push_str(rest);
    out
}

fn converted(value: &Value) -> (Converted, Dashboard) {
    assert!(grafana::is_grafana(value));
    let converted = grafana::convert(value).unwrap();
    let dashboard = Dashboard::from_value(converted.dashboard.clone()).unwrap();
    (converted, dashboard)
}

#[test]
fn real_dashboards_convert_to_valid_v8_with_parsable_queries() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 3,
        "{:?}",
        fixtures.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, value) in &fixtures {
        let (converted, dashboard) = converted(value);
        let panels: Vec<_> = dashboard.panels().collect();
        assert!(converted.report.panels > 0, "{name}");
        assert_eq!(panels.len(), converted.report.panels, "{name}");
        let mut queries = 0;
        for panel in &panels {
            for query in panel["queries"].as_array().unwrap() {
                let text = query["query"].as_str().unwrap();
                let substituted = substitute(text);
                kansoku_promql::engine::parse(&substituted).unwrap_or_else(|e| {
                    panic!("{name}: panel {}: {substituted}: {e}", panel["title"])
                });
                queries += 1;
            }
        }
        assert!(queries > 0, "{name}");
        for variable in dashboard.document()["variables"]["list"]
            .as_array()
            .unwrap()
        {
            assert_ne!(variable["type"], "datasource", "{name}");
        }
        for dropped in &converted.report.dropped {
            assert!(!dropped.is_empty(), "{name}");
        }
    }
}

#[test]
fn the_mixin_pod_dashboard_keeps_its_panels_tables_and_variables() {
    let fixtures = fixtures();
    let (_, value) = fixtures
        .iter()
        .find(|(name, _)| name == "k8s-resources-pod.json")
        .unwrap();
    let (converted, dashboard) = converted(value);
    let panels: Vec<_> = dashboard.panels().collect();
    let count = |kind: &str| panels.iter().filter(|p| p["type"] == kind).count();
    assert_eq!(
        count("line") + count("area") + count("area-stacked"),
        13,
        "{:?}",
        converted.report
    );
    assert_eq!(count("table"), 3);
    assert!(count("row") > 0);
    let table = panels.iter().find(|p| p["type"] == "table").unwrap();
    let transformations = table["config"]["transformations"].as_array().unwrap();
    assert_eq!(transformations[0]["id"], "merge");
    assert_eq!(
        transformations[1]["options"]["renameByName"]["Value #A"],
        "CPU Usage"
    );
    let labels: Vec<&str> = table["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["config"]["query_label"].as_str().unwrap())
        .collect();
    assert_eq!(&labels[..2], ["A", "B"]);
    let names: Vec<&str> = dashboard.document()["variables"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cluster", "namespace", "pod"]);
    let throttling = panels
        .iter()
        .find(|p| p["title"] == "CPU Throttling" && p["type"] != "row")
        .unwrap();
    assert_eq!(
        throttling["config"]["thresholds"]["steps"][1]["value"], 0.25,
        "{}",
        throttling["config"]
    );
}

#[test]
fn a_modern_dashboard_converts_every_panel() {
    let fixtures = fixtures();
    let (_, value) = fixtures
        .iter()
        .find(|(name, _)| name == "dotdc-k8s-views-pods.json")
        .unwrap();
    let (converted, dashboard) = converted(value);
    let panels: Vec<_> = dashboard.panels().collect();
    assert_eq!(panels.len(), 27, "{:?}", converted.report);
    let count = |kind: &str| panels.iter().filter(|p| p["type"] == kind).count();
    assert_eq!(count("row"), 4);
    assert_eq!(count("metric"), 7);
    assert_eq!(count("gauge"), 4);
    assert_eq!(count("table"), 1);
    let table = panels.iter().find(|p| p["type"] == "table").unwrap();
    let ids: Vec<&str> = table["config"]["transformations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["seriesToColumns", "organize"]);
    let kinds: Vec<&str> = dashboard.document()["variables"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"custom"), "{kinds:?}");
    assert!(
        converted
            .report
            .dropped
            .iter()
            .all(|d| d.contains("custom.fillOpacity") || d.contains("override")),
        "only the fill-opacity overrides are dropped: {:?}",
        converted.report
    );
}
