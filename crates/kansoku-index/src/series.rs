//! The series index of a metrics data file: which series the file holds, and where.
//!
//! A metrics data file is sorted by series, so each series is one contiguous run of rows. The
//! index lists the runs in file order with their label sets, row counts and time bounds; a
//! selector reads the index, keeps the series its matchers accept and reads only their rows.
//!
//! # File format (version 1)
//!
//! ```text
//! magic "KSKSER01"
//! zstd frame of:
//!   varint symbols, then per symbol: varint byte length | UTF-8 bytes
//!   varint series, then per series in file order:
//!     varint labels | per label: varint name symbol | varint value symbol   (sorted by name)
//!     varint rows | zigzag varint min timestamp | varint max − min
//! ```
//!
//! A series' first row is the sum of the row counts before it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::format::FormatError;

const MAGIC: &[u8; 8] = b"KSKSER01";
const ZSTD_LEVEL: i32 = 3;
/// Refuse indexes that would decompress to more than this (a corrupt length field).
const MAX_DECODED_BYTES: usize = 1 << 30;

/// One series of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedSeries {
    /// `(name, value)` symbol ids, sorted by name.
    labels: Vec<(u32, u32)>,
    /// First row in the file.
    pub first_row: u64,
    /// Number of rows.
    pub rows: u64,
    /// Smallest timestamp (µs).
    pub min_ts: i64,
    /// Largest timestamp (µs).
    pub max_ts: i64,
}

/// The series index of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesIndex {
    symbols: Vec<Arc<str>>,
    series: Vec<IndexedSeries>,
}

impl SeriesIndex {
    /// The series in file order.
    pub fn series(&self) -> &[IndexedSeries] {
        &self.series
    }

    /// The labels of `series` as `(name, value)`, sorted by name.
    pub fn labels<'a>(
        &'a self,
        series: &'a IndexedSeries,
    ) -> impl Iterator<Item = (&'a Arc<str>, &'a Arc<str>)> + 'a {
        series.labels.iter().map(|(name, value)| {
            (
                &self.symbols[*name as usize],
                &self.symbols[*value as usize],
            )
        })
    }

    /// Bytes the index takes in memory (for caches).
    pub fn memory_size(&self) -> usize {
        self.symbols.iter().map(|s| s.len() + 16).sum::<usize>()
            + self
                .series
                .iter()
                .map(|s| s.labels.len() * 8 + 48)
                .sum::<usize>()
    }

    /// The serialised form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_varint(&mut body, self.symbols.len() as u64);
        for symbol in &self.symbols {
            put_varint(&mut body, symbol.len() as u64);
            body.extend_from_slice(symbol.as_bytes());
        }
        put_varint(&mut body, self.series.len() as u64);
        for series in &self.series {
            put_varint(&mut body, series.labels.len() as u64);
            for (name, value) in &series.labels {
                put_varint(&mut body, u64::from(*name));
                put_varint(&mut body, u64::from(*value));
            }
            put_varint(&mut body, series.rows);
            put_varint(&mut body, zigzag(series.min_ts));
            put_varint(&mut body, series.max_ts.wrapping_sub(series.min_ts) as u64);
        }
        let mut out = MAGIC.to_vec();
        // Encoding into memory cannot fail; fall back to storing nothing compressed if it did.
        let compressed = zstd::bulk::compress(&body, ZSTD_LEVEL).unwrap_or_default();
        out.extend_from_slice(&compressed);
        out
    }

    /// Reads a serialised index.
    pub fn from_bytes(bytes: &[u8]) -> Result<SeriesIndex, FormatError> {
        let body = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| FormatError::new("not a series index (bad magic)"))?;
        let body = zstd::bulk::decompress(body, MAX_DECODED_BYTES)
            .map_err(|e| FormatError::new(format!("series index: {e}")))?;
        let mut reader = Reader {
            bytes: &body,
            at: 0,
        };
        let symbol_count = reader.length()?;
        let mut symbols = Vec::with_capacity(symbol_count.min(1 << 20));
        for _ in 0..symbol_count {
            let length = reader.length()?;
            let text = reader.take(length)?;
            let text = std::str::from_utf8(text)
                .map_err(|_| FormatError::new("series index: symbol is not UTF-8"))?;
            symbols.push(Arc::from(text));
        }
        let series_count = reader.length()?;
        let mut series = Vec::with_capacity(series_count.min(1 << 20));
        let mut next_row = 0u64;
        for _ in 0..series_count {
            let label_count = reader.length()?;
            let mut labels = Vec::with_capacity(label_count.min(1024));
            for _ in 0..label_count {
                let name = reader.symbol(symbols.len())?;
                let value = reader.symbol(symbols.len())?;
                labels.push((name, value));
            }
            let rows = reader.varint()?;
            let min_ts = unzigzag(reader.varint()?);
            let max_ts = min_ts.wrapping_add(reader.varint()? as i64);
            series.push(IndexedSeries {
                labels,
                first_row: next_row,
                rows,
                min_ts,
                max_ts,
            });
            next_row = next_row.saturating_add(rows);
        }
        if reader.at != body.len() {
            return Err(FormatError::new("series index: trailing bytes"));
        }
        Ok(SeriesIndex { symbols, series })
    }
}

