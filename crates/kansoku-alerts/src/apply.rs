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
use crate::pipelines;
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

/// What the alerts directory watcher knows between checks.
#[derive(Debug, Default)]
pub struct DirState {
    /// The files (name, text) last applied.
    pub applied: Option<Vec<(String, String)>>,
    /// The files that last failed to apply, and why.
    pub failure: Option<(Vec<(String, String)>, String)>,
}

/// An alert object: org, kind (`AlertObjectKind::as_str`), name.
type ObjectId = (String, &'static str, String);

/// The templates and destinations an object uses.
type Uses = Vec<(AlertObjectKind, String)>;

/// The objects `bundle` declares for `org`, with what each uses (read from their JSON as
/// stored, like the stored objects' in [`StoredObject`]).
fn declared_objects(org: &OrgId, bundle: &Bundle) -> Vec<(ObjectId, Uses)> {
    let declared = |kind: AlertObjectKind, name: &str, json: serde_json::Result<Value>| {
        let uses = uses_of(kind, &json.unwrap_or(Value::Null));
        ((org.to_string(), kind.as_str(), name.to_string()), uses)
    };
    let templates = bundle
        .templates
        .iter()
        .map(|t| declared(AlertObjectKind::Template, &t.name, serde_json::to_value(t)));
    let destinations = bundle.destinations.iter().map(|d| {
        declared(
            AlertObjectKind::Destination,
            &d.name,
            serde_json::to_value(d),
        )
    });
    let alerts = bundle
        .alerts
        .iter()
        .map(|a| declared(AlertObjectKind::Alert, &a.name, serde_json::to_value(a)));
    templates.chain(destinations).chain(alerts).collect()
}

/// An alert object as stored.
struct StoredObject {
    org: String,
    kind: AlertObjectKind,
    key: String,
    name: String,
    managed_by: String,
    uses: Uses,
}

impl StoredObject {
    fn id(&self) -> ObjectId {
        (self.org.clone(), self.kind.as_str(), self.name.clone())
    }
}

/// The stored objects that files declared before and none declares now, alerts first (they use
/// destinations and templates, which cannot be deleted while used).
fn undeclared<'s>(
    stored: &'s [StoredObject],
    declared: &[(ObjectId, Uses)],
) -> Vec<(OrgId, &'s StoredObject)> {
    let declared: BTreeSet<&ObjectId> = declared.iter().map(|(id, _)| id).collect();
    stored
        .iter()
        .filter(|o| o.managed_by.starts_with(FILE_PREFIX) && !declared.contains(&o.id()))
        .filter_map(|o| Some((OrgId::parse(&o.org).ok()?, o)))
        .collect()
}

/// `Err` when an object to delete is still used by one that stays: declared by a file, or
/// stored and neither deleted nor replaced by a file's.
fn check_deletions(
    stored: &[StoredObject],
    declared: &[(ObjectId, Uses)],
    undeclared: &[(OrgId, &StoredObject)],
) -> Result<()> {
    let deleted: BTreeSet<ObjectId> = undeclared.iter().map(|(_, o)| o.id()).collect();
    let redeclared: BTreeSet<&ObjectId> = declared.iter().map(|(id, _)| id).collect();
    let staying = stored
        .iter()
        .map(|o| (o.id(), &o.uses))
        .filter(|(id, _)| !deleted.contains(id) && !redeclared.contains(id));
    let users: Vec<(ObjectId, &Uses)> = declared
        .iter()
        .map(|(id, uses)| (id.clone(), uses))
        .chain(staying)
        .collect();
    for (_, object) in undeclared
        .iter()
        .filter(|(_, o)| o.kind != AlertObjectKind::Alert)
    {
        let used = (object.kind, object.name.clone());
        if let Some(((_, user_kind, user_name), _)) = users
            .iter()
            .find(|((org, _, _), uses)| *org == object.org && uses.contains(&used))
        {
            return Err(Error::Conflict(format!(
                "{} '{}' of {} is no longer declared but {user_kind} '{user_name}' still uses it: nothing was changed; the files are applied again once it is no longer used",
                object.kind.as_str(),
                object.name,
                object.managed_by.trim_start_matches(FILE_PREFIX),
            )));
        }
    }
    Ok(())
}

/// What an object of `kind` (as stored JSON) uses.
fn uses_of(kind: AlertObjectKind, body: &Value) -> Vec<(AlertObjectKind, String)> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let mut uses = Vec::new();
    if kind == AlertObjectKind::Alert {
        let destinations = body.get("destinations").and_then(Value::as_array);
        for destination in destinations.into_iter().flatten().filter_map(Value::as_str) {
            uses.push((AlertObjectKind::Destination, destination.to_string()));
        }
    }
    if kind != AlertObjectKind::Template
        && let Some(template) = text("template")
    {
        uses.push((AlertObjectKind::Template, template));
    }
    uses
}

impl Alerts {
    /// Checks a document against `org`'s stored objects before anything is written, so that it
    /// applies whole or changes nothing: every object valid, and every template and destination
    /// it names declared in it or already stored.
    async fn check(&self, org: &OrgId, bundle: &Bundle) -> Result<()> {
        let templates: BTreeSet<&str> = bundle.templates.iter().map(|t| t.name.as_str()).collect();
        let destinations: BTreeSet<&str> = bundle
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        for template in &bundle.templates {
            template.validate()?;
        }
        for destination in &bundle.destinations {
            self.check_destination(destination)?;
            let template = destination.template.trim();
            if !template.is_empty() && !templates.contains(template) {
                self.check_stored(org, AlertObjectKind::Template, template, &destination.name)
                    .await?;
            }
        }
        for alert in &bundle.alerts {
            alert.validate()?;
            for destination in &alert.destinations {
                if !destinations.contains(destination.as_str()) {
                    self.check_stored(org, AlertObjectKind::Destination, destination, &alert.name)
                        .await?;
                }
            }
            if let Some(template) = alert.template.as_deref().filter(|t| !t.is_empty())
                && !templates.contains(template)
            {
                self.check_stored(org, AlertObjectKind::Template, template, &alert.name)
                    .await?;
            }
        }
        for pipeline in &bundle.pipelines {
            pipelines::check(org, pipeline)?;
        }
        Ok(())
    }

