//! The OpenObserve v8 dashboard document (`../shared/reference/dashboards.md` §1.1).
//!
//! The document is kept as a JSON object with every field, known or not; validation checks the
//! parts kansoku reads (tabs, panels, queries, layout, variables) and names the offending path
//! in its error (`tabs[0].panels[2].type: …`). Casing follows o2: `dashboardId`, `tabId`,
//! `queryType` are camelCase; `stream_type` inside `fields` is snake_case.

use std::collections::HashSet;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The one document version accepted and written.
pub const VERSION: u64 = 8;
/// Largest document, bytes.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most panels in one dashboard (all tabs).
pub const MAX_PANELS: usize = 500;
/// Most variables.
pub const MAX_VARIABLES: usize = 100;
/// Most queries in one panel.
pub const MAX_QUERIES: usize = 20;
/// Columns of the layout grid (o2 v6+).
pub const GRID_COLUMNS: i64 = 192;

/// Panel types: o2's twenty plus `logs` (a list of records) and `row` (a section header that
/// collapses the panels below it).
pub const PANEL_TYPES: &[&str] = &[
    "area",
    "area-stacked",
    "bar",
    "h-bar",
    "line",
    "scatter",
    "stacked",
    "h-stacked",
    "geomap",
    "maps",
    "pie",
    "donut",
    "heatmap",
    "table",
    "metric",
    "gauge",
    "html",
    "markdown",
    "sankey",
    "custom_chart",
    "logs",
    "row",
];

/// Panel types whose content is not a query (`row`: a collapsible section header).
const CONTENT_PANELS: &[&str] = &["html", "markdown", "row"];

/// Variable types: o2's five plus `interval` (Grafana's, kept by the importer).
pub const VARIABLE_TYPES: &[&str] = &[
    "query_values",
    "custom",
    "constant",
    "textbox",
    "dynamic_filters",
    "interval",
];

/// A validated dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    document: Map<String, Value>,
}

impl Dashboard {
    /// Parses and validates a document sent by a client.
    pub fn parse(bytes: &[u8]) -> Result<Dashboard> {
        if bytes.len() > MAX_BYTES {
            return Err(Error::Invalid(format!(
                "dashboard is {} bytes; the limit is {MAX_BYTES}",
                bytes.len()
            )));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Invalid(format!("dashboard is not valid JSON: {e}")))?;
        Dashboard::from_value(value)
    }

    /// Validates a parsed document.
    pub fn from_value(value: Value) -> Result<Dashboard> {
        let Value::Object(mut document) = value else {
            return Err(Error::Invalid("a dashboard is a JSON object".into()));
        };
        check_version(&document)?;
        document.insert("version".into(), Value::from(VERSION));
        if !document.contains_key("tabs") {
            if document.contains_key("panels") {
                return Err(Error::Invalid(
                    "dashboard has top-level `panels` and no `tabs`: that is an o2 v1/v2 or a \
                     Grafana dashboard; import Grafana dashboards through \
                     /api/{org}/dashboards/import/grafana"
                        .into(),
                ));
            }
            document.insert(
                "tabs".into(),
                serde_json::json!([{"tabId": "default", "name": "Default", "panels": []}]),
            );
        }
        let dashboard = Dashboard { document };
        dashboard.validate()?;
        Ok(dashboard)
    }

