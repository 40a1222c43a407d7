//! RFC 6587 framing of syslog over a byte stream (TCP, TLS): octet counting (`LEN SP MSG`,
//! recognised when the frame starts with digits, a space and `<`) or non-transparent framing
//! (a message per line, ended by LF or NUL, a trailing CR dropped). The choice is made per
//! frame, as rsyslog does, so a sender may mix them. A frame longer than the limit is skipped
//! and reported, never buffered whole.

use bytes::{Buf, Bytes, BytesMut};

/// One frame taken from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A message's bytes (without framing).
    Message(Bytes),
    /// A frame that was skipped, and why.
    Refused(String),
}

/// Octet-count digits accepted before the space (a 4 GiB count is 10 digits).
const MAX_COUNT_DIGITS: usize = 10;

/// What the framer is in the middle of skipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// The rest of an oversized octet-counted frame.
    Octets(usize),
    /// The rest of an oversized line.
    ToLineEnd,
}

/// Cuts frames out of a connection's buffer.
#[derive(Debug)]
pub struct Framer {
    max_frame_bytes: usize,
    skip: Skip,
    /// Bytes at the buffer's start already searched for a line end (so a long line that
    /// trickles in is searched once, not again at every read).
    line_scanned: usize,
}

impl Framer {
    /// A framer refusing frames larger than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Framer {
        Framer {
            max_frame_bytes: max_frame_bytes.max(1),
            skip: Skip::Nothing,
            line_scanned: 0,
        }
    }

    /// The next complete frame in `buffer` (consumed from it), or `None` until more bytes come.
    /// Empty lines are not frames.
    pub fn next_frame(&mut self, buffer: &mut BytesMut) -> Option<Frame> {
        loop {
            if !self.skip_pending(buffer) {
                return None;
            }
            if buffer.is_empty() {
                return None;
            }
            match octet_count(buffer) {
                CountPrefix::Count { digits, length } => {
                    return self.counted_frame(buffer, digits, length);
                }
                CountPrefix::NeedMore => return None,
                CountPrefix::NotCounted => match self.line_frame(buffer) {
                    LineFrame::Frame(frame) => return Some(frame),
                    LineFrame::Empty => {}
                    LineFrame::NeedMore => return None,
                },
            }
        }
    }

    /// At the end of the stream: the last line if it had no terminator (a partial
    /// octet-counted frame is reported as cut short).
    pub fn finish(&mut self, buffer: &mut BytesMut) -> Option<Frame> {
        let skipped = self.skip != Skip::Nothing;
        self.skip = Skip::Nothing;
        self.line_scanned = 0;
        if buffer.is_empty() || skipped {
            buffer.clear();
            return None;
        }
        let rest = buffer.split().freeze();
        if let CountPrefix::Count { length, .. } = octet_count(&rest) {
            return Some(Frame::Refused(format!(
                "the connection closed inside an octet-counted frame of {length} bytes"
            )));
        }
        let message = trim_line(rest);
        (!message.is_empty()).then_some(Frame::Message(message))
    }

    /// Drops bytes being skipped; `false` while more must be skipped than the buffer holds.
    fn skip_pending(&mut self, buffer: &mut BytesMut) -> bool {
        match self.skip {
            Skip::Nothing => true,
            Skip::Octets(remaining) => {
                let available = remaining.min(buffer.len());
                buffer.advance(available);
                if available < remaining {
                    self.skip = Skip::Octets(remaining - available);
                    return false;
                }
                self.skip = Skip::Nothing;
                true
            }
            Skip::ToLineEnd => match buffer.iter().position(|&b| matches!(b, b'\n' | 0)) {
                Some(end) => {
                    buffer.advance(end + 1);
                    self.skip = Skip::Nothing;
                    true
                }
                None => {
                    buffer.clear();
                    false
                }
            },
        }
    }

    fn counted_frame(
        &mut self,
        buffer: &mut BytesMut,
        digits: usize,
        length: usize,
    ) -> Option<Frame> {
        if length > self.max_frame_bytes {
            buffer.advance(digits + 1);
            self.skip = Skip::Octets(length);
            return Some(Frame::Refused(too_large(length, self.max_frame_bytes)));
        }
        if buffer.len() < digits + 1 + length {
            return None;
        }
        buffer.advance(digits + 1);
        let message = buffer.split_to(length).freeze();
        Some(Frame::Message(trim_line(message)))
    }

    fn line_frame(&mut self, buffer: &mut BytesMut) -> LineFrame {
        let from = self.line_scanned.min(buffer.len());
        let found = buffer[from..]
            .iter()
            .position(|&b| matches!(b, b'\n' | 0))
            .map(|offset| from + offset);
        let Some(end) = found else {
            self.line_scanned = buffer.len();
            if buffer.len() > self.max_frame_bytes {
                let seen = buffer.len();
                buffer.clear();
                self.line_scanned = 0;
                self.skip = Skip::ToLineEnd;
                return LineFrame::Frame(Frame::Refused(format!(
                    "a line longer than {seen} bytes exceeds the {} byte limit (KANSOKU_MAX_RECORD_BYTES)",
                    self.max_frame_bytes
                )));
            }
            return LineFrame::NeedMore;
        };
        self.line_scanned = 0;
        let line = buffer.split_to(end + 1).freeze();
        let message = trim_line(line);
        if message.is_empty() {
            return LineFrame::Empty;
        }
        if message.len() > self.max_frame_bytes {
            return LineFrame::Frame(Frame::Refused(too_large(
                message.len(),
                self.max_frame_bytes,
            )));
        }
        LineFrame::Frame(Frame::Message(message))
    }
}

enum LineFrame {
    Frame(Frame),
    Empty,
    NeedMore,
}

