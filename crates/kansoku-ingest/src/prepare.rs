//! The CPU-bound half of a request, run on a blocking thread: checking limits, extracting event
//! times, building Arrow batches in chunks and encoding their WAL payloads.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use kansoku_core::schema::ID_COLUMN;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};

use crate::catalog::{Catalog, StreamEntry};
use crate::columns::ColumnSet;
use crate::config::IngestConfig;
use crate::decode::flatten::FlattenOptions;
use crate::dedup::{DedupIndex, Reservation, StreamIds, Verdict, ids};
use crate::error::{DiscardReason, Error, RecordError, Result};
use crate::memtable::MemBatch;
use crate::record::{FlatRecord, Scalar};
use crate::report::StreamReport;
use crate::timestamp::{self, TimeRules};
use crate::transform::{Decision, Outcome, Runner};
use crate::walrec;

/// Rows per batch.
const CHUNK_ROWS: usize = 8 * 1024;
/// Ingested bytes per batch.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Where a record sat in the request, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The n-th element of a JSON array (1-based).
    Record(usize),
    /// A line of an NDJSON or bulk body (1-based).
    Line(usize),
    /// The n-th item (log record, span, point row) of an OTLP request (1-based).
    Item(usize),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Record(n) => write!(f, "record {n}"),
            Position::Line(n) => write!(f, "line {n}"),
            Position::Item(n) => write!(f, "item {n}"),
        }
    }
}

/// A batch ready to be written to the WAL and the memtable.
pub struct PreparedBatch {
    /// The stream.
    pub key: StreamKey,
    /// The batch for the memtable.
    pub mem: MemBatch,
    /// Its WAL payload.
    pub wal_payload: Vec<u8>,
    /// Rows.
    pub rows: u64,
    /// Values converted to wider types.
    pub coercions: u64,
}

/// Everything prepared for one request.
#[derive(Default)]
pub struct Prepared {
    /// The batches.
    pub batches: Vec<PreparedBatch>,
    /// Per-stream outcome (successful counts become true once committed).
    pub streams: Vec<StreamReport>,
    /// Refused records per reason.
    pub discarded: HashMap<DiscardReason, u64>,
    /// Fields repeated within a record.
    pub duplicate_fields: u64,
    /// What pipelines did to records.
    pub pipeline: PipelineCounts,
    /// The ids of the records to store, reserved until the commit (`crate::dedup`).
    pub reservation: Option<Reservation>,
    /// Records not stored because their id was stored before, per stream.
    pub duplicates: Vec<(StreamKey, u64)>,
}

/// Records pipelines did not simply keep.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PipelineCounts {
    /// Dropped by a `drop_record` step.
    pub dropped: u64,
    /// Sent to another stream by a `route` step.
    pub routed: u64,
    /// Stored unprocessed because the pipeline failed (its error in [`PIPELINE_ERROR_COLUMN`]).
    pub failed: u64,
}

/// What became of an accepted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored (in its stream or the one a pipeline routed it to).
    Stored,
    /// Dropped by its stream's pipeline: neither stored nor refused.
    Dropped,
    /// A copy of a record stored before (same `_id` within the stream's window): not stored
    /// again, answered as stored.
    Duplicate,
    /// Held by its stream's pipeline (a partial CRI line) until the line that ends it, or the
    /// end of the request; a later refusal is a late refusal.
    Held,
}

/// The fate of a held record, learnt after it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Late {
    /// Refused with the line it was joined to.
    Refused(RecordError),
    /// Dropped with the line it was joined to.
    Dropped,
    /// A copy of a record stored before.
    Duplicate,
}

/// What became of a record that passed its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Added to its stream's batch.
    New,
    /// Its id was stored before: not added.
    Duplicate,
}

impl Stored {
    fn accepted(self) -> Accepted {
        match self {
            Stored::New => Accepted::Stored,
            Stored::Duplicate => Accepted::Duplicate,
        }
    }
}

/// The column that says why a record was stored without its stream's pipeline.
pub const PIPELINE_ERROR_COLUMN: &str = "_pipeline_error";

struct StreamWork<'b> {
    entry: Arc<StreamEntry>,
    columns: ColumnSet<'b>,
    new_columns: usize,
    report: StreamReport,
    runner: Option<Runner<'b>>,
    /// The stream's remembered ids, once a record with an id reached it.
    ids: Option<Arc<Mutex<StreamIds>>>,
}