    /// The document.
    pub fn document(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The document as JSON.
    pub fn into_value(self) -> Value {
        Value::Object(self.document)
    }

    fn text(&self, key: &str) -> &str {
        self.document
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `dashboardId` (empty when the client sent none).
    pub fn id(&self) -> &str {
        self.text("dashboardId")
    }

    /// `title`.
    pub fn title(&self) -> &str {
        self.text("title")
    }

    /// `description`.
    pub fn description(&self) -> &str {
        self.text("description")
    }

    /// `role`: `admin` restricts changes to admins.
    pub fn role(&self) -> &str {
        self.text("role")
    }

    /// `owner`.
    pub fn owner(&self) -> &str {
        self.text("owner")
    }

    /// Sets `dashboardId`.
    pub fn set_id(&mut self, id: &str) {
        self.document
            .insert("dashboardId".into(), Value::String(id.to_string()));
    }

    /// Sets `owner` and `created` (RFC 3339).
    pub fn set_origin(&mut self, owner: &str, created: &str) {
        self.document
            .insert("owner".into(), Value::String(owner.to_string()));
        self.document
            .insert("created".into(), Value::String(created.to_string()));
    }

    /// Every panel, with its tab.
    pub fn panels(&self) -> impl Iterator<Item = &Map<String, Value>> {
        self.document
            .get("tabs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|tab| tab.get("panels").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_object)
    }

    /// The stored form.
    pub fn body(&self) -> String {
        Value::Object(self.document.clone()).to_string()
    }

    fn validate(&self) -> Result<()> {
        let title = self.title().trim();
        if title.is_empty() {
            return Err(Error::Invalid("title: a dashboard needs a title".into()));
        }
        if title.chars().count() > 200 {
            return Err(Error::Invalid("title: longer than 200 characters".into()));
        }
        for key in ["dashboardId", "description", "role", "owner", "created"] {
            if self
                .document
                .get(key)
                .is_some_and(|v| !v.is_string() && !v.is_null())
            {
                return Err(Error::Invalid(format!("{key}: must be a string")));
            }
        }
        if !matches!(self.role(), "" | "admin" | "editor" | "viewer") {
            return Err(Error::Invalid(format!(
                "role: {:?} is not a role (admin, editor, viewer or empty)",
                self.role()
            )));
        }
        self.validate_tabs()?;
        self.validate_variables()
    }

    fn validate_tabs(&self) -> Result<()> {
        let Some(tabs) = self.document.get("tabs").and_then(Value::as_array) else {
            return Err(Error::Invalid("tabs: must be a list".into()));
        };
        if tabs.is_empty() {
            return Err(Error::Invalid(
                "tabs: a dashboard needs at least one tab".into(),
            ));
        }
        let mut tab_ids = HashSet::new();
        let mut panel_ids = HashSet::new();
        for (tab_index, tab) in tabs.iter().enumerate() {
            let path = format!("tabs[{tab_index}]");
            let Some(tab) = tab.as_object() else {
                return Err(Error::Invalid(format!("{path}: must be an object")));
            };
            let tab_id = string_field(tab, "tabId", &path)?;
            if tab_id.is_empty() || !tab_ids.insert(tab_id.to_string()) {
                return Err(Error::Invalid(format!(
                    "{path}.tabId: {tab_id:?} is empty or used by another tab"
                )));
            }
            let panels = match tab.get("panels") {
                None | Some(Value::Null) => &Vec::new(),
                Some(Value::Array(panels)) => panels,
                Some(_) => return Err(Error::Invalid(format!("{path}.panels: must be a list"))),
            };
            for (panel_index, panel) in panels.iter().enumerate() {
                let path = format!("{path}.panels[{panel_index}]");
                validate_panel(panel, &path, &mut panel_ids)?;
            }
        }
        if panel_ids.len() > MAX_PANELS {
            return Err(Error::Invalid(format!(
                "tabs: {} panels; the limit is {MAX_PANELS}",
                panel_ids.len()
            )));
        }
        Ok(())
    }

    fn validate_variables(&self) -> Result<()> {
        let list = match self.document.get("variables") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Object(variables)) => match variables.get("list") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::Array(list)) => list,
                Some(_) => return Err(Error::Invalid("variables.list: must be a list".into())),
            },
            Some(_) => return Err(Error::Invalid("variables: must be an object".into())),
        };
        if list.len() > MAX_VARIABLES {
            return Err(Error::Invalid(format!(
                "variables.list: {} variables; the limit is {MAX_VARIABLES}",
                list.len()
            )));
        }
        let mut names = HashSet::new();
        for (index, variable) in list.iter().enumerate() {
            let path = format!("variables.list[{index}]");
            let Some(variable) = variable.as_object() else {
                return Err(Error::Invalid(format!("{path}: must be an object")));
            };
            let name = string_field(variable, "name", &path)?;
            if !is_variable_name(name) {
                return Err(Error::Invalid(format!(
                    "{path}.name: {name:?} is not a variable name (letters, digits and _, not \
                     starting with a digit or __)"
                )));
            }
            if !names.insert(name.to_string()) {
                return Err(Error::Invalid(format!(
                    "{path}.name: {name:?} is declared twice"
                )));
            }
            let kind = string_field(variable, "type", &path)?;
            if !VARIABLE_TYPES.contains(&kind) {
                return Err(Error::Invalid(format!(
                    "{path}.type: {kind:?} is not a variable type (one of {})",
                    VARIABLE_TYPES.join(", ")
                )));
            }
        }
        Ok(())
    }
}

