//! One syslog message's header: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`),
//! else RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, or with an RFC 3339 time as
//! rsyslog and syslog-ng forward it), else the whole text as the message with PRI 13
//! (user.notice), as RFC 3164 §4.3.3 tells a relay to do.

use jiff::tz::TimeZone;

use crate::timestamp::shorten;

/// RFC 5424's facility keywords, by code (12–15 as syslog-ng names them).
pub const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Severity keywords, by code.
pub const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// The PRI assumed for a message without one (user.notice).
const DEFAULT_PRI: u8 = 13;

/// A parsed message; absent parts are `None`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Header<'a> {
    /// Facility code (0–23).
    pub facility: u8,
    /// Severity code (0–7).
    pub severity: u8,
    /// Event time (µs since the epoch) from the header.
    pub timestamp_micros: Option<i64>,
    /// HOSTNAME.
    pub hostname: Option<&'a str>,
    /// APP-NAME (RFC 5424) or TAG (RFC 3164).
    pub appname: Option<&'a str>,
    /// PROCID, or the TAG's `[pid]`.
    pub procid: Option<&'a str>,
    /// MSGID (RFC 5424).
    pub msgid: Option<&'a str>,
    /// Structured data as `(sd-id, param-name, value)` (RFC 5424).
    pub structured_data: Vec<(&'a str, &'a str, String)>,
    /// MSG.
    pub message: &'a str,
    /// Why the header could not be read as its format (the text after PRI is then `message`).
    pub error: Option<String>,
}

/// Parses `text`; never fails: what cannot be read as a header stays in `message`.
pub fn parse<'a>(text: &'a str, zone: &TimeZone, now_micros: i64) -> Header<'a> {
    let (pri, rest) = match split_pri(text) {
        Some(split) => split,
        None => (DEFAULT_PRI, text),
    };
    let mut header = Header {
        facility: pri / 8,
        severity: pri % 8,
        message: rest,
        ..Header::default()
    };
    if let Some(after_version) = rest.strip_prefix("1 ") {
        if let Err(error) = parse_rfc5424(after_version, &mut header) {
            header = Header {
                facility: pri / 8,
                severity: pri % 8,
                message: rest,
                error: Some(error),
                ..Header::default()
            };
        }
        return header;
    }
    parse_rfc3164(rest, zone, now_micros, &mut header);
    header
}

/// `<PRI>` → (PRI, the rest); `None` when the text has no valid PRI.
fn split_pri(text: &str) -> Option<(u8, &str)> {
    let inner = text.strip_prefix('<')?;
    let close = inner.bytes().take(4).position(|b| b == b'>')?;
    let digits = &inner[..close];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pri: u8 = digits.parse().ok()?;
    if pri > 191 {
        return None;
    }
    Some((pri, &inner[close + 1..]))
}

fn parse_rfc5424<'a>(text: &'a str, header: &mut Header<'a>) -> Result<(), String> {
    let (timestamp, rest) = token(text, "TIMESTAMP")?;
    header.timestamp_micros = match timestamp {
        "-" => None,
        raw => Some(
            raw.parse::<jiff::Timestamp>()
                .map_err(|_| format!("invalid RFC 5424 TIMESTAMP '{}'", shorten(raw)))?
                .as_microsecond(),
        ),
    };
    let (hostname, rest) = token(rest, "HOSTNAME")?;
    let (appname, rest) = token(rest, "APP-NAME")?;
    let (procid, rest) = token(rest, "PROCID")?;
    let (msgid, rest) = token(rest, "MSGID")?;
    header.hostname = nil_or(hostname);
    header.appname = nil_or(appname);
    header.procid = nil_or(procid);
    header.msgid = nil_or(msgid);
    let rest = if let Some(rest) = rest.strip_prefix('-') {
        rest
    } else if rest.starts_with('[') {
        parse_structured_data(rest, &mut header.structured_data)?
    } else {
        return Err("RFC 5424 STRUCTURED-DATA must be '-' or start with '['".to_string());
    };
    header.message = match rest.strip_prefix(' ') {
        Some(message) => message.strip_prefix('\u{feff}').unwrap_or(message),
        None if rest.is_empty() => "",
        None => return Err("RFC 5424 STRUCTURED-DATA must be followed by a space".to_string()),
    };
    Ok(())
}

/// The text up to the next space, and the text after it.
fn token<'a>(text: &'a str, what: &str) -> Result<(&'a str, &'a str), String> {
    match text.split_once(' ') {
        Some((token, rest)) if !token.is_empty() => Ok((token, rest)),
        _ => Err(format!("RFC 5424 header ends before its {what}")),
    }
}

fn nil_or(token: &str) -> Option<&str> {
    (token != "-").then_some(token)
}