/// Prepares the records of one request.
pub struct Preparer<'b, 'c> {
    config: &'c IngestConfig,
    catalog: &'c Catalog,
    runtime: tokio::runtime::Handle,
    org: OrgId,
    stream_type: StreamType,
    now_micros: i64,
    streams: Vec<StreamWork<'b>>,
    slots: HashMap<StreamName, usize>,
    prepared: Prepared,
    late: Vec<(Position, Late)>,
    dedup: &'c Arc<DedupIndex>,
    reservation: Reservation,
    derive_ids: bool,
    scratch: Vec<u8>,
}

impl<'b, 'c> Preparer<'b, 'c> {
    /// A preparer for records of `org` / `stream_type`. Must run on a blocking thread of
    /// `runtime` (it waits on the catalog for streams it has not seen).
    pub fn new(
        config: &'c IngestConfig,
        catalog: &'c Catalog,
        dedup: &'c Arc<DedupIndex>,
        runtime: tokio::runtime::Handle,
        org: OrgId,
        stream_type: StreamType,
        now_micros: i64,
    ) -> Preparer<'b, 'c> {
        Preparer {
            config,
            catalog,
            runtime,
            org,
            stream_type,
            now_micros,
            streams: Vec::new(),
            slots: HashMap::new(),
            prepared: Prepared::default(),
            late: Vec::new(),
            reservation: dedup.reservation(),
            dedup,
            derive_ids: false,
            scratch: Vec::new(),
        }
    }

    /// Gives records without an `_id` one from their content (Loki, forward and OTLP entries,
    /// whose re-sent copies are identical), or OTLP's `log.record.uid`, in streams that
    /// deduplicate.
    pub fn derive_ids(&mut self) {
        self.derive_ids = true;
    }

    /// The slot of stream `name`, loading (or creating) the stream on first use.
    pub fn slot(&mut self, name: StreamName) -> Result<usize> {
        if let Some(slot) = self.slots.get(&name) {
            return Ok(*slot);
        }
        let key = StreamKey::new(self.org.clone(), self.stream_type, name.clone());
        let entry = self.runtime.block_on(self.catalog.entry(&key))?;
        let slot = self.streams.len();
        self.streams.push(StreamWork {
            report: StreamReport {
                stream: name.to_string(),
                ..StreamReport::default()
            },
            entry,
            columns: ColumnSet::default(),
            new_columns: 0,
            runner: None,
            ids: None,
        });
        self.slots.insert(name, slot);
        Ok(slot)
    }

    /// How records of the slot's stream are flattened.
    pub fn flatten_options(&self, slot: usize) -> FlattenOptions {
        FlattenOptions {
            max_depth: self.streams[slot].entry.flatten_level,
        }
    }

    /// Counts a record refused before it could be accepted.
    pub fn reject(&mut self, slot: Option<usize>, error: RecordError) {
        *self.prepared.discarded.entry(error.reason).or_default() += 1;
        if let Some(slot) = slot {
            self.streams[slot].report.record_failure(&error);
        }
    }

    /// Runs the stream's pipeline on one record, then checks and adds what it keeps (or routes).
    /// A refusal of this record is counted and returned; a refusal of records held before it
    /// (the parts of a joined line) is kept for [`Preparer::take_late_outcomes`].
    pub fn accept(
        &mut self,
        slot: usize,
        position: Position,
        mut record: FlatRecord<'b>,
        raw_len: usize,
    ) -> Result<std::result::Result<Accepted, RecordError>> {
        self.assign_id(slot, &mut record);
        let compiled = match &self.streams[slot].entry.pipeline {
            None => {
                return Ok(self
                    .store(slot, position, record, raw_len)?
                    .map(Stored::accepted));
            }
            Some(pipeline) => pipeline.compiled.clone(),
        };
        let pipeline = match compiled {
            Ok(pipeline) => pipeline,
            Err(error) => {
                self.prepared.pipeline.failed += 1;
                record.set(PIPELINE_ERROR_COLUMN, Scalar::Str(Cow::Owned(error)));
                return Ok(self
                    .store(slot, position, record, raw_len)?
                    .map(Stored::accepted));
            }
        };
        let options = self.flatten_options(slot);
        let max_text_bytes = self.config.max_record_bytes;
        let runner = self.streams[slot]
            .runner
            .get_or_insert_with(|| Runner::new(pipeline, options, max_text_bytes));
        let mut outcomes = Vec::new();
        runner.push(record, position, &mut outcomes);
        self.apply(slot, outcomes, Some((position, raw_len)))
    }

