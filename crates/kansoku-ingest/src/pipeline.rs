//! The per-format loops that drive a [`Preparer`] over a request body.

use std::borrow::Cow;
use std::collections::HashMap;

use kansoku_core::StreamName;

use crate::decode::bulk::{self, ActionKind};
use crate::decode::flatten::parse_record;
use crate::decode::{json, ndjson};
use crate::error::{DiscardReason, Error, RecordError, Result};
use crate::prepare::{Accepted, Late, Position, Prepared, Preparer};
use crate::record::Scalar;
use crate::report::BulkItem;

/// Body formats of the OpenObserve ingest routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFormat {
    /// `_json`: an array of records or one record.
    Array,
    /// `_multi`: one record per line.
    Lines,
}

/// Prepares a `_json` or `_multi` body for one stream.
pub fn prepare_json<'b>(
    preparer: &mut Preparer<'b, '_>,
    stream: StreamName,
    format: JsonFormat,
    body: &'b [u8],
) -> Result<()> {
    let slot = preparer.slot(stream)?;
    let options = preparer.flatten_options(slot);
    match format {
        JsonFormat::Array => {
            let mut failure = None;
            json::for_each_record(body, options, |index, parsed| {
                if failure.is_some() {
                    return;
                }
                let position = Position::Record(index);
                let outcome = match parsed {
                    Ok(record) => preparer.accept(slot, position, record, 0).map(|_| ()),
                    Err(not_object) => {
                        let error = RecordError::new(
                            DiscardReason::NotAnObject,
                            format!("{position}: {not_object}"),
                        );
                        preparer.reject(Some(slot), error);
                        Ok(())
                    }
                };
                if let Err(error) = outcome {
                    failure = Some(error);
                }
            })
            .map_err(Error::InvalidBody)?;
            if let Some(error) = failure {
                return Err(error);
            }
        }
        JsonFormat::Lines => {
            for (line, text) in ndjson::lines(body) {
                let position = Position::Line(line);
                match parse_record(text, options) {
                    Ok(Ok(record)) => {
                        // A refusal is counted in the stream's report by the preparer.
                        let _refusal = preparer.accept(slot, position, record, text.len())?;
                    }
                    Ok(Err(not_object)) => preparer.reject(
                        Some(slot),
                        RecordError::new(
                            DiscardReason::NotAnObject,
                            format!("{position}: {not_object}"),
                        ),
                    ),
                    Err(json_error) => preparer.reject(
                        Some(slot),
                        RecordError::new(
                            DiscardReason::InvalidJson,
                            format!("{position}: invalid JSON: {json_error}"),
                        ),
                    ),
                }
            }
        }
    }
    Ok(())
}

/// Items of an OTLP or Loki request refused before they reached a stream (no valid stream name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unrouted {
    /// How many.
    pub count: u64,
    /// The first reason.
    pub first_error: Option<String>,
}

/// Prepares decoded items (OTLP, Loki), each for its own stream; a refused item is counted under
/// `reason`.
pub fn prepare_items(
    preparer: &mut Preparer<'static, '_>,
    items: Vec<crate::decode::DecodedItem>,
    reason: DiscardReason,
) -> Result<Unrouted> {
    let mut unrouted = Unrouted::default();
    for (index, item) in items.into_iter().enumerate() {
        let position = Position::Item(index + 1);
        let stream = match StreamName::normalise(&item.stream) {
            Ok(stream) => stream,
            Err(error) => {
                let message = match item.record {
                    Err(refusal) => format!("{position}: {refusal}"),
                    Ok(_) => format!("{position}: {error}"),
                };
                preparer.reject(None, RecordError::new(reason, message.clone()));
                unrouted.count += 1;
                unrouted.first_error.get_or_insert(message);
                continue;
            }
        };
        let slot = preparer.slot(stream)?;
        match item.record {
            Ok(record) => {
                // A refusal is counted in the stream's report by the preparer.
                let _refusal = preparer.accept(slot, position, record, 0)?;
            }
            Err(refusal) => preparer.reject(
                Some(slot),
                RecordError::new(reason, format!("{position}: {refusal}")),
            ),
        }
    }
    Ok(unrouted)
}

/// Options of the bulk route.
#[derive(Debug, Clone, Copy)]
pub struct BulkOptions {
    /// Map `name-YYYY.MM.DD` to the stream `name`.
    pub strip_date_suffix: bool,
}