/// `[id name="value" …][…]` → the text after the last element.
fn parse_structured_data<'a>(
    mut text: &'a str,
    out: &mut Vec<(&'a str, &'a str, String)>,
) -> Result<&'a str, String> {
    while let Some(element) = text.strip_prefix('[') {
        let id_end = element
            .find([' ', ']'])
            .ok_or("unterminated RFC 5424 SD-ELEMENT")?;
        let id = &element[..id_end];
        if id.is_empty() || id.contains(['=', '"']) {
            return Err(format!("invalid RFC 5424 SD-ID '{}'", shorten(id)));
        }
        let mut rest = &element[id_end..];
        loop {
            if let Some(after) = rest.strip_prefix(']') {
                rest = after;
                break;
            }
            let params = rest
                .strip_prefix(' ')
                .ok_or_else(|| format!("malformed RFC 5424 SD-ELEMENT '{}'", shorten(id)))?;
            let (name, after_name) = params
                .split_once("=\"")
                .ok_or_else(|| format!("SD-PARAM without =\"value\" in '{}'", shorten(id)))?;
            if name.is_empty() || name.contains([' ', ']', '"']) {
                return Err(format!("invalid SD-PARAM name '{}'", shorten(name)));
            }
            let (value, after_value) = param_value(after_name)
                .ok_or_else(|| format!("unterminated SD-PARAM value of '{}'", shorten(name)))?;
            out.push((id, name, value));
            rest = after_value;
        }
        text = rest;
    }
    Ok(text)
}

/// A quoted SD-PARAM value (after its opening quote) with `\"`, `\\` and `\]` unescaped.
fn param_value(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[index + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\' | ']'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return None,
            },
            other => value.push(other),
        }
    }
    None
}

fn parse_rfc3164<'a>(text: &'a str, zone: &TimeZone, now_micros: i64, header: &mut Header<'a>) {
    let Some((micros, rest)) = rfc3164_time(text, zone, now_micros) else {
        // Without a time, RFC 3164 makes the rest the content; a tag is still taken.
        take_tag(text, header);
        return;
    };
    header.timestamp_micros = Some(micros);
    let rest = rest.trim_start_matches(' ');
    if let Some((first, after)) = rest.split_once(' ')
        && !looks_like_tag(first)
        && !first.is_empty()
    {
        header.hostname = Some(first);
        take_tag(after, header);
        return;
    }
    take_tag(rest, header);
}

/// `Mmm dd hh:mm:ss` or an RFC 3339 time at the start of `text`, and the text after it.
fn rfc3164_time<'a>(text: &'a str, zone: &TimeZone, now_micros: i64) -> Option<(i64, &'a str)> {
    let bytes = text.as_bytes();
    let classic = bytes.len() >= 15
        && bytes[..15].is_ascii()
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3] == b' '
        && bytes[6] == b' '
        && bytes[9] == b':'
        && bytes[12] == b':'
        && (bytes.len() == 15 || bytes[15] == b' ');
    if classic {
        let micros = crate::timestamp::parse_rfc3164_time(&text[..15], zone, now_micros).ok()?;
        return Some((micros, &text[15..]));
    }
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let (raw, rest) = text.split_once(' ').unwrap_or((text, ""));
    let micros = raw.parse::<jiff::Timestamp>().ok()?.as_microsecond();
    Some((micros, rest))
}

/// A TAG ends in `:` or `[pid]` (at most 48 characters of letters, digits and `-_./@`).
fn looks_like_tag(token: &str) -> bool {
    token.ends_with(':') || (token.contains('[') && token.ends_with([']', ':']))
}

