//! [`Dashboards`]: dashboards and folders of each organisation over the metadata store.
//!
//! - ids are generated (19 digits, like o2's) on create; a client's `dashboardId` is replaced;
//! - every write stores a new hash; an update naming a stale hash is refused (409);
//! - the folder `default` always exists; the folder `builtin` lists the dashboards shipped in the
//!   binary, which are read-only;
//! - a dashboard with `role: admin` is changed only by admins.

use kansoku_core::OrgId;
use kansoku_meta::{DashboardFolder, DashboardRow, MetaStore};
use serde_json::Value;

use crate::builtin;
use crate::document::{self, Dashboard};
use crate::error::{Error, Result};
use crate::grafana;

/// The folder every organisation has.
pub const DEFAULT_FOLDER: &str = "default";
/// The read-only folder of built-in dashboards.
pub const BUILTIN_FOLDER: &str = "builtin";

/// Who is changing dashboards.
#[derive(Debug, Clone, Copy)]
pub struct Editor<'a> {
    /// Their e-mail (the owner of what they create).
    pub email: &'a str,
    /// Whether they are an admin of the organisation (or root).
    pub is_admin: bool,
}

/// A dashboard as stored, with what the API answers besides the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The v8 document.
    pub document: Value,
    /// Its folder.
    pub folder_id: String,
    /// Its folder's name.
    pub folder_name: String,
    /// The version a writer names to update it.
    pub hash: String,
    /// When it was last written, µs.
    pub updated_at: i64,
    /// `file:<name>` when a dashboards-as-code file declared it.
    pub managed_by: String,
}

impl Stored {
    fn text(&self, key: &str) -> &str {
        self.document
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The dashboard's id.
    pub fn id(&self) -> &str {
        self.text("dashboardId")
    }

    /// Its title.
    pub fn title(&self) -> &str {
        self.text("title")
    }
}

/// What applying one declared dashboard did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The dashboard's title.
    pub title: String,
    /// `created`, `updated` or `unchanged`.
    pub action: &'static str,
    /// What the Grafana converter could not carry over (empty for v8 documents).
    pub dropped: Vec<String>,
}

/// Dashboards and folders of every organisation.
#[derive(Debug, Clone)]
pub struct Dashboards {
    meta: MetaStore,
}

fn new_id() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    // 19 decimal digits, never starting with 0, like o2's ids.
    format!(
        "{}",
        1_000_000_000_000_000_000u128 + random % 9_000_000_000_000_000_000
    )
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

impl Dashboards {
    /// Dashboards over `meta`.
    pub fn new(meta: MetaStore) -> Dashboards {
        Dashboards { meta }
    }

    async fn folder_name(&self, org: &OrgId, folder_id: &str) -> Result<Option<String>> {
        if folder_id == DEFAULT_FOLDER {
            return Ok(Some(
                self.meta
                    .get_dashboard_folder(org.as_str(), folder_id)
                    .await?
                    .map(|f| f.name)
                    .unwrap_or_else(|| DEFAULT_FOLDER.to_string()),
            ));
        }
        if folder_id == BUILTIN_FOLDER {
            return Ok(Some("Built-in".to_string()));
        }
        Ok(self
            .meta
            .get_dashboard_folder(org.as_str(), folder_id)
            .await?
            .map(|f| f.name))
    }

    async fn writable_folder(&self, org: &OrgId, folder_id: &str) -> Result<()> {
        if folder_id == BUILTIN_FOLDER {
            return Err(Error::Forbidden(
                "the builtin folder is read-only; save the dashboard in another folder".into(),
            ));
        }
        if self.folder_name(org, folder_id).await?.is_none() {
            return Err(Error::NotFound(format!("folder {folder_id} not found")));
        }
        Ok(())
    }

    fn stored(row: DashboardRow, folder_name: String) -> Result<Stored> {
        let document: Value = serde_json::from_str(&row.body).map_err(|e| {
            Error::Meta(kansoku_meta::Error::Corrupt {
                what: "dashboard",
                detail: format!("{}: {e}", row.dashboard_id),
            })
        })?;
        Ok(Stored {
            document,
            folder_id: row.folder_id,
            folder_name,
            hash: row.hash,
            updated_at: row.updated_at,
            managed_by: row.managed_by,
        })
    }

