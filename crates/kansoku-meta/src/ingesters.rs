//! Ingester leases (`cluster_ingesters`): which process may write a node's data, and which nodes
//! may still hold records that are not in the manifest.
//!
//! One row per node id. A process claims its node's row with a compare-and-set before it
//! replays its WAL — at once when the row is its own volume's, or drained, or forgotten; never
//! from another volume just because a lease lapsed (that volume's WAL may hold acknowledged
//! records, and the checkpoint the new holder moves would make its replay delete them) —
//! renews it every few seconds, and names itself in every flush's manifest transaction
//! ([`Checkpoint::instance`]), so a process whose lease was taken over (fenced) can never
//! commit. (`kansoku-cluster` drives this; `kansoku serve` takes a lease on PostgreSQL.) Lease times
//! are the database's clock, never a node's: see [`MetaStore::db_now`]. The design is in
//! ARCHITECTURE.md, "Design for the roles".

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{Dialect, Error, MetaStore, Result, parse_enum};

/// Whether a node may still hold records the manifest does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngesterState {
    /// Running, or stopped without draining: its WAL may hold unflushed records.
    Active,
    /// Drained: everything it acknowledged is in the manifest.
    Drained,
    /// Forgotten by an admin who accepted the loss of its unflushed records (a volume lost for
    /// good). The row stays so that the node's epochs keep growing.
    Forgotten,
}

impl fmt::Display for IngesterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IngesterState::Active => "active",
            IngesterState::Drained => "drained",
            IngesterState::Forgotten => "forgotten",
        })
    }
}

impl FromStr for IngesterState {
    type Err = ();

    fn from_str(raw: &str) -> std::result::Result<Self, ()> {
        match raw {
            "active" => Ok(IngesterState::Active),
            "drained" => Ok(IngesterState::Drained),
            "forgotten" => Ok(IngesterState::Forgotten),
            _ => Err(()),
        }
    }
}

/// One row of `cluster_ingesters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngesterRow {
    /// The node id (a StatefulSet pod's ordinal name).
    pub node: String,
    /// The process that holds the lease (a UUID drawn at each start).
    pub instance: String,
    /// The holder's volume (`DATA_DIR/wal/volume`, drawn once per volume).
    pub volume: String,
    /// Bumped at each takeover, never reset (flush file names carry it).
    pub epoch: i64,
    /// Whether it may hold unflushed records.
    pub state: IngesterState,
    /// Its public HTTP address, `host:port`.
    pub http: String,
    /// Its cluster (Arrow Flight) address, `host:port`.
    pub cluster: String,
    /// When the lease was last renewed, µs on the database's clock.
    pub renewed_at: i64,
    /// The holder's lease length, µs: the row may be taken over once `renewed_at + lease_us`
    /// has passed.
    pub lease_us: i64,
}

/// What a starting process asks for.
#[derive(Debug, Clone)]
pub struct LeaseClaim<'a> {
    /// The node id.
    pub node: &'a str,
    /// This process's new instance id.
    pub instance: &'a str,
    /// This volume's id: a row naming it belongs to this volume's previous process, which is
    /// gone (the volume lock proves it), so the row is taken at once.
    pub volume: &'a str,
    /// The instance recorded beside this volume's WAL by a build before volume ids
    /// (`DATA_DIR/wal/instance`), if any: a row without a volume (written before migration 11)
    /// that names it is this volume's too.
    pub legacy_instance: Option<&'a str>,
    /// Public HTTP address.
    pub http: &'a str,
    /// Cluster address.
    pub cluster: &'a str,
    /// How long this process's lease stays valid unrenewed (stored in the row: a takeover
    /// waits for the holder's length, not the claimer's).
    pub lease: Duration,
}

/// The answer to a [`LeaseClaim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The row is this process's now, with this epoch and `state = active`.
    Claimed {
        /// The new epoch.
        epoch: i64,
    },
    /// Another volume's instance holds it: it is taken only once that node drained, or root
    /// forgot it (allowed once `remaining` has passed).
    Held {
        /// The holder.
        instance: String,
        /// Time left on its lease (zero once it lapsed).
        remaining: Duration,
    },
}

/// The answer to [`MetaStore::forget_ingester`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetOutcome {
    /// The row is forgotten now.
    Forgotten,
    /// No node has that id.
    Missing,
    /// Its holder's lease is live: the node may be running.
    Live {
        /// The holder.
        instance: String,
        /// Time left on its lease.
        remaining: Duration,
    },
}

/// The WAL checkpoint a flush commits with its files.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    /// The node whose WAL this is.
    pub node: &'a str,
    /// The last WAL segment whose records the published files hold.
    pub segment: i64,
    /// The instance that must still hold the node's lease for the commit to happen (`None` on a
    /// single node without a lease row).
    pub instance: Option<&'a str>,
    /// The drain's last flush: the row becomes `drained` in the same transaction.
    pub last: bool,
}

