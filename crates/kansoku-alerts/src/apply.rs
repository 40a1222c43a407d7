//! Applying alerts-as-code documents ([`crate::code`]) to the stored objects: create what is new,
//! replace what changed, leave the rest untouched (an unchanged alert keeps its schedule), and —
//! for the files of `KANSOKU_ALERTS_DIR` — delete what a file declared before and no longer does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kansoku_core::OrgId;
use kansoku_meta::AlertObjectKind;
use serde_json::Value;

use crate::code::{self, Bundle, Change};
use crate::error::{Error, Result};
use crate::model::{Alert, Destination, Template};
use crate::service::Alerts;

/// The `managed_by` mark of objects from a file of the alerts directory.
const FILE_PREFIX: &str = "file:";

fn change(org: &OrgId, kind: AlertObjectKind, name: &str, action: &str) -> Change {
    Change {
        org: org.to_string(),
        kind: kind.as_str().to_string(),
        name: name.to_string(),
        action: action.to_string(),
    }
}

const UNCHANGED: &str = "unchanged";

/// The `kind` of dashboard changes.
const DASHBOARD: &str = "dashboard";

/// What applying `declared` over `existing` does.
fn action_for<T: PartialEq>(existing: Option<&T>, declared: &T) -> &'static str {
    match existing {
        Some(existing) if existing == declared => UNCHANGED,
        Some(_) => "updated",
        None => "created",
    }
}

/// `Ok(None)` for an object that does not exist; other errors (the database) stay errors.
fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

fn parse_org(bundle: &Bundle) -> Result<OrgId> {
    OrgId::parse(bundle.org_name())
        .map_err(|e| Error::Invalid(format!("org '{}': {e}", bundle.org_name())))
}

impl Alerts {
    /// Applies one document to `org`, marking every object with `managed_by`.
    pub async fn apply(
        &self,
        org: &OrgId,
        bundle: &Bundle,
        managed_by: &str,
    ) -> Result<Vec<Change>> {
        let mut changes = Vec::new();
        for declared in &bundle.templates {
            let template = Template {
                managed_by: managed_by.to_string(),
                ..declared.clone()
            };
            let existing = found(self.template(org, &template.name).await)?;
            let action = action_for(existing.as_ref(), &template);
            if action != UNCHANGED {
                self.put_template(org, &template, existing.is_none())
                    .await?;
            }
            changes.push(change(
                org,
                AlertObjectKind::Template,
                &template.name,
                action,
            ));
        }
        for declared in &bundle.destinations {
            let destination = Destination {
                managed_by: managed_by.to_string(),
                ..declared.clone()
            };
            let existing = found(self.destination(org, &destination.name).await)?;
            let action = action_for(existing.as_ref(), &destination);
            if action != UNCHANGED {
                self.put_destination(org, &destination, existing.is_none())
                    .await?;
            }
            changes.push(change(
                org,
                AlertObjectKind::Destination,
                &destination.name,
                action,
            ));
        }
        let stored = self.alerts(org).await?;
        for declared in &bundle.alerts {
            let existing = stored.iter().find(|a| a.name == declared.name);
            // Files name alerts; the id is the stored one's.
            let mut alert = Alert {
                managed_by: managed_by.to_string(),
                id: existing.map(|a| a.id.clone()).unwrap_or_default(),
                ..declared.clone()
            };
            let action = action_for(existing, &alert);
            if action != UNCHANGED {
                self.put_alert(org, &mut alert, existing.is_none()).await?;
            }
            changes.push(change(org, AlertObjectKind::Alert, &alert.name, action));
        }
        let dashboards = kansoku_dashboards::Dashboards::new(self.meta().clone());
        for declared in &bundle.dashboards {
            let applied = dashboards.apply(org, declared, managed_by).await?;
            for dropped in &applied.dropped {
                tracing::warn!(org = %org, dashboard = %applied.title, %dropped, "dashboard as code: not carried over from Grafana");
            }
            changes.push(Change {
                org: org.to_string(),
                kind: DASHBOARD.to_string(),
                name: applied.title,
                action: applied.action.to_string(),
            });
        }
        Ok(changes)
    }

    /// Applies a file sent to `POST /api/{org}/alerts/apply`: every document must be for `org`.
    /// Creates and updates; deletes nothing.
    pub async fn apply_text(&self, org: &OrgId, text: &str) -> Result<Vec<Change>> {
        let bundles = code::parse(text, "the request body")?;
        for bundle in &bundles {
            if bundle.org.is_some() && bundle.org_name() != org.as_str() {
                return Err(Error::Invalid(format!(
                    "the document declares org '{}' but was sent to org '{org}'",
                    bundle.org_name()
                )));
            }
        }
        let mut changes = Vec::new();
        for bundle in &bundles {
            changes.extend(self.apply(org, bundle, "").await?);
        }
        Ok(changes)
    }