    /// The dashboards of one folder (`None`: every folder, built-ins included), whose title
    /// contains `title` (case-insensitive) when given, by title.
    pub async fn list(
        &self,
        org: &OrgId,
        folder_id: Option<&str>,
        title: Option<&str>,
    ) -> Result<Vec<Stored>> {
        let needle = title.map(str::to_lowercase).unwrap_or_default();
        let matches = |stored: &Stored| stored.title().to_lowercase().contains(&needle);
        let mut out = Vec::new();
        if folder_id.is_none_or(|f| f == BUILTIN_FOLDER) {
            out.extend(builtin::all().into_iter().filter(|s| matches(s)));
        }
        if folder_id == Some(BUILTIN_FOLDER) {
            return Ok(out);
        }
        let folders = self.folders(org).await?;
        for row in self.meta.list_dashboards(org.as_str(), folder_id).await? {
            let folder_name = folders
                .iter()
                .find(|f| f.folder_id == row.folder_id)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| row.folder_id.clone());
            let stored = Dashboards::stored(row, folder_name)?;
            if matches(&stored) {
                out.push(stored);
            }
        }
        out.sort_by_key(|stored| stored.title().to_lowercase());
        Ok(out)
    }

    /// One dashboard (built-ins too).
    pub async fn get(&self, org: &OrgId, id: &str) -> Result<Stored> {
        if let Some(stored) = builtin::find(id) {
            return Ok(stored);
        }
        let Some(row) = self.meta.get_dashboard(org.as_str(), id).await? else {
            return Err(Error::NotFound(format!("dashboard {id} not found")));
        };
        let folder_name = self
            .folder_name(org, &row.folder_id)
            .await?
            .unwrap_or_else(|| row.folder_id.clone());
        Dashboards::stored(row, folder_name)
    }

    /// Creates a dashboard in `folder_id` with a new id; `editor` becomes its owner.
    pub async fn create(
        &self,
        org: &OrgId,
        folder_id: &str,
        mut dashboard: Dashboard,
        editor: Editor<'_>,
    ) -> Result<Stored> {
        self.writable_folder(org, folder_id).await?;
        if dashboard.role() == "admin" && !editor.is_admin {
            return Err(Error::Forbidden(
                "only admins can create a dashboard with role admin".into(),
            ));
        }
        let id = new_id();
        dashboard.set_id(&id);
        dashboard.set_origin(editor.email, &now_rfc3339());
        let row = row_of(org, &id, folder_id, &dashboard, editor.email, "");
        self.meta.insert_dashboard(&row).await?;
        self.get(org, &id).await
    }

    /// Replaces dashboard `id` (moving it to `folder_id` when given) if its hash is still
    /// `expected_hash` (when given). Its owner and creation time are kept.
    pub async fn update(
        &self,
        org: &OrgId,
        id: &str,
        folder_id: Option<&str>,
        mut dashboard: Dashboard,
        expected_hash: Option<&str>,
        editor: Editor<'_>,
    ) -> Result<Stored> {
        let existing = self.changeable(org, id, editor).await?;
        if dashboard.role() == "admin" && !editor.is_admin {
            return Err(Error::Forbidden(
                "only admins can give a dashboard role admin".into(),
            ));
        }
        let folder_id = folder_id.unwrap_or(&existing.folder_id).to_string();
        self.writable_folder(org, &folder_id).await?;
        dashboard.set_id(id);
        dashboard.set_origin(&existing.owner, &created_of(&existing));
        let mut row = row_of(org, id, &folder_id, &dashboard, &existing.owner, "");
        row.created_at = existing.created_at;
        self.meta
            .update_dashboard(&row, expected_hash.filter(|h| !h.is_empty()))
            .await?;
        self.get(org, id).await
    }

    /// The stored row of `id` if `editor` may change it.
    async fn changeable(&self, org: &OrgId, id: &str, editor: Editor<'_>) -> Result<DashboardRow> {
        if builtin::find(id).is_some() {
            return Err(Error::Forbidden(format!(
                "dashboard {id} is built in and read-only; save a copy in a folder of yours"
            )));
        }
        let Some(existing) = self.meta.get_dashboard(org.as_str(), id).await? else {
            return Err(Error::NotFound(format!("dashboard {id} not found")));
        };
        if existing.role == "admin" && !editor.is_admin {
            return Err(Error::Forbidden(format!(
                "dashboard {id} has role admin: only admins can change it"
            )));
        }
        Ok(existing)
    }

    /// Deletes a dashboard.
    pub async fn delete(&self, org: &OrgId, id: &str, editor: Editor<'_>) -> Result<()> {
        self.changeable(org, id, editor).await?;
        self.meta.delete_dashboard(org.as_str(), id).await?;
        Ok(())
    }

    /// Moves dashboards to `folder_id`; every one must exist and be changeable, or none moves.
    pub async fn move_to(
        &self,
        org: &OrgId,
        ids: &[String],
        folder_id: &str,
        editor: Editor<'_>,
    ) -> Result<()> {
        self.writable_folder(org, folder_id).await?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            rows.push(self.changeable(org, id, editor).await?);
        }
        for mut row in rows {
            row.folder_id = folder_id.to_string();
            row.updated_at = kansoku_meta::now_micros();
            self.meta.update_dashboard(&row, None).await?;
        }
        Ok(())
    }

    /// The folders of `org`: `default` first, then the stored ones by name, then `builtin`.
    pub async fn folders(&self, org: &OrgId) -> Result<Vec<DashboardFolder>> {
        let stored = self.meta.list_dashboard_folders(org.as_str()).await?;
        let default = stored
            .iter()
            .find(|f| f.folder_id == DEFAULT_FOLDER)
            .cloned()
            .unwrap_or_else(|| DashboardFolder {
                folder_id: DEFAULT_FOLDER.into(),
                name: DEFAULT_FOLDER.into(),
                description: String::new(),
            });
        let mut out = vec![default];
        out.extend(
            stored
                .into_iter()
                .filter(|f| f.folder_id != DEFAULT_FOLDER && f.folder_id != BUILTIN_FOLDER),
        );
        out.push(DashboardFolder {
            folder_id: BUILTIN_FOLDER.into(),
            name: "Built-in".into(),
            description: "Dashboards shipped with kansoku (read-only)".into(),
        });
        Ok(out)
    }

    /// One folder.
    pub async fn folder(&self, org: &OrgId, folder_id: &str) -> Result<DashboardFolder> {
        self.folders(org)
            .await?
            .into_iter()
            .find(|f| f.folder_id == folder_id)
            .ok_or_else(|| Error::NotFound(format!("folder {folder_id} not found")))
    }

    /// Creates a folder with a new id.
    pub async fn create_folder(
        &self,
        org: &OrgId,
        name: &str,
        description: &str,
    ) -> Result<DashboardFolder> {
        let folder = DashboardFolder {
            folder_id: new_id(),
            name: folder_name_checked(name)?,
            description: description.to_string(),
        };
        self.meta.ensure_org(org).await?;
        self.meta
            .put_dashboard_folder(org.as_str(), &folder)
            .await?;
        Ok(folder)
    }

    /// Renames a folder (`default` too; not `builtin`).
    pub async fn update_folder(
        &self,
        org: &OrgId,
        folder_id: &str,
        name: &str,
        description: &str,
    ) -> Result<DashboardFolder> {
        self.writable_folder(org, folder_id).await?;
        let folder = DashboardFolder {
            folder_id: folder_id.to_string(),
            name: folder_name_checked(name)?,
            description: description.to_string(),
        };
        self.meta
            .put_dashboard_folder(org.as_str(), &folder)
            .await?;
        Ok(folder)
    }

    /// Deletes an empty folder (not `default` or `builtin`).
    pub async fn delete_folder(&self, org: &OrgId, folder_id: &str) -> Result<()> {
        if folder_id == DEFAULT_FOLDER || folder_id == BUILTIN_FOLDER {
            return Err(Error::Forbidden(format!(
                "the {folder_id} folder cannot be deleted"
            )));
        }
        if !self
            .meta
            .delete_dashboard_folder(org.as_str(), folder_id)
            .await?
        {
            return Err(Error::NotFound(format!("folder {folder_id} not found")));
        }
        Ok(())
    }

    /// Applies one dashboard declared as code (a v8 document or a Grafana export, optionally
    /// wrapped as `{folder, dashboard}`), keyed by its `dashboardId` when it has one, else by
    /// title. Marks it `managed_by`; creates the folder when missing.
    pub async fn apply(&self, org: &OrgId, declared: &Value, managed_by: &str) -> Result<Applied> {
        let (folder_id, document) = unwrap_declared(declared)?;
        let (mut dashboard, dropped) = if grafana::is_grafana(document) {
            let converted = grafana::convert(document)?;
            (
                Dashboard::from_value(converted.dashboard)?,
                converted.report.dropped,
            )
        } else {
            (Dashboard::from_value(document.clone())?, Vec::new())
        };
        self.meta.ensure_org(org).await?;
        if folder_id != DEFAULT_FOLDER && self.folder_name(org, &folder_id).await?.is_none() {
            let folder = DashboardFolder {
                folder_id: folder_id.clone(),
                name: folder_id.clone(),
                description: String::new(),
            };
            self.meta
                .put_dashboard_folder(org.as_str(), &folder)
                .await?;
        }
        self.writable_folder(org, &folder_id).await?;
        let title = dashboard.title().to_string();
        let existing = self.declared_target(org, &dashboard).await?;
        let (id, owner, created) = match &existing {
            Some(row) => (row.dashboard_id.clone(), row.owner.clone(), created_of(row)),
            None if !dashboard.id().is_empty() => (
                dashboard.id().to_string(),
                managed_by.to_string(),
                now_rfc3339(),
            ),
            None => (new_id(), managed_by.to_string(), now_rfc3339()),
        };
        dashboard.set_id(&id);
        dashboard.set_origin(&owner, &created);
        let mut row = row_of(org, &id, &folder_id, &dashboard, &owner, managed_by);
        let Some(existing) = existing else {
            self.meta.insert_dashboard(&row).await?;
            return Ok(Applied {
                title,
                action: "created",
                dropped,
            });
        };
        if existing.body == row.body
            && existing.folder_id == row.folder_id
            && existing.managed_by == row.managed_by
        {
            return Ok(Applied {
                title,
                action: "unchanged",
                dropped,
            });
        }
        row.created_at = existing.created_at;
        self.meta.update_dashboard(&row, None).await?;
        Ok(Applied {
            title,
            action: "updated",
            dropped,
        })
    }

    async fn declared_target(
        &self,
        org: &OrgId,
        dashboard: &Dashboard,
    ) -> Result<Option<DashboardRow>> {
        if !dashboard.id().is_empty() {
            return Ok(self
                .meta
                .get_dashboard(org.as_str(), dashboard.id())
                .await?);
        }
        let same_title: Vec<DashboardRow> = self
            .meta
            .list_dashboards(org.as_str(), None)
            .await?
            .into_iter()
            .filter(|row| row.title == dashboard.title())
            .collect();
        Ok(same_title
            .iter()
            .find(|row| !row.managed_by.is_empty())
            .or(same_title.first())
            .cloned())
    }

    /// Deletes the dashboards some file declared (`managed_by` `file:…`) that `declared`
    /// (organisation, title) no longer names; returns (organisation, title) of each.
    pub async fn delete_undeclared(
        &self,
        orgs: &[OrgId],
        declared: &std::collections::BTreeSet<(String, String)>,
    ) -> Result<Vec<(String, String)>> {
        let mut deleted = Vec::new();
        for org in orgs {
            for row in self.meta.list_dashboards(org.as_str(), None).await? {
                if !row.managed_by.starts_with("file:")
                    || declared.contains(&(row.org.clone(), row.title.clone()))
                {
                    continue;
                }
                self.meta
                    .delete_dashboard(org.as_str(), &row.dashboard_id)
                    .await?;
                deleted.push((row.org, row.title));
            }
        }
        Ok(deleted)
    }
}

