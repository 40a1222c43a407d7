//! Schema migrations of the metadata database.
//!
//! Each migration is a list of statements valid on both SQLite and PostgreSQL. Applied versions
//! are recorded in `kansoku_migrations`; a migration is never edited once released, only followed
//! by a new one.

use crate::{Error, MetaStore, Result, now_micros};

/// `(version, statements)`, ascending.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS orgs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS users (
            email TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            is_root BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS org_members (
            org TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (org, email))",
            "CREATE INDEX IF NOT EXISTS org_members_email ON org_members (email)",
            "CREATE TABLE IF NOT EXISTS ingestion_tokens (
            org TEXT NOT NULL,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            token_prefix TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT,
            PRIMARY KEY (org, name))",
            "CREATE TABLE IF NOT EXISTS streams (
            org TEXT NOT NULL,
            stream_type TEXT NOT NULL,
            name TEXT NOT NULL,
            settings TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (org, stream_type, name))",
            "CREATE TABLE IF NOT EXISTS stream_schemas (
            org TEXT NOT NULL,
            stream_type TEXT NOT NULL,
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            fields TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (org, stream_type, name, version))",
            "CREATE TABLE IF NOT EXISTS file_manifest (
            path TEXT PRIMARY KEY,
            org TEXT NOT NULL,
            stream_type TEXT NOT NULL,
            stream TEXT NOT NULL,
            min_ts BIGINT NOT NULL,
            max_ts BIGINT NOT NULL,
            records BIGINT NOT NULL,
            raw_bytes BIGINT NOT NULL,
            stored_bytes BIGINT NOT NULL,
            index_path TEXT,
            index_bytes BIGINT NOT NULL,
            schema_version BIGINT NOT NULL,
            format_version BIGINT NOT NULL,
            node TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS file_manifest_time ON file_manifest (org, stream_type, stream, max_ts)",
            "CREATE TABLE IF NOT EXISTS wal_checkpoints (
            node TEXT PRIMARY KEY,
            segment BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sessions (
            token_hash TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL)",
        ],
    ),
    (
        2,
        &["ALTER TABLE file_manifest ADD COLUMN partition_values TEXT NOT NULL DEFAULT ''"],
    ),
    (
        3,
        &[
            "CREATE TABLE IF NOT EXISTS alert_objects (
            org TEXT NOT NULL,
            kind TEXT NOT NULL,
            object_key TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (org, kind, object_key))",
            "CREATE TABLE IF NOT EXISTS alert_states (
            org TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            next_run_at BIGINT NOT NULL,
            last_run_at BIGINT NOT NULL,
            last_fired_at BIGINT NOT NULL,
            last_status TEXT NOT NULL,
            PRIMARY KEY (org, alert_id))",
            "CREATE TABLE IF NOT EXISTS alert_history (
            org TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            alert_name TEXT NOT NULL,
            ts BIGINT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS alert_history_org_ts ON alert_history (org, ts)",
        ],
    ),
    (
        4,
        &[
            "ALTER TABLE file_manifest ADD COLUMN series_path TEXT",
            "CREATE TABLE IF NOT EXISTS metric_metadata (
            org TEXT NOT NULL,
            metric TEXT NOT NULL,
            metric_type TEXT NOT NULL,
            help TEXT NOT NULL,
            unit TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (org, metric))",
        ],
    ),
    (
        5,
        &[
            "CREATE TABLE IF NOT EXISTS dashboard_folders (
            org TEXT NOT NULL,
            folder_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (org, folder_id))",
            "CREATE TABLE IF NOT EXISTS dashboards (
            org TEXT NOT NULL,
            dashboard_id TEXT NOT NULL,
            folder_id TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            owner TEXT NOT NULL,
            role TEXT NOT NULL,
            body TEXT NOT NULL,
            hash TEXT NOT NULL,
            managed_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (org, dashboard_id))",
            "CREATE INDEX IF NOT EXISTS dashboards_folder ON dashboards (org, folder_id)",
            "CREATE TABLE IF NOT EXISTS saved_views (
            org TEXT NOT NULL,
            view_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            name TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (org, view_id))",
            "CREATE INDEX IF NOT EXISTS saved_views_owner ON saved_views (org, owner)",
        ],
    ),
    (
        6,
        &[
            "CREATE TABLE IF NOT EXISTS file_deletions (
            path TEXT PRIMARY KEY,
            delete_after BIGINT NOT NULL,
            reason TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS file_deletions_due ON file_deletions (delete_after)",
        ],
    ),
    (
        7,
        &[
            "CREATE TABLE IF NOT EXISTS audit_log (
            at BIGINT NOT NULL,
            org TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            route TEXT NOT NULL,
            path TEXT NOT NULL,
            status BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS audit_log_org_time ON audit_log (org, at)",
        ],
    ),
    (
        8,
        &[
            // Per-organisation quota overrides; NULL = the server-wide setting, 0 = no limit.
            "CREATE TABLE IF NOT EXISTS org_quotas (
            org TEXT PRIMARY KEY,
            ingest_rate BIGINT,
            ingest_burst BIGINT,
            storage BIGINT,
            updated_at BIGINT NOT NULL)",
        ],
    ),
    (
        9,
        &[
            // A stream's ingest pipeline: `definition` is kansoku_core::pipeline's JSON
            // document (its own format version inside); `version` counts edits.
            "CREATE TABLE IF NOT EXISTS stream_pipelines (
            org TEXT NOT NULL,
            stream_type TEXT NOT NULL,
            name TEXT NOT NULL,
            definition TEXT NOT NULL,
            version BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (org, stream_type, name))",
        ],
    ),
    (
        10,
        &[
            // Ingester leases (scale-out): who may write a node's WAL-backed data. `instance`
            // is drawn at each start, `epoch` bumped at each takeover (never reset: a forgotten
            // node keeps its row), `renewed_at` is the database's clock (µs), `lease_us` the
            // holder's own lease length, `state` is `active`, `drained` or `forgotten`.
            "CREATE TABLE IF NOT EXISTS cluster_ingesters (
            node TEXT PRIMARY KEY,
            instance TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            state TEXT NOT NULL,
            http TEXT NOT NULL,
            cluster TEXT NOT NULL,
            renewed_at BIGINT NOT NULL,
            lease_us BIGINT NOT NULL)",
        ],
    ),
    (
        11,
        &[
            // The volume (its WAL) of the row's holder: a claim from the same volume takes the
            // row at once; another volume only once the row is drained or forgotten.
            "ALTER TABLE cluster_ingesters ADD COLUMN volume TEXT NOT NULL DEFAULT ''",
        ],
    ),
];

