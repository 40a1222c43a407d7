//! A private PostgreSQL server for one test (the machine's binaries, its own data directory and
//! port), so the test can stop and restart it without disturbing the shared server other tests
//! use. It runs as the `postgres` user (PostgreSQL refuses root), bounded by `pg_ctl -t`, and is
//! stopped (immediate mode) on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::free_port;

pub struct PrivatePostgres {
    _home: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

/// The directory of the machine's PostgreSQL server binaries (`/usr/lib/postgresql/N/bin`).
fn server_binaries() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries (/usr/lib/postgresql) are not installed");
    versions
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .max()
        .expect("no /usr/lib/postgresql/*/bin/pg_ctl")
}

fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

impl PrivatePostgres {
    /// Creates a cluster (trust authentication, user `postgres`) and starts it on a free port.
    pub fn start() -> PrivatePostgres {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("cluster");
        let owner = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(home.path())
            .status()
            .unwrap();
        assert!(
            owner.success(),
            "chown of the private cluster's directory failed"
        );
        let bin = server_binaries();
        let created = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .status()
            .unwrap();
        assert!(created.success(), "initdb of the private cluster failed");
        let server = PrivatePostgres {
            _home: home,
            data,
            bin,
            port: free_port(),
        };
        server.restart();
        server
    }

    /// Starts the server again on the same port and data; waits (at most 60 s) until it accepts.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let started = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.data.join("server.log"))
            .arg("-D")
            .arg(&self.data)
            .arg("start")
            .status()
            .unwrap();
        assert!(started.success(), "the private PostgreSQL did not start");
    }

    /// Stops the server the way a crash does (immediate mode: no checkpoint, connections cut).
    pub fn crash(&self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-w", "-t", "60", "-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .status();
    }

    pub fn dsn(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.crash();
    }
}
