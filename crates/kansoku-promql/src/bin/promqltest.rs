//! Runs Prometheus' PromQL test files against kansoku's engine and prints the pass rate per file
//! and per tier; `--failures` also lists every failing case with its reason.
//!
//! `cargo run -p kansoku-promql --bin promqltest [-- --failures] [DIR]`

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use kansoku_promql::promqltest::{read_index, report, run_directory};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut show_failures = false;
    let mut directory = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/promqltest"));
    for argument in std::env::args().skip(1) {
        if argument == "--failures" {
            show_failures = true;
        } else {
            directory = PathBuf::from(argument);
        }
    }
    let index = std::fs::read_to_string(directory.join("eval_index.tsv"))
        .map(|text| read_index(&text))
        .unwrap_or_default();
    let results = match run_directory(&directory, &index).await {
        Ok(results) => results,
        Err(error) => {
            eprintln!("promqltest: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if show_failures {
        for case in results.iter().filter(|r| r.failure.is_some()) {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                case.file,
                case.line,
                case.tier,
                case.query,
                case.failure.as_deref().unwrap_or_default()
            );
        }
    }
    print!("{}", report(&results));
    std::process::ExitCode::SUCCESS
}