/// `TAG[PID]: MSG` or `TAG: MSG` → appname, procid, message; else all of `text` is the message.
fn take_tag<'a>(text: &'a str, header: &mut Header<'a>) {
    header.message = text;
    let Some(end) = text.find(['[', ':', ' ']) else {
        return;
    };
    let tag = &text[..end];
    let tag_chars = |c: char| c.is_ascii_alphanumeric() || "-_./@".contains(c);
    if tag.is_empty() || tag.len() > 48 || !tag.chars().all(tag_chars) {
        return;
    }
    let mut rest = &text[end..];
    let mut procid = None;
    if let Some(after_open) = rest.strip_prefix('[') {
        let Some((pid, after_close)) = after_open.split_once(']') else {
            return;
        };
        if pid.is_empty() || pid.contains(' ') {
            return;
        }
        procid = Some(pid);
        rest = after_close;
    }
    let message = if let Some(after_colon) = rest.strip_prefix(':') {
        after_colon.strip_prefix(' ').unwrap_or(after_colon)
    } else if procid.is_some()
        && let Some(after_space) = rest.strip_prefix(' ')
    {
        after_space
    } else {
        return;
    };
    header.appname = Some(tag);
    header.procid = procid;
    header.message = message;
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_558_000_000_000; // 2025-12-01T03:00:00Z

    fn parse_utc(text: &str) -> Header<'_> {
        parse(text, &TimeZone::UTC, NOW)
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let text = r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic\]ation"][meta sequenceId="1"] ﻿An application event"#;
        let header = parse_utc(text);
        assert_eq!(header.error, None);
        assert_eq!((header.facility, header.severity), (20, 5));
        assert_eq!(header.timestamp_micros, Some(1_065_910_455_003_000));
        assert_eq!(header.hostname, Some("mymachine.example.com"));
        assert_eq!(header.appname, Some("evntslog"));
        assert_eq!(header.procid, None);
        assert_eq!(header.msgid, Some("ID47"));
        assert_eq!(
            header.structured_data,
            vec![
                ("exampleSDID@32473", "iut", "3".to_string()),
                (
                    "exampleSDID@32473",
                    "eventSource",
                    "Appl\"ic]ation".to_string()
                ),
                ("meta", "sequenceId", "1".to_string()),
            ]
        );
        assert_eq!(header.message, "An application event");
    }

    #[test]
    fn rfc5424_all_nil_and_no_message() {
        let header = parse_utc("<14>1 - - - - - -");
        assert_eq!(header.error, None);
        assert_eq!((header.facility, header.severity), (1, 6));
        assert_eq!(header.timestamp_micros, None);
        assert_eq!(header.hostname, None);
        assert_eq!(header.message, "");
    }

    #[test]
    fn rfc5424_offset_time() {
        let header =
            parse_utc("<34>1 2003-08-24T05:14:15.000003-07:00 host su 77 - - 'su root' failed");
        assert_eq!(header.timestamp_micros, Some(1_061_727_255_000_003));
        assert_eq!(header.procid, Some("77"));
        assert_eq!(header.message, "'su root' failed");
    }

    #[test]
    fn malformed_rfc5424_keeps_the_text_and_says_why() {
        for (text, why) in [
            ("<14>1 yesterday host app - - - hi", "TIMESTAMP"),
            ("<14>1 - host app", "APP-NAME"),
            ("<14>1 - h a p m [unterminated x=\"1\"", "unterminated"),
            ("<14>1 - h a p m oops hi", "STRUCTURED-DATA"),
            ("<14>1 - h a p m [id x=1] hi", "=\"value\""),
        ] {
            let header = parse_utc(text);
            let error = header.error.clone().unwrap_or_default();
            assert!(error.contains(why), "{text}: {error}");
            assert_eq!(header.message, &text[4..], "{text}");
            assert_eq!((header.facility, header.severity), (1, 6));
        }
    }

    #[test]
    fn rfc3164_classic() {
        let header =
            parse_utc("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick");
        assert_eq!(header.error, None);
        assert_eq!((header.facility, header.severity), (4, 2));
        assert_eq!(header.hostname, Some("mymachine"));
        assert_eq!(header.appname, Some("su"));
        assert_eq!(header.procid, Some("123"));
        assert_eq!(header.message, "'su root' failed for lonvick");
        // October 11th before a December 1st "now": this year.
        assert_eq!(header.timestamp_micros, Some(1_760_220_855_000_000));
    }

    #[test]
    fn rfc3164_year_rolls_back_for_a_date_ahead() {
        // December 31st seen on the 1st of December: last year's.
        let header = parse_utc("<13>Dec 31 23:59:59 host app: end of year");
        assert_eq!(header.timestamp_micros, Some(1_735_689_599_000_000));
    }

    #[test]
    fn rfc3164_single_digit_day_and_no_host() {
        let header = parse_utc("<13>Dec  1 02:00:00 myapp: no host here");
        assert_eq!(header.hostname, None);
        assert_eq!(header.appname, Some("myapp"));
        assert_eq!(header.message, "no host here");
        assert_eq!(header.timestamp_micros, Some(1_764_554_400_000_000));
    }

    #[test]
    fn rfc3164_with_rfc3339_time_as_relays_send_it() {
        let header = parse_utc("<30>2025-12-01T02:59:58.123456+00:00 node-1 kubelet[991]: started");
        assert_eq!(header.timestamp_micros, Some(1_764_557_998_123_456));
        assert_eq!(header.hostname, Some("node-1"));
        assert_eq!(header.appname, Some("kubelet"));
        assert_eq!(header.procid, Some("991"));
        assert_eq!(header.message, "started");
    }

    #[test]
    fn rfc3164_without_tag_keeps_everything_as_message() {
        let header = parse_utc("<13>Dec  1 02:00:00 host just some words");
        assert_eq!(header.hostname, Some("host"));
        assert_eq!(header.appname, None);
        assert_eq!(header.message, "just some words");
    }

    #[test]
    fn no_or_invalid_pri_is_user_notice_with_the_whole_text() {
        for text in [
            "plain line",
            "<192>too big",
            "<x>letters",
            "<13",
            "<>empty",
            "",
        ] {
            let header = parse_utc(text);
            assert_eq!((header.facility, header.severity), (1, 5), "{text}");
            assert_eq!(header.message, text, "{text}");
            assert_eq!(header.timestamp_micros, None, "{text}");
        }
    }

    #[test]
    fn pri_bounds() {
        assert_eq!(split_pri("<0>x"), Some((0, "x")));
        assert_eq!(split_pri("<191>x"), Some((191, "x")));
        assert_eq!(split_pri("<1234>x"), None);
        assert_eq!(FACILITIES[23], "local7");
        assert_eq!(SEVERITIES[3], "err");
    }
}
