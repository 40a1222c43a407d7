//! The payload of a WAL record (version 1): one record batch of one stream.
//!
//! ```text
//! u8  payload version (= 1)
//! u8  stream type code (1 logs, 2 metrics, 3 traces)
//! u16 LE org length, org bytes (UTF-8)
//! u16 LE stream length, stream bytes (UTF-8)
//! u64 LE ingested (raw) bytes of the records
//! ..  Arrow IPC stream: the batch's schema message, then the batch
//! ```
//!
//! The batch is stored with its own (already type-resolved) schema, so replay needs neither the
//! ingest time nor the stream's settings to rebuild exactly what was acknowledged.

use std::io::Cursor;

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use kansoku_core::{OrgId, StreamKey, StreamName, StreamType};

use crate::error::{Error, Result};

const PAYLOAD_VERSION: u8 = 1;

/// A decoded payload.
#[derive(Debug)]
pub struct WalBatch {
    /// The stream.
    pub key: StreamKey,
    /// Ingested bytes.
    pub raw_bytes: u64,
    /// The rows.
    pub batch: RecordBatch,
}

/// Encodes one batch.
pub fn encode(key: &StreamKey, raw_bytes: u64, batch: &RecordBatch) -> Result<Vec<u8>> {
    let org = key.org.as_str().as_bytes();
    let stream = key.name.as_str().as_bytes();
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + 64);
    out.push(PAYLOAD_VERSION);
    out.push(key.stream_type.code());
    out.extend_from_slice(&(org.len() as u16).to_le_bytes());
    out.extend_from_slice(org);
    out.extend_from_slice(&(stream.len() as u16).to_le_bytes());
    out.extend_from_slice(stream);
    out.extend_from_slice(&raw_bytes.to_le_bytes());
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(out)
}

/// Decodes one payload.
pub fn decode(payload: &[u8]) -> Result<WalBatch> {
    let mut cursor = Reader {
        bytes: payload,
        at: 0,
    };
    let version = cursor.u8()?;
    if version != PAYLOAD_VERSION {
        return Err(Error::Internal(format!(
            "unsupported wal payload version {version}"
        )));
    }
    let stream_type = StreamType::from_code(cursor.u8()?)
        .ok_or_else(|| Error::Internal("unknown stream type in wal payload".to_string()))?;
    let org = cursor.text()?;
    let stream = cursor.text()?;
    let raw_bytes = cursor.u64()?;
    let key = StreamKey::new(
        OrgId::parse(org)?,
        stream_type,
        StreamName::normalise(stream)?,
    );
    let batch = read_ipc_batch(&payload[cursor.at..])?;
    Ok(WalBatch {
        key,
        raw_bytes,
        batch,
    })
}

/// The one batch of an Arrow IPC stream. Arrow's reader panics on some malformed streams (a
/// schema message without fields unwraps a `None`, found by the `wal_payload` fuzz target):
/// such a payload is reported as corrupt like any other, so replay counts it instead of the
/// process failing to start.
fn read_ipc_batch(ipc: &[u8]) -> Result<RecordBatch> {
    check_ipc_framing(ipc)?;
    let read = || -> Result<RecordBatch> {
        let mut reader = StreamReader::try_new(Cursor::new(ipc), None)?;
        reader
            .next()
            .ok_or_else(|| Error::Internal("wal payload without a batch".to_string()))?
            .map_err(Error::from)
    };
    std::panic::catch_unwind(read).unwrap_or_else(|_| {
        Err(Error::Internal(
            "corrupt wal payload: its Arrow IPC stream is malformed".to_string(),
        ))
    })
}

/// Checks an Arrow IPC stream's framing before Arrow reads it: every message's metadata is a
/// valid flatbuffer, its body lies within the payload, and no batch or column claims more
/// values than its body could hold. Arrow trusts these lengths and allocates what they claim:
/// a corrupt one would abort the process on allocation failure, which `catch_unwind` cannot
/// turn into an error.
fn check_ipc_framing(ipc: &[u8]) -> Result<()> {
    let corrupt = |why: &str| Error::Internal(format!("corrupt wal payload: {why}"));
    let word_at = |at: usize| -> Option<u32> {
        let bytes = ipc.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let mut at = 0usize;
    while at < ipc.len() {
        let mut metadata_len = word_at(at).ok_or_else(|| corrupt("truncated IPC message"))?;
        at += 4;
        if metadata_len == u32::MAX {
            metadata_len = word_at(at).ok_or_else(|| corrupt("truncated IPC message"))?;
            at += 4;
        }
        if metadata_len == 0 {
            return Ok(());
        }
        let metadata_end = at
            .checked_add(metadata_len as usize)
            .filter(|end| *end <= ipc.len())
            .ok_or_else(|| corrupt("IPC metadata beyond the payload"))?;
        let message = arrow::ipc::root_as_message(&ipc[at..metadata_end])
            .map_err(|e| corrupt(&format!("invalid IPC metadata: {e}")))?;
        let body_len = usize::try_from(message.bodyLength())
            .map_err(|_| corrupt("negative IPC body length"))?;
        let body_end = metadata_end
            .checked_add(body_len)
            .filter(|end| *end <= ipc.len())
            .ok_or_else(|| corrupt("IPC body beyond the payload"))?;
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
        if let Some(batch) = batch {
            // A boolean column holds 8 values per byte: no column can hold more.
            let most = (body_len as u64).saturating_mul(8);
            let lengths = std::iter::once(batch.length()).chain(
                batch
                    .nodes()
                    .into_iter()
                    .flatten()
                    .map(|node| node.length()),
            );
            for length in lengths {
                if u64::try_from(length)
                    .ok()
                    .is_none_or(|length| length > most)
                {
                    return Err(corrupt("IPC batch longer than its body"));
                }
            }
        }
        at = body_end;
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(Error::Internal("truncated wal payload".to_string()));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64> {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(buf))
    }
    fn text(&mut self) -> Result<&'a str> {
        let mut len = [0u8; 2];
        len.copy_from_slice(self.take(2)?);
        let bytes = self.take(u16::from_le_bytes(len) as usize)?;
        std::str::from_utf8(bytes).map_err(|e| Error::Internal(format!("wal payload name: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn payloads_round_trip() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_timestamp", DataType::Int64, false),
            Field::new("msg", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        let key = StreamKey::new(
            OrgId::parse("default").unwrap(),
            StreamType::Logs,
            StreamName::normalise("app").unwrap(),
        );
        let payload = encode(&key, 42, &batch).unwrap();
        let decoded = decode(&payload).unwrap();
        assert_eq!(decoded.key, key);
        assert_eq!(decoded.raw_bytes, 42);
        assert_eq!(decoded.batch, batch);
        assert!(decode(&payload[..10]).is_err());
        assert!(decode(&[9]).is_err());
    }
}