    /// Makes the stored objects match the files of the alerts directory: applies every document
    /// and deletes the objects a file declared before but none declares now. Nothing changes when
    /// any file is invalid.
    pub async fn sync_files(&self, files: &[(String, String)]) -> Result<Vec<Change>> {
        let mut parsed = Vec::new();
        for (name, text) in files {
            for bundle in code::parse(text, name)? {
                let org = parse_org(&bundle)?;
                parsed.push((name.clone(), org, bundle));
            }
        }
        code::check_unique(
            parsed
                .iter()
                .map(|(name, _, bundle)| (name.as_str(), bundle)),
        )?;
        let mut changes = Vec::new();
        for (name, org, bundle) in &parsed {
            self.meta().ensure_org(org).await?;
            changes.extend(
                self.apply(org, bundle, &format!("{FILE_PREFIX}{name}"))
                    .await?,
            );
        }
        // Every declared object has exactly one change: the set of what the files declare.
        let declared: BTreeSet<(String, String, String)> = changes
            .iter()
            .map(|c| (c.org.clone(), c.kind.clone(), c.name.clone()))
            .collect();
        // Alerts first: they use destinations and templates, which are refused deletion while used.
        for kind in [
            AlertObjectKind::Alert,
            AlertObjectKind::Destination,
            AlertObjectKind::Template,
        ] {
            for object in self.meta().list_alert_objects(None, kind).await? {
                let Ok(body) = serde_json::from_str::<Value>(&object.body) else {
                    continue;
                };
                let managed = body.get("managed_by").and_then(Value::as_str).unwrap_or("");
                let name = body.get("name").and_then(Value::as_str).unwrap_or("");
                if !managed.starts_with(FILE_PREFIX)
                    || declared.contains(&(
                        object.org.clone(),
                        kind.as_str().to_string(),
                        name.to_string(),
                    ))
                {
                    continue;
                }
                let Ok(org) = OrgId::parse(&object.org) else {
                    continue;
                };
                self.delete(&org, kind, &object.key).await?;
                changes.push(change(&org, kind, name, "deleted"));
            }
        }
        let declared_dashboards: BTreeSet<(String, String)> = changes
            .iter()
            .filter(|c| c.kind == DASHBOARD)
            .map(|c| (c.org.clone(), c.name.clone()))
            .collect();
        let orgs: Vec<OrgId> = self
            .meta()
            .list_orgs()
            .await?
            .iter()
            .filter_map(|org| OrgId::parse(&org.id).ok())
            .collect();
        let dashboards = kansoku_dashboards::Dashboards::new(self.meta().clone());
        for (org, title) in dashboards
            .delete_undeclared(&orgs, &declared_dashboards)
            .await?
        {
            changes.push(Change {
                org,
                kind: DASHBOARD.to_string(),
                name: title,
                action: "deleted".to_string(),
            });
        }
        Ok(changes)
    }

    /// Reads the alerts directory and, unless its files are `applied` already, makes the stored
    /// objects match them; logs what changed or why nothing did. Returns the files read (also
    /// when they could not be applied: they are tried again only once they change), or `None`
    /// when the directory could not be read.
    pub async fn sync_dir(
        &self,
        dir: &Path,
        applied: Option<&Vec<(String, String)>>,
    ) -> Option<Vec<(String, String)>> {
        let files = match code::read_dir(dir).await {
            Ok(files) => files,
            Err(error) => {
                tracing::warn!(%error, "alerts directory unreadable; nothing changed");
                return None;
            }
        };
        if applied == Some(&files) {
            return Some(files);
        }
        if let Some(name) = applied.and_then(|applied| code::emptied_since(applied, &files)) {
            tracing::info!(file = %name, "alerts file reads empty (being rewritten?); trying again at the next check");
            return applied.cloned();
        }
        match self.sync_files(&files).await {
            Ok(changes) => {
                for change in changes.iter().filter(|c| c.action != UNCHANGED) {
                    tracing::info!(org = %change.org, kind = %change.kind, name = %change.name, action = %change.action, "alerts as code");
                }
            }
            Err(error) => {
                tracing::error!(dir = %dir.display(), %error, "alerts directory not applied");
            }
        }
        Some(files)
    }

    /// Applies the alerts directory again whenever its files change (`applied`: what the start
    /// applied), until `stop`.
    pub async fn watch_dir(
        self: Arc<Self>,
        dir: PathBuf,
        interval: Duration,
        mut applied: Option<Vec<(String, String)>>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = ticker.tick() => {}
            }
            if let Some(files) = self.sync_dir(&dir, applied.as_ref()).await {
                applied = Some(files);
            }
        }
    }
}
