//! `kansoku-bench`: measures kansoku on realistic Kubernetes logs, against baselines measured in
//! the same run.
//!
//! 1. Generates ≥ N GB of Fluent Bit-style records from the seed data set (fresh timestamps spread
//!    over two hours, perturbed ids, pods and numbers) as NDJSON, and the same records with
//!    kansoku's column names for the baselines.
//! 2. Starts the release binary pinned to one core (`taskset`), fsync on, and ingests the NDJSON
//!    with concurrent `_multi` clients; reports MB/s and records/s per server CPU-second, peak RSS,
//!    and stored bytes per raw byte after a flush.
//! 3. Baseline: the same records as one plain zstd Parquet file (arrow-json → parquet, default
//!    settings), with its size and its encode speed per CPU-second.
//! 4. Freshness: time from a 2xx to the record being found by `_search`.
//! 5. Queries: five canonical searches on kansoku and on DuckDB over the baseline file (both on
//!    one core); answers must be identical before timings count.
//! 6. OTLP: pre-encoded span and log batches over OTLP/HTTP and OTLP/gRPC; items per server
//!    CPU-second against prost decoding alone, stored bytes per span.
//! 7. Protocols: the same records through `_multi`, a `parse_json` pipeline, Loki push, Splunk
//!    HEC, Fluentd forward and syslog; records per server CPU-second against `_multi`.
//! 8. Metrics: the same remote_write requests sent to kansoku and to Debian's Prometheus;
//!    samples/s per CPU-second, bytes per sample, peak RSS, `query_range` latency of five
//!    dashboard queries over 1 h and 24 h (see `metrics.rs`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod baseline;
mod generate;
mod ingest;
mod metrics;
mod otlp;
mod process;
mod protocols;
mod queries;
mod random;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "kansoku-bench")]
struct Args {
    /// The kansoku binary to measure (a release build).
    #[arg(long)]
    binary: PathBuf,
    /// Raw NDJSON gigabytes to ingest.
    #[arg(long, default_value_t = 1.0)]
    gigabytes: f64,
    /// Concurrent ingest clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Records per `_multi` request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// The CPU core the server (and DuckDB) is pinned to.
    #[arg(long, default_value_t = 0)]
    core: usize,
    /// Working directory (data files, server data); a temporary one by default.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Python with the `duckdb` package, for the query comparison.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The seed data set.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/k8slog_eks_fluentbit.json"))]
    dataset: PathBuf,
    /// Spans (and as many log records) sent per OTLP transport; 0 skips the OTLP section.
    #[arg(long, default_value_t = 200_000)]
    otlp_spans: usize,
    /// Only the OTLP section (no log generation, ingest or queries).
    #[arg(long)]
    otlp_only: bool,
    /// Series of the metrics section; 0 skips it.
    #[arg(long, default_value_t = 2000)]
    metrics_series: usize,
    /// Hours of samples (15 s apart) of the metrics section.
    #[arg(long, default_value_t = 24.0)]
    metrics_hours: f64,
    /// Only the metrics section.
    #[arg(long)]
    metrics_only: bool,
    /// The Prometheus binary the metrics section compares with.
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus: PathBuf,
    /// Records sent through each protocol of the protocols section; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    protocols_records: usize,
    /// Only the protocols section.
    #[arg(long)]
    protocols_only: bool,
    /// Extra environment for the server, `KEY=VALUE`.
    #[arg(long = "server-env")]
    server_env: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let temp = tempdir()?;
    let work = args.work_dir.clone().unwrap_or_else(|| temp.clone());
    std::fs::create_dir_all(&work)?;
    println!("# kansoku benchmark\n");
    println!("- binary: `{}`", args.binary.display());
    println!(
        "- machine: {} cores, server pinned to core {}",
        num_cores(),
        args.core
    );

    let server_env: Vec<(String, String)> = args
        .server_env
        .iter()
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    if args.metrics_only {
        let server =
            process::Server::start(&args.binary, &work.join("server"), args.core, &server_env)
                .await?;
        metrics_section(&server, &args, &work).await?;
        server.stop().await?;
        if args.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        return Ok(());
    }
    if args.otlp_only {
        let server =
            process::Server::start(&args.binary, &work.join("server"), args.core, &server_env)
                .await?;
        otlp::run(&server, args.otlp_spans, args.otlp_spans, args.clients).await?;
        server.stop().await?;
        if args.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        return Ok(());
    }

    if args.protocols_only {
        let data = generate::generate(
            &args.dataset,
            &work,
            (args.protocols_records as u64).saturating_mul(2200),
        )?;
        protocols_section(&args, &work, &data).await?;
        if args.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        return Ok(());
    }

    let started = Instant::now();
    let data = generate::generate(&args.dataset, &work, (args.gigabytes * 1e9) as u64)?;
    eprintln!(
        "generated {} records ({} MB) in {:?}",
        data.records,
        data.raw_bytes / 1_000_000,
        started.elapsed()
    );
    println!(
        "- data: {} records, {:.1} MB of NDJSON (mean {} bytes/record), {} streams of pods, timestamps over 2 h",
        data.records,
        data.raw_bytes as f64 / 1e6,
        data.raw_bytes / data.records.max(1),
        data.pods
    );

