//! The CPU-bound half of a request, run on a blocking thread: checking limits, extracting event
//! times, building Arrow batches in chunks and encoding their WAL payloads.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};

use crate::catalog::{Catalog, StreamEntry};
use crate::columns::ColumnSet;
use crate::config::IngestConfig;
use crate::decode::flatten::FlattenOptions;
use crate::error::{DiscardReason, Error, RecordError, Result};
use crate::memtable::MemBatch;
use crate::record::FlatRecord;
use crate::report::StreamReport;
use crate::timestamp::{self, TimeRules};
use crate::walrec;

/// Rows per batch.
const CHUNK_ROWS: usize = 8 * 1024;
/// Ingested bytes per batch.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Where a record sat in the request, for messages.
#[derive(Debug, Clone, Copy)]
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
}

struct StreamWork<'b> {
    entry: Arc<StreamEntry>,
    columns: ColumnSet<'b>,
    new_columns: usize,
    report: StreamReport,
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
}

impl<'b, 'c> Preparer<'b, 'c> {
    /// A preparer for records of `org` / `stream_type`. Must run on a blocking thread of
    /// `runtime` (it waits on the catalog for streams it has not seen).
    pub fn new(
        config: &'c IngestConfig,
        catalog: &'c Catalog,
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
        }
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

    /// Checks and adds one record; on refusal the error is counted and returned.
    pub fn accept(
        &mut self,
        slot: usize,
        position: Position,
        record: FlatRecord<'b>,
        raw_len: usize,
    ) -> Result<std::result::Result<(), RecordError>> {
        match self.check(slot, position, record, raw_len) {
            Ok((record, timestamp, size)) => {
                let work = &mut self.streams[slot];
                work.columns.push(record, timestamp, size);
                work.report.successful += 1;
                let full =
                    work.columns.rows() >= CHUNK_ROWS || work.columns.raw_bytes() >= CHUNK_BYTES;
                if full {
                    self.seal(slot)?;
                }
                Ok(Ok(()))
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
        for slot in 0..self.streams.len() {
            self.seal(slot)?;
        }
        self.prepared.streams = self.streams.into_iter().map(|w| w.report).collect();
        Ok(self.prepared)
    }
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
