//! Reading a segment back after a restart.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::{FORMAT_VERSION, FRAME_LEN, HEADER_LEN, MAGIC, MAX_PAYLOAD_LEN};

/// How a segment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailState {
    /// Every byte belonged to a complete, valid record.
    Clean,
    /// Reading stopped at `valid_len`; the `file_len - valid_len` bytes after it were not usable.
    Corrupt {
        /// Offset just after the last good record.
        valid_len: u64,
        /// The segment file's length.
        file_len: u64,
        /// Why reading stopped.
        reason: String,
    },
}

/// The records of one segment.
#[derive(Debug)]
pub struct SegmentContents {
    /// The segment id from the header (or from the file name when the header is unreadable).
    pub segment: u64,
    /// The payloads, in append order.
    pub records: Vec<Vec<u8>>,
    /// How the segment ended.
    pub tail: TailState,
}

/// Reads every valid record of the segment at `path` (whose file name says it is segment `id`).
pub fn read_segment(path: &Path, id: u64) -> Result<SegmentContents> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(parse_segment(&bytes, id))
}

/// Parses the bytes of a segment (whose file name says it is segment `id`): every valid record,
/// and how the segment ended. Never panics, whatever the bytes.
pub fn parse_segment(bytes: &[u8], id: u64) -> SegmentContents {
    let file_len = bytes.len() as u64;
    let corrupt = |valid_len: usize, reason: String| TailState::Corrupt {
        valid_len: valid_len as u64,
        file_len,
        reason,
    };
    if bytes.len() < HEADER_LEN {
        // A crash while creating the segment can leave a short header; nothing was acknowledged
        // in it because the first append syncs the header with the record.
        let tail = if bytes.is_empty() {
            TailState::Clean
        } else {
            corrupt(0, "incomplete segment header".to_string())
        };
        return SegmentContents {
            segment: id,
            records: Vec::new(),
            tail,
        };
    }
    if &bytes[..8] != MAGIC {
        return SegmentContents {
            segment: id,
            records: Vec::new(),
            tail: corrupt(0, "not a kansoku wal segment (bad magic)".to_string()),
        };
    }
    let version = read_u32(bytes, 8);
    if version != FORMAT_VERSION {
        return SegmentContents {
            segment: id,
            records: Vec::new(),
            tail: corrupt(0, format!("unsupported wal format version {version}")),
        };
    }
    let segment = read_u64(bytes, 12);
    let mut records = Vec::new();
    let mut offset = HEADER_LEN;
    loop {
        if offset == bytes.len() {
            return SegmentContents {
                segment,
                records,
                tail: TailState::Clean,
            };
        }
        if bytes.len() - offset < FRAME_LEN {
            return SegmentContents {
                segment,
                records,
                tail: corrupt(offset, "torn record frame".to_string()),
            };
        }
        let len = read_u32(bytes, offset) as usize;
        let expected_crc = read_u32(bytes, offset + 4);
        if len > MAX_PAYLOAD_LEN {
            return SegmentContents {
                segment,
                records,
                tail: corrupt(offset, format!("impossible record length {len}")),
            };
        }
        let start = offset + FRAME_LEN;
        let Some(end) = start.checked_add(len).filter(|end| *end <= bytes.len()) else {
            return SegmentContents {
                segment,
                records,
                tail: corrupt(offset, "torn record payload".to_string()),
            };
        };
        let payload = &bytes[start..end];
        if crc32fast::hash(payload) != expected_crc {
            return SegmentContents {
                segment,
                records,
                tail: corrupt(offset, "record checksum mismatch".to_string()),
            };
        }
        records.push(payload.to_vec());
        offset = end;
    }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(buf)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buf)
}