fn folder_name_checked(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Invalid(
            "name: a folder needs a name of 1 to 100 characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// The folder and the document of a declared dashboard.
fn unwrap_declared(declared: &Value) -> Result<(String, &Value)> {
    let wrapped = declared
        .get("dashboard")
        .filter(|_| declared.get("title").is_none());
    let Some(document) = wrapped else {
        return Ok((DEFAULT_FOLDER.to_string(), declared));
    };
    let folder = match declared.get("folder") {
        None | Some(Value::Null) => DEFAULT_FOLDER.to_string(),
        Some(Value::String(folder)) if !folder.trim().is_empty() => folder.trim().to_string(),
        Some(_) => {
            return Err(Error::Invalid(
                "dashboards[].folder: must be a folder id".into(),
            ));
        }
    };
    Ok((folder, document))
}

fn created_of(row: &DashboardRow) -> String {
    serde_json::from_str::<Value>(&row.body)
        .ok()
        .and_then(|body| {
            body.get("created")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(now_rfc3339)
}

fn row_of(
    org: &OrgId,
    id: &str,
    folder_id: &str,
    dashboard: &Dashboard,
    owner: &str,
    managed_by: &str,
) -> DashboardRow {
    let body = dashboard.body();
    let now = kansoku_meta::now_micros();
    DashboardRow {
        org: org.to_string(),
        dashboard_id: id.to_string(),
        folder_id: folder_id.to_string(),
        title: dashboard.title().to_string(),
        description: dashboard.description().to_string(),
        owner: owner.to_string(),
        role: dashboard.role().to_string(),
        hash: document::hash(&body),
        body,
        managed_by: managed_by.to_string(),
        created_at: now,
        updated_at: now,
    }
}