/// Prepares an Elasticsearch bulk body; returns one item per action.
pub fn prepare_bulk<'b>(
    preparer: &mut Preparer<'b, '_>,
    body: &'b [u8],
    options: BulkOptions,
    default_index: Option<&str>,
) -> Result<Vec<BulkItem>> {
    let actions = bulk::parse(body);
    let document_lines: Vec<Option<usize>> = actions
        .iter()
        .map(|action| action.document.as_ref().map(|(line, _)| *line))
        .collect();
    let mut items = Vec::with_capacity(actions.len());
    for action in actions {
        let index_name = action
            .index
            .clone()
            .or_else(|| default_index.map(str::to_string));
        let mut item = BulkItem {
            action: match &action.kind {
                ActionKind::Store(name) => (*name).to_string(),
                ActionKind::Refused { action, .. } => action.clone(),
            },
            index: index_name.clone().unwrap_or_default(),
            id: action.id.clone(),
            error: None,
            dropped: false,
        };
        let target = match resolve_stream(index_name.as_deref(), action.line, options) {
            Ok((stream, original)) => Ok((preparer.slot(stream)?, original)),
            Err(error) => Err(error),
        };
        if let ActionKind::Refused { reason, .. } = &action.kind {
            let slot = target.as_ref().ok().map(|(slot, _)| *slot);
            let error = RecordError::new(DiscardReason::UnsupportedAction, reason.clone());
            items.push(refuse(preparer, slot, item, error));
            continue;
        }
        let (slot, original_index) = match target {
            Ok(target) => target,
            Err(error) => {
                items.push(refuse(preparer, None, item, error));
                continue;
            }
        };
        let Some((doc_line, doc)) = action.document else {
            let error = RecordError::new(
                DiscardReason::UnsupportedAction,
                format!("line {}: missing document line", action.line),
            );
            items.push(refuse(preparer, Some(slot), item, error));
            continue;
        };
        let position = Position::Line(doc_line);
        let record = match parse_record(doc, preparer.flatten_options(slot)) {
            Ok(Ok(record)) => record,
            Ok(Err(not_object)) => {
                let error = RecordError::new(
                    DiscardReason::NotAnObject,
                    format!("{position}: {not_object}"),
                );
                items.push(refuse(preparer, Some(slot), item, error));
                continue;
            }
            Err(json_error) => {
                let error = RecordError::new(
                    DiscardReason::InvalidJson,
                    format!("{position}: invalid JSON: {json_error}"),
                );
                items.push(refuse(preparer, Some(slot), item, error));
                continue;
            }
        };
        let mut record = record;
        if let Some(id) = &action.id {
            record.fields.push((
                Cow::Borrowed(kansoku_core::schema::ID_COLUMN),
                Scalar::Str(Cow::Owned(id.clone())),
            ));
        }
        if let Some(original) = original_index {
            record.fields.push((
                Cow::Borrowed(kansoku_core::schema::INDEX_COLUMN),
                Scalar::Str(Cow::Owned(original)),
            ));
        }
        match preparer.accept(slot, position, record, doc.len())? {
            // A copy of a document stored before is answered like a dropped one: "noop",
            // 200 — never Elasticsearch's 409, which makes Fluent Bit retry forever.
            Ok(accepted) => {
                item.dropped = matches!(accepted, Accepted::Dropped | Accepted::Duplicate)
            }
            Err(error) => item.error = Some(error),
        }
        items.push(item);
    }
    // Documents a pipeline held (partial CRI lines) are stored now; a refusal or a drop of
    // one reaches its item.
    preparer.finish_pipelines()?;
    let late = preparer.take_late_outcomes();
    if !late.is_empty() {
        let item_of_line: HashMap<usize, usize> = document_lines
            .iter()
            .enumerate()
            .filter_map(|(index, line)| line.map(|line| (line, index)))
            .collect();
        for (position, outcome) in late {
            let Position::Line(line) = position else {
                continue;
            };
            let Some(item) = item_of_line
                .get(&line)
                .and_then(|index| items.get_mut(*index))
            else {
                continue;
            };
            match outcome {
                Late::Refused(error) => item.error = Some(error),
                Late::Dropped | Late::Duplicate => item.dropped = true,
            }
        }
    }
    Ok(items)
}

/// `_index` → stream name, and the original index when a date suffix was stripped.
fn resolve_stream(
    index: Option<&str>,
    line: usize,
    options: BulkOptions,
) -> std::result::Result<(StreamName, Option<String>), RecordError> {
    let Some(index) = index else {
        return Err(RecordError::new(
            DiscardReason::InvalidIndex,
            format!("line {line}: the action has no _index"),
        ));
    };
    bulk::validate_index_name(index)
        .map_err(|e| RecordError::new(DiscardReason::InvalidIndex, format!("line {line}: {e}")))?;
    let (stream, original) = match bulk::strip_date_suffix(index) {
        Some(prefix) if options.strip_date_suffix => (prefix, Some(index.to_string())),
        _ => (index, None),
    };
    let name = StreamName::normalise(stream)
        .map_err(|e| RecordError::new(DiscardReason::InvalidIndex, format!("line {line}: {e}")))?;
    Ok((name, original))
}

fn refuse(
    preparer: &mut Preparer<'_, '_>,
    slot: Option<usize>,
    mut item: BulkItem,
    error: RecordError,
) -> BulkItem {
    preparer.reject(slot, error.clone());
    item.error = Some(error);
    item
}

/// Runs `prepare` over a fresh preparer and returns what it prepared.
pub fn run<'b, T>(
    mut preparer: Preparer<'b, '_>,
    prepare: impl FnOnce(&mut Preparer<'b, '_>) -> Result<T>,
) -> Result<(T, Prepared)> {
    let value = prepare(&mut preparer)?;
    Ok((value, preparer.finish()?))
}
