//! Dashboards shipped in the binary, listed in the read-only folder `builtin`.
//!
//! - `builtin-kubernetes` ("Kubernetes / Pods"): pod CPU, memory and memory against limits,
//!   restarts — each query answers from cAdvisor + kube-state-metrics series or, when those are
//!   absent, from the OpenTelemetry Collector's kubeletstats / k8s_cluster metrics (PromQL `or`,
//!   OTel labels renamed with `label_replace`) — log volume and error lines per namespace and pod
//!   (Fluent Bit's kubernetes fields), request and error rates per service from traces.

use serde_json::Value;

use crate::service::{BUILTIN_FOLDER, Stored};

/// `(file name, JSON)` of every built-in dashboard.
const SOURCES: &[(&str, &str)] = &[(
    "kubernetes.json",
    include_str!("../builtin/kubernetes.json"),
)];

/// A built-in dashboard (`None` if it does not parse, which the unit test
/// `every_builtin_dashboard_is_valid` rules out).
fn stored(text: &str) -> Option<Stored> {
    let document: Value = serde_json::from_str(text).ok()?;
    Some(Stored {
        hash: crate::document::hash(text),
        document,
        folder_id: BUILTIN_FOLDER.to_string(),
        folder_name: "Built-in".to_string(),
        updated_at: 0,
        managed_by: "builtin".to_string(),
    })
}

/// Every built-in dashboard.
pub fn all() -> Vec<Stored> {
    SOURCES
        .iter()
        .filter_map(|(_, text)| stored(text))
        .collect()
}

/// The built-in dashboard `id`.
pub fn find(id: &str) -> Option<Stored> {
    all().into_iter().find(|stored| stored.id() == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Dashboard;

    #[test]
    fn every_builtin_dashboard_is_valid() {
        for (source, text) in SOURCES {
            let dashboard =
                Dashboard::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{source}: {e}"));
            assert!(dashboard.id().starts_with("builtin-"), "{source}");
        }
        assert_eq!(all().len(), SOURCES.len());
        assert_eq!(
            find("builtin-kubernetes").unwrap().title(),
            "Kubernetes / Pods"
        );
        assert!(find("nope").is_none());
    }
}
