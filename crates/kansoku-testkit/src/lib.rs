//! Fixtures for tests that need real services.
//!
//! - PostgreSQL: [`fresh_postgres_dsn`] creates a new, empty database on the server named by
//!   `KANSOKU_TEST_PG_DSN` (default `postgres://postgres@127.0.0.1:5432/test`, the machine's
//!   local server) and returns a DSN for it. The README's test command starts the server if needed.
//! - S3: [`s3_settings`] reads the endpoint of the S3 server the test command started (s3s-fs)
//!   from `KANSOKU_TEST_S3_ENDPOINT` and friends; [`fresh_bucket_name`] gives each test its own
//!   bucket.
//!
//! Neither silently skips: a missing service fails the test with a message saying how to start it.
#![allow(clippy::expect_used, clippy::panic)]

use sqlx::Connection;

/// The admin DSN used to create test databases.
pub fn postgres_admin_dsn() -> String {
    std::env::var("KANSOKU_TEST_PG_DSN")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// The NATS server (with JetStream) of the tests: `KANSOKU_TEST_NATS_URL`, or the machine's.
pub fn nats_url() -> String {
    std::env::var("KANSOKU_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// A random lower-case alphanumeric suffix.
pub fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("os random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates an empty PostgreSQL database and returns its DSN.
pub async fn fresh_postgres_dsn() -> String {
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_dsn();
    let mut connection = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL at {admin} ({e}); run the README's test command, which starts it, \
             or set KANSOKU_TEST_PG_DSN"
        )
    });
    let name = format!("kansoku_test_{}", random_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .expect("create test database");
    connection.close().await.ok();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    format!("{base}/{name}")
}

/// Where the test S3 server is and how to sign requests to it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
    /// The directory s3s-fs serves; a bucket is a sub-directory of it.
    pub data_dir: String,
}

/// The test S3 server's settings; panics with instructions when the test command did not start one.
pub fn s3_settings() -> S3Settings {
    let endpoint = std::env::var("KANSOKU_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "KANSOKU_TEST_S3_ENDPOINT is not set: run the README's test command (scripts/test.sh), \
             which builds and starts the s3s-fs server"
        )
    });
    S3Settings {
        endpoint,
        access_key: std::env::var("KANSOKU_TEST_S3_ACCESS_KEY")
            .unwrap_or_else(|_| "AKIATEST".to_string()),
        secret_key: std::env::var("KANSOKU_TEST_S3_SECRET_KEY")
            .unwrap_or_else(|_| "SECRETTEST".to_string()),
        data_dir: std::env::var("KANSOKU_TEST_S3_DATA_DIR").unwrap_or_default(),
    }
}

/// Creates a fresh bucket on the test S3 server (s3s-fs: a directory) and returns its name.
pub fn fresh_bucket_name(settings: &S3Settings) -> String {
    let name = format!("kansoku-test-{}", random_suffix());
    assert!(
        !settings.data_dir.is_empty(),
        "KANSOKU_TEST_S3_DATA_DIR is not set: run the README's test command"
    );
    std::fs::create_dir_all(std::path::Path::new(&settings.data_dir).join(&name))
        .expect("create bucket directory");
    name
}

/// Storage configuration for a fresh bucket on the test S3 server.
pub fn fresh_s3_storage() -> kansoku_storage::StorageConfig {
    let settings = s3_settings();
    let bucket = fresh_bucket_name(&settings);
    kansoku_storage::StorageConfig::S3 {
        endpoint: settings.endpoint,
        bucket,
        region: "us-east-1".to_string(),
        access_key: settings.access_key,
        secret_key: settings.secret_key,
        prefix: "kansoku".to_string(),
        retry_timeout: std::time::Duration::from_secs(30),
        request_timeout: std::time::Duration::from_secs(30),
    }
}

/// The two storage set-ups every storage-facing test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite metadata, local-disk objects (the embedded default).
    Embedded,
    /// PostgreSQL metadata, S3 objects (the cluster set-up).
    Cluster,
}

impl Backend {
    /// Both backends.
    pub const ALL: [Backend; 2] = [Backend::Embedded, Backend::Cluster];

    /// `(metadata DSN, storage config)` for a fresh instance of this backend under `dir`.
    pub async fn fresh(self, dir: &std::path::Path) -> (String, kansoku_storage::StorageConfig) {
        match self {
            Backend::Embedded => (
                format!("sqlite://{}/meta.sqlite", dir.display()),
                kansoku_storage::StorageConfig::Local {
                    root: dir.join("objects"),
                },
            ),
            Backend::Cluster => (fresh_postgres_dsn().await, fresh_s3_storage()),
        }
    }
}