    /// Finishes every stream's pipeline: partial lines still held are stored alone. Called by
    /// [`Preparer::finish`]; callers that report per record call it first, then
    /// [`Preparer::take_late_outcomes`].
    pub fn finish_pipelines(&mut self) -> Result<()> {
        for slot in 0..self.streams.len() {
            let Some(runner) = self.streams[slot].runner.as_mut() else {
                continue;
            };
            if !runner.has_pending() {
                continue;
            }
            let mut outcomes = Vec::new();
            runner.finish(&mut outcomes);
            // Every outcome here is a late one (kept for take_late_outcomes).
            let _no_current_record = self.apply(slot, outcomes, None)?;
        }
        Ok(())
    }

    /// What became of records that had been held (and answered accepted) when they were
    /// pushed, where it was not that they were stored.
    pub fn take_late_outcomes(&mut self) -> Vec<(Position, Late)> {
        std::mem::take(&mut self.late)
    }

    /// Stores what a pipeline decided; returns what became of the record at `current` (held
    /// when no outcome names it).
    fn apply(
        &mut self,
        slot: usize,
        outcomes: Vec<Outcome<'b>>,
        current: Option<(Position, usize)>,
    ) -> Result<std::result::Result<Accepted, RecordError>> {
        let mut fate = Ok(Accepted::Held);
        for outcome in outcomes {
            let names_current = current.is_some_and(|(position, _)| {
                position == outcome.position || outcome.joined.contains(&position)
            });
            if names_current {
                fate = Ok(match outcome.decision {
                    Decision::Drop => Accepted::Dropped,
                    _ => Accepted::Stored,
                });
            }
            let raw_len = match current {
                Some((position, raw_len)) if position == outcome.position => raw_len,
                _ => 0,
            };
            let stored = match outcome.decision {
                Decision::Keep(record) => self.store(slot, outcome.position, record, raw_len)?,
                Decision::Route(stream, record) => {
                    let target = self.slot(stream)?;
                    if target != slot {
                        self.prepared.pipeline.routed += 1;
                    }
                    self.store(target, outcome.position, record, raw_len)?
                }
                Decision::Drop => {
                    self.prepared.pipeline.dropped += 1;
                    self.streams[slot].report.dropped += 1;
                    // The parts of a dropped joined line were answered "accepted" when held.
                    for position in std::iter::once(outcome.position).chain(outcome.joined) {
                        if !current.is_some_and(|(current, _)| current == position) {
                            self.late.push((position, Late::Dropped));
                        }
                    }
                    continue;
                }
                Decision::Failed(mut record, error) => {
                    self.prepared.pipeline.failed += 1;
                    record.set(PIPELINE_ERROR_COLUMN, Scalar::Str(Cow::Owned(error)));
                    self.store(slot, outcome.position, record, raw_len)?
                }
            };
            let error = match stored {
                Ok(Stored::New) => continue,
                Ok(Stored::Duplicate) => {
                    for position in std::iter::once(outcome.position).chain(outcome.joined) {
                        if current.is_some_and(|(current, _)| current == position) {
                            fate = Ok(Accepted::Duplicate);
                        } else {
                            self.late.push((position, Late::Duplicate));
                        }
                    }
                    continue;
                }
                Err(error) => error,
            };
            for position in std::iter::once(outcome.position).chain(outcome.joined) {
                if current.is_some_and(|(current, _)| current == position) {
                    fate = Err(error.clone());
                } else {
                    self.late.push((position, Late::Refused(error.clone())));
                }
            }
        }
        Ok(fate)
    }

    /// Checks and adds one record unless its id was stored before; on refusal the error is
    /// counted and returned.
    fn store(
        &mut self,
        slot: usize,
        position: Position,
        record: FlatRecord<'b>,
        raw_len: usize,
    ) -> Result<std::result::Result<Stored, RecordError>> {
        match self.check(slot, position, record, raw_len) {
            Ok((record, timestamp, size)) => {
                if self.dedup_verdict(slot, &record) == Verdict::Duplicate {
                    self.streams[slot].report.duplicates += 1;
                    return Ok(Ok(Stored::Duplicate));
                }
                let work = &mut self.streams[slot];
                work.columns.push(record, timestamp, size);
                work.report.successful += 1;
                let full =
                    work.columns.rows() >= CHUNK_ROWS || work.columns.raw_bytes() >= CHUNK_BYTES;
                if full {
                    self.seal(slot)?;
                }
                Ok(Ok(Stored::New))
            }
            Err(error) => {
                self.reject(Some(slot), error.clone());
                Ok(Err(error))
            }
        }
    }

