//! The permission table. Every `/api` route declares one [`Permission`]; the HTTP middleware
//! checks it with [`authorize`] before the handler runs.
//!
//! | permission | admin | editor | viewer | ingester | ingestion token (own org) | root |
//! |---|---|---|---|---|---|---|
//! | `Ingest` | ✔ | ✔ | | ✔ | ✔ | ✔ |
//! | `Read` | ✔ | ✔ | ✔ | | | ✔ |
//! | `Write` | ✔ | ✔ | | | | ✔ |
//! | `Admin` | ✔ | | | | | ✔ |
//! | `Root` (installation-wide) | | | | | | ✔ |
//! | `Authenticated` (no org) | any user | | | | | ✔ |
//!
//! A user who is not a member of the organisation in the path gets 403, whether or not the
//! organisation exists, so organisation names do not leak.

use kansoku_core::OrgId;
use kansoku_meta::{MetaStore, Role};

use super::Principal;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Send data.
    Ingest,
    /// Read data and settings.
    Read,
    /// Change streams (and later alerts, dashboards).
    Write,
    /// Manage users and tokens of the organisation.
    Admin,
    /// Installation-wide operations.
    Root,
    /// Any signed-in user; the route is not about one organisation.
    Authenticated,
}

/// Whether `role` grants `permission` within its organisation.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::Ingest => matches!(role, Role::Admin | Role::Editor | Role::Ingester),
        Permission::Read => matches!(role, Role::Admin | Role::Editor | Role::Viewer),
        Permission::Write => matches!(role, Role::Admin | Role::Editor),
        Permission::Admin => matches!(role, Role::Admin),
        Permission::Root => false,
        Permission::Authenticated => true,
    }
}

/// An authorised request.
#[derive(Debug, Clone)]
pub struct Access {
    /// Who.
    pub principal: Principal,
    /// In which organisation (absent for routes that are not about one).
    pub org: Option<OrgId>,
    /// With which role there (`Admin` for root; `Ingester` for tokens).
    pub role: Option<Role>,
}

impl Access {
    /// Whether the caller administers the organisation (its admins, and root).
    pub fn is_org_admin(&self) -> bool {
        self.principal.is_root() || self.role == Some(Role::Admin)
    }
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Not allowed; the message says what is missing.
    Forbidden(String),
    /// The metadata database failed.
    Unavailable(String),
}

/// Checks `principal` against `permission` in `org`.
pub async fn authorize(
    meta: &MetaStore,
    principal: Principal,
    org: Option<OrgId>,
    permission: Permission,
) -> Result<Access, Denied> {
    if principal.is_root() {
        return Ok(Access {
            principal,
            role: org.as_ref().map(|_| Role::Admin),
            org,
        });
    }
    if permission == Permission::Root {
        return Err(Denied::Forbidden(
            "only the root user may do this".to_string(),
        ));
    }
    let Some(org) = org else {
        return match (permission, &principal) {
            (Permission::Authenticated, Principal::User { .. }) => Ok(Access {
                principal,
                org: None,
                role: None,
            }),
            _ => Err(Denied::Forbidden("not allowed".to_string())),
        };
    };
    let no_access = || Denied::Forbidden(format!("no access to organization '{org}'"));
    let role = match &principal {
        Principal::IngestToken { org: token_org, .. } => {
            if token_org != org.as_str() {
                return Err(Denied::Forbidden(format!(
                    "this ingestion token belongs to organization '{token_org}' and may only send data there, not to '{org}'"
                )));
            }
            if permission != Permission::Ingest {
                return Err(Denied::Forbidden(format!(
                    "ingestion tokens may only send data (logs, metrics, traces) to '{org}'; searching, reading and administration need a user's credentials"
                )));
            }
            Role::Ingester
        }
        Principal::User { email, .. } => meta
            .member_role(&org, email)
            .await
            .map_err(|e| Denied::Unavailable(e.to_string()))?
            .ok_or_else(no_access)?,
    };
    if !role_allows(role, permission) {
        return Err(Denied::Forbidden(format!(
            "the {role} role in '{org}' does not allow this ({permission:?} permission needed)"
        )));
    }
    Ok(Access {
        principal,
        org: Some(org),
        role: Some(role),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_what_the_doc_says() {
        use Permission::*;
        let expect = [
            (Role::Admin, [true, true, true, true, false, true]),
            (Role::Editor, [true, true, true, false, false, true]),
            (Role::Viewer, [false, true, false, false, false, true]),
            (Role::Ingester, [true, false, false, false, false, true]),
        ];
        for (role, allowed) in expect {
            for (permission, allowed) in [Ingest, Read, Write, Admin, Root, Authenticated]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(
                    role_allows(role, permission),
                    allowed,
                    "{role} {permission:?}"
                );
            }
        }
    }
}
