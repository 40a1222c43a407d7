//! remote_write 1.0 (`prometheus.WriteRequest`) decoded without copying: every label name and
//! value is a `&str` into the decompressed body. Decoding the same message with prost allocated
//! two strings per label of every series, a sixth of the server's CPU under remote_write load.
//!
//! Field numbers are prometheus/prompb's (`remote.proto`, `types.proto`), the same as the prost
//! messages in [`super::remote_write::v1`], which stay the reference: a property test checks
//! that both decoders agree on valid and on mutated bodies.

use std::borrow::Cow;

use kansoku_meta::MetricMetadata;

use super::protowire::{Reader, WireError, check_skipped_message};
use crate::samples::{ExemplarWrite, SeriesWrite};

/// A decoded `WriteRequest`.
#[derive(Debug, Default)]
pub struct Decoded<'a> {
    /// Series in body order, labels borrowed from the body.
    pub series: Vec<SeriesWrite<Cow<'a, str>>>,
    /// Native histogram samples of each series, in `series` order (counted, not decoded).
    pub histograms: Vec<usize>,
    /// Metadata entries as sent: type number and the entry (its `metric_type` left empty).
    pub metadata: Vec<(i32, MetricMetadata)>,
}

/// Decodes a `prometheus.WriteRequest`.
pub fn decode(body: &[u8]) -> Result<Decoded<'_>, WireError> {
    let mut reader = Reader::new(body);
    let mut decoded = Decoded::default();
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                let (series, histograms) = time_series(reader.bytes_field(tag, wire_type)?)?;
                decoded.series.push(series);
                decoded.histograms.push(histograms);
            }
            3 => {
                decoded
                    .metadata
                    .push(metadata(reader.bytes_field(tag, wire_type)?)?);
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok(decoded)
}

fn time_series(bytes: &[u8]) -> Result<(SeriesWrite<Cow<'_, str>>, usize), WireError> {
    let mut reader = Reader::new(bytes);
    let mut series = SeriesWrite::default();
    let mut histograms = 0usize;
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                series
                    .labels
                    .push(label(reader.bytes_field(tag, wire_type)?)?);
            }
            2 => {
                series
                    .samples
                    .push(sample(reader.bytes_field(tag, wire_type)?)?);
            }
            3 => {
                series
                    .exemplars
                    .push(exemplar(reader.bytes_field(tag, wire_type)?)?);
            }
            4 => {
                check_skipped_message(reader.bytes_field(tag, wire_type)?)?;
                histograms += 1;
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok((series, histograms))
}

fn label(bytes: &[u8]) -> Result<(Cow<'_, str>, Cow<'_, str>), WireError> {
    let mut reader = Reader::new(bytes);
    let (mut name, mut value) = ("", "");
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                name = reader.string_field(tag, wire_type)?;
            }
            2 => {
                value = reader.string_field(tag, wire_type)?;
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok((Cow::Borrowed(name), Cow::Borrowed(value)))
}

fn sample(bytes: &[u8]) -> Result<(i64, f64), WireError> {
    let mut reader = Reader::new(bytes);
    let (mut timestamp, mut value) = (0i64, 0f64);
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                value = f64::from_bits(reader.fixed64_field(tag, wire_type)?);
            }
            2 => {
                timestamp = reader.varint_field(tag, wire_type)? as i64;
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok((timestamp, value))
}

fn exemplar(bytes: &[u8]) -> Result<ExemplarWrite<Cow<'_, str>>, WireError> {
    let mut reader = Reader::new(bytes);
    let mut exemplar = ExemplarWrite {
        labels: Vec::new(),
        value: 0.0,
        timestamp_ms: 0,
    };
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                exemplar
                    .labels
                    .push(label(reader.bytes_field(tag, wire_type)?)?);
            }
            2 => {
                exemplar.value = f64::from_bits(reader.fixed64_field(tag, wire_type)?);
            }
            3 => {
                exemplar.timestamp_ms = reader.varint_field(tag, wire_type)? as i64;
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok(exemplar)
}

/// A `MetricMetadata` entry (its type number kept; the caller names it).
fn metadata(bytes: &[u8]) -> Result<(i32, MetricMetadata), WireError> {
    let mut reader = Reader::new(bytes);
    let mut type_number = 0i32;
    let (mut metric, mut help, mut unit) = ("", "", "");
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        match tag {
            1 => {
                type_number = reader.varint_field(tag, wire_type)? as i32;
            }
            2 => {
                metric = reader.string_field(tag, wire_type)?;
            }
            4 => {
                help = reader.string_field(tag, wire_type)?;
            }
            5 => {
                unit = reader.string_field(tag, wire_type)?;
            }
            _ => reader.skip(tag, wire_type)?,
        }
    }
    Ok((
        type_number,
        MetricMetadata {
            metric: metric.to_string(),
            metric_type: String::new(),
            help: help.to_string(),
            unit: unit.to_string(),
        },
    ))
}