    let server =
        process::Server::start(&args.binary, &work.join("server"), args.core, &server_env).await?;
    let ingested = ingest::run(&server, &data, args.clients, args.batch).await?;
    let freshness = ingest::freshness(&server, 20).await?;
    let stored = ingest::stored_bytes(&server).await?;

    let parquet = baseline::write_parquet(&data)?;
    println!(
        "\n## Ingest (HTTP `_multi`, {} clients, {} records per request, fsync on)\n",
        args.clients, args.batch
    );
    println!(
        "| measure | kansoku | baseline: plain zstd Parquet encode (same data, 1 thread) | ratio |"
    );
    println!("|---|---|---|---|");
    let kansoku_mb_per_cpu = ingested.raw_bytes as f64 / 1e6 / ingested.cpu_seconds;
    let baseline_mb_per_cpu = data.raw_bytes as f64 / 1e6 / parquet.cpu_seconds;
    println!(
        "| MB/s per CPU-second | {:.1} | {:.1} | {:.2} |",
        kansoku_mb_per_cpu,
        baseline_mb_per_cpu,
        kansoku_mb_per_cpu / baseline_mb_per_cpu
    );
    println!(
        "| records/s per CPU-second | {:.0} | {:.0} | {:.2} |",
        ingested.records as f64 / ingested.cpu_seconds,
        data.records as f64 / parquet.cpu_seconds,
        (ingested.records as f64 / ingested.cpu_seconds)
            / (data.records as f64 / parquet.cpu_seconds)
    );
    println!(
        "| stored bytes per raw byte | {:.4} | {:.4} | {:.2} |",
        stored.stored_bytes as f64 / ingested.raw_bytes as f64,
        parquet.bytes as f64 / data.raw_bytes as f64,
        (stored.stored_bytes as f64 / ingested.raw_bytes as f64)
            / (parquet.bytes as f64 / data.raw_bytes as f64)
    );
    println!("\n| measure | value |\n|---|---|");
    println!(
        "| records ingested (acknowledged) | {} of {} sent |",
        ingested.records, data.records
    );
    println!(
        "| wall time | {:.1} s ({:.1} MB/s) |",
        ingested.wall_seconds,
        ingested.raw_bytes as f64 / 1e6 / ingested.wall_seconds
    );
    println!(
        "| server CPU time (ingest + final flush) | {:.1} s |",
        ingested.cpu_seconds
    );
    println!(
        "| 503 answers (back-pressure, retried) | {} |",
        ingested.retries
    );
    println!(
        "| peak RSS of the server | {:.0} MiB |",
        ingested.peak_rss_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "| stored: Parquet {:.1} MB in {} files (+ {:.1} MB index) | |",
        stored.stored_bytes as f64 / 1e6,
        stored.files,
        stored.index_bytes as f64 / 1e6
    );
    println!(
        "| plain zstd Parquet file | {:.1} MB |",
        parquet.bytes as f64 / 1e6
    );
    println!(
        "| ack → searchable (median / max of {}) | {:.1} ms / {:.1} ms |",
        freshness.len(),
        median(&freshness),
        freshness.iter().cloned().fold(0.0, f64::max)
    );

    if let Some(python) = &args.python {
        let range = (data.min_ts, data.max_ts + 1);
        queries::compare(
            &server,
            python,
            &parquet.path,
            range,
            args.core,
            &data.needle,
        )
        .await?;
    }
    if args.otlp_spans > 0 {
        otlp::run(&server, args.otlp_spans, args.otlp_spans, args.clients).await?;
    }
    if args.metrics_series > 0 {
        metrics_section(&server, &args, &work).await?;
    }
    server.stop().await?;
    if args.protocols_records > 0 {
        protocols_section(&args, &work, &data).await?;
    }
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    Ok(())
}

/// The protocols section on the first `--protocols-records` records of the data.
async fn protocols_section(
    args: &Args,
    work: &std::path::Path,
    data: &generate::Data,
) -> anyhow::Result<()> {
    use std::io::BufRead;
    let file = std::io::BufReader::new(std::fs::File::open(&data.raw_path)?);
    let records: Vec<String> = file
        .lines()
        .take(args.protocols_records)
        .collect::<Result<_, _>>()?;
    protocols::run(
        &args.binary,
        &work.join("protocols-server"),
        args.core,
        &records,
        args.clients,
        args.batch,
    )
    .await
}

/// The metrics section (remote_write + PromQL against Prometheus), with the command line's sizes.
async fn metrics_section(
    server: &process::Server,
    args: &Args,
    work: &std::path::Path,
) -> anyhow::Result<()> {
    metrics::run(
        server,
        &args.prometheus,
        work,
        args.core,
        args.metrics_series,
        args.metrics_hours,
        args.clients,
    )
    .await
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let mut bytes = [0u8; 6];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (std::process::id() as u8).wrapping_add(i as u8 * 31);
    }
    let path = std::env::temp_dir().join(format!(
        "kansoku-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    ));
    std::fs::create_dir_all(&path)?;
    Ok(path)
}
