//! Prometheus' own PromQL test files as a conformance check of the engine: [`parse`] reads the
//! file format, [`run`] evaluates every case the way Prometheus' runner does, and
//! [`run_directory`] reports per file and per tier (Prometheus' tiers as listed in
//! `eval_index.tsv`).

pub mod parse;
pub mod run;

use std::collections::HashMap;
use std::path::Path;

use crate::engine::{Engine, EngineOptions};

/// One case's result with its file and tier.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The test file's name.
    pub file: String,
    /// Line of the `eval`.
    pub line: usize,
    /// Tier from the index (0 when the case is not indexed).
    pub tier: u8,
    /// The query.
    pub query: String,
    /// Why it failed, or `None`.
    pub failure: Option<String>,
}

/// The engine settings Prometheus' test engine uses.
pub fn test_engine() -> Engine {
    Engine::new(EngineOptions {
        timeout: None,
        ..EngineOptions::default()
    })
}

/// Reads `eval_index.tsv` (`file line kind tier flags query`) into `(file, line) → tier`.
pub fn read_index(text: &str) -> HashMap<(String, usize), u8> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let file = fields.next()?.to_string();
            let line_number = fields.next()?.parse().ok()?;
            let _kind = fields.next()?;
            let tier = fields.next()?.parse().ok()?;
            Some(((file, line_number), tier))
        })
        .collect()
}

/// Runs every `*.test` file of `directory`; tiers come from `index`.
pub async fn run_directory(
    directory: &Path,
    index: &HashMap<(String, usize), u8>,
) -> Result<Vec<CaseResult>, String> {
    let engine = test_engine();
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map_err(|e| format!("{}: {e}", directory.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".test"))
        .collect();
    names.sort();
    let mut results = Vec::new();
    for name in names {
        let text =
            std::fs::read_to_string(directory.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        let file = parse::parse_file(&text).map_err(|e| format!("{name}: {e}"))?;
        for outcome in run::run_file(&engine, &file).await {
            results.push(CaseResult {
                tier: index
                    .get(&(name.clone(), outcome.line))
                    .copied()
                    .unwrap_or(0),
                file: name.clone(),
                line: outcome.line,
                query: outcome.query,
                failure: outcome.failure,
            });
        }
    }
    Ok(results)
}

/// A table of pass counts per file and per tier.
pub fn report(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let mut files: Vec<&str> = results.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    out.push_str(&format!(
        "{:<28} {:>7} {:>7} {:>8}\n",
        "file", "passed", "cases", "rate"
    ));
    for file in files {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.file == file).collect();
        let passed = cases.iter().filter(|r| r.failure.is_none()).count();
        out.push_str(&format!(
            "{file:<28} {passed:>7} {:>7} {:>7.1}%\n",
            cases.len(),
            rate(passed, cases.len())
        ));
    }
    for tier in 1..=3u8 {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.tier == tier).collect();
        let passed = cases.iter().filter(|r| r.failure.is_none()).count();
        out.push_str(&format!(
            "{:<28} {passed:>7} {:>7} {:>7.1}%\n",
            format!("tier {tier}"),
            cases.len(),
            rate(passed, cases.len())
        ));
    }
    out
}

/// `passed / total` in percent.
pub fn rate(passed: usize, total: usize) -> f64 {
    if total == 0 {
        return 100.0;
    }
    passed as f64 * 100.0 / total as f64
}