fn check_version(document: &Map<String, Value>) -> Result<()> {
    let version = match document.get("version") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.parse::<u64>().ok(),
        Some(_) => None,
    };
    match version {
        Some(VERSION) => Ok(()),
        Some(old @ 1..=7) => Err(Error::Invalid(format!(
            "version: dashboards of version {old} (OpenObserve before 0.10) are not accepted; \
             open and save it in a current OpenObserve, or export version 8"
        ))),
        _ => Err(Error::Invalid(format!(
            "version: {} is not a dashboard version this server knows (8)",
            document
                .get("version")
                .map(Value::to_string)
                .unwrap_or_default()
        ))),
    }
}

fn string_field<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(Error::Invalid(format!("{path}.{key}: missing"))),
        Some(_) => Err(Error::Invalid(format!("{path}.{key}: must be a string"))),
    }
}

fn validate_panel(panel: &Value, path: &str, ids: &mut HashSet<String>) -> Result<()> {
    let Some(panel) = panel.as_object() else {
        return Err(Error::Invalid(format!("{path}: must be an object")));
    };
    let id = string_field(panel, "id", path)?;
    if id.is_empty() || !ids.insert(id.to_string()) {
        return Err(Error::Invalid(format!(
            "{path}.id: {id:?} is empty or used by another panel"
        )));
    }
    let kind = string_field(panel, "type", path)?;
    if !PANEL_TYPES.contains(&kind) {
        return Err(Error::Invalid(format!(
            "{path}.type: {kind:?} is not a panel type (one of {})",
            PANEL_TYPES.join(", ")
        )));
    }
    let query_type = panel
        .get("queryType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(query_type, "" | "sql" | "promql") {
        return Err(Error::Invalid(format!(
            "{path}.queryType: {query_type:?} is neither \"sql\" nor \"promql\""
        )));
    }
    let queries = match panel.get("queries") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(queries)) => queries,
        Some(_) => return Err(Error::Invalid(format!("{path}.queries: must be a list"))),
    };
    if queries.len() > MAX_QUERIES {
        return Err(Error::Invalid(format!(
            "{path}.queries: {} queries; the limit is {MAX_QUERIES}",
            queries.len()
        )));
    }
    if queries.is_empty() && !CONTENT_PANELS.contains(&kind) {
        return Err(Error::Invalid(format!(
            "{path}.queries: a {kind} panel needs a query"
        )));
    }
    for (index, query) in queries.iter().enumerate() {
        let path = format!("{path}.queries[{index}]");
        let Some(query) = query.as_object() else {
            return Err(Error::Invalid(format!("{path}: must be an object")));
        };
        if query
            .get("query")
            .is_some_and(|q| !q.is_string() && !q.is_null())
        {
            return Err(Error::Invalid(format!("{path}.query: must be a string")));
        }
    }
    validate_layout(panel.get("layout"), path)
}

fn validate_layout(layout: Option<&Value>, path: &str) -> Result<()> {
    let Some(layout) = layout else {
        return Err(Error::Invalid(format!("{path}.layout: missing")));
    };
    let number = |key: &str| -> Result<i64> {
        layout
            .get(key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as i64)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{path}.layout.{key}: must be a number of grid cells, 0 or more"
                ))
            })
    };
    let (x, w, h) = (number("x")?, number("w")?, number("h")?);
    number("y")?;
    if w == 0 || h == 0 {
        return Err(Error::Invalid(format!(
            "{path}.layout: width and height must be at least one cell"
        )));
    }
    if x + w > GRID_COLUMNS {
        return Err(Error::Invalid(format!(
            "{path}.layout: x + w = {} is wider than the {GRID_COLUMNS}-column grid",
            x + w
        )));
    }
    Ok(())
}

