//! Browser sessions of the web UI. Only a SHA-256 digest of the session id is stored.

use sqlx::Row;

use crate::{Error, MetaStore, Result, now_micros};

impl MetaStore {
    /// Stores a session for `email` valid until `expires_at` (µs).
    pub async fn create_session(
        &self,
        token_hash: &str,
        email: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(email)
        .bind(now_micros())
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(Error::query("create session"))?;
        Ok(())
    }

    /// The e-mail of the unexpired session with this digest.
    pub async fn find_session(&self, token_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT email, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(Error::query("find session"))?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row
            .try_get("expires_at")
            .map_err(Error::query("read session"))?;
        if expires_at <= now_micros() {
            return Ok(None);
        }
        Ok(Some(
            row.try_get("email").map_err(Error::query("read session"))?,
        ))
    }

    /// Deletes a session (logout).
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await
            .map_err(Error::query("delete session"))?;
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_micros())
            .execute(self.pool())
            .await
            .map_err(Error::query("purge sessions"))?;
        Ok(result.rows_affected())
    }
}

impl MetaStore {
    /// Deletes every session of `email` (after a password change).
    pub async fn delete_user_sessions(&self, email: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE email = $1")
            .bind(email)
            .execute(self.pool())
            .await
            .map_err(Error::query("delete user sessions"))?;
        Ok(())
    }
}
