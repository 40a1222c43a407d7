//! Indexes of data files: the full-text (trigram) index of log files, and the series index of
//! metrics files ([`series`]).
//!
//! Full-text acceleration: which row groups of a Parquet file can contain a substring?
//!
//! For each row group and each indexed (text) column, the index holds a Bloom filter of the
//! column's lower-cased byte trigrams. A substring of at least three bytes can occur in a row group
//! only if every trigram of its lower-cased form is in the filter, so a search for it reads only
//! row groups that pass — and files whose row groups all fail are not read at all. Filters never
//! give false negatives; about 1 % false positives per trigram test.
//!
//! Why trigrams and not an inverted index: kansoku's text search (`match_all`, `str_match`) is
//! substring search, which a token index cannot answer; trigram filters answer it for substrings of
//! any length ≥ 3 and also serve whole words. See `docs/benchmarks.md` for the measured effect.
//!
//! # File format (version 1)
//!
//! ```text
//! magic "KSKIDX01" | u32 LE version (1) | u32 LE row groups | u32 LE columns
//! per column:       u16 LE name length | name (UTF-8)
//! per row group, per column:
//!                   u32 LE filter bytes (0 = column absent or empty) | u8 hash count | filter bits
//! ```
#![warn(missing_docs)]

mod bloom;
mod build;
mod format;
mod needle;
pub mod series;

pub use bloom::Bloom;
pub use build::IndexBuilder;
pub use format::{FileIndex, FormatError};
pub use needle::Requirement;
pub use series::{IndexedSeries, SeriesIndex, SeriesIndexBuilder};

/// Shortest substring the index can rule out.
pub const MIN_NEEDLE_BYTES: usize = 3;
