//! The server under test: started pinned to one core, measured through `/proc`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "bench@example.com";
pub const PASSWORD: &str = "Benchpass#123";

/// A running `kansoku serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// `http://127.0.0.1:GRPC_PORT` (OTLP/gRPC).
    pub grpc: String,
}

impl Server {
    /// Starts `binary` pinned to `core` with its data in `dir`.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        core: usize,
        env: &[(String, String)],
    ) -> anyhow::Result<Server> {
        std::fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let grpc_port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(dir.with_extension("log"))?;
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(core.to_string())
            .arg(binary)
            .arg("serve")
            .env("KANSOKU_DATA_DIR", dir)
            .env("KANSOKU_HTTP_ADDR", "127.0.0.1")
            .env("KANSOKU_HTTP_PORT", port.to_string())
            .env("KANSOKU_GRPC_PORT", grpc_port.to_string())
            .env("KANSOKU_ROOT_USER_EMAIL", USER)
            .env("KANSOKU_ROOT_USER_PASSWORD", PASSWORD)
            .env("KANSOKU_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{base}/readyz")).send().await
                && response.status().is_success()
            {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Server {
            child,
            base,
            client,
            grpc: format!("http://127.0.0.1:{grpc_port}"),
        })
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds_of(self.pid())
    }

    /// The server's peak resident set size (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        peak_rss_of(self.pid())
    }

    /// The process id of the server (taskset execs it, so it is the child's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let started = Instant::now();
        while self.child.try_wait()?.is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                self.child.kill()?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_seconds_of(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let system: f64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    Ok((user + system) / clock_ticks())
}

/// The peak resident set size (VmHWM) of process `pid`, in bytes.
pub fn peak_rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    Ok(kib * 1024)
}

#[allow(unsafe_code)]
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}
