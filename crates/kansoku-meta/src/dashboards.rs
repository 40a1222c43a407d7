//! Dashboards and their folders, per organisation.
//!
//! A dashboard row holds the document as sent (its shape belongs to `kansoku-dashboards`) with
//! the columns lists need (title, folder, owner, role) and the `hash` that makes updates
//! optimistic: [`MetaStore::update_dashboard`] changes a row only while its hash is the one the
//! caller read.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, MetaStore, Result, now_micros};

/// A stored dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DashboardRow {
    /// Organisation.
    pub org: String,
    /// The dashboard's id.
    pub dashboard_id: String,
    /// Its folder.
    pub folder_id: String,
    /// Title (copied from the document for lists).
    pub title: String,
    /// Description (copied from the document).
    pub description: String,
    /// Who created it.
    pub owner: String,
    /// `admin` when only admins may change it, else empty.
    pub role: String,
    /// The JSON document.
    pub body: String,
    /// Hex SHA-256 of `body`: the version a writer must name to update it.
    pub hash: String,
    /// `file:<name>` when a dashboards-as-code file declared it, else empty.
    pub managed_by: String,
    /// When it was created, µs.
    pub created_at: i64,
    /// When it was last written, µs.
    pub updated_at: i64,
}

/// A folder of dashboards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DashboardFolder {
    /// Its id (`default` for the default folder).
    pub folder_id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
}

fn dashboard_of(row: &AnyRow) -> Result<DashboardRow> {
    let read = || Error::query("read dashboard");
    Ok(DashboardRow {
        org: row.try_get("org").map_err(read())?,
        dashboard_id: row.try_get("dashboard_id").map_err(read())?,
        folder_id: row.try_get("folder_id").map_err(read())?,
        title: row.try_get("title").map_err(read())?,
        description: row.try_get("description").map_err(read())?,
        owner: row.try_get("owner").map_err(read())?,
        role: row.try_get("role").map_err(read())?,
        body: row.try_get("body").map_err(read())?,
        hash: row.try_get("hash").map_err(read())?,
        managed_by: row.try_get("managed_by").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        updated_at: row.try_get("updated_at").map_err(read())?,
    })
}

fn folder_of(row: &AnyRow) -> Result<DashboardFolder> {
    let read = || Error::query("read dashboard folder");
    Ok(DashboardFolder {
        folder_id: row.try_get("folder_id").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        description: row.try_get("description").map_err(read())?,
    })
}

