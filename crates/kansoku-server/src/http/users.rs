//! `GET|POST /api/{org}/users`, `PUT|DELETE /api/{org}/users/{email}`.
//!
//! Rules beyond the permission table:
//! - adding an e-mail that already has an account adds it to the organisation with the given
//!   role and leaves its password alone (an admin of one organisation cannot take over an account
//!   that also belongs to another);
//! - a password can be changed by its owner (with the old password) or by root, never by an
//!   organisation admin;
//! - names can be changed by their owner or an admin; roles only by an admin;
//! - the root user can be neither re-roled nor removed.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kansoku_core::{ErrorCode, OrgId};
use kansoku_meta::users::UserUpdate;
use kansoku_meta::{Member, Role, User};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::app::App;
use crate::auth::password::{check_policy, hash_password, verify_password};
use crate::auth::{Access, Principal};

/// Body of `POST /api/{org}/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default = "default_role")]
    role: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

fn default_role() -> String {
    "viewer".to_string()
}

/// Body of `PUT /api/{org}/users/{email}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default, alias = "new_password")]
    password: Option<String>,
    #[serde(default)]
    old_password: Option<String>,
    #[serde(default)]
    change_password: Option<bool>,
}

/// Lower-cases and checks an e-mail address.
pub fn normalise_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(ApiError::bad_request(format!(
            "invalid e-mail address '{raw}'"
        )));
    }
    Ok(email)
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.trim()
        .to_lowercase()
        .parse::<Role>()
        .map_err(ApiError::bad_request)
}

fn member_json(member: &Member) -> serde_json::Value {
    json!({
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "role": member.role,
        "is_root": member.is_root,
    })
}

/// `GET /api/{org}/users`
pub async fn list(State(app): State<App>, Path(org): Path<String>) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let mut members = app.meta.list_members(&org).await?;
    if let Some(root) = app.meta.get_root_user().await? {
        members.insert(
            0,
            Member {
                email: root.email,
                first_name: root.first_name,
                last_name: root.last_name,
                role: Role::Admin,
                is_root: true,
            },
        );
    }
    let data: Vec<_> = members.iter().map(member_json).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/{org}/users`
pub async fn create(
    State(app): State<App>,
    Path(org): Path<String>,
    Extension(access): Extension<Access>,
    Json(new): Json<NewUser>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let email = normalise_email(&new.email)?;
    let role = parse_role(&new.role)?;
    if app.meta.get_org(&org).await?.is_none() {
        if !access.principal.is_root() {
            return Err(ApiError::forbidden(format!(
                "no access to organization '{org}'"
            )));
        }
        app.meta.ensure_org(&org).await?;
    }
    if let Some(existing) = app.meta.get_user(&email).await? {
        if existing.is_root {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the root user is already admin of every organization",
            ));
        }
        if app.meta.member_role(&org, &email).await?.is_some() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("user '{email}' is already a member of '{org}'"),
            ));
        }
        app.meta.set_member_role(&org, &email, role).await?;
        return Ok(Json(json!({
            "code": 200,
            "message": format!("existing user '{email}' added to '{org}' as {role}; their password is unchanged"),
        }))
        .into_response());
    }
    let Some(password) = new.password else {
        return Err(ApiError::bad_request("password is required for a new user"));
    };
    check_policy(&password).map_err(ApiError::bad_request)?;
    let password_hash = hash_blocking(password).await?;
    app.meta
        .create_user(&User {
            email: email.clone(),
            password_hash,
            first_name: new.first_name,
            last_name: new.last_name,
            is_root: false,
            created_at: 0,
        })
        .await?;
    app.meta.set_member_role(&org, &email, role).await?;
    Ok(Json(
        json!({"code": 200, "message": format!("user '{email}' created in '{org}' as {role}")}),
    )
    .into_response())
}

/// `PUT /api/{org}/users/{email}`
pub async fn update(
    State(app): State<App>,
    Path((org, email)): Path<(String, String)>,
    Extension(access): Extension<Access>,
    Json(change): Json<UserChange>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let email = normalise_email(&email)?;
    let Some(target) = app.meta.get_user(&email).await? else {
        return Err(ApiError::not_found(format!(
            "user '{email}' not found in '{org}'"
        )));
    };
    let target_role = app.meta.member_role(&org, &email).await?;
    if target_role.is_none() && !target.is_root {
        return Err(ApiError::not_found(format!(
            "user '{email}' not found in '{org}'"
        )));
    }
    let caller_is_admin = access.role == Some(Role::Admin);
    let caller_is_self =
        matches!(&access.principal, Principal::User { email: me, .. } if *me == email);
    if !caller_is_admin && !caller_is_self {
        return Err(ApiError::forbidden(
            "only an admin or the user themselves may change a user",
        ));
    }
    if let Some(role) = &change.role {
        let role = parse_role(role)?;
        if target.is_root {
            return Err(ApiError::bad_request("the root user's role cannot change"));
        }
        if !caller_is_admin {
            return Err(ApiError::forbidden("only an admin may change roles"));
        }
        app.meta.set_member_role(&org, &email, role).await?;
    }
    let mut update = UserUpdate {
        first_name: change.first_name,
        last_name: change.last_name,
        password_hash: None,
    };
    let wants_password = change.password.is_some() || change.change_password == Some(true);
    if wants_password {
        let Some(password) = change.password else {
            return Err(ApiError::bad_request(
                "new_password is required to change the password",
            ));
        };
        if !caller_is_self && !access.principal.is_root() {
            return Err(ApiError::forbidden(
                "only the user or root may change a password",
            ));
        }
        if caller_is_self {
            let old = change.old_password.unwrap_or_default();
            let stored = target.password_hash.clone();
            let matches = tokio::task::spawn_blocking(move || verify_password(&old, &stored))
                .await
                .unwrap_or(false);
            if !matches {
                return Err(ApiError::forbidden("old_password is wrong"));
            }
        }
        check_policy(&password).map_err(ApiError::bad_request)?;
        update.password_hash = Some(hash_blocking(password).await?);
    }
    app.meta.update_user(&email, &update).await?;
    if update.password_hash.is_some() {
        app.meta.delete_user_sessions(&email).await?;
        app.auth.evict(
            |principal| matches!(principal, Principal::User { email: e, .. } if *e == email),
        );
    }
    Ok(Json(json!({"code": 200, "message": format!("user '{email}' updated")})).into_response())
}

/// `DELETE /api/{org}/users/{email}`: removes the user from the organisation, and deletes the
/// account when it belongs to no organisation any more.
pub async fn remove(
    State(app): State<App>,
    Path((org, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = OrgId::parse(&org)?;
    let email = normalise_email(&email)?;
    let Some(target) = app.meta.get_user(&email).await? else {
        return Err(ApiError::not_found(format!(
            "user '{email}' not found in '{org}'"
        )));
    };
    if target.is_root {
        return Err(ApiError::bad_request("the root user cannot be removed"));
    }
    if !app.meta.remove_member(&org, &email).await? {
        return Err(ApiError::not_found(format!(
            "user '{email}' not found in '{org}'"
        )));
    }
    if app.meta.membership_count(&email).await? == 0 {
        app.meta.delete_user(&email).await?;
    }
    app.auth
        .evict(|principal| matches!(principal, Principal::User { email: e, .. } if *e == email));
    Ok(
        Json(json!({"code": 200, "message": format!("user '{email}' removed from '{org}'")}))
            .into_response(),
    )
}

/// Hashes a password on the blocking pool.
pub async fn hash_blocking(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("hashing task failed: {e}")))?
        .map_err(|e| ApiError::new(ErrorCode::Internal, e))
}
