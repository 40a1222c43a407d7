//! Process-level metrics computed at scrape time (memory in use, uptime).

use std::fmt::Write;
use std::time::Instant;

/// Resident set size in bytes, from `/proc/self/statm` (0 where unavailable).
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The process metrics in OpenMetrics text.
pub fn process_metrics(started_at: Instant) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP kansoku_process_resident_memory_bytes Resident memory of the process."
    );
    let _ = writeln!(text, "# TYPE kansoku_process_resident_memory_bytes gauge");
    let _ = writeln!(
        text,
        "kansoku_process_resident_memory_bytes {}",
        resident_bytes()
    );
    let _ = writeln!(
        text,
        "# HELP kansoku_process_uptime_seconds Seconds since the process started."
    );
    let _ = writeln!(text, "# TYPE kansoku_process_uptime_seconds gauge");
    let _ = writeln!(
        text,
        "kansoku_process_uptime_seconds {}",
        started_at.elapsed().as_secs()
    );
    text
}
