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
    let mut reader = StreamReader::try_new(Cursor::new(&payload[cursor.at..]), None)?;
    let batch = reader
        .next()
        .ok_or_else(|| Error::Internal("wal payload without a batch".to_string()))??;
    Ok(WalBatch {
        key,
        raw_bytes,
        batch,
    })
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