enum CountPrefix {
    Count { digits: usize, length: usize },
    NotCounted,
    NeedMore,
}

/// Whether `buffer` starts with `LEN SP <`.
fn octet_count(buffer: &[u8]) -> CountPrefix {
    let digits = buffer
        .iter()
        .take(MAX_COUNT_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || buffer[0] == b'0' || digits > MAX_COUNT_DIGITS {
        return CountPrefix::NotCounted;
    }
    match buffer.get(digits) {
        None => return CountPrefix::NeedMore,
        Some(b' ') => {}
        Some(_) => return CountPrefix::NotCounted,
    }
    match buffer.get(digits + 1) {
        None => return CountPrefix::NeedMore,
        Some(b'<') => {}
        Some(_) => return CountPrefix::NotCounted,
    }
    let length = std::str::from_utf8(&buffer[..digits])
        .ok()
        .and_then(|text| text.parse::<usize>().ok());
    match length {
        Some(length) => CountPrefix::Count { digits, length },
        None => CountPrefix::NotCounted,
    }
}

/// Drops the line terminator and trailing CRs (and LFs some senders put inside counted frames).
/// Why a frame of `length` bytes is refused.
pub fn too_large(length: usize, max_frame_bytes: usize) -> String {
    format!(
        "a frame of {length} bytes exceeds the {max_frame_bytes} byte limit (KANSOKU_MAX_RECORD_BYTES)"
    )
}

/// A message that arrives whole (a UDP datagram, a RELP frame's data) as a frame: its
/// terminator dropped, one over `max_frame_bytes` refused, an empty one none.
pub fn whole_message(bytes: &[u8], max_frame_bytes: usize) -> Option<Frame> {
    let message = trim_line(Bytes::copy_from_slice(bytes));
    if message.is_empty() {
        return None;
    }
    if message.len() > max_frame_bytes {
        return Some(Frame::Refused(too_large(message.len(), max_frame_bytes)));
    }
    Some(Frame::Message(message))
}

fn trim_line(mut line: Bytes) -> Bytes {
    while let Some(last) = line.last().copied()
        && matches!(last, b'\n' | b'\r' | 0)
    {
        line.truncate(line.len() - 1);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framer: &mut Framer, buffer: &mut BytesMut) -> Vec<Frame> {
        std::iter::from_fn(|| framer.next_frame(buffer)).collect()
    }

    fn message(text: &str) -> Frame {
        Frame::Message(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn lines_with_lf_crlf_and_nul() {
        let mut framer = Framer::new(100);
        let mut buffer = BytesMut::from(&b"<13>one\n<13>two\r\n\n<13>three\0<13>part"[..]);
        assert_eq!(
            frames(&mut framer, &mut buffer),
            vec![message("<13>one"), message("<13>two"), message("<13>three")]
        );
        buffer.extend_from_slice(b"ial\n");
        assert_eq!(
            frames(&mut framer, &mut buffer),
            vec![message("<13>partial")]
        );
        assert!(buffer.is_empty());
    }

    #[test]
    fn octet_counting_mixed_with_lines_and_split_anywhere() {
        let stream = b"11 <13>a\nb c d8 <14>x yz<15>line\n";
        let expected = vec![
            message("<13>a\nb c d"),
            message("<14>x yz"),
            message("<15>line"),
        ];
        for cut in 0..stream.len() {
            let mut framer = Framer::new(100);
            let mut buffer = BytesMut::from(&stream[..cut]);
            let mut got = frames(&mut framer, &mut buffer);
            buffer.extend_from_slice(&stream[cut..]);
            got.extend(frames(&mut framer, &mut buffer));
            assert_eq!(got, expected, "cut at {cut}");
        }
    }

    #[test]
    fn digits_not_followed_by_a_pri_are_a_line() {
        let mut framer = Framer::new(100);
        let mut buffer = BytesMut::from(&b"2026-12-01 started\n12 apples\n"[..]);
        assert_eq!(
            frames(&mut framer, &mut buffer),
            vec![message("2026-12-01 started"), message("12 apples")]
        );
    }

    #[test]
    fn oversized_counted_frame_is_skipped_and_the_next_one_read() {
        let mut framer = Framer::new(10);
        let mut buffer = BytesMut::from(&b"20 <13>0123456789012345"[..]);
        let got = frames(&mut framer, &mut buffer);
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0], Frame::Refused(why) if why.contains("20 bytes")));
        buffer.extend_from_slice(b"6 <13>ok");
        assert_eq!(frames(&mut framer, &mut buffer), vec![message("<13>ok")]);
    }

    #[test]
    fn oversized_line_is_skipped_without_buffering_it() {
        let mut framer = Framer::new(10);
        let mut buffer = BytesMut::from(&b"<13>a very long line"[..]);
        let got = frames(&mut framer, &mut buffer);
        assert!(matches!(&got[..], [Frame::Refused(_)]));
        assert!(buffer.is_empty());
        buffer.extend_from_slice(b" still going\n<13>next\n");
        assert_eq!(frames(&mut framer, &mut buffer), vec![message("<13>next")]);
    }

    #[test]
    fn finish_keeps_an_unterminated_line_and_reports_a_cut_frame() {
        let mut framer = Framer::new(100);
        let mut buffer = BytesMut::from(&b"<13>last words"[..]);
        assert_eq!(frames(&mut framer, &mut buffer), vec![]);
        assert_eq!(framer.finish(&mut buffer), Some(message("<13>last words")));
        let mut buffer = BytesMut::from(&b"50 <13>short"[..]);
        assert_eq!(frames(&mut framer, &mut buffer), vec![]);
        assert!(matches!(
            framer.finish(&mut buffer),
            Some(Frame::Refused(_))
        ));
    }
}
