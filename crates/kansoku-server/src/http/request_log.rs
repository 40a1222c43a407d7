//! The request log: every request at DEBUG, failed ones (5xx) at WARN — but at most one WARN
//! line per status per [`WARN_INTERVAL`], so an overload answered with thousands of 503s writes
//! a handful of lines, each saying how many similar failures it stands for. Every failure is
//! counted on `/metrics` (`kansoku_http_failed_responses_total{status}`), logged or not, and so is
//! every administrative change the audit log could not record
//! (`kansoku_audit_write_failures_total`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::app::App;

/// At most one WARN line per failing status in this interval.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// The label of the failure counter: `status`, e.g. `503`.
type StatusLabel = Vec<(String, String)>;

/// Failure counts and the WARN-line budget.
#[derive(Debug, Default)]
pub struct RequestLog {
    failed: Family<StatusLabel, Counter>,
    audit_failures: Counter,
    /// Per status: when a line was last written, and failures not written since.
    last_warned: Mutex<HashMap<u16, (Instant, u64)>>,
}

/// What to do with one failed response.
#[derive(Debug, PartialEq, Eq)]
pub enum Warn {
    /// Write a line; `suppressed` similar failures were not written since the last one.
    Write {
        /// Failures of this status not logged since the previous line.
        suppressed: u64,
    },
    /// Count it only.
    Suppress,
}

impl RequestLog {
    /// Registers the failure counter.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kansoku_http_failed_responses",
            "HTTP responses with a 5xx status, by status (logged or not)",
            self.failed.clone(),
        );
        registry.register(
            "kansoku_audit_write_failures",
            "Administrative changes that succeeded but could not be recorded in the audit log",
            self.audit_failures.clone(),
        );
    }

    /// Counts an administrative change the audit log could not record.
    pub fn audit_failed(&self) {
        self.audit_failures.inc();
    }

    /// Counts a failed response with `status` at `now` and says whether to log it.
    pub fn failed(&self, status: u16, now: Instant) -> Warn {
        self.failed
            .get_or_create(&vec![("status".to_string(), status.to_string())])
            .inc();
        let Ok(mut last_warned) = self.last_warned.lock() else {
            return Warn::Write { suppressed: 0 };
        };
        match last_warned.get_mut(&status) {
            Some((at, suppressed)) if now.duration_since(*at) < WARN_INTERVAL => {
                *suppressed += 1;
                Warn::Suppress
            }
            Some((at, suppressed)) => {
                let written = Warn::Write {
                    suppressed: *suppressed,
                };
                *at = now;
                *suppressed = 0;
                written
            }
            None => {
                last_warned.insert(status, (now, 0));
                Warn::Write { suppressed: 0 }
            }
        }
    }
}

/// The middleware.
pub async fn log_request(State(app): State<App>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    if status < 500 {
        tracing::debug!(%method, %path, status, elapsed_ms, "request");
        return response;
    }
    match app.request_log.failed(status, Instant::now()) {
        Warn::Write { suppressed: 0 } => {
            tracing::warn!(%method, %path, status, elapsed_ms, "request failed");
        }
        Warn::Write { suppressed } => {
            tracing::warn!(%method, %path, status, elapsed_ms, suppressed, "request failed (and {suppressed} more with this status since the last such line)");
        }
        Warn::Suppress => {
            tracing::debug!(%method, %path, status, elapsed_ms, "request failed");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_status_and_interval_counting_what_it_stands_for() {
        let log = RequestLog::default();
        let start = Instant::now();
        assert_eq!(log.failed(503, start), Warn::Write { suppressed: 0 });
        for _ in 0..1000 {
            assert_eq!(
                log.failed(503, start + Duration::from_secs(1)),
                Warn::Suppress
            );
        }
        // Another status has its own budget.
        assert_eq!(
            log.failed(500, start + Duration::from_secs(2)),
            Warn::Write { suppressed: 0 }
        );
        assert_eq!(
            log.failed(503, start + WARN_INTERVAL),
            Warn::Write { suppressed: 1000 }
        );
        assert_eq!(
            log.failed(503, start + WARN_INTERVAL + Duration::from_secs(1)),
            Warn::Suppress
        );
        let mut registry = Registry::default();
        log.register(&mut registry);
        let mut text = String::new();
        let encoded = prometheus_client::encoding::text::encode(&mut text, &registry);
        assert!(encoded.is_ok());
        assert!(
            text.contains("kansoku_http_failed_responses_total{status=\"503\"} 1003"),
            "{text}"
        );
    }
}