/// Builds a series index run by run, in file order.
#[derive(Debug, Default)]
pub struct SeriesIndexBuilder {
    symbols: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
    series: Vec<IndexedSeries>,
    next_row: u64,
}

impl SeriesIndexBuilder {
    /// An empty builder.
    pub fn new() -> SeriesIndexBuilder {
        SeriesIndexBuilder::default()
    }

    fn symbol(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.symbols.len() as u32;
        let shared: Arc<str> = Arc::from(text);
        self.symbols.push(Arc::clone(&shared));
        self.ids.insert(shared, id);
        id
    }

    /// Adds the next run of `rows` rows: a series with `labels` (any order) and its time bounds.
    pub fn push<'a>(
        &mut self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        rows: u64,
        min_ts: i64,
        max_ts: i64,
    ) {
        let mut pairs: Vec<(&str, &str)> = labels.into_iter().collect();
        pairs.sort_unstable();
        let labels = pairs
            .into_iter()
            .map(|(name, value)| (self.symbol(name), self.symbol(value)))
            .collect();
        self.series.push(IndexedSeries {
            labels,
            first_row: self.next_row,
            rows,
            min_ts,
            max_ts,
        });
        self.next_row += rows;
    }

    /// The index.
    pub fn finish(self) -> SeriesIndex {
        SeriesIndex {
            symbols: self.symbols,
            series: self.series,
        }
    }
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, FormatError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| FormatError::new("series index: truncated"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FormatError::new("series index: varint too long"))
    }

    fn length(&mut self) -> Result<usize, FormatError> {
        let value = self.varint()?;
        let remaining = self.bytes.len() - self.at;
        usize::try_from(value)
            .ok()
            .filter(|length| *length <= remaining.max(1) * 8)
            .ok_or_else(|| FormatError::new("series index: length out of range"))
    }

    fn symbol(&mut self, symbols: usize) -> Result<u32, FormatError> {
        let id = self.varint()?;
        if id >= symbols as u64 {
            return Err(FormatError::new("series index: unknown symbol"));
        }
        Ok(id as u32)
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| FormatError::new("series index: truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_round_trip() {
        let mut builder = SeriesIndexBuilder::new();
        builder.push([("__name__", "up"), ("job", "api")], 3, -5, 10);
        builder.push([("job", "db"), ("__name__", "up")], 2, 100, 100);
        let index = builder.finish();
        let bytes = index.to_bytes();
        let read = SeriesIndex::from_bytes(&bytes).unwrap_or_default();
        assert_eq!(read, index);
        let second = &read.series()[1];
        assert_eq!((second.first_row, second.rows, second.min_ts), (3, 2, 100));
        let labels: Vec<(String, String)> = read
            .labels(second)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("__name__".to_string(), "up".to_string()),
                ("job".to_string(), "db".to_string())
            ]
        );
    }

    #[test]
    fn damaged_indexes_are_refused() {
        let mut builder = SeriesIndexBuilder::new();
        builder.push([("a", "b")], 1, 0, 0);
        let bytes = builder.finish().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                SeriesIndex::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(SeriesIndex::from_bytes(b"KSKIDX01").is_err());
    }
}