    fn check(
        &mut self,
        slot: usize,
        position: Position,
        mut record: FlatRecord<'b>,
        raw_len: usize,
    ) -> std::result::Result<(FlatRecord<'b>, i64, usize), RecordError> {
        let config = self.config;
        if record.fields.len() > config.max_fields_per_record {
            return Err(RecordError::new(
                DiscardReason::TooManyFields,
                format!(
                    "{position}: {} fields exceed the limit of {} (KANSOKU_MAX_FIELDS_PER_RECORD)",
                    record.fields.len(),
                    config.max_fields_per_record
                ),
            ));
        }
        if let Some((name, _)) = record
            .fields
            .iter()
            .find(|(name, _)| name.len() > config.max_field_name_bytes)
        {
            return Err(RecordError::new(
                DiscardReason::FieldNameTooLong,
                format!(
                    "{position}: field name of {} bytes ('{}…') exceeds the limit of {} bytes",
                    name.len(),
                    name.chars().take(32).collect::<String>(),
                    config.max_field_name_bytes
                ),
            ));
        }
        let size = record.approx_bytes().max(raw_len);
        if size > config.max_record_bytes {
            return Err(RecordError::new(
                DiscardReason::RecordTooLarge,
                format!(
                    "{position}: record of {size} bytes exceeds the limit of {} bytes (KANSOKU_MAX_RECORD_BYTES)",
                    config.max_record_bytes
                ),
            ));
        }
        let work = &mut self.streams[slot];
        let entry = &work.entry;
        let rules = TimeRules {
            fields: &entry.timestamp_fields,
            fields_explicit: entry.timestamp_fields_explicit,
            zone: &entry.zone,
            now_micros: self.now_micros,
        };
        let (timestamp, _) = timestamp::extract(&mut record, &rules).map_err(|message| {
            RecordError::new(
                DiscardReason::TimestampUnparsable,
                format!("{position}: {message}"),
            )
        })?;
        check_window(timestamp, self.now_micros, config).map_err(|message| {
            RecordError::new(
                DiscardReason::TimestampOutOfWindow,
                format!("{position}: {message}"),
            )
        })?;
        let new_fields = record
            .fields
            .iter()
            .filter(|(name, _)| {
                entry.schema.field_type(name).is_none() && !work.columns.has_column(name)
            })
            .count();
        if new_fields > 0 {
            let total = entry.schema.fields.len() + work.new_columns + new_fields;
            if total > config.max_fields_per_stream {
                return Err(RecordError::new(
                    DiscardReason::StreamFieldLimit,
                    format!(
                        "{position}: stream '{}' would have {total} fields, above the limit of {} (KANSOKU_MAX_FIELDS_PER_STREAM)",
                        entry.key.name, config.max_fields_per_stream
                    ),
                ));
            }
            work.new_columns += new_fields;
        }
        Ok((record, timestamp, size))
    }

    /// Sets the record's `_id` when ids are derived (see [`Preparer::derive_ids`]) and its
    /// stream deduplicates: OTLP's `log.record.uid`, else the content hash — only for records
    /// whose event time has a fraction of a second. A time on a whole second may be a truncated
    /// one (fluent-logger's integer times, Loki clients that send seconds) or none at all (the
    /// ingest time is set later), and identical lines within one second are legitimate.
    fn assign_id(&mut self, slot: usize, record: &mut FlatRecord<'b>) {
        if !self.derive_ids || self.streams[slot].entry.dedup_window_secs == 0 {
            return;
        }
        if record.get(ID_COLUMN).is_some() {
            return;
        }
        let id = match record.get(ids::OTLP_LOG_UID_FIELD) {
            Some(Scalar::Str(uid)) if !uid.is_empty() => uid.to_string(),
            _ if !has_sub_second_time(record) => return,
            _ => ids::content_id(
                self.streams[slot].entry.key.name.as_str(),
                record,
                &mut self.scratch,
            ),
        };
        record
            .fields
            .push((Cow::Borrowed(ID_COLUMN), Scalar::Str(Cow::Owned(id))));
    }

