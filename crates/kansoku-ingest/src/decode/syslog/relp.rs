//! RELP (the Reliable Event Logging Protocol of rsyslog's `omrelp`) frames:
//! `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. The session (`open`, `syslog`, `close`, and the
//! `rsp` answers) is driven by the server; this module only cuts frames out of the stream.

use bytes::{Buf, Bytes, BytesMut};

/// Longest command name RELP allows.
const MAX_COMMAND: usize = 32;
/// Digits of a transaction number or a data length.
const MAX_DIGITS: usize = 9;

/// One RELP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelpFrame {
    /// Transaction number (the answer carries it back).
    pub txnr: u64,
    /// `open`, `syslog`, `close`, …
    pub command: String,
    /// The frame's data.
    pub data: Bytes,
}

/// What [`next_frame`] cut off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relp {
    /// A whole frame.
    Frame(RelpFrame),
    /// A frame whose data is over the limit: its header is consumed; the caller discards the
    /// next `skip` bytes (its data and LF) and answers `txnr`.
    TooLarge {
        /// Transaction number.
        txnr: u64,
        /// Its data length.
        length: usize,
        /// Bytes still to discard.
        skip: usize,
    },
}

/// The next complete frame in `buffer` (consumed), `Ok(None)` until more bytes come, or why the
/// stream is not RELP (the connection is then closed).
pub fn next_frame(buffer: &mut BytesMut, max_data: usize) -> Result<Option<Relp>, String> {
    let Some((txnr, after_txnr)) = number(buffer, 0, "transaction number")? else {
        return Ok(None);
    };
    let command_end = buffer[after_txnr..]
        .iter()
        .take(MAX_COMMAND + 1)
        .position(|b| *b == b' ');
    let Some(command_len) = command_end else {
        if buffer.len() - after_txnr > MAX_COMMAND {
            return Err("a RELP command is longer than 32 characters".to_string());
        }
        return Ok(None);
    };
    let command = &buffer[after_txnr..after_txnr + command_len];
    if command.is_empty() || !command.iter().all(u8::is_ascii_alphabetic) {
        return Err("a RELP command must be letters".to_string());
    }
    let command = String::from_utf8_lossy(command).into_owned();
    let length_start = after_txnr + command_len + 1;
    let Some((length, after_length)) = number_until(buffer, length_start, "data length")? else {
        return Ok(None);
    };
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    // DATALEN is followed by SP DATA LF, or by LF alone when it is 0.
    let data_start = if length == 0 {
        after_length
    } else {
        after_length + 1
    };
    if length > max_data {
        if buffer.len() < data_start {
            return Ok(None);
        }
        buffer.advance(data_start);
        return Ok(Some(Relp::TooLarge {
            txnr,
            length,
            skip: length.saturating_add(1),
        }));
    }
    let trailer = data_start + length;
    if buffer.len() <= trailer {
        return Ok(None);
    }
    if length > 0 && buffer[after_length] != b' ' {
        return Err("a RELP data length must be followed by a space".to_string());
    }
    if buffer[trailer] != b'\n' {
        return Err("a RELP frame must end with LF after its data".to_string());
    }
    let mut frame = buffer.split_to(trailer + 1);
    frame.advance(data_start);
    frame.truncate(length);
    Ok(Some(Relp::Frame(RelpFrame {
        txnr,
        command,
        data: frame.freeze(),
    })))
}

/// Digits at `start` ended by a space → (value, index after the space).
fn number(buffer: &[u8], start: usize, what: &str) -> Result<Option<(u64, usize)>, String> {
    let Some((value, end)) = digits_then(buffer, start, what, |b| b == b' ')? else {
        return Ok(None);
    };
    Ok(Some((value, end + 1)))
}

/// Digits at `start` ended by a space or LF → (value, index of that byte).
fn number_until(buffer: &[u8], start: usize, what: &str) -> Result<Option<(u64, usize)>, String> {
    digits_then(buffer, start, what, |b| matches!(b, b' ' | b'\n'))
}

/// At most [`MAX_DIGITS`] digits at `start` followed by a byte `ends` accepts → (value, index
/// of that byte); `Ok(None)` while the buffer ends first.
fn digits_then(
    buffer: &[u8],
    start: usize,
    what: &str,
    ends: impl Fn(u8) -> bool,
) -> Result<Option<(u64, usize)>, String> {
    let digits = buffer[start.min(buffer.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let end = start + digits;
    if digits > MAX_DIGITS {
        return Err(format!("a RELP {what} has more than {MAX_DIGITS} digits"));
    }
    let Some(&next) = buffer.get(end) else {
        return Ok(None);
    };
    if digits == 0 || !ends(next) {
        return Err(format!("a RELP frame has no valid {what}"));
    }
    Ok(Some((parse_digits(&buffer[start..end]), end)))
}

fn parse_digits(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0, |value, digit| value * 10 + u64::from(digit - b'0'))
}

/// An answer frame: `TXNR rsp LEN DATA LF`.
pub fn response(txnr: u64, data: &str) -> Vec<u8> {
    let mut frame = format!("{txnr} rsp {}", data.len()).into_bytes();
    if !data.is_empty() {
        frame.push(b' ');
        frame.extend_from_slice(data.as_bytes());
    }
    frame.push(b'\n');
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere() {
        let stream =
            b"1 open 30 relp_version=0\ncommands=syslog\n2 syslog 9 <13>hello\n3 close 0\n";
        for cut in 0..stream.len() {
            let mut buffer = BytesMut::from(&stream[..cut]);
            let mut got = Vec::new();
            let mut take = |buffer: &mut BytesMut| {
                while let Some(item) =
                    next_frame(buffer, 100).unwrap_or_else(|e| panic!("{cut}: {e}"))
                {
                    match item {
                        Relp::Frame(frame) => got.push(frame),
                        Relp::TooLarge { .. } => panic!("{cut}: too large"),
                    }
                }
            };
            take(&mut buffer);
            buffer.extend_from_slice(&stream[cut..]);
            take(&mut buffer);
            let summary: Vec<_> = got
                .iter()
                .map(|f| {
                    (
                        f.txnr,
                        f.command.as_str(),
                        String::from_utf8_lossy(&f.data).into_owned(),
                    )
                })
                .collect();
            assert_eq!(
                summary,
                vec![
                    (1, "open", "relp_version=0\ncommands=syslog".to_string()),
                    (2, "syslog", "<13>hello".to_string()),
                    (3, "close", String::new()),
                ],
                "cut at {cut}"
            );
            assert!(buffer.is_empty());
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        for bad in [
            &b"x open 0\n"[..],
            b"1 op3n 0\n",
            b"1 syslog 3 abcX",
            b"1 syslog 3abc\n",
            b"1234567890 open 0\n",
        ] {
            let mut buffer = BytesMut::from(bad);
            assert!(
                next_frame(&mut buffer, 100).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn an_oversized_frame_is_reported_with_what_to_skip() {
        let mut buffer = BytesMut::from(&b"7 syslog 999 xxxx"[..]);
        assert_eq!(
            next_frame(&mut buffer, 100),
            Ok(Some(Relp::TooLarge {
                txnr: 7,
                length: 999,
                skip: 1000
            }))
        );
        assert_eq!(&buffer[..], b"xxxx");
    }

    #[test]
    fn answers() {
        assert_eq!(response(7, "200 OK"), b"7 rsp 6 200 OK\n");
        assert_eq!(response(0, ""), b"0 rsp 0\n");
    }
}
