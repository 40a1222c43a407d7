//! The `kansoku` binary: parse the configuration, set up logging, run the chosen command.

use std::process::ExitCode;

use clap::Parser;
use kansoku_server::{Cli, Command};

/// mimalloc instead of glibc's malloc: ingest and flush allocate and free many short-lived
/// buffers of every size, and glibc spent a quarter of the metrics ingest CPU in `malloc`,
/// `free` and heap consolidation (docs/benchmarks.md, issue 10).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(config) => {
            print_config(&config);
            ExitCode::SUCCESS
        }
        Command::Apply(args) => run_client(kansoku_server::apply_cli::apply(&args)),
        Command::Cluster(args) => run_client(kansoku_server::cluster_cli::run(&args)),
        Command::Serve(config) => {
            kansoku_server::telemetry::init(config.log_format, &config.log);
            let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
                return ExitCode::FAILURE;
            };
            match runtime.block_on(kansoku_server::serve(*config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    report(&error);
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The runtime `builder` makes, with I/O and timers; `None` (reported) when it cannot start.
fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            report(&anyhow::anyhow!("cannot start the async runtime: {error}"));
            None
        }
    }
}

/// Runs a client sub-command on a small runtime and prints its lines.
fn run_client(call: impl std::future::Future<Output = anyhow::Result<Vec<String>>>) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(call) {
        Ok(lines) => {
            print_lines(&lines);
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_config(config: &kansoku_server::Config) {
    for (key, value) in config.redacted() {
        println!("{key}={value}");
    }
}

#[allow(clippy::print_stdout)]
fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

#[allow(clippy::print_stderr)]
fn report(error: &anyhow::Error) {
    eprintln!("kansoku: {error:#}");
}