    /// `Err` naming `user` when the template or destination `name` is not stored.
    async fn check_stored(
        &self,
        org: &OrgId,
        kind: AlertObjectKind,
        name: &str,
        user: &str,
    ) -> Result<()> {
        let stored = match kind {
            AlertObjectKind::Template => found(self.template(org, name).await)?.is_some(),
            _ => found(self.destination(org, name).await)?.is_some(),
        };
        if stored {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "'{user}' uses {} '{name}', which is neither declared in the file nor stored in org '{org}'",
            kind.as_str()
        )))
    }

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
        let applied_by = if managed_by.is_empty() {
            "kansoku apply"
        } else {
            managed_by
        };
        for declared in &bundle.pipelines {
            let checked = pipelines::check(org, declared)?;
            changes.push(pipelines::apply(self.meta(), &checked, applied_by).await?);
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
        for bundle in &bundles {
            self.check(org, bundle).await?;
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
        // Everything that could refuse is checked before anything is written: the documents,
        // and the deletions (a template or destination still used by an object no file
        // removes — e.g. an alert made through the API — keeps every file change waiting).
        for (_, org, bundle) in &parsed {
            self.check(org, bundle).await?;
        }
        let declared: Vec<(ObjectId, Uses)> = parsed
            .iter()
            .flat_map(|(_, org, bundle)| declared_objects(org, bundle))
            .collect();
        let stored = self.stored_objects().await?;
        let undeclared = undeclared(&stored, &declared);
        check_deletions(&stored, &declared, &undeclared)?;
        let mut changes = Vec::new();
        for (name, org, bundle) in &parsed {
            self.meta().ensure_org(org).await?;
            changes.extend(
                self.apply(org, bundle, &format!("{FILE_PREFIX}{name}"))
                    .await?,
            );
        }
        for (org, object) in &undeclared {
            self.delete(org, object.kind, &object.key).await?;
            changes.push(change(org, object.kind, &object.name, "deleted"));
        }
        let mut declared_pipelines = BTreeSet::new();
        for (_, org, bundle) in &parsed {
            for declared in &bundle.pipelines {
                declared_pipelines.insert(pipelines::check(org, declared)?.key);
            }
        }
        changes.extend(
            pipelines::delete_undeclared(self.meta(), &declared_pipelines, FILE_PREFIX).await?,
        );
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

    /// Every stored template, destination and alert of every organisation, alerts first.
    async fn stored_objects(&self) -> Result<Vec<StoredObject>> {
        let mut stored = Vec::new();
        for kind in [
            AlertObjectKind::Alert,
            AlertObjectKind::Destination,
            AlertObjectKind::Template,
        ] {
            for object in self.meta().list_alert_objects(None, kind).await? {
                let Ok(body) = serde_json::from_str::<Value>(&object.body) else {
                    continue;
                };
                let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
                stored.push(StoredObject {
                    name: text("name").to_string(),
                    managed_by: text("managed_by").to_string(),
                    uses: uses_of(kind, &body),
                    org: object.org,
                    kind,
                    key: object.key,
                });
            }
        }
        Ok(stored)
    }

    /// Reads the alerts directory and, unless its files are applied already, makes the stored
    /// objects match them; logs what changed. Files that could not be applied (invalid, an
    /// object to delete still in use, the database down) are tried again at every check until
    /// they apply or change; the same failure is logged once.
    pub async fn sync_dir(&self, dir: &Path, state: &mut DirState) {
        let files = match code::read_dir(dir).await {
            Ok(files) => files,
            Err(error) => {
                tracing::warn!(%error, "alerts directory unreadable; nothing changed");
                return;
            }
        };
        if state.applied.as_ref() == Some(&files) {
            return;
        }
        if let Some(name) = state
            .applied
            .as_ref()
            .and_then(|applied| code::emptied_since(applied, &files))
        {
            tracing::info!(file = %name, "alerts file reads empty (being rewritten?); trying again at the next check");
            return;
        }
        match self.sync_files(&files).await {
            Ok(changes) => {
                for change in changes.iter().filter(|c| c.action != UNCHANGED) {
                    tracing::info!(org = %change.org, kind = %change.kind, name = %change.name, action = %change.action, "alerts as code");
                }
                state.applied = Some(files);
                state.failure = None;
            }
            Err(error) => {
                let failure = (files, error.to_string());
                if state.failure.as_ref() != Some(&failure) {
                    tracing::error!(dir = %dir.display(), %error, "alerts directory not applied; nothing changed, trying again at every check");
                }
                state.failure = Some(failure);
            }
        }
    }

    /// Applies the alerts directory again whenever its files change (`applied`: what the start
    /// applied), until `stop`.
    pub async fn watch_dir(
        self: Arc<Self>,
        dir: PathBuf,
        interval: Duration,
        mut state: DirState,
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
            self.sync_dir(&dir, &mut state).await;
        }
    }
}