/// The newest migration version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|(version, _)| *version).unwrap_or(0)
}

/// Applies every migration not yet recorded.
pub async fn apply(store: &MetaStore) -> Result<()> {
    let pool = store.pool();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS kansoku_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(Error::query("create migrations table"))?;
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM kansoku_migrations")
        .fetch_one(pool)
        .await
        .map_err(Error::query("read migration version"))?;
    let applied = applied.unwrap_or(0);
    if applied > latest_version() {
        return Err(Error::Corrupt {
            what: "schema version",
            detail: format!(
                "the database is at migration {applied} but this build knows only up to {}; upgrade kansoku",
                latest_version()
            ),
        });
    }
    for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let mut transaction = pool
            .begin()
            .await
            .map_err(Error::query("begin migration"))?;
        for statement in *statements {
            sqlx::query(*statement)
                .execute(&mut *transaction)
                .await
                .map_err(Error::query("apply migration"))?;
        }
        sqlx::query(
            "INSERT INTO kansoku_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
        )
        .bind(*version)
        .bind(now_micros())
        .execute(&mut *transaction)
        .await
        .map_err(Error::query("record migration"))?;
        transaction
            .commit()
            .await
            .map_err(Error::query("commit migration"))?;
        tracing::info!(version, "applied metadata migration");
    }
    Ok(())
}
