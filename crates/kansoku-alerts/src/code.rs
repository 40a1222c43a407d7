//! Alerts as code: YAML (or JSON, which is YAML too) documents declaring templates, destinations
//! and alerts in the same shapes as the API. A file may hold several documents separated by
//! `---`. Each document:
//!
//! ```yaml
//! apiVersion: kansoku/v1      # optional; other versions are refused
//! org: default                # optional; the organisation (default `default`)
//! templates: [ … ]            # template documents, as POST /api/{org}/alerts/templates
//! destinations: [ … ]         # as POST /api/{org}/alerts/destinations
//! alerts: [ … ]               # as POST /api/v2/{org}/alerts (no id: alerts are keyed by name)
//! dashboards: [ … ]           # o2 v8 dashboards or Grafana exports, optionally wrapped as
//!                             # {folder: <folder id>, dashboard: …}; keyed by dashboardId, else title
//! pipelines: [ … ]            # {stream: k8s, type: logs, steps: [ … ]}: a stream's ingest
//!                             # pipeline, as PUT /api/{org}/streams/{s}/pipeline; keyed by stream
//! ```
//!
//! Files in `KANSOKU_ALERTS_DIR` are applied at start and whenever they change; objects that
//! came from a file and are no longer declared by any file are deleted. `kansoku apply -f FILE`
//! sends a file to `POST /api/{org}/alerts/apply`, which creates and updates but never deletes.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Alert, Destination, Template};

/// The one `apiVersion` understood.
pub const API_VERSION: &str = "kansoku/v1";

/// One document of an alerts-as-code file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// `kansoku/v1` when given.
    #[serde(rename = "apiVersion", default)]
    pub api_version: Option<String>,
    /// The organisation; `default` when not given.
    #[serde(default)]
    pub org: Option<String>,
    /// Templates.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Destinations.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    /// Alerts.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// Dashboards (v8 documents or Grafana exports, as `kansoku_dashboards::Dashboards::apply`
    /// takes them).
    #[serde(default)]
    pub dashboards: Vec<serde_json::Value>,
    /// Streams' ingest pipelines.
    #[serde(default)]
    pub pipelines: Vec<DeclaredPipeline>,
}

/// A stream's ingest pipeline declared in a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredPipeline {
    /// The stream.
    pub stream: String,
    /// Its type (`logs` when not given).
    #[serde(rename = "type", default)]
    pub stream_type: Option<String>,
    /// The document's format version (the current one when not given).
    #[serde(default)]
    pub version: Option<u32>,
    /// The steps.
    pub steps: Vec<kansoku_core::pipeline::Step>,
}

/// The title a declared dashboard is known by (inside the wrappers `apply` accepts).
pub fn dashboard_title(declared: &serde_json::Value) -> String {
    let document = declared
        .get("dashboard")
        .filter(|_| declared.get("title").is_none())
        .unwrap_or(declared);
    let document = document
        .get("spec")
        .or_else(|| document.get("dashboard"))
        .filter(|_| document.get("title").is_none())
        .unwrap_or(document);
    document
        .get("title")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Bundle {
    /// The organisation the document declares, `default` when none.
    pub fn org_name(&self) -> &str {
        self.org
            .as_deref()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or("default")
    }
}

/// What applying did to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Organisation.
    pub org: String,
    /// `template`, `destination`, `alert`, `dashboard` or `pipeline`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// `created`, `updated`, `unchanged` or `deleted`.
    pub action: String,
}

/// Whether a file declares a pipeline with a VRL step (only admins may apply those). A file
/// that does not parse declares none (applying it fails anyway).
pub fn declares_vrl(text: &str) -> bool {
    parse(text, "").is_ok_and(|bundles| {
        bundles.iter().flat_map(|b| &b.pipelines).any(|p| {
            p.steps
                .iter()
                .any(|step| matches!(step, kansoku_core::pipeline::Step::Vrl { .. }))
        })
    })
}

/// Parses every document of a file; `source` names the file in errors.
pub fn parse(text: &str, source: &str) -> Result<Vec<Bundle>> {
    let mut bundles = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let bundle: Option<Bundle> = Option::deserialize(document)
            .map_err(|e| Error::Invalid(format!("{source}: document {}: {e}", index + 1)))?;
        let Some(bundle) = bundle else {
            continue;
        };
        if let Some(version) = bundle.api_version.as_deref()
            && version != API_VERSION
        {
            return Err(Error::Invalid(format!(
                "{source}: document {}: apiVersion '{version}' is not {API_VERSION}",
                index + 1
            )));
        }
        bundles.push(bundle);
    }
    check_unique(bundles.iter().map(|b| (source, b)))?;
    Ok(bundles)
}

/// Refuses two declarations of the same object (same org, kind and name).
pub fn check_unique<'a>(bundles: impl Iterator<Item = (&'a str, &'a Bundle)>) -> Result<()> {
    let mut seen = BTreeSet::new();
    for (source, bundle) in bundles {
        let org = bundle.org_name();
        let names = bundle
            .templates
            .iter()
            .map(|t| ("template", &t.name))
            .chain(bundle.destinations.iter().map(|d| ("destination", &d.name)))
            .chain(bundle.alerts.iter().map(|a| ("alert", &a.name)))
            .map(|(kind, name)| (kind, name.clone()))
            .chain(
                bundle
                    .dashboards
                    .iter()
                    .map(|d| ("dashboard", dashboard_title(d))),
            )
            .chain(bundle.pipelines.iter().map(|p| {
                let stream_type = p.stream_type.as_deref().unwrap_or("logs");
                ("pipeline", format!("{stream_type}/{}", p.stream))
            }));
        for (kind, name) in names {
            if !seen.insert((org.to_string(), kind, name.clone())) {
                return Err(Error::Invalid(format!(
                    "{source}: {kind} '{name}' of org '{org}' is declared more than once"
                )));
            }
        }
    }
    Ok(())
}

