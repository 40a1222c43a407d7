//! The persisted ids: `DATA_DIR/wal/dedup.ids`, written at each flush before the WAL segments
//! holding the flushed records' ids may go, read at start-up (ARCHITECTURE.md "Persisted
//! formats").
//!
//! ```text
//! v1: "KSKDEDUP" | u32 version | i64 written at (unix s) | u32 streams
//!     per stream: u16 + org | u8 stream type | u16 + stream | u32 window s
//!                 | i64 current since (unix s) | u32 n | n × u64 key   (current generation)
//!                 | u32 n | n × u64 key                                 (previous generation)
//!     u32 CRC-32 of everything before it
//! ```
//! All integers little-endian; keys are [`super::ids::id_key`]s.

use std::io::Write;
use std::path::{Path, PathBuf};

use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};

use crate::error::{Error, Result};

/// The file name inside the WAL directory.
pub const FILE_NAME: &str = "dedup.ids";
const MAGIC: &[u8; 8] = b"KSKDEDUP";
const VERSION: u32 = 1;

/// One stream's durable ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSnapshot {
    /// The stream.
    pub key: StreamKey,
    /// Its window when written.
    pub window_secs: u32,
    /// When its current generation began (unix s).
    pub current_since: i64,
    /// Keys of the current generation.
    pub current: Vec<u64>,
    /// Keys of the previous generation.
    pub previous: Vec<u64>,
}

/// Encodes streams as a v1 snapshot.
pub fn encode(streams: &[StreamSnapshot], written_at: i64) -> Vec<u8> {
    let ids: usize = streams
        .iter()
        .map(|s| s.current.len() + s.previous.len())
        .sum();
    let mut out = Vec::with_capacity(32 + streams.len() * 64 + ids * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&written_at.to_le_bytes());
    out.extend_from_slice(&(streams.len() as u32).to_le_bytes());
    for stream in streams {
        put_text(&mut out, stream.key.org.as_str());
        out.push(stream_type_code(stream.key.stream_type));
        put_text(&mut out, stream.key.name.as_str());
        out.extend_from_slice(&stream.window_secs.to_le_bytes());
        out.extend_from_slice(&stream.current_since.to_le_bytes());
        for generation in [&stream.current, &stream.previous] {
            out.extend_from_slice(&(generation.len() as u32).to_le_bytes());
            for key in generation {
                out.extend_from_slice(&key.to_le_bytes());
            }
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a v1 snapshot; `Err` names what is wrong.
pub fn decode(bytes: &[u8]) -> std::result::Result<Vec<StreamSnapshot>, String> {
    let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
        return Err("shorter than its checksum".to_string());
    };
    if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
        return Err("checksum mismatch".to_string());
    }
    let mut reader = Reader { bytes: body };
    if reader.take(8)? != MAGIC {
        return Err("not a dedup snapshot (bad magic)".to_string());
    }
    let version = reader.u32()?;
    if version != VERSION {
        return Err(format!("unsupported version {version}"));
    }
    let _written_at = reader.i64()?;
    let count = reader.u32()?;
    let mut streams = Vec::new();
    for _ in 0..count {
        let org = reader.text()?;
        let stream_type = stream_type_of(reader.u8()?)?;
        let name = reader.text()?;
        let org = OrgId::parse(&org).map_err(|e| format!("organisation '{org}': {e}"))?;
        let name = StreamName::normalise(&name).map_err(|e| format!("stream '{name}': {e}"))?;
        let window_secs = reader.u32()?;
        let current_since = reader.i64()?;
        let current = reader.keys()?;
        let previous = reader.keys()?;
        streams.push(StreamSnapshot {
            key: StreamKey::new(org, stream_type, name),
            window_secs,
            current_since,
            current,
            previous,
        });
    }
    if !reader.bytes.is_empty() {
        return Err(format!(
            "{} bytes after the last stream",
            reader.bytes.len()
        ));
    }
    Ok(streams)
}

/// The snapshot's path in the WAL directory.
pub fn path(wal_dir: &Path) -> PathBuf {
    wal_dir.join(FILE_NAME)
}

/// Writes `bytes` as the snapshot durably: a temporary file, fsynced, renamed over the old one,
/// then the directory fsynced.
pub fn write(wal_dir: &Path, bytes: &[u8]) -> Result<()> {
    let target = path(wal_dir);
    let temporary = wal_dir.join(format!("{FILE_NAME}.tmp"));
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |error: std::io::Error| Error::Internal(format!("dedup snapshot {path}: {error}"))
    };
    let mut file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
    file.write_all(bytes).map_err(io(&temporary))?;
    file.sync_data().map_err(io(&temporary))?;
    drop(file);
    std::fs::rename(&temporary, &target).map_err(io(&target))?;
    std::fs::File::open(wal_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io(wal_dir))
}

/// Reads the snapshot; `Ok(None)` when there is none.
pub fn read(wal_dir: &Path) -> Result<Option<Vec<StreamSnapshot>>> {
    let path = path(wal_dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(Error::Internal(format!(
                "dedup snapshot {}: {error}",
                path.display()
            )));
        }
    };
    decode(&bytes)
        .map(Some)
        .map_err(|reason| Error::Internal(format!("dedup snapshot {}: {reason}", path.display())))
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    // Names are bounded far below u16::MAX bytes by their validation.
    let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&text.as_bytes()[..usize::from(length)]);
}

fn stream_type_code(stream_type: StreamType) -> u8 {
    match stream_type {
        StreamType::Logs => 0,
        StreamType::Metrics => 1,
        StreamType::Traces => 2,
    }
}

fn stream_type_of(code: u8) -> std::result::Result<StreamType, String> {
    match code {
        0 => Ok(StreamType::Logs),
        1 => Ok(StreamType::Metrics),
        2 => Ok(StreamType::Traces),
        other => Err(format!("unknown stream type {other}")),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("truncated".to_string());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> std::result::Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn text(&mut self) -> std::result::Result<String, String> {
        let length = u16::from_le_bytes(self.array()?);
        let bytes = self.take(usize::from(length))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
    }

    fn keys(&mut self) -> std::result::Result<Vec<u64>, String> {
        let count = self.u32()? as usize;
        if self.bytes.len() / 8 < count {
            return Err("truncated".to_string());
        }
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            keys.push(u64::from_le_bytes(self.array()?));
        }
        Ok(keys)
    }
}