impl<'a> Checkpoint<'a> {
    /// A checkpoint without a lease check (a single process on its own database).
    pub fn unleased(node: &'a str, segment: i64) -> Self {
        Checkpoint {
            node,
            segment,
            instance: None,
            last: false,
        }
    }
}

const ROW_COLUMNS: &str =
    "node, instance, epoch, state, http, cluster, renewed_at, lease_us, volume";

type RawRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    String,
);

fn row_of(raw: RawRow) -> Result<IngesterRow> {
    let (node, instance, epoch, state, http, cluster, renewed_at, lease_us, volume) = raw;
    Ok(IngesterRow {
        node,
        instance,
        volume,
        epoch,
        state: parse_enum(&state, "ingester state")?,
        http,
        cluster,
        renewed_at,
        lease_us,
    })
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// SQL for "now, µs since the epoch" on the database's own clock.
pub(crate) fn now_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
        Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS BIGINT)",
    }
}

/// SQL text assembled from this module's constants only (column lists, the clock expression),
/// never from input: every value is bound.
fn trusted(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

impl MetaStore {
    /// The database's clock, µs since the epoch (what leases are measured on).
    pub async fn db_now(&self) -> Result<i64> {
        sqlx::query_scalar(trusted(format!("SELECT {}", now_sql(self.dialect()))))
            .fetch_one(self.pool())
            .await
            .map_err(Error::query("read database clock"))
    }

    /// Claims `claim.node`'s lease: creates the row, or takes it over when it names this volume
    /// or is not active (drained, forgotten) — bumping the epoch and setting `state = active` in
    /// the same compare-and-set. A lapsed lease of another volume is not enough (module doc).
    pub async fn claim_ingester(&self, claim: &LeaseClaim<'_>) -> Result<ClaimOutcome> {
        let now = now_sql(self.dialect());
        let inserted = sqlx::query(trusted(format!(
            "INSERT INTO cluster_ingesters ({ROW_COLUMNS}) VALUES ($1, $2, 1, 'active', $3, $4, {now}, $5, $6)
             ON CONFLICT (node) DO NOTHING"
        )))
        .bind(claim.node)
        .bind(claim.instance)
        .bind(claim.http)
        .bind(claim.cluster)
        .bind(micros(claim.lease))
        .bind(claim.volume)
        .execute(self.pool())
        .await
        .map_err(Error::query("claim ingester lease"))?;
        if inserted.rows_affected() == 1 {
            return Ok(ClaimOutcome::Claimed { epoch: 1 });
        }
        // fetch_all, not fetch_optional: SQLite commits an autocommit statement when it is
        // reset, and only a statement run to its end reports a failed commit.
        let taken: Vec<i64> = sqlx::query_scalar(trusted(format!(
            "UPDATE cluster_ingesters
             SET instance = $2, epoch = epoch + 1, state = 'active', http = $3, cluster = $4,
                 renewed_at = {now}, lease_us = $6, volume = $5
             WHERE node = $1
               AND (volume = $5 OR state <> 'active' OR (volume = '' AND instance = $7))
             RETURNING epoch"
        )))
        .bind(claim.node)
        .bind(claim.instance)
        .bind(claim.http)
        .bind(claim.cluster)
        .bind(claim.volume)
        .bind(micros(claim.lease))
        // '' never names an instance that holds a lease.
        .bind(claim.legacy_instance.unwrap_or(""))
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("take over ingester lease"))?;
        if let Some(&epoch) = taken.first() {
            return Ok(ClaimOutcome::Claimed { epoch });
        }
        let Some((instance, remaining)) = self.lease_holder(claim.node).await? else {
            // Forgotten between the two statements: the next claim creates it.
            return Ok(ClaimOutcome::Held {
                instance: String::new(),
                remaining: Duration::ZERO,
            });
        };
        Ok(ClaimOutcome::Held {
            instance,
            remaining,
        })
    }

    /// Renews `node`'s lease for `instance`. `false`: another instance holds it or the row is
    /// gone or forgotten — this process is fenced and must stop writing.
    pub async fn renew_ingester(&self, node: &str, instance: &str) -> Result<bool> {
        let renewed = sqlx::query(trusted(format!(
            "UPDATE cluster_ingesters SET renewed_at = {} WHERE node = $1 AND instance = $2 AND state <> 'forgotten'",
            now_sql(self.dialect())
        )))
        .bind(node)
        .bind(instance)
        .execute(self.pool())
        .await
        .map_err(Error::query("renew ingester lease"))?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Marks `node` drained for `instance`, whose memory is flushed and whose writes are
    /// closed (the end of a clean stop): queries stop reading its fresh data, and any process
    /// may claim the id at once. `false`: another instance holds the lease.
    pub async fn mark_ingester_drained(&self, node: &str, instance: &str) -> Result<bool> {
        let drained = sqlx::query(
            "UPDATE cluster_ingesters SET state = 'drained'
             WHERE node = $1 AND instance = $2 AND state <> 'forgotten'",
        )
        .bind(node)
        .bind(instance)
        .execute(self.pool())
        .await
        .map_err(Error::query("mark ingester drained"))?;
        Ok(drained.rows_affected() == 1)
    }

    /// `node`'s row, if any.
    pub async fn ingester(&self, node: &str) -> Result<Option<IngesterRow>> {
        let raw: Option<RawRow> = sqlx::query_as(trusted(format!(
            "SELECT {ROW_COLUMNS} FROM cluster_ingesters WHERE node = $1"
        )))
        .bind(node)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("read ingester"))?;
        raw.map(row_of).transpose()
    }

    /// Every node that may hold records the manifest does not list yet (every active row), by
    /// node id. Queries read fresh data from each of them.
    pub async fn unflushed_ingesters(&self) -> Result<Vec<IngesterRow>> {
        self.select_ingesters("WHERE state = 'active'").await
    }

    /// Marks `node` forgotten (an admin accepting the loss of a volume's unflushed records):
    /// queries stop waiting for it, and the row stays so that the next claim continues its
    /// epochs. Refused while its holder's lease is live (the node may be running: stop it
    /// first, or wait for the lease to lapse); should the holder still be running, cut off,
    /// it is fenced at its next renewal.
    pub async fn forget_ingester(&self, node: &str) -> Result<ForgetOutcome> {
        let now = now_sql(self.dialect());
        let forgotten = sqlx::query(trusted(format!(
            "UPDATE cluster_ingesters SET state = 'forgotten', instance = ''
             WHERE node = $1 AND (state <> 'active' OR renewed_at + lease_us <= {now})"
        )))
        .bind(node)
        .execute(self.pool())
        .await
        .map_err(Error::query("forget ingester"))?;
        if forgotten.rows_affected() == 1 {
            return Ok(ForgetOutcome::Forgotten);
        }
        Ok(match self.lease_holder(node).await? {
            None => ForgetOutcome::Missing,
            Some((instance, remaining)) => ForgetOutcome::Live {
                instance,
                remaining,
            },
        })
    }

    /// `node`'s holder and the time left on its lease (zero once it lapsed), if the row exists.
    async fn lease_holder(&self, node: &str) -> Result<Option<(String, Duration)>> {
        let held: Option<(String, i64)> = sqlx::query_as(trusted(format!(
            "SELECT instance, renewed_at + lease_us - {} FROM cluster_ingesters WHERE node = $1",
            now_sql(self.dialect())
        )))
        .bind(node)
        .fetch_optional(self.pool())
        .await
        .map_err(Error::query("read ingester lease"))?;
        Ok(held.map(|(instance, remaining)| {
            (
                instance,
                Duration::from_micros(u64::try_from(remaining).unwrap_or(0)),
            )
        }))
    }

    /// Every row, by node id (the admin's view of the cluster's ingesters).
    pub async fn list_ingesters(&self) -> Result<Vec<IngesterRow>> {
        self.select_ingesters("").await
    }

    /// The rows matching `filter` (a constant `WHERE` clause of this module, or `""`), by node.
    async fn select_ingesters(&self, filter: &'static str) -> Result<Vec<IngesterRow>> {
        let raw: Vec<RawRow> = sqlx::query_as(trusted(format!(
            "SELECT {ROW_COLUMNS} FROM cluster_ingesters {filter} ORDER BY node"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(Error::query("list ingesters"))?;
        raw.into_iter().map(row_of).collect()
    }
}

/// Inside a flush's manifest transaction: renews the lease of `checkpoint.instance` (and marks
/// the row drained on the drain's last flush), or fails with [`Error::Fenced`] when another
/// instance holds it.
pub(crate) async fn fence_check(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    checkpoint: &Checkpoint<'_>,
) -> Result<()> {
    let Some(instance) = checkpoint.instance else {
        return Ok(());
    };
    let state = if checkpoint.last {
        IngesterState::Drained
    } else {
        IngesterState::Active
    };
    let renewed = sqlx::query(trusted(format!(
        "UPDATE cluster_ingesters SET renewed_at = {}, state = $3
         WHERE node = $1 AND instance = $2 AND state <> 'forgotten'",
        now_sql(dialect)
    )))
    .bind(checkpoint.node)
    .bind(instance)
    .bind(state.to_string())
    .execute(&mut **transaction)
    .await
    .map_err(Error::query("check ingester lease"))?;
    if renewed.rows_affected() == 1 {
        return Ok(());
    }
    Err(Error::Fenced {
        node: checkpoint.node.to_string(),
        instance: instance.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for state in [
            IngesterState::Active,
            IngesterState::Drained,
            IngesterState::Forgotten,
        ] {
            assert_eq!(state.to_string().parse::<IngesterState>(), Ok(state));
        }
        assert!("draining".parse::<IngesterState>().is_err());
    }
}
