//! A protobuf wire-format reader over a borrowed buffer, for the decoders that must not copy
//! (remote_write 1.0 borrows every label string from the decompressed body).
//!
//! It follows prost's decoding rules so both decoders agree on every input (a property test
//! in `remote_write_v1` checks that): keys above `u32::MAX`, tag 0 and wire types 6 and 7 are
//! errors; varints longer than ten bytes are errors; unknown fields (groups included) are
//! skipped; a length running past its message is an error.

use std::fmt;

/// Why a buffer is not valid protobuf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How deep groups may nest while being skipped (prost's recursion limit).
const MAX_GROUP_DEPTH: u32 = 100;

/// A protobuf field's wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint.
    Varint,
    /// 1: eight bytes.
    Fixed64,
    /// 2: a length, then that many bytes.
    LengthDelimited,
    /// 3: a group starts (deprecated; skipped).
    StartGroup,
    /// 4: a group ends.
    EndGroup,
    /// 5: four bytes.
    Fixed32,
}

/// Reads fields from one message's bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over a whole message.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Whether every field was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next field's tag and wire type.
    pub fn key(&mut self) -> Result<(u32, WireType), WireError> {
        let key = self.varint()?;
        let key = u32::try_from(key).map_err(|_| WireError(format!("invalid key value: {key}")))?;
        let wire_type = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            other => return Err(WireError(format!("invalid wire type value: {other}"))),
        };
        let tag = key >> 3;
        if tag == 0 {
            return Err(WireError("invalid tag value: 0".to_string()));
        }
        Ok((tag, wire_type))
    }

    /// A varint (at most ten bytes).
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for (index, &byte) in self.bytes.iter().enumerate().take(10) {
            // The tenth byte may only carry the top bit of a u64.
            if index == 9 && byte > 1 {
                return Err(WireError("invalid varint".to_string()));
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                self.bytes = &self.bytes[index + 1..];
                return Ok(value);
            }
        }
        if self.bytes.len() < 10 {
            return Err(WireError("buffer underflow".to_string()));
        }
        Err(WireError("invalid varint".to_string()))
    }

    /// Eight little-endian bytes.
    pub fn fixed64(&mut self) -> Result<u64, WireError> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<8>() else {
            return Err(WireError("buffer underflow".to_string()));
        };
        self.bytes = rest;
        Ok(u64::from_le_bytes(*head))
    }

    /// A length-delimited field's bytes.
    pub fn length_delimited(&mut self) -> Result<&'a [u8], WireError> {
        let length = self.varint()?;
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.bytes.len())
            .ok_or_else(|| WireError("buffer underflow".to_string()))?;
        let (field, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(field)
    }

    /// A string field, which must be UTF-8.
    pub fn string(&mut self) -> Result<&'a str, WireError> {
        let bytes = self.length_delimited()?;
        std::str::from_utf8(bytes)
            .map_err(|_| WireError("invalid string value: data is not UTF-8 encoded".to_string()))
    }

    /// The bytes of length-delimited field `tag`, whose key (with `wire_type`) was just read.
    pub fn bytes_field(&mut self, tag: u32, wire_type: WireType) -> Result<&'a [u8], WireError> {
        self.expect(tag, wire_type, WireType::LengthDelimited)?;
        self.length_delimited()
    }

    /// The text of string field `tag`, whose key (with `wire_type`) was just read.
    pub fn string_field(&mut self, tag: u32, wire_type: WireType) -> Result<&'a str, WireError> {
        self.expect(tag, wire_type, WireType::LengthDelimited)?;
        self.string()
    }

    /// The value of varint field `tag`, whose key (with `wire_type`) was just read.
    pub fn varint_field(&mut self, tag: u32, wire_type: WireType) -> Result<u64, WireError> {
        self.expect(tag, wire_type, WireType::Varint)?;
        self.varint()
    }

    /// The value of 64-bit field `tag`, whose key (with `wire_type`) was just read.
    pub fn fixed64_field(&mut self, tag: u32, wire_type: WireType) -> Result<u64, WireError> {
        self.expect(tag, wire_type, WireType::Fixed64)?;
        self.fixed64()
    }

    /// A field of wire type `expected`, refusing another one (prost's "invalid wire type").
    fn expect(&self, tag: u32, found: WireType, expected: WireType) -> Result<(), WireError> {
        if found == expected {
            return Ok(());
        }
        Err(WireError(format!(
            "invalid wire type: {found:?} (expected {expected:?}) in field {tag}"
        )))
    }

    /// Skips the value of a field whose key was just read.
    pub fn skip(&mut self, tag: u32, wire_type: WireType) -> Result<(), WireError> {
        self.skip_nested(tag, wire_type, MAX_GROUP_DEPTH)
    }

    fn skip_nested(&mut self, tag: u32, wire_type: WireType, depth: u32) -> Result<(), WireError> {
        if depth == 0 {
            return Err(WireError("recursion limit reached".to_string()));
        }
        match wire_type {
            WireType::Varint => self.varint().map(|_| ()),
            WireType::Fixed64 => self.advance(8),
            WireType::Fixed32 => self.advance(4),
            WireType::LengthDelimited => self.length_delimited().map(|_| ()),
            WireType::StartGroup => loop {
                let (inner_tag, inner_type) = self.key()?;
                if inner_type == WireType::EndGroup {
                    if inner_tag != tag {
                        return Err(WireError("unexpected end group tag".to_string()));
                    }
                    return Ok(());
                }
                self.skip_nested(inner_tag, inner_type, depth - 1)?;
            },
            WireType::EndGroup => Err(WireError("unexpected end group tag".to_string())),
        }
    }

    fn advance(&mut self, count: usize) -> Result<(), WireError> {
        if count > self.bytes.len() {
            return Err(WireError("buffer underflow".to_string()));
        }
        self.bytes = &self.bytes[count..];
        Ok(())
    }
}

