//! Users and their membership (with a role) in organisations.
//!
//! A user is global (keyed by e-mail) and belongs to organisations with one role each. The root
//! user (`is_root`) is implicitly admin of every organisation and has no membership rows.

use std::fmt;
use std::str::FromStr;

use kansoku_core::OrgId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::{Error, MetaStore, Result, now_micros, parse_enum};

/// A role within one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in the organisation, including users and tokens.
    Admin,
    /// Read, ingest and change streams (and later alerts, dashboards).
    Editor,
    /// Read only.
    Viewer,
    /// Ingest only (for agents using a user account).
    Ingester,
}

impl Role {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::Ingester => "ingester",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(raw: &str) -> std::result::Result<Self, Self::Err> {
        match raw {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            "ingester" => Ok(Role::Ingester),
            other => Err(format!(
                "unknown role '{other}': use admin, editor, viewer or ingester"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login e-mail (lower-cased).
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// The installation's root user.
    pub is_root: bool,
    /// Creation time, µs.
    pub created_at: i64,
}

/// A user as a member of one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Login e-mail.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Role in the organisation (`admin` for root).
    pub role: Role,
    /// Whether this is the root user.
    pub is_root: bool,
}

/// Fields of a user that can change.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New password hash.
    pub password_hash: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
}

impl MetaStore {
    /// Creates a user; fails with `Conflict` if the e-mail exists.
    pub async fn create_user(&self, user: &User) -> Result<()> {
        let now = now_micros();
        let inserted = sqlx::query(
            "INSERT INTO users (email, password_hash, first_name, last_name, is_root, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(i64::from(user.is_root))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(Error::Conflict(format!(
                "user '{}' already exists",
                user.email
            ))),
            Err(error) => Err(Error::query("create user")(error)),
        }
    }

    /// The user with this e-mail.
    pub async fn get_user(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT email, password_hash, first_name, last_name, is_root, created_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get user"))?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    /// The root user, if one was bootstrapped.
    pub async fn get_root_user(&self) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT email, password_hash, first_name, last_name, is_root, created_at FROM users WHERE is_root = 1",
        )
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("get root user"))?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    /// Changes a user's password or names.
    pub async fn update_user(&self, email: &str, update: &UserUpdate) -> Result<()> {
        let Some(current) = self.get_user(email).await? else {
            return Err(Error::NotFound(format!("user '{email}' not found")));
        };
        sqlx::query(
            "UPDATE users SET password_hash = $1, first_name = $2, last_name = $3, updated_at = $4 WHERE email = $5",
        )
        .bind(update.password_hash.as_ref().unwrap_or(&current.password_hash))
        .bind(update.first_name.as_ref().unwrap_or(&current.first_name))
        .bind(update.last_name.as_ref().unwrap_or(&current.last_name))
        .bind(now_micros())
        .bind(email)
        .execute(self.pool())
        .await
        .map_err(Error::query("update user"))?;
        Ok(())
    }

    /// Deletes a user and all their memberships and sessions.
    pub async fn delete_user(&self, email: &str) -> Result<()> {
        let mut transaction = self
            .pool()
            .begin()
            .await
            .map_err(Error::query("begin delete user"))?;
        for statement in [
            "DELETE FROM org_members WHERE email = $1",
            "DELETE FROM sessions WHERE email = $1",
            "DELETE FROM users WHERE email = $1",
        ] {
            sqlx::query(statement)
                .bind(email)
                .execute(&mut *transaction)
                .await
                .map_err(Error::query("delete user"))?;
        }
        transaction
            .commit()
            .await
            .map_err(Error::query("commit delete user"))
    }

    /// Sets (adds or changes) the user's role in `org`.
    pub async fn set_member_role(&self, org: &OrgId, email: &str, role: Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO org_members (org, email, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org, email) DO UPDATE SET role = excluded.role",
        )
        .bind(org.as_str())
        .bind(email)
        .bind(role.as_str())
        .bind(now_micros())
        .execute(self.pool())
        .await
        .map_err(Error::query("set member role"))?;
        Ok(())
    }

    /// Removes the user from `org`; returns whether they were a member.
    pub async fn remove_member(&self, org: &OrgId, email: &str) -> Result<bool> {
        let result = sqlx::query("DELETE FROM org_members WHERE org = $1 AND email = $2")
            .bind(org.as_str())
            .bind(email)
            .execute(self.pool())
            .await
            .map_err(Error::query("remove member"))?;
        Ok(result.rows_affected() > 0)
    }

    /// The user's role in `org`, if they are a member.
    pub async fn member_role(&self, org: &OrgId, email: &str) -> Result<Option<Role>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM org_members WHERE org = $1 AND email = $2")
                .bind(org.as_str())
                .bind(email)
                .fetch_optional(self.pool())
                .await
                .map_err(Error::query("get member role"))?;
        role.map(|role| parse_enum(&role, "role")).transpose()
    }

    /// How many organisations the user belongs to.
    pub async fn membership_count(&self, email: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE email = $1")
            .bind(email)
            .fetch_one(self.pool())
            .await
            .map_err(Error::query("count memberships"))
    }

    /// The organisations the user belongs to, with their role.
    pub async fn memberships(&self, email: &str) -> Result<Vec<(String, Role)>> {
        let rows = sqlx::query("SELECT org, role FROM org_members WHERE email = $1 ORDER BY org")
            .bind(email)
            .fetch_all(self.pool())
            .await
            .map_err(Error::query("list memberships"))?;
        rows.iter()
            .map(|row| {
                let org: String = row
                    .try_get("org")
                    .map_err(Error::query("read membership"))?;
                let role: String = row
                    .try_get("role")
                    .map_err(Error::query("read membership"))?;
                Ok((org, parse_enum(&role, "role")?))
            })
            .collect()
    }

    /// The members of `org`, by e-mail.
    pub async fn list_members(&self, org: &OrgId) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.email, u.first_name, u.last_name, m.role, u.is_root
             FROM org_members m JOIN users u ON u.email = m.email
             WHERE m.org = $1 ORDER BY u.email",
        )
        .bind(org.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list members"))?;
        rows.iter()
            .map(|row| {
                let read = Error::query("read member");
                let role: String = row.try_get("role").map_err(read)?;
                let is_root: i64 = row
                    .try_get("is_root")
                    .map_err(Error::query("read member"))?;
                Ok(Member {
                    email: row.try_get("email").map_err(Error::query("read member"))?,
                    first_name: row
                        .try_get("first_name")
                        .map_err(Error::query("read member"))?,
                    last_name: row
                        .try_get("last_name")
                        .map_err(Error::query("read member"))?,
                    role: parse_enum(&role, "role")?,
                    is_root: is_root != 0,
                })
            })
            .collect()
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    let is_root: i64 = row.try_get("is_root").map_err(Error::query("read user"))?;
    Ok(User {
        email: row.try_get("email").map_err(Error::query("read user"))?,
        password_hash: row
            .try_get("password_hash")
            .map_err(Error::query("read user"))?,
        first_name: row
            .try_get("first_name")
            .map_err(Error::query("read user"))?,
        last_name: row
            .try_get("last_name")
            .map_err(Error::query("read user"))?,
        is_root: is_root != 0,
        created_at: row
            .try_get("created_at")
            .map_err(Error::query("read user"))?,
    })
}
