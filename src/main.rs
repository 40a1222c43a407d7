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
        Command::Apply(args) => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    report(&anyhow::anyhow!("cannot start the async runtime: {error}"));
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(kansoku_server::apply_cli::apply(&args)) {
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
        Command::Serve(config) => {
            kansoku_server::telemetry::init(config.log_format, &config.log);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    report(&anyhow::anyhow!("cannot start the async runtime: {error}"));
                    return ExitCode::FAILURE;
                }
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
