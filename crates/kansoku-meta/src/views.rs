//! Saved views of the logs page: a named query, its columns and time range, per user.
//!
//! The body is the UI's JSON (opaque here); a view belongs to its owner, who alone lists,
//! changes and deletes it.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, MetaStore, Result, now_micros};

/// A saved view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SavedView {
    /// Its id.
    pub view_id: String,
    /// Who saved it.
    pub owner: String,
    /// Its name.
    pub name: String,
    /// The UI's JSON (query, columns, time range …).
    pub body: String,
    /// When it was created, µs.
    pub created_at: i64,
    /// When it was last changed, µs.
    pub updated_at: i64,
}

fn view_of(row: &AnyRow) -> Result<SavedView> {
    let read = || Error::query("read saved view");
    Ok(SavedView {
        view_id: row.try_get("view_id").map_err(read())?,
        owner: row.try_get("owner").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        body: row.try_get("body").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        updated_at: row.try_get("updated_at").map_err(read())?,
    })
}

impl MetaStore {
    /// Creates or replaces `view` of `org` (replacing only the owner's own view).
    pub async fn put_saved_view(&self, org: &str, view: &SavedView) -> Result<()> {
        let now = now_micros();
        let result = sqlx::query(
            "INSERT INTO saved_views (org, view_id, owner, name, body, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (org, view_id) DO UPDATE SET name = excluded.name, body = excluded.body,
               updated_at = excluded.updated_at
             WHERE saved_views.owner = excluded.owner",
        )
        .bind(org)
        .bind(&view.view_id)
        .bind(&view.owner)
        .bind(&view.name)
        .bind(&view.body)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(Error::query("write saved view"))?;
        if result.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "saved view {} not found",
                view.view_id
            )));
        }
        Ok(())
    }

    /// `owner`'s views in `org`, by name.
    pub async fn list_saved_views(&self, org: &str, owner: &str) -> Result<Vec<SavedView>> {
        let rows = sqlx::query(
            "SELECT view_id, owner, name, body, created_at, updated_at FROM saved_views
             WHERE org = $1 AND owner = $2 ORDER BY name, view_id",
        )
        .bind(org)
        .bind(owner)
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list saved views"))?;
        rows.iter().map(view_of).collect()
    }

    /// One of `owner`'s views.
    pub async fn get_saved_view(
        &self,
        org: &str,
        owner: &str,
        view_id: &str,
    ) -> Result<Option<SavedView>> {
        let row = sqlx::query(
            "SELECT view_id, owner, name, body, created_at, updated_at FROM saved_views
             WHERE org = $1 AND owner = $2 AND view_id = $3",
        )
        .bind(org)
        .bind(owner)
        .bind(view_id)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get saved view"))?;
        row.as_ref().map(view_of).transpose()
    }

    /// Deletes one of `owner`'s views; whether it existed.
    pub async fn delete_saved_view(&self, org: &str, owner: &str, view_id: &str) -> Result<bool> {
        let result =
            sqlx::query("DELETE FROM saved_views WHERE org = $1 AND owner = $2 AND view_id = $3")
                .bind(org)
                .bind(owner)
                .bind(view_id)
                .execute(self.pool())
                .await
                .map_err(Error::query("delete saved view"))?;
        Ok(result.rows_affected() > 0)
    }
}
