//! The roles a node runs (`--roles` / `KANSOKU_ROLES`): `all` (the default, every role in one
//! process) or a comma list of `router`, `ingester`, `querier`, `compactor`, `alert-manager`.
//!
//! A node that runs only some roles is one of several sharing a PostgreSQL database, an S3
//! bucket and a NATS server; [`Roles::require_cluster`] names what it is missing otherwise.

use std::collections::BTreeSet;
use std::fmt;

/// One role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The one entry point: spreads writes over ingesters and queries over queriers.
    Router,
    /// Takes writes: WAL, memory, flushes to stored files (and real-time alerts).
    Ingester,
    /// Answers searches, SQL and PromQL.
    Querier,
    /// Merges small stored files, applies retention, deletes replaced files.
    Compactor,
    /// Runs scheduled alerts.
    AlertManager,
}

impl Role {
    /// Every role, in the order they are listed.
    pub const EVERY: [Role; 5] = [
        Role::Router,
        Role::Ingester,
        Role::Querier,
        Role::Compactor,
        Role::AlertManager,
    ];

    /// The role's name in `KANSOKU_ROLES` and in the registry.
    pub fn name(self) -> &'static str {
        match self {
            Role::Router => "router",
            Role::Ingester => "ingester",
            Role::Querier => "querier",
            Role::Compactor => "compactor",
            Role::AlertManager => "alert-manager",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        Role::EVERY.into_iter().find(|role| role.name() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The roles of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    /// `None`: `all`.
    listed: Option<BTreeSet<Role>>,
}

impl Default for Roles {
    fn default() -> Roles {
        Roles::all()
    }
}

/// What a node running only some roles needs, as the caller found it configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterSettings {
    /// `KANSOKU_META_DSN` points at PostgreSQL.
    pub postgres: bool,
    /// `KANSOKU_S3_BUCKET` is set.
    pub s3: bool,
    /// `KANSOKU_NATS_URL` is set.
    pub nats: bool,
    /// `KANSOKU_CLUSTER_SECRET` is set.
    pub secret: bool,
}

impl Roles {
    /// Every role in one process.
    pub fn all() -> Roles {
        Roles { listed: None }
    }

    /// Parses `all` or a comma list of role names (spaces around names are ignored, repeats
    /// are not errors).
    pub fn parse(text: &str) -> Result<Roles, String> {
        let names: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return Err(format!(
                "no role named: use all or a comma list of {}",
                every_name()
            ));
        }
        if names.contains(&"all") {
            if names.iter().any(|name| *name != "all") {
                return Err("all runs every role; it cannot be combined with others".to_string());
            }
            return Ok(Roles::all());
        }
        let mut listed = BTreeSet::new();
        for name in names {
            let Some(role) = Role::from_name(name) else {
                return Err(format!(
                    "unknown role {name:?}: use all or a comma list of {}",
                    every_name()
                ));
            };
            listed.insert(role);
        }
        Ok(Roles {
            listed: Some(listed),
        })
    }

    /// Whether this is `all`.
    pub fn is_all(&self) -> bool {
        self.listed.is_none()
    }

    /// Whether the node runs `role` (always, with `all`).
    pub fn runs(&self, role: Role) -> bool {
        self.listed
            .as_ref()
            .is_none_or(|listed| listed.contains(&role))
    }

    /// The names announced in the registry: `["all"]` or the roles in their listed order.
    pub fn names(&self) -> Vec<String> {
        match &self.listed {
            None => vec!["all".to_string()],
            Some(listed) => listed.iter().map(|role| role.name().to_string()).collect(),
        }
    }

    /// Refuses a list other than `all` unless the node can share its state with the others,
    /// naming every missing setting.
    pub fn require_cluster(&self, settings: ClusterSettings) -> Result<(), String> {
        if self.is_all() {
            return Ok(());
        }
        let missing: Vec<&str> = [
            (
                settings.postgres,
                "KANSOKU_META_DSN (a postgres:// database)",
            ),
            (settings.s3, "KANSOKU_S3_BUCKET"),
            (settings.nats, "KANSOKU_NATS_URL"),
            (settings.secret, "KANSOKU_CLUSTER_SECRET"),
        ]
        .into_iter()
        .filter(|(present, _)| !present)
        .map(|(_, name)| name)
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "KANSOKU_ROLES={self} runs only some roles, so this node shares its data with other \
             nodes; it needs {} (or run KANSOKU_ROLES=all, the single-process default)",
            missing.join(", ")
        ))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

fn every_name() -> String {
    Role::EVERY.map(Role::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_runs_every_role() {
        let roles = Roles::parse("all").unwrap();
        assert!(roles.is_all());
        assert!(Role::EVERY.into_iter().all(|role| roles.runs(role)));
        assert_eq!(roles.names(), ["all"]);
        assert_eq!(Roles::default(), roles);
    }

    #[test]
    fn a_list_runs_only_its_roles_in_a_stable_order() {
        let roles = Roles::parse(" querier , alert-manager,querier,ingester").unwrap();
        assert!(!roles.is_all());
        assert!(roles.runs(Role::Querier) && roles.runs(Role::Ingester));
        assert!(roles.runs(Role::AlertManager));
        assert!(!roles.runs(Role::Router) && !roles.runs(Role::Compactor));
        assert_eq!(roles.names(), ["ingester", "querier", "alert-manager"]);
        assert_eq!(roles.to_string(), "ingester,querier,alert-manager");
    }

    #[test]
    fn bad_lists_are_refused_with_the_valid_names() {
        let unknown = Roles::parse("ingester,writer").unwrap_err();
        assert!(unknown.contains("\"writer\""), "{unknown}");
        assert!(unknown.contains("alert-manager"), "{unknown}");
        assert!(Roles::parse(" , ").unwrap_err().contains("no role"));
        assert!(Roles::parse("all,querier").unwrap_err().contains("all"));
    }

    #[test]
    fn a_partial_list_names_every_missing_shared_setting() {
        let roles = Roles::parse("querier").unwrap();
        let error = roles
            .require_cluster(ClusterSettings {
                postgres: true,
                s3: false,
                nats: false,
                secret: true,
            })
            .unwrap_err();
        assert!(error.contains("KANSOKU_S3_BUCKET"), "{error}");
        assert!(error.contains("KANSOKU_NATS_URL"), "{error}");
        assert!(!error.contains("KANSOKU_META_DSN"), "{error}");
        assert!(!error.contains("KANSOKU_CLUSTER_SECRET"), "{error}");
        let everything = ClusterSettings {
            postgres: true,
            s3: true,
            nats: true,
            secret: true,
        };
        assert!(roles.require_cluster(everything).is_ok());
        assert!(
            Roles::all()
                .require_cluster(ClusterSettings::default())
                .is_ok()
        );
    }
}