impl MetaStore {
    /// Inserts a new dashboard; [`Error::Conflict`] when its id is taken.
    pub async fn insert_dashboard(&self, row: &DashboardRow) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO dashboards (org, dashboard_id, folder_id, title, description, owner, role,
               body, hash, managed_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (org, dashboard_id) DO NOTHING",
        )
        .bind(&row.org)
        .bind(&row.dashboard_id)
        .bind(&row.folder_id)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.owner)
        .bind(&row.role)
        .bind(&row.body)
        .bind(&row.hash)
        .bind(&row.managed_by)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(self.pool())
        .await
        .map_err(Error::query("insert dashboard"))?;
        if result.rows_affected() == 0 {
            return Err(Error::Conflict(format!(
                "dashboard {} exists already",
                row.dashboard_id
            )));
        }
        Ok(())
    }

    /// Replaces a dashboard's document, folder and copied columns, when its stored hash is
    /// `expected_hash` (any hash when `None`). [`Error::NotFound`] when it does not exist,
    /// [`Error::Conflict`] when it changed since the caller read it.
    pub async fn update_dashboard(
        &self,
        row: &DashboardRow,
        expected_hash: Option<&str>,
    ) -> Result<()> {
        let result = sqlx::query(
            "UPDATE dashboards SET folder_id = $3, title = $4, description = $5, role = $6,
               body = $7, hash = $8, managed_by = $9, updated_at = $10
             WHERE org = $1 AND dashboard_id = $2 AND ($11 = '' OR hash = $11)",
        )
        .bind(&row.org)
        .bind(&row.dashboard_id)
        .bind(&row.folder_id)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.role)
        .bind(&row.body)
        .bind(&row.hash)
        .bind(&row.managed_by)
        .bind(row.updated_at)
        .bind(expected_hash.unwrap_or_default())
        .execute(self.pool())
        .await
        .map_err(Error::query("update dashboard"))?;
        if result.rows_affected() > 0 {
            return Ok(());
        }
        if self
            .get_dashboard(&row.org, &row.dashboard_id)
            .await?
            .is_none()
        {
            return Err(Error::NotFound(format!(
                "dashboard {} not found",
                row.dashboard_id
            )));
        }
        Err(Error::Conflict(format!(
            "dashboard {} was changed since it was read (hash {}); reload it and apply your change again",
            row.dashboard_id,
            expected_hash.unwrap_or_default()
        )))
    }

    /// One dashboard.
    pub async fn get_dashboard(&self, org: &str, id: &str) -> Result<Option<DashboardRow>> {
        let row = sqlx::query(
            "SELECT org, dashboard_id, folder_id, title, description, owner, role, body, hash,
               managed_by, created_at, updated_at
             FROM dashboards WHERE org = $1 AND dashboard_id = $2",
        )
        .bind(org)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get dashboard"))?;
        row.as_ref().map(dashboard_of).transpose()
    }

    /// The dashboards of `org`, of one folder when given, by title.
    pub async fn list_dashboards(
        &self,
        org: &str,
        folder_id: Option<&str>,
    ) -> Result<Vec<DashboardRow>> {
        let rows = sqlx::query(
            "SELECT org, dashboard_id, folder_id, title, description, owner, role, body, hash,
               managed_by, created_at, updated_at
             FROM dashboards
             WHERE org = $1 AND ($2 = '' OR folder_id = $2) ORDER BY title, dashboard_id",
        )
        .bind(org)
        .bind(folder_id.unwrap_or_default())
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list dashboards"))?;
        rows.iter().map(dashboard_of).collect()
    }

    /// Deletes a dashboard; whether it existed.
    pub async fn delete_dashboard(&self, org: &str, id: &str) -> Result<bool> {
        let result = sqlx::query("DELETE FROM dashboards WHERE org = $1 AND dashboard_id = $2")
            .bind(org)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(Error::query("delete dashboard"))?;
        Ok(result.rows_affected() > 0)
    }

    /// Creates or renames a folder.
    pub async fn put_dashboard_folder(&self, org: &str, folder: &DashboardFolder) -> Result<()> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO dashboard_folders (org, folder_id, name, description, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (org, folder_id) DO UPDATE SET name = excluded.name,
               description = excluded.description, updated_at = excluded.updated_at",
        )
        .bind(org)
        .bind(&folder.folder_id)
        .bind(&folder.name)
        .bind(&folder.description)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(Error::query("write dashboard folder"))?;
        Ok(())
    }

    /// The folders of `org`, by name.
    pub async fn list_dashboard_folders(&self, org: &str) -> Result<Vec<DashboardFolder>> {
        let rows = sqlx::query(
            "SELECT folder_id, name, description FROM dashboard_folders WHERE org = $1
             ORDER BY name, folder_id",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list dashboard folders"))?;
        rows.iter().map(folder_of).collect()
    }

    /// One folder.
    pub async fn get_dashboard_folder(
        &self,
        org: &str,
        folder_id: &str,
    ) -> Result<Option<DashboardFolder>> {
        let row = sqlx::query(
            "SELECT folder_id, name, description FROM dashboard_folders
             WHERE org = $1 AND folder_id = $2",
        )
        .bind(org)
        .bind(folder_id)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get dashboard folder"))?;
        row.as_ref().map(folder_of).transpose()
    }

    /// Deletes an empty folder; [`Error::Conflict`] when it still holds dashboards. Whether it
    /// existed.
    pub async fn delete_dashboard_folder(&self, org: &str, folder_id: &str) -> Result<bool> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin delete dashboard folder"))?;
        let held: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM dashboards WHERE org = $1 AND folder_id = $2")
                .bind(org)
                .bind(folder_id)
                .fetch_one(&mut *transaction)
                .await
                .map_err(Error::query("count folder dashboards"))?
                .try_get("n")
                .map_err(Error::query("read folder dashboard count"))?;
        if held > 0 {
            return Err(Error::Conflict(format!(
                "folder {folder_id} holds {held} dashboards; move or delete them first"
            )));
        }
        let result = sqlx::query("DELETE FROM dashboard_folders WHERE org = $1 AND folder_id = $2")
            .bind(org)
            .bind(folder_id)
            .execute(&mut *transaction)
            .await
            .map_err(Error::query("delete dashboard folder"))?;
        transaction
            .commit()
            .await
            .map_err(Error::query("commit delete dashboard folder"))?;
        Ok(result.rows_affected() > 0)
    }
}
