//! A bounded MessagePack reader over a byte slice (markers from `rmp`): every length is checked
//! against the bytes actually present before anything is read or allocated, nesting is limited,
//! and "not enough bytes yet" is told apart from "not MessagePack", so a stream reader knows
//! whether to wait for more.

use rmp::Marker;

/// Deepest nesting read.
pub const MAX_DEPTH: usize = 64;

/// One MessagePack value, borrowing strings and binaries from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// nil.
    Nil,
    /// true / false.
    Bool(bool),
    /// A negative integer (or any that fits `i64`).
    Int(i64),
    /// A positive integer above `i64::MAX`.
    UInt(u64),
    /// float 32 or 64.
    Float(f64),
    /// str (bytes as sent; not checked for UTF-8).
    Str(&'a [u8]),
    /// bin.
    Bin(&'a [u8]),
    /// array.
    Array(Vec<Value<'a>>),
    /// map, in order.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// ext: type and data.
    Ext(i8, &'a [u8]),
}

impl<'a> Value<'a> {
    /// The text of a str (or bin), invalid UTF-8 replaced.
    pub fn text(&self) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Value::Str(bytes) | Value::Bin(bytes) => Some(String::from_utf8_lossy(bytes)),
            _ => None,
        }
    }
}

/// Why a value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The input ends inside the value: wait for more bytes.
    Incomplete,
    /// Not MessagePack, or nested too deeply.
    Invalid(String),
}

/// Reads the value at the start of `data`; returns it and the bytes it took.
pub fn read(data: &[u8]) -> Result<(Value<'_>, usize), ReadError> {
    let mut reader = Reader { data, position: 0 };
    let value = reader.value(0)?;
    Ok((value, reader.position))
}

/// Finds where one value ends without building it, resuming where the previous call stopped:
/// a stream reader calls [`Scanner::advance`] after every read with the whole buffer (which
/// only grows until the value is complete), so each byte is examined once.
#[derive(Debug, Clone)]
pub struct Scanner {
    position: usize,
    /// Values still to read at each open nesting level.
    remaining: Vec<u64>,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner {
            position: 0,
            remaining: vec![1],
        }
    }
}

impl Scanner {
    /// The value's length once `data` holds all of it, `None` while it does not yet.
    pub fn advance(&mut self, data: &[u8]) -> Result<Option<usize>, String> {
        loop {
            let Some(top) = self.remaining.last_mut() else {
                return Ok(Some(self.position));
            };
            if *top == 0 {
                self.remaining.pop();
                continue;
            }
            let rest = data.get(self.position..).unwrap_or_default();
            let Some((size, children)) = item_extent(rest)? else {
                return Ok(None);
            };
            *top -= 1;
            self.position += size;
            if children > 0 {
                if self.remaining.len() > MAX_DEPTH {
                    return Err(format!("MessagePack nested deeper than {MAX_DEPTH} levels"));
                }
                self.remaining.push(children);
            }
        }
    }
}

/// The bytes of the item at the start of `data` (for a container: its header) and how many
/// values it contains; `None` while `data` does not hold them all.
fn item_extent(data: &[u8]) -> Result<Option<(usize, u64)>, String> {
    let Some(&first) = data.first() else {
        return Ok(None);
    };
    let length = |width: usize| -> Option<u64> {
        let bytes = data.get(1..1 + width)?;
        Some(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    };
    let fixed = |size: usize| (data.len() >= size).then_some((size, 0));
    let sized = |header: usize, payload: Option<u64>| {
        let total = usize::try_from(payload?).ok()?.checked_add(header)?;
        (data.len() >= total).then_some((total, 0))
    };
    let container = |header: usize, count: Option<u64>, per_item: u64| {
        let count = count?;
        (data.len() >= header).then_some((header, count * per_item))
    };
    Ok(match Marker::from_u8(first) {
        Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
            fixed(1)
        }
        Marker::U8 | Marker::I8 => fixed(2),
        Marker::U16 | Marker::I16 => fixed(3),
        Marker::U32 | Marker::I32 | Marker::F32 => fixed(5),
        Marker::U64 | Marker::I64 | Marker::F64 => fixed(9),
        Marker::FixStr(n) => sized(1, Some(u64::from(n))),
        Marker::Str8 | Marker::Bin8 => sized(2, length(1)),
        Marker::Str16 | Marker::Bin16 => sized(3, length(2)),
        Marker::Str32 | Marker::Bin32 => sized(5, length(4)),
        Marker::FixArray(n) => container(1, Some(u64::from(n)), 1),
        Marker::Array16 => container(3, length(2), 1),
        Marker::Array32 => container(5, length(4), 1),
        Marker::FixMap(n) => container(1, Some(u64::from(n)), 2),
        Marker::Map16 => container(3, length(2), 2),
        Marker::Map32 => container(5, length(4), 2),
        Marker::FixExt1 => fixed(3),
        Marker::FixExt2 => fixed(4),
        Marker::FixExt4 => fixed(6),
        Marker::FixExt8 => fixed(10),
        Marker::FixExt16 => fixed(18),
        Marker::Ext8 => sized(3, length(1)),
        Marker::Ext16 => sized(4, length(2)),
        Marker::Ext32 => sized(6, length(4)),
        Marker::Reserved => return Err("reserved MessagePack marker 0xc1".to_string()),
    })
}

struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], ReadError> {
        let end = self
            .position
            .checked_add(length)
            .ok_or(ReadError::Incomplete)?;
        let bytes = self
            .data
            .get(self.position..end)
            .ok_or(ReadError::Incomplete)?;
        self.position = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length(&mut self, width: usize) -> Result<usize, ReadError> {
        let value = match width {
            1 => u64::from(self.array::<1>()?[0]),
            2 => u64::from(u16::from_be_bytes(self.array()?)),
            _ => u64::from(u32::from_be_bytes(self.array()?)),
        };
        usize::try_from(value).map_err(|_| ReadError::Invalid("length out of range".to_string()))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, ReadError> {
        if depth > MAX_DEPTH {
            return Err(ReadError::Invalid(format!(
                "MessagePack nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let marker = Marker::from_u8(self.array::<1>()?[0]);
        Ok(match marker {
            Marker::FixPos(n) => Value::Int(i64::from(n)),
            Marker::FixNeg(n) => Value::Int(i64::from(n)),
            Marker::Null => Value::Nil,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::U8 => Value::Int(i64::from(self.array::<1>()?[0])),
            Marker::U16 => Value::Int(i64::from(u16::from_be_bytes(self.array()?))),
            Marker::U32 => Value::Int(i64::from(u32::from_be_bytes(self.array()?))),
            Marker::U64 => {
                let n = u64::from_be_bytes(self.array()?);
                i64::try_from(n).map_or(Value::UInt(n), Value::Int)
            }
            Marker::I8 => Value::Int(i64::from(i8::from_be_bytes(self.array()?))),
            Marker::I16 => Value::Int(i64::from(i16::from_be_bytes(self.array()?))),
            Marker::I32 => Value::Int(i64::from(i32::from_be_bytes(self.array()?))),
            Marker::I64 => Value::Int(i64::from_be_bytes(self.array()?)),
            Marker::F32 => Value::Float(f64::from(f32::from_be_bytes(self.array()?))),
            Marker::F64 => Value::Float(f64::from_be_bytes(self.array()?)),
            Marker::FixStr(n) => Value::Str(self.take(usize::from(n))?),
            Marker::Str8 => {
                let n = self.length(1)?;
                Value::Str(self.take(n)?)
            }
            Marker::Str16 => {
                let n = self.length(2)?;
                Value::Str(self.take(n)?)
            }
            Marker::Str32 => {
                let n = self.length(4)?;
                Value::Str(self.take(n)?)
            }
            Marker::Bin8 => {
                let n = self.length(1)?;
                Value::Bin(self.take(n)?)
            }
            Marker::Bin16 => {
                let n = self.length(2)?;
                Value::Bin(self.take(n)?)
            }
            Marker::Bin32 => {
                let n = self.length(4)?;
                Value::Bin(self.take(n)?)
            }
            Marker::FixArray(n) => self.array_of(usize::from(n), depth)?,
            Marker::Array16 => {
                let n = self.length(2)?;
                self.array_of(n, depth)?
            }
            Marker::Array32 => {
                let n = self.length(4)?;
                self.array_of(n, depth)?
            }
            Marker::FixMap(n) => self.map_of(usize::from(n), depth)?,
            Marker::Map16 => {
                let n = self.length(2)?;
                self.map_of(n, depth)?
            }
            Marker::Map32 => {
                let n = self.length(4)?;
                self.map_of(n, depth)?
            }
            Marker::FixExt1 => self.ext(1)?,
            Marker::FixExt2 => self.ext(2)?,
            Marker::FixExt4 => self.ext(4)?,
            Marker::FixExt8 => self.ext(8)?,
            Marker::FixExt16 => self.ext(16)?,
            Marker::Ext8 => {
                let n = self.length(1)?;
                self.ext(n)?
            }
            Marker::Ext16 => {
                let n = self.length(2)?;
                self.ext(n)?
            }
            Marker::Ext32 => {
                let n = self.length(4)?;
                self.ext(n)?
            }
            Marker::Reserved => {
                return Err(ReadError::Invalid(
                    "reserved MessagePack marker 0xc1".to_string(),
                ));
            }
        })
    }

    /// `count` values; the vector grows with what is read, never by the count claimed.
    fn array_of(&mut self, count: usize, depth: usize) -> Result<Value<'a>, ReadError> {
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map_of(&mut self, count: usize, depth: usize) -> Result<Value<'a>, ReadError> {
        let mut entries = Vec::new();
        for _ in 0..count {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }

    fn ext(&mut self, length: usize) -> Result<Value<'a>, ReadError> {
        let kind = i8::from_be_bytes(self.array()?);
        Ok(Value::Ext(kind, self.take(length)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_strings_and_containers() {
        // ["tag", {"a": 1, "b": -2, "c": 1.5, "d": nil, "e": true}, bin "xy", ext(0, 8 bytes)]
        let mut data = vec![0x94, 0xa3, b't', b'a', b'g', 0x85];
        data.extend([0xa1, b'a', 0x01, 0xa1, b'b', 0xfe, 0xa1, b'c', 0xcb]);
        data.extend(1.5f64.to_be_bytes());
        data.extend([0xa1, b'd', 0xc0, 0xa1, b'e', 0xc3, 0xc4, 2, b'x', b'y']);
        data.extend([0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 2]);
        let (value, used) = read(&data).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(used, data.len());
        let Value::Array(items) = value else {
            panic!("not an array")
        };
        assert_eq!(items[0], Value::Str(b"tag"));
        let Value::Map(entries) = &items[1] else {
            panic!("not a map")
        };
        assert_eq!(entries[1], (Value::Str(b"b"), Value::Int(-2)));
        assert_eq!(entries[2].1, Value::Float(1.5));
        assert_eq!(entries[3].1, Value::Nil);
        assert_eq!(items[2], Value::Bin(b"xy"));
        assert_eq!(items[3], Value::Ext(0, &[0, 0, 0, 1, 0, 0, 0, 2]));
    }

    #[test]
    fn every_prefix_is_incomplete_not_invalid() {
        let data = [0x92, 0xa3, b'a', b'b', b'c', 0xcd, 0x01, 0x00];
        for cut in 0..data.len() {
            assert_eq!(read(&data[..cut]), Err(ReadError::Incomplete), "cut {cut}");
        }
        assert_eq!(read(&data).map(|(_, n)| n), Ok(data.len()));
    }

    #[test]
    fn the_scanner_agrees_with_the_reader_when_fed_byte_by_byte() {
        let mut data = vec![0x93, 0xa3, b't', b'a', b'g', 0x92, 0x91, 0xd7, 0x00];
        data.extend([
            0, 0, 0, 1, 0, 0, 0, 2, 0x81, 0xa1, b'k', 0xc4, 2, b'x', b'y',
        ]);
        data.extend([0x81, 0xa5, b'c', b'h', b'u', b'n', b'k', 0xa1, b'1']);
        data.extend([0xc0, 0xff]); // the next value starts here
        let expected = read(&data).map(|(_, used)| used);
        assert_eq!(expected, Ok(data.len() - 2));
        let mut scanner = Scanner::default();
        for end in 0..data.len() {
            match scanner.advance(&data[..end]) {
                Ok(None) => assert!(end < data.len() - 2, "{end}"),
                Ok(Some(length)) => {
                    assert_eq!(length, data.len() - 2);
                    return;
                }
                Err(error) => panic!("{end}: {error}"),
            }
        }
        panic!("never complete");
    }

    #[test]
    fn the_scanner_bounds_depth_and_refuses_0xc1() {
        assert!(Scanner::default().advance(&[0x91; MAX_DEPTH + 3]).is_err());
        assert!(Scanner::default().advance(&[0x92, 0x01, 0xc1]).is_err());
        assert_eq!(
            Scanner::default().advance(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Ok(None)
        );
    }

    #[test]
    fn huge_claims_do_not_allocate_and_depth_is_bounded() {
        // An array32 claiming 4 billion items, with two present.
        assert_eq!(
            read(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]),
            Err(ReadError::Incomplete)
        );
        assert_eq!(
            read(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
            Err(ReadError::Incomplete)
        );
        let deep = vec![0x91; MAX_DEPTH + 2];
        assert!(matches!(read(&deep), Err(ReadError::Invalid(_))));
        assert!(matches!(read(&[0xc1]), Err(ReadError::Invalid(_))));
    }
}
