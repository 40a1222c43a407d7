//! The serialised index (see the crate docs for the layout).

use crate::bloom::{Bloom, trigram};
use crate::needle::Requirement;

const MAGIC: &[u8; 8] = b"KSKIDX01";
const VERSION: u32 = 1;

/// Why an index file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid index file: {0}")]
pub struct FormatError(String);

impl FormatError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> FormatError {
        FormatError(message.into())
    }
}

/// The index of one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIndex {
    columns: Vec<String>,
    row_groups: Vec<Vec<Option<Bloom>>>,
}

impl FileIndex {
    /// An index with one filter per row group and column (`None`: no text there).
    pub fn new(columns: Vec<String>, row_groups: Vec<Vec<Option<Bloom>>>) -> FileIndex {
        FileIndex {
            columns,
            row_groups,
        }
    }

    /// Indexed columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of row groups.
    pub fn row_groups(&self) -> usize {
        self.row_groups.len()
    }

    /// For each row group, whether it may satisfy `requirement`.
    pub fn row_groups_matching(&self, requirement: &Requirement) -> Vec<bool> {
        self.row_groups
            .iter()
            .map(|filters| {
                requirement.may_match(&|column: &str, needle: &[u8]| {
                    let Some(index) = self.columns.iter().position(|c| c == column) else {
                        return true;
                    };
                    match &filters[index] {
                        None => false,
                        Some(bloom) => needle
                            .windows(3)
                            .all(|window| bloom.may_contain(trigram(window))),
                    }
                })
            })
            .collect()
    }

    /// The serialised form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.row_groups.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        for column in &self.columns {
            out.extend_from_slice(&(column.len() as u16).to_le_bytes());
            out.extend_from_slice(column.as_bytes());
        }
        for filters in &self.row_groups {
            for filter in filters {
                match filter {
                    None => out.extend_from_slice(&0u32.to_le_bytes()),
                    Some(bloom) => {
                        out.extend_from_slice(&(bloom.bits().len() as u32).to_le_bytes());
                        out.push(bloom.hashes());
                        out.extend_from_slice(bloom.bits());
                    }
                }
            }
        }
        out
    }

    /// Parses a serialised index.
    pub fn from_bytes(bytes: &[u8]) -> Result<FileIndex, FormatError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(8)? != MAGIC {
            return Err(FormatError("bad magic".to_string()));
        }
        let version = reader.u32()?;
        if version != VERSION {
            return Err(FormatError(format!("unsupported version {version}")));
        }
        let row_group_count = reader.u32()? as usize;
        let column_count = reader.u32()? as usize;
        if column_count > 10_000 || row_group_count > 1_000_000 {
            return Err(FormatError("implausible sizes".to_string()));
        }
        let mut columns = Vec::with_capacity(column_count);
        for _ in 0..column_count {
            let length = reader.u16()? as usize;
            let name = std::str::from_utf8(reader.take(length)?)
                .map_err(|e| FormatError(e.to_string()))?;
            columns.push(name.to_string());
        }
        let mut row_groups = Vec::with_capacity(row_group_count);
        for _ in 0..row_group_count {
            let mut filters = Vec::with_capacity(column_count);
            for _ in 0..column_count {
                let length = reader.u32()? as usize;
                if length == 0 {
                    filters.push(None);
                    continue;
                }
                let hashes = reader.take(1)?[0];
                filters.push(Some(Bloom::from_parts(
                    reader.take(length)?.to_vec(),
                    hashes,
                )));
            }
            row_groups.push(filters);
        }
        Ok(FileIndex {
            columns,
            row_groups,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| FormatError("truncated".to_string()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u16(&mut self) -> Result<u16, FormatError> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}
