//! CRI (containerd, CRI-O) log lines: `<RFC 3339 time> <stdout|stderr> <P|F>[:…] <text>`, as the
//! kubelet writes them under `/var/log/pods`. A line longer than the runtime's buffer is split
//! into partial (`P`) lines ended by a full (`F`) one.

/// One parsed line, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriLine<'a> {
    /// The time, as written.
    pub time: &'a str,
    /// `stdout` or `stderr`.
    pub stream: &'a str,
    /// `P` (partial) or `F` (full), as written with any further tags.
    pub tag: &'a str,
    /// Whether this part continues in the next line.
    pub partial: bool,
    /// The text.
    pub text: &'a str,
}

/// Reads a CRI line; `None` when it is not one (the record is then left as it is).
pub fn parse(line: &str) -> Option<CriLine<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let (stream, rest) = rest.split_once(' ')?;
    // The text may be empty: `<time> stdout F ` or even no space after the tag.
    let (tag, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let looks_like_time = time.len() >= 20
        && time.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && time.as_bytes()[4] == b'-'
        && time.contains('T');
    if !looks_like_time || !matches!(stream, "stdout" | "stderr") {
        return None;
    }
    let kind = tag.split(':').next().unwrap_or("");
    let partial = match kind {
        "P" => true,
        "F" => false,
        _ => return None,
    };
    Some(CriLine {
        time,
        stream,
        tag: kind,
        partial,
        text: text.strip_suffix('\n').unwrap_or(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_other_text_does_not() {
        let line = parse("2025-12-01T10:00:00.123456789Z stderr P part one ").unwrap();
        assert_eq!(line.time, "2025-12-01T10:00:00.123456789Z");
        assert_eq!(line.stream, "stderr");
        assert!(line.partial);
        assert_eq!(line.text, "part one ");
        let full = parse("2025-12-01T10:00:00+09:00 stdout F:x {\"a\": 1}").unwrap();
        assert!(!full.partial);
        assert_eq!(full.tag, "F");
        assert_eq!(full.text, "{\"a\": 1}");
        assert_eq!(parse("2025-12-01T10:00:00.1Z stdout F").unwrap().text, "");
        for not_cri in [
            "plain text",
            "{\"log\": \"docker json\"}",
            "2025-12-01T10:00:00Z stdin F x",
            "2025-12-01T10:00:00Z stdout X x",
            "yesterday-at-noon-ok stdout F x",
            "",
        ] {
            assert_eq!(parse(not_cri), None, "{not_cri}");
        }
    }
}
