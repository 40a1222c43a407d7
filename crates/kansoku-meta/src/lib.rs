//! The metadata database: everything kansoku knows that is not log data.
//!
//! One [`MetaStore`] talks to SQLite (the embedded default, `sqlite://…`) or PostgreSQL (for
//! several nodes, `postgres://…`) through sqlx's `Any` driver, with the same SQL for both: `$N`
//! placeholders, `BIGINT`/`TEXT` columns, `ON CONFLICT` upserts.
//!
//! It owns these tables (created by [`migrations`], versioned in `kansoku_migrations`):
//!
//! | table | what |
//! |---|---|
//! | `orgs` | organisations |
//! | `users`, `org_members` | accounts (Argon2id hashes, never passwords) and their role per org |
//! | `ingestion_tokens` | per-org agent tokens, stored as SHA-256 digests |
//! | `streams`, `stream_schemas` | stream settings and every schema version |
//! | `stream_pipelines` | a stream's ingest pipeline (its JSON document) and its edit count |
//! | `file_manifest` | one row per Parquet file: stream, time range, rows, sizes, schema version |
//! | `wal_checkpoints` | per node, the last WAL segment whose data is in the manifest |
//! | `cluster_ingesters` | per node, the lease of the process that may write its data (instance, volume, epoch, state), on the database's clock |
//! | `audit_log` | every administrative change that succeeded: when, org, who, route, path, status |
//! | `file_deletions` | objects to delete once a grace period passed (replaced, expired, orphaned) |
//! | `alert_objects`, `alert_states`, `alert_history` | alert templates, destinations and rules (JSON), their schedule, their evaluations |
//!
//! The manifest rows of a flush and the node's WAL checkpoint are written in one transaction, so
//! after a crash a WAL segment is either replayed or known to be stored, never both; with a
//! lease, that transaction also checks that the flushing process still holds its node's lease.

pub mod alerts;
pub mod audit;
pub mod dashboards;
pub mod deletions;
mod error;
pub mod ingesters;
pub mod manifest;
pub mod metrics;
pub mod migrations;
pub mod orgs;
pub mod pipelines;
pub mod sessions;
pub mod streams;
pub mod tokens;
pub mod users;
pub mod views;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use alerts::{AlertObject, AlertObjectKind, AlertState, HistoryEntry};
pub use audit::AuditEntry;
pub use dashboards::{DashboardFolder, DashboardRow};
pub use deletions::DeletionReason;
pub use error::{Error, Result};
pub use ingesters::{
    Checkpoint, ClaimOutcome, ForgetOutcome, IngesterRow, IngesterState, LeaseClaim,
};
pub use manifest::{FileEntry, StreamStats};
pub use metrics::MetricMetadata;
pub use orgs::{Org, OrgQuotas};
pub use pipelines::StoredPipeline;
pub use tokens::IngestionToken;
pub use users::{Member, Role, User};
pub use views::SavedView;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (single node).
    Sqlite,
    /// PostgreSQL (one or many nodes).
    Postgres,
}

/// A connection pool to the metadata database.
#[derive(Clone, Debug)]
pub struct MetaStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl MetaStore {
    /// Connects to `dsn` (`sqlite://path` or `postgres://…`), creating a SQLite file if needed,
    /// and applies pending migrations.
    pub async fn connect(dsn: &str) -> Result<MetaStore> {
        install_default_drivers();
        let dialect = dialect_of(dsn)?;
        let (url, max_connections) = match dialect {
            Dialect::Sqlite => (sqlite_url(dsn), 4),
            Dialect::Postgres => (dsn.to_string(), 8),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // Commits must survive power loss: WAL segments are deleted after them.
                        connection.execute("PRAGMA journal_mode = WAL").await?;
                        connection.execute("PRAGMA synchronous = FULL").await?;
                        connection.execute("PRAGMA busy_timeout = 10000").await?;
                        connection.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| Error::Connect {
                dsn: redact_dsn(dsn),
                source,
            })?;
        let store = MetaStore { pool, dialect };
        migrations::apply(&store).await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The underlying pool (for migrations and tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(Error::query("ping"))?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The database a DSN names (`sqlite:…` or `postgres://…`), or why it names none kansoku reads.
pub fn dialect_of(dsn: &str) -> Result<Dialect> {
    if dsn.starts_with("sqlite:") {
        return Ok(Dialect::Sqlite);
    }
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        return Ok(Dialect::Postgres);
    }
    Err(Error::UnsupportedDsn(redact_dsn(dsn)))
}

fn sqlite_url(dsn: &str) -> String {
    if dsn.contains('?') {
        dsn.to_string()
    } else {
        format!("{dsn}?mode=rwc")
    }
}

/// Hides the password of a DSN for logs and messages.
pub fn redact_dsn(dsn: &str) -> String {
    let Some((scheme, rest)) = dsn.split_once("://") else {
        return dsn.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return dsn.to_string();
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    if userinfo.contains(':') {
        format!("{scheme}://{user}:***@{host}")
    } else {
        format!("{scheme}://{user}@{host}")
    }
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

pub(crate) fn parse_enum<T: FromStr>(raw: &str, what: &'static str) -> Result<T> {
    raw.parse::<T>().map_err(|_| Error::Corrupt {
        what,
        detail: format!("unknown value '{raw}'"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_are_redacted() {
        assert_eq!(
            redact_dsn("postgres://o2:secret@db:5432/o2"),
            "postgres://o2:***@db:5432/o2"
        );
        assert_eq!(redact_dsn("postgres://o2@db/o2"), "postgres://o2@db/o2");
        assert_eq!(
            redact_dsn("sqlite://./data/meta.sqlite"),
            "sqlite://./data/meta.sqlite"
        );
    }

    #[test]
    fn dialect_is_chosen_by_scheme() {
        assert_eq!(dialect_of("sqlite://x").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("postgresql://x").unwrap(), Dialect::Postgres);
        assert!(dialect_of("mysql://x").is_err());
    }
}
