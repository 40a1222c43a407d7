//! Realistic records from the seed data set: fresh timestamps, perturbed ids, pods and numbers.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::random::Rng;

/// What was generated.
pub struct Data {
    /// NDJSON as agents send it (Fluent Bit's dotted keys, `@timestamp` text).
    pub raw_path: PathBuf,
    /// The same records with kansoku's column names and `_timestamp` µs, for the baselines.
    pub normalised_path: PathBuf,
    /// Number of records.
    pub records: u64,
    /// Bytes of raw NDJSON.
    pub raw_bytes: u64,
    /// Distinct pods.
    pub pods: usize,
    /// Smallest and largest `_timestamp`.
    pub min_ts: i64,
    /// See `min_ts`.
    pub max_ts: i64,
    /// A token that occurs in exactly one record's `log`.
    pub needle: String,
}

const PODS_PER_TEMPLATE: u64 = 8;
const SPREAD_MICROS: i64 = 2 * 3600 * 1_000_000;

/// Writes records until `target_bytes` of raw NDJSON exist.
pub fn generate(dataset: &Path, dir: &Path, target_bytes: u64) -> anyhow::Result<Data> {
    let templates: Vec<Map<String, Value>> = serde_json::from_slice(&std::fs::read(dataset)?)?;
    anyhow::ensure!(!templates.is_empty(), "empty data set");
    let raw_path = dir.join("data.ndjson");
    let normalised_path = dir.join("normalised.ndjson");
    let mut raw = BufWriter::new(std::fs::File::create(&raw_path)?);
    let mut normalised = BufWriter::new(std::fs::File::create(&normalised_path)?);
    let mut rng = Rng(0x6b61_6e73_6f6b_7500);
    let estimated_records = target_bytes / 2100 + 1;
    let now = now_micros();
    let start = now - SPREAD_MICROS - 60_000_000;
    let step = (SPREAD_MICROS / estimated_records as i64).max(1);
    let needle = format!("needle-{}", rng.hex(12));
    let mut pods = std::collections::HashSet::new();
    let (mut records, mut raw_bytes) = (0u64, 0u64);
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    while raw_bytes < target_bytes {
        let template = &templates[(records as usize) % templates.len()];
        let timestamp = start + records as i64 * step + rng.below(step as u64) as i64;
        let mut record = perturb(template, &mut rng);
        if records == estimated_records / 2
            && let Some(Value::String(log)) = record.get_mut("log")
        {
            log.push_str(&format!(" {needle}"));
        }
        if let Some(Value::String(pod)) = record.get("kubernetes.pod_name") {
            pods.insert(pod.clone());
        }
        record.insert("@timestamp".to_string(), Value::String(rfc3339(timestamp)));
        let line = serde_json::to_string(&record)?;
        raw.write_all(line.as_bytes())?;
        raw.write_all(b"\n")?;
        raw_bytes += line.len() as u64 + 1;
        let mut flat = Map::new();
        flat.insert("_timestamp".to_string(), Value::from(timestamp));
        for (key, value) in record {
            if key == "@timestamp" || value.is_null() {
                continue;
            }
            flat.insert(kansoku_core::names::normalise_field_name(&key), value);
        }
        serde_json::to_writer(&mut normalised, &flat)?;
        normalised.write_all(b"\n")?;
        records += 1;
        min_ts = min_ts.min(timestamp);
        max_ts = max_ts.max(timestamp);
    }
    raw.flush()?;
    normalised.flush()?;
    Ok(Data {
        raw_path,
        normalised_path,
        records,
        raw_bytes,
        pods: pods.len(),
        min_ts,
        max_ts,
        needle,
    })
}

fn perturb(template: &Map<String, Value>, rng: &mut Rng) -> Map<String, Value> {
    let mut record = template.clone();
    let replica = rng.below(PODS_PER_TEMPLATE);
    for (key, value) in record.iter_mut() {
        match (key.as_str(), value) {
            ("kubernetes.docker_id", Value::String(text)) => *text = rng.hex(64),
            ("kubernetes.pod_id", Value::String(text)) => {
                let hex = rng.hex(32);
                *text = format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                );
            }
            ("kubernetes.pod_name", Value::String(text)) => text.push_str(&format!("-r{replica}")),
            ("took", value) if value.is_number() => {
                let took = value.as_f64().unwrap_or(1.0) * (0.5 + rng.below(1000) as f64 / 1000.0);
                *value = Value::from((took * 1000.0).round() / 1000.0);
            }
            _ => {}
        }
    }
    if !record.get("level").is_some_and(Value::is_string) {
        let derived = record.get("log").and_then(Value::as_str).and_then(level_of);
        if let Some(level) = derived {
            record.insert("level".to_string(), Value::String(level.to_string()));
        }
    }
    record
}

/// The level in `level=warn` or nginx's `[warn]`.
fn level_of(log: &str) -> Option<&'static str> {
    for level in ["error", "warn", "info", "debug"] {
        if log.contains(&format!("level={level}")) || log.contains(&format!("[{level}]")) {
            return Some(level);
        }
    }
    None
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
