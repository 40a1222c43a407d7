//! Prometheus' PromQL test suite (`testdata/promqltest`, Apache-2.0) against the engine.
//!
//! Fails when a tier-1 case fails without being listed in `testdata/known-failures.tsv`, when a
//! listed case passes (the list must stay true), or when tier 1 passes below 98 %. The pass rate
//! per file and tier is printed (`cargo run -p kansoku-promql --bin promqltest` prints it too).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::PathBuf;

use kansoku_promql::promqltest::{rate, read_index, report, run_directory};

#[tokio::test(flavor = "current_thread")]
async fn prometheus_test_suite_tier_one() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let directory = root.join("promqltest");
    let index = read_index(&std::fs::read_to_string(directory.join("eval_index.tsv")).unwrap());
    let results = run_directory(&directory, &index).await.unwrap();
    println!("{}", report(&results));
    let known: HashMap<(String, usize), String> =
        std::fs::read_to_string(root.join("known-failures.tsv"))
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let mut fields = line.splitn(3, '\t');
                let file = fields.next().unwrap().to_string();
                let number = fields.next().unwrap().parse().unwrap();
                let reason = fields.next().unwrap_or_default().to_string();
                assert!(
                    !reason.is_empty(),
                    "{file}:{number} is listed without a reason"
                );
                ((file, number), reason)
            })
            .collect();
    let tier_one: Vec<_> = results.iter().filter(|r| r.tier == 1).collect();
    let mut problems = Vec::new();
    for case in &tier_one {
        let key = (case.file.clone(), case.line);
        match (&case.failure, known.contains_key(&key)) {
            (Some(failure), false) => problems.push(format!(
                "{}:{} `{}` fails and is not listed: {failure}",
                case.file, case.line, case.query
            )),
            (None, true) => problems.push(format!(
                "{}:{} `{}` passes now: remove it from known-failures.tsv",
                case.file, case.line, case.query
            )),
            _ => {}
        }
    }
    let passed = tier_one.iter().filter(|r| r.failure.is_none()).count();
    let tier_one_rate = rate(passed, tier_one.len());
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        tier_one.len() > 800,
        "tier-1 cases missing: {}",
        tier_one.len()
    );
    assert!(
        tier_one_rate >= 98.0,
        "tier 1 passes {tier_one_rate:.1} %, below 98 %"
    );
}
