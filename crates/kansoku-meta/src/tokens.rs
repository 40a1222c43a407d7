//! Ingestion tokens: per-organisation secrets for agents, valid on ingest routes only.
//! Only a SHA-256 digest of each token is stored; the token itself is shown once, at creation.

use kansoku_core::OrgId;
use serde::Serialize;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, MetaStore, Result, now_micros};

/// A token as listed (never including the secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IngestionToken {
    /// The organisation the token belongs to.
    pub org: String,
    /// Its name, unique within the organisation.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub token_prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time, µs.
    pub created_at: i64,
    /// When it was revoked, µs; `None` while valid.
    pub revoked_at: Option<i64>,
}

impl MetaStore {
    /// Stores a new token; an existing *revoked* token of the same name is replaced.
    pub async fn create_ingestion_token(
        &self,
        org: &OrgId,
        name: &str,
        token_hash: &str,
        token_prefix: &str,
        created_by: &str,
    ) -> Result<IngestionToken> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin create token"))?;
        sqlx::query(
            "DELETE FROM ingestion_tokens WHERE org = $1 AND name = $2 AND revoked_at IS NOT NULL",
        )
        .bind(org.as_str())
        .bind(name)
        .execute(&mut *transaction)
        .await
        .map_err(Error::query("replace revoked token"))?;
        let created_at = now_micros();
        let inserted = sqlx::query(
            "INSERT INTO ingestion_tokens (org, name, token_hash, token_prefix, created_by, created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(org.as_str())
        .bind(name)
        .bind(token_hash)
        .bind(token_prefix)
        .bind(created_by)
        .bind(created_at)
        .execute(&mut *transaction)
        .await;
        if let Err(error) = inserted {
            if is_unique_violation(&error) {
                return Err(Error::Conflict(format!(
                    "ingestion token '{name}' already exists"
                )));
            }
            return Err(Error::query("create token")(error));
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit create token"))?;
        Ok(IngestionToken {
            org: org.to_string(),
            name: name.to_string(),
            token_prefix: token_prefix.to_string(),
            created_by: created_by.to_string(),
            created_at,
            revoked_at: None,
        })
    }

    /// The tokens of `org`, by name.
    pub async fn list_ingestion_tokens(&self, org: &OrgId) -> Result<Vec<IngestionToken>> {
        let rows = sqlx::query(
            "SELECT org, name, token_prefix, created_by, created_at, revoked_at
             FROM ingestion_tokens WHERE org = $1 ORDER BY name",
        )
        .bind(org.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list tokens"))?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes a token; returns whether a valid token of that name existed.
    pub async fn revoke_ingestion_token(&self, org: &OrgId, name: &str) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE ingestion_tokens SET revoked_at = $1 WHERE org = $2 AND name = $3 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(org.as_str())
        .bind(name)
        .execute(self.pool())
        .await
        .map_err(Error::query("revoke token"))?;
        Ok(result.rows_affected() > 0)
    }

    /// The valid (not revoked) token with this digest.
    pub async fn find_ingestion_token(&self, token_hash: &str) -> Result<Option<IngestionToken>> {
        let row = sqlx::query(
            "SELECT org, name, token_prefix, created_by, created_at, revoked_at
             FROM ingestion_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("find token"))?;
        row.map(|row| token_from_row(&row)).transpose()
    }
}

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<IngestionToken> {
    let read = || Error::query("read token");
    Ok(IngestionToken {
        org: row.try_get("org").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        token_prefix: row.try_get("token_prefix").map_err(read())?,
        created_by: row.try_get("created_by").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        revoked_at: row.try_get("revoked_at").map_err(read())?,
    })
}