/// Letters, digits and `_`, not starting with a digit; `__` is kept for built-ins.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && !name.starts_with("__")
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Hex SHA-256 of a stored body: the version a writer names to update it.
pub fn hash(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn panel(id: &str, kind: &str) -> Value {
        json!({
            "id": id, "type": kind, "title": id, "queryType": "promql",
            "queries": [{"query": "up", "customQuery": true, "fields": {}, "config": {}}],
            "config": {}, "layout": {"x": 0, "y": 0, "w": 96, "h": 18, "i": 1}
        })
    }

    fn dashboard(panels: Vec<Value>) -> Value {
        json!({
            "version": 8, "title": "K8s", "description": "",
            "tabs": [{"tabId": "default", "name": "Default", "panels": panels}],
            "variables": {"list": [{"name": "namespace", "type": "custom", "options": []}]},
            "unknown_field": {"kept": true}
        })
    }

    fn invalid(value: Value) -> String {
        match Dashboard::from_value(value) {
            Err(Error::Invalid(message)) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_v8_document_is_kept_with_unknown_fields() {
        let parsed = Dashboard::from_value(dashboard(vec![panel("p1", "line")])).unwrap();
        assert_eq!(parsed.title(), "K8s");
        assert_eq!(parsed.panels().count(), 1);
        assert_eq!(parsed.document()["unknown_field"], json!({"kept": true}));
    }

    #[test]
    fn a_missing_version_is_v8_and_missing_tabs_are_one_empty_tab() {
        let parsed = Dashboard::from_value(json!({"title": "t"})).unwrap();
        assert_eq!(parsed.document()["version"], json!(8));
        assert_eq!(parsed.document()["tabs"][0]["tabId"], json!("default"));
    }

    #[test]
    fn errors_name_the_path_of_the_problem() {
        let message = invalid(dashboard(vec![
            panel("p1", "line"),
            panel("p2", "sparkles"),
        ]));
        assert!(message.starts_with("tabs[0].panels[1].type:"), "{message}");
        let message = invalid(dashboard(vec![panel("p1", "line"), panel("p1", "bar")]));
        assert!(message.starts_with("tabs[0].panels[1].id:"), "{message}");
        let mut wide = panel("p1", "line");
        wide["layout"]["x"] = json!(150);
        let message = invalid(dashboard(vec![wide]));
        assert!(message.contains("192-column"), "{message}");
        let mut no_query = panel("p1", "line");
        no_query["queries"] = json!([]);
        assert!(invalid(dashboard(vec![no_query])).contains("needs a query"));
        let mut markdown = panel("p1", "markdown");
        markdown["queries"] = json!([]);
        Dashboard::from_value(dashboard(vec![markdown])).unwrap();
        let mut bad_variable = dashboard(vec![]);
        bad_variable["variables"]["list"][0]["name"] = json!("1st");
        assert!(invalid(bad_variable).starts_with("variables.list[0].name"));
        let mut twice = dashboard(vec![]);
        twice["variables"]["list"] = json!([
            {"name": "a", "type": "custom"}, {"name": "a", "type": "textbox"}
        ]);
        assert!(invalid(twice).contains("declared twice"));
        assert!(invalid(json!({"title": ""})).starts_with("title"));
        assert!(invalid(json!([1])).contains("JSON object"));
    }

    #[test]
    fn old_versions_and_grafana_dashboards_are_refused_with_the_reason() {
        assert!(invalid(json!({"title": "t", "version": 3})).contains("version 3"));
        assert!(invalid(json!({"title": "t", "version": 99})).contains("99"));
        let grafana = json!({"title": "t", "panels": [], "schemaVersion": 39});
        assert!(invalid(grafana).contains("import/grafana"));
    }

    #[test]
    fn limits_hold() {
        let panels: Vec<Value> = (0..=MAX_PANELS)
            .map(|i| panel(&format!("p{i}"), "line"))
            .collect();
        assert!(invalid(dashboard(panels)).contains("limit"));
        let big = vec![b' '; MAX_BYTES + 1];
        assert!(matches!(Dashboard::parse(&big), Err(Error::Invalid(_))));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