    /// Looks the record's text `_id` up in its stream's remembered ids (when the stream
    /// deduplicates), reserving it for this request when it is new.
    fn dedup_verdict(&mut self, slot: usize, record: &FlatRecord<'b>) -> Verdict {
        let window_secs = self.streams[slot].entry.dedup_window_secs;
        if window_secs == 0 {
            return Verdict::New;
        }
        let Some(Scalar::Str(id)) = record.get(ID_COLUMN) else {
            return Verdict::New;
        };
        let key = ids::id_key(id);
        let dedup = self.dedup;
        let work = &mut self.streams[slot];
        if work.ids.is_none() {
            work.ids = Some(dedup.stream(&work.entry.key));
        }
        let Some(stream_ids) = work.ids.as_ref() else {
            return Verdict::New;
        };
        // The clock now, not the request's start: a window is never cut short by a slow request.
        let now_secs = kansoku_meta::now_micros().div_euclid(1_000_000);
        dedup.check(
            stream_ids,
            window_secs,
            key,
            &mut self.reservation,
            now_secs,
        )
    }

    /// Builds the slot's pending rows into a batch.
    fn seal(&mut self, slot: usize) -> Result<()> {
        let work = &mut self.streams[slot];
        if work.columns.rows() == 0 {
            return Ok(());
        }
        let columns = std::mem::take(&mut work.columns);
        self.prepared.duplicate_fields += columns.duplicate_fields;
        let built = columns.build(&work.entry.schema)?;
        let rows = built.batch.num_rows() as u64;
        let wal_payload = walrec::encode(&work.entry.key, built.raw_bytes as u64, &built.batch)?;
        self.prepared.batches.push(PreparedBatch {
            key: work.entry.key.clone(),
            mem: MemBatch::new(built.batch, built.raw_bytes as u64),
            wal_payload,
            rows,
            coercions: built.coercions,
        });
        Ok(())
    }

    /// Builds every pending batch and returns the result.
    pub fn finish(mut self) -> Result<Prepared> {
        self.finish_pipelines()?;
        for slot in 0..self.streams.len() {
            self.seal(slot)?;
        }
        self.prepared.duplicates = self
            .streams
            .iter()
            .filter(|work| work.report.duplicates > 0)
            .map(|work| (work.entry.key.clone(), work.report.duplicates))
            .collect();
        self.prepared.streams = self.streams.into_iter().map(|w| w.report).collect();
        if !self.reservation.is_empty() {
            self.prepared.reservation = Some(self.reservation);
        }
        Ok(self.prepared)
    }
}

/// Whether the record's event time (`_timestamp`, µs) has a fraction of a second.
fn has_sub_second_time(record: &FlatRecord<'_>) -> bool {
    matches!(
        record.get(kansoku_core::schema::TIMESTAMP_COLUMN),
        Some(Scalar::Int(micros)) if micros.rem_euclid(1_000_000) != 0
    )
}

fn check_window(
    timestamp: i64,
    now: i64,
    config: &IngestConfig,
) -> std::result::Result<(), String> {
    let max_age = i64::try_from(config.max_age.as_micros()).unwrap_or(i64::MAX);
    let max_future = i64::try_from(config.max_future.as_micros()).unwrap_or(i64::MAX);
    if timestamp < now.saturating_sub(max_age) {
        return Err(format!(
            "timestamp {} is older than the accepted window of {} (KANSOKU_INGEST_MAX_AGE)",
            describe_micros(timestamp),
            describe_duration(config.max_age)
        ));
    }
    if timestamp > now.saturating_add(max_future) {
        return Err(format!(
            "timestamp {} is more than {} in the future (KANSOKU_INGEST_MAX_FUTURE)",
            describe_micros(timestamp),
            describe_duration(config.max_future)
        ));
    }
    Ok(())
}

/// An instant in µs as RFC 3339, or the raw number when out of range.
pub fn describe_micros(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{micros} µs"))
}

fn describe_duration(duration: std::time::Duration) -> String {
    let hours = duration.as_secs() / 3600;
    if hours > 0 && duration.as_secs().is_multiple_of(3600) {
        format!("{hours}h")
    } else {
        format!("{}s", duration.as_secs())
    }
}

/// A batch built outside the JSON path (tests, future protocols) as a prepared batch.
pub fn prepare_batch(key: StreamKey, batch: RecordBatch, raw_bytes: u64) -> Result<PreparedBatch> {
    let wal_payload = walrec::encode(&key, raw_bytes, &batch)?;
    let rows = batch.num_rows() as u64;
    Ok(PreparedBatch {
        key,
        mem: MemBatch::new(batch, raw_bytes),
        wal_payload,
        rows,
        coercions: 0,
    })
}

/// Message for a stream or org whose name is invalid.
pub fn name_error(error: kansoku_core::NameError) -> Error {
    Error::InvalidName(error)
}