/// Checks that `bytes` is a well-formed message whose fields are all ignored (a native
/// histogram, which is counted, not decoded).
pub fn check_skipped_message(bytes: &[u8]) -> Result<(), WireError> {
    let mut reader = Reader::new(bytes);
    while !reader.is_empty() {
        let (tag, wire_type) = reader.key()?;
        reader.skip(tag, wire_type)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_refuse_overlong_or_cut_input() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint(), Ok(150));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint(), Ok(u64::MAX));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(Reader::new(&too_big).varint().is_err());
        assert!(Reader::new(&[0x80, 0x80]).varint().is_err());
        assert!(Reader::new(&[]).varint().is_err());
    }

    #[test]
    fn keys_refuse_tag_zero_and_unknown_wire_types() {
        assert_eq!(
            Reader::new(&[0x0a]).key(),
            Ok((1, WireType::LengthDelimited))
        );
        assert!(Reader::new(&[0x02]).key().is_err());
        assert!(Reader::new(&[0x0e]).key().is_err());
        assert!(Reader::new(&[0x0f]).key().is_err());
    }

    #[test]
    fn groups_are_skipped_only_when_closed_by_their_own_tag() {
        // field 1 group { field 2 varint 5 } end group 1, then nothing.
        let mut reader = Reader::new(&[0x0b, 0x10, 0x05, 0x0c]);
        let (tag, wire_type) = reader.key().unwrap_or((0, WireType::Varint));
        assert_eq!(reader.skip(tag, wire_type), Ok(()));
        assert!(reader.is_empty());
        let mut wrong_end = Reader::new(&[0x0b, 0x14]);
        let (tag, wire_type) = wrong_end.key().unwrap_or((0, WireType::Varint));
        assert!(wrong_end.skip(tag, wire_type).is_err());
        // Groups nested deeper than the limit are refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 200).collect();
        let mut reader = Reader::new(&deep);
        let (tag, wire_type) = reader.key().unwrap_or((0, WireType::Varint));
        assert!(reader.skip(tag, wire_type).is_err());
    }

    #[test]
    fn lengths_past_the_end_are_refused() {
        assert!(Reader::new(&[0x05, b'a']).length_delimited().is_err());
        assert_eq!(Reader::new(&[0x01, b'a']).string(), Ok("a"));
        assert!(Reader::new(&[0x01, 0xff]).string().is_err());
        assert!(Reader::new(&[0x01, 0x02]).fixed64().is_err());
    }
}