/// The alerts-as-code files of a directory: `*.yaml`, `*.yml` and `*.json`, by name, skipping
/// hidden entries (a Kubernetes ConfigMap mount's `..data` links).
pub async fn read_dir(dir: &Path) -> Result<Vec<(String, String)>> {
    let unreadable =
        |e: std::io::Error| Error::Invalid(format!("cannot read {}: {e}", dir.display()));
    let mut entries = tokio::fs::read_dir(dir).await.map_err(unreadable)?;
    let mut files = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(unreadable)? {
        let name = entry.file_name().to_string_lossy().to_string();
        let wanted = [".yaml", ".yml", ".json"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
        if name.starts_with('.') || !wanted {
            continue;
        }
        let path = entry.path();
        if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
            continue;
        }
        let text = read_settled(&path).await?;
        files.push((name, text));
    }
    files.sort();
    Ok(files)
}

/// Reads of a file a watcher makes before taking what it saw, when it keeps changing.
const SETTLE_READS: usize = 5;
/// Pause between two reads of the same file.
const SETTLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// Reads `path` until two reads in a row agree, so that a file caught while an editor or
/// `kubectl` rewrites it (truncate, then write) is not taken in its half-written state.
async fn read_settled(path: &Path) -> Result<String> {
    let read = || async {
        tokio::fs::read_to_string(path)
            .await
            .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))
    };
    let mut previous = read().await?;
    for _ in 1..SETTLE_READS {
        tokio::time::sleep(SETTLE_PAUSE).await;
        let current = read().await?;
        if current == previous {
            return Ok(current);
        }
        previous = current;
    }
    Err(Error::Invalid(format!(
        "{} kept changing while it was read; trying again later",
        path.display()
    )))
}

/// Whether a file that had content when it was last applied now reads as empty: a rewrite
/// caught between its truncation and its write, never a request to delete what it declared
/// (deleting the declarations means removing the file or its documents).
pub fn emptied_since(applied: &[(String, String)], files: &[(String, String)]) -> Option<String> {
    files.iter().find_map(|(name, text)| {
        let had_content = applied
            .iter()
            .any(|(old, old_text)| old == name && !old_text.trim().is_empty());
        (had_content && text.trim().is_empty()).then(|| name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_parse_with_the_api_shapes() {
        let text = r#"
apiVersion: kansoku/v1
org: default
templates:
  - name: myapp-errors
    title: "{alert_name}"
    body: '{"text": "{alert_count} errors in {stream_name}"}'
destinations:
  - name: ops-webhook
    url: http://127.0.0.1:9/hook
    template: myapp-errors
alerts:
  - name: myapp errors
    stream_name: default
    query_condition:
      conditions:
        and:
          - {column: container_name, operator: "=", value: myapp}
          - {column: log, operator: contains, value: error}
    trigger_condition: {period: 1, operator: ">=", threshold: 10, frequency: 1, silence: 10}
    destinations: [ops-webhook]
---
org: team-b
templates:
  - {name: plain, body: "x"}
"#;
        let bundles = parse(text, "alerts.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bundles.len(), 2);
        let alert = &bundles[0].alerts[0];
        assert_eq!(alert.trigger_condition.threshold, 10.0);
        assert!(alert.validate().is_ok(), "{:?}", alert.validate());
        assert_eq!(bundles[1].org_name(), "team-b");
        assert_eq!(bundles[0].templates[0].name, "myapp-errors");
    }

    #[test]
    fn mistakes_are_named() {
        let error = parse("alrets: []", "a.yaml").err().map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("a.yaml") && e.contains("alrets")),
            "{error:?}"
        );
        let error = parse("apiVersion: v2", "a.yaml")
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("apiVersion 'v2'")));
        let twice = "templates: [{name: t, body: x}, {name: t, body: y}]";
        assert!(parse(twice, "a.yaml").is_err());
        let error = parse(
            "alerts: [{name: x, trigger_condition: {period: soon}}]",
            "a.yaml",
        )
        .err()
        .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("document 1")));
        assert_eq!(parse("", "empty.yaml").map(|b| b.len()).ok(), Some(0));
        assert_eq!(
            parse("---\n---\n", "empty.yaml").map(|b| b.len()).ok(),
            Some(0)
        );
    }

    #[test]
    fn a_file_read_empty_after_having_content_is_not_a_deletion() {
        let applied = vec![("a.yaml".to_string(), "templates: []".to_string())];
        let now_empty = vec![("a.yaml".to_string(), String::new())];
        assert_eq!(
            emptied_since(&applied, &now_empty).as_deref(),
            Some("a.yaml")
        );
        let changed = vec![("a.yaml".to_string(), "alerts: []".to_string())];
        assert_eq!(emptied_since(&applied, &changed), None);
        let new_empty = vec![("b.yaml".to_string(), String::new())];
        assert_eq!(emptied_since(&applied, &new_empty), None);
    }

    #[tokio::test]
    async fn a_settled_read_returns_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("a.yaml"), "templates: []")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(".hidden.yaml"), "x").unwrap_or_else(|e| panic!("{e}"));
        let files = read_dir(dir.path()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            files,
            vec![("a.yaml".to_string(), "templates: []".to_string())]
        );
    }
}
