//! The write-ahead log: never lose an acknowledged write.
//!
//! This crate knows bytes, not Arrow: it appends opaque payloads durably, reads them back after a
//! crash, and deletes whole segments once their contents are safely stored elsewhere.
//!
//! # On-disk format (version 1)
//!
//! The WAL is a directory of *segment* files named `{id:020}.wal`, ids increasing. A segment is
//!
//! ```text
//! header:  magic "KANSOKUW" (8 bytes) | format version u32 LE (= 1) | segment id u64 LE
//! record:  payload length u32 LE | CRC-32 (IEEE) of the payload u32 LE | payload
//! record:  …
//! ```
//!
//! # Invariants
//!
//! - A payload is acknowledged ([`WalWriter::append`] returns `Ok`) only after its bytes were
//!   written and, unless fsync is explicitly disabled, `fdatasync`ed. Concurrent appends share one
//!   fsync (group commit).
//! - Only the newest segment is ever appended to. After a failed write the segment is cut back to
//!   its last complete record, so a later acknowledged record never sits behind garbage.
//! - Reading stops at the first record whose length is impossible or whose CRC does not match (a
//!   torn or corrupt tail); everything before it is returned, the rest is counted, never guessed at.
//! - Segments are deleted only by [`remove_segments_through`], which the caller invokes after the
//!   data they hold is committed to Parquet and the manifest.

mod error;
mod metrics;
mod reader;
mod segment;
mod writer;

pub use error::{Error, Result};
pub use metrics::WalMetrics;
pub use reader::{SegmentContents, TailState, parse_segment, read_segment};
pub use segment::{list_segments, remove_segments_through, segment_path};
pub use writer::{SegmentWriter, WalWriter};

/// The current segment format version.
pub const FORMAT_VERSION: u32 = 1;
/// The magic bytes at the start of every segment.
pub const MAGIC: &[u8; 8] = b"KANSOKUW";
/// Size of the segment header in bytes.
pub const HEADER_LEN: usize = 8 + 4 + 8;
/// Size of a record's frame (length + CRC) in bytes.
pub const FRAME_LEN: usize = 8;
/// The largest payload accepted; a length field above this marks a corrupt record.
pub const MAX_PAYLOAD_LEN: usize = 1 << 30;
