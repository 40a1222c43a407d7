//! What an ingest request did, per stream and (for bulk) per item.

use crate::error::RecordError;

/// How many error messages a stream report keeps verbatim.
pub const MAX_REPORTED_ERRORS: usize = 3;

/// The outcome for one stream of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// The stream's (normalised) name.
    pub stream: String,
    /// Records stored.
    pub successful: u64,
    /// Records refused.
    pub failed: u64,
    /// Records the stream's pipeline dropped (neither stored nor refused).
    pub dropped: u64,
    /// Copies of records stored before (same `_id` within the stream's window): not stored
    /// again, not refused.
    pub duplicates: u64,
    /// The first few refusal messages.
    pub errors: Vec<String>,
}

impl StreamReport {
    /// Counts a refusal.
    pub fn record_failure(&mut self, error: &RecordError) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error.message.clone());
        }
    }

    /// One message summarising the refusals, if any.
    pub fn error_summary(&self) -> Option<String> {
        if self.errors.is_empty() {
            return None;
        }
        let listed = self.errors.len() as u64;
        let mut summary = self.errors.join("; ");
        if self.failed > listed {
            summary.push_str(&format!("; and {} more", self.failed - listed));
        }
        Some(summary)
    }
}

/// The outcome of a `_json` / `_multi` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Per stream, in order of first appearance.
    pub streams: Vec<StreamReport>,
}

impl IngestReport {
    /// Records stored in all streams.
    pub fn successful(&self) -> u64 {
        self.streams.iter().map(|s| s.successful).sum()
    }

    /// Copies of records stored before, in all streams (not stored again, not refused).
    pub fn duplicates(&self) -> u64 {
        self.streams.iter().map(|s| s.duplicates).sum()
    }

    /// Records refused in all streams.
    pub fn failed(&self) -> u64 {
        self.streams.iter().map(|s| s.failed).sum()
    }
}

/// The outcome of one bulk item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItem {
    /// The action (`index`, `create`, …).
    pub action: String,
    /// The `_index` as sent.
    pub index: String,
    /// The `_id` as sent.
    pub id: Option<String>,
    /// Why it was refused, if it was.
    pub error: Option<RecordError>,
    /// Whether its stream's pipeline dropped it (not stored, not refused).
    pub dropped: bool,
}

/// The outcome of a bulk request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// One entry per action, in request order.
    pub items: Vec<BulkItem>,
    /// Per stream totals.
    pub streams: Vec<StreamReport>,
}
