//! Finding and parsing a record's event time.
//!
//! Sources, in order: the field `_timestamp` (which is also where `@timestamp` lands after name
//! normalisation), then the stream's timestamp fields (default `timestamp`, `time`, `ts`). If none
//! is present the ingest time is used.
//!
//! A `_timestamp` that cannot be parsed fails the record. A default fallback field that cannot be
//! parsed is skipped (a field called `time` may hold something else); a field the stream's
//! settings name explicitly fails the record.
//!
//! Values:
//! - numbers (and all-digit strings) are epoch times whose unit is read from the magnitude:
//!   `< 1e11` seconds (fractions kept), `< 1e14` milliseconds, `< 1e17` microseconds, else
//!   nanoseconds;
//! - text: RFC 3339 / ISO 8601 with `Z` or an offset (`+09:00`, `+0900`, `+09`), with `T` or a
//!   space; RFC 2822; the common log format `02/Mar/2020:18:22:24 +0900`;
//!   `2020-03-02 18:22:24[.fff] +0900`; zone-less ISO and `YYYY/MM/DD HH:MM:SS` read in the stream's
//!   time zone (default UTC); syslog `Mar  2 18:22:24` (current year, stream time zone).
//! - An explicit offset is always honoured, never replaced by the configured zone.

use jiff::civil::DateTime;
use jiff::fmt::strtime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::record::{FlatRecord, Scalar};

/// Parses a time-zone setting: an IANA name (`Asia/Tokyo`), `UTC`, or a fixed offset (`+09:00`).
pub fn parse_time_zone(raw: &str) -> Result<TimeZone, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("utc") || trimmed == "Z" {
        return Ok(TimeZone::UTC);
    }
    if trimmed.starts_with('+') || trimmed.starts_with('-') {
        let probe = format!("2000-01-01T00:00:00{trimmed}");
        let parsed: Zoned = format!("{probe}[{trimmed}]")
            .parse()
            .map_err(|e| format!("invalid time zone offset '{trimmed}': {e}"))?;
        return Ok(TimeZone::fixed(parsed.offset()));
    }
    TimeZone::get(trimmed).map_err(|e| format!("unknown time zone '{trimmed}': {e}"))
}

/// Where a record's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// `_timestamp` / `@timestamp`.
    Timestamp,
    /// One of the stream's timestamp fields.
    Field,
    /// No field: ingest time.
    IngestTime,
}

/// How to find and interpret event times for one stream.
pub struct TimeRules<'a> {
    /// Fallback fields, in order.
    pub fields: &'a [String],
    /// Whether `fields` were configured explicitly (then unparsable values fail the record).
    pub fields_explicit: bool,
    /// Zone for zone-less text.
    pub zone: &'a TimeZone,
    /// Ingest time, µs.
    pub now_micros: i64,
}

/// Extracts the event time (µs, UTC), removing `_timestamp` from the record.
pub fn extract(
    record: &mut FlatRecord<'_>,
    rules: &TimeRules<'_>,
) -> Result<(i64, TimeSource), String> {
    if let Some(value) = record.take(kansoku_core::schema::TIMESTAMP_COLUMN) {
        let micros = parse_value(&value, rules.zone, rules.now_micros)
            .map_err(|e| format!("cannot parse _timestamp/@timestamp: {e}"))?;
        return Ok((micros, TimeSource::Timestamp));
    }
    for field in rules.fields {
        let Some(value) = record.get(field) else {
            continue;
        };
        match parse_value(value, rules.zone, rules.now_micros) {
            Ok(micros) => return Ok((micros, TimeSource::Field)),
            Err(e) if rules.fields_explicit => {
                return Err(format!("cannot parse timestamp field '{field}': {e}"));
            }
            Err(_) => continue,
        }
    }
    Ok((rules.now_micros, TimeSource::IngestTime))
}

/// Parses one value as an instant in µs.
pub fn parse_value(value: &Scalar<'_>, zone: &TimeZone, now_micros: i64) -> Result<i64, String> {
    match value {
        Scalar::Int(n) => Ok(from_epoch_integer(i128::from(*n))),
        Scalar::UInt(n) => Ok(from_epoch_integer(i128::from(*n))),
        Scalar::Float(f) => from_epoch_float(*f),
        Scalar::Bool(_) => Err("a boolean is not a time".to_string()),
        Scalar::Str(text) => parse_text(text, zone, now_micros),
    }
}

fn from_epoch_integer(n: i128) -> i64 {
    let magnitude = n.unsigned_abs();
    let micros = if magnitude >= 100_000_000_000_000_000 {
        n / 1_000
    } else if magnitude >= 100_000_000_000_000 {
        n
    } else if magnitude >= 100_000_000_000 {
        n * 1_000
    } else {
        n * 1_000_000
    };
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

fn from_epoch_float(f: f64) -> Result<i64, String> {
    if !f.is_finite() {
        return Err(format!("{f} is not a time"));
    }
    let magnitude = f.abs();
    let micros = if magnitude >= 1e17 {
        f / 1e3
    } else if magnitude >= 1e14 {
        f
    } else if magnitude >= 1e11 {
        f * 1e3
    } else {
        f * 1e6
    };
    if micros >= i64::MAX as f64 || micros <= i64::MIN as f64 {
        return Err(format!("{f} is out of range"));
    }
    Ok(micros.round() as i64)
}

fn parse_text(raw: &str, zone: &TimeZone, now_micros: i64) -> Result<i64, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("empty string".to_string());
    }
    if is_epoch_number(text) {
        if let Ok(n) = text.parse::<i128>() {
            return Ok(from_epoch_integer(n));
        }
        if let Ok(f) = text.parse::<f64>() {
            return from_epoch_float(f);
        }
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp.as_microsecond());
    }
    if has_iso_offset(text) {
        // Never fall back to a zone-less reading of a string that carries an offset.
        for format in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%dT%H:%M:%S%.f %z"] {
            if let Ok(parsed) = strtime::parse(format, text)
                && let Ok(timestamp) = parsed.to_timestamp()
            {
                return Ok(timestamp.as_microsecond());
            }
        }
        return Err(format!("unrecognised time '{}'", shorten(text)));
    }
    if let Ok(civil) = text.parse::<DateTime>() {
        return civil_in_zone(civil, zone);
    }
    if let Ok(zoned) = jiff::fmt::rfc2822::parse(text) {
        return Ok(zoned.timestamp().as_microsecond());
    }
    if let Ok(parsed) = strtime::parse("%d/%b/%Y:%H:%M:%S %z", text)
        && let Ok(timestamp) = parsed.to_timestamp()
    {
        return Ok(timestamp.as_microsecond());
    }
    for format in ["%Y/%m/%d %H:%M:%S%.f", "%Y/%m/%dT%H:%M:%S%.f"] {
        if let Ok(parsed) = strtime::parse(format, text)
            && let Ok(civil) = parsed.to_datetime()
        {
            return civil_in_zone(civil, zone);
        }
    }
    if let Ok(micros) = parse_rfc3164_time(text, zone, now_micros) {
        return Ok(micros);
    }
    Err(format!("unrecognised time '{}'", shorten(text)))
}

/// Syslog (RFC 3164) time without a year: the most recent such time not more than a day ahead
/// (so `Jan  1 00:10:00` seen on December 31st at 23:30 is next year's, and `Dec 31` seen on
/// January 1st last year's).
pub(crate) fn parse_rfc3164_time(
    text: &str,
    zone: &TimeZone,
    now_micros: i64,
) -> Result<i64, String> {
    strtime::parse("%b %e %H:%M:%S", text).map_err(|e| e.to_string())?;
    let now = Timestamp::from_microsecond(now_micros)
        .map_err(|e| e.to_string())?
        .to_zoned(zone.clone());
    let one_day = 86_400_000_000;
    let mut last_error = String::new();
    for year in [now.year() + 1, now.year(), now.year() - 1] {
        let Ok(mut dated) = strtime::parse("%b %e %H:%M:%S", text) else {
            continue;
        };
        let civil = dated
            .set_year(Some(year))
            .map_err(|e| e.to_string())
            .and_then(|()| dated.to_datetime().map_err(|e| e.to_string()));
        // February 29th exists only in some of the years tried.
        let micros = match civil.and_then(|civil| civil_in_zone(civil, zone)) {
            Ok(micros) => micros,
            Err(error) => {
                last_error = error;
                continue;
            }
        };
        if micros <= now_micros + one_day {
            return Ok(micros);
        }
    }
    Err(format!(
        "no year puts '{text}' within a day of now: {last_error}"
    ))
}

fn civil_in_zone(civil: DateTime, zone: &TimeZone) -> Result<i64, String> {
    civil
        .to_zoned(zone.clone())
        .map(|zoned| zoned.timestamp().as_microsecond())
        .map_err(|e| e.to_string())
}

fn is_epoch_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit())
}

/// Whether an ISO-like date-time string has a zone designator after its time part.
fn has_iso_offset(text: &str) -> bool {
    let bytes = text.as_bytes();
    let looks_iso = bytes.len() > 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && (bytes[10] == b'T' || bytes[10] == b't' || bytes[10] == b' ');
    if !looks_iso {
        return false;
    }
    text[11..]
        .bytes()
        .any(|b| matches!(b, b'+' | b'-' | b'Z' | b'z'))
}

/// `text` cut to at most 64 bytes (at a character boundary), for error messages.
pub(crate) fn shorten(text: &str) -> String {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    const NOW: i64 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z

    fn parse(text: &str, zone: &str) -> Result<i64, String> {
        parse_value(
            &Scalar::Str(Cow::Borrowed(text)),
            &parse_time_zone(zone).unwrap(),
            NOW,
        )
    }

    #[test]
    fn explicit_offsets_are_honoured_whatever_the_configured_zone() {
        // Seed 002: logrus writes local JST time with +09:00; it is 09:22:24 UTC.
        let expected = 1_583_140_944_000_000;
        for text in [
            "2020-03-02T18:22:24+09:00",
            "2020-03-02T18:22:24+0900",
            "2020-03-02 18:22:24+09:00",
            "2020-03-02 18:22:24 +0900",
            "2020-03-02T09:22:24Z",
            "Mon, 02 Mar 2020 18:22:24 +0900",
            "02/Mar/2020:18:22:24 +0900",
        ] {
            assert_eq!(parse(text, "UTC"), Ok(expected), "{text}");
            assert_eq!(parse(text, "America/New_York"), Ok(expected), "{text}");
        }
    }

    #[test]
    fn zone_less_text_is_read_in_the_configured_zone() {
        assert_eq!(
            parse("2020-03-02T09:22:24", "UTC"),
            Ok(1_583_140_944_000_000)
        );
        assert_eq!(
            parse("2020-03-02 18:22:24", "Asia/Tokyo"),
            Ok(1_583_140_944_000_000)
        );
        assert_eq!(
            parse("2020-03-02T18:22:24.5", "+09:00"),
            Ok(1_583_140_944_500_000)
        );
        assert_eq!(
            parse("2020/03/02 18:22:24", "Asia/Tokyo"),
            Ok(1_583_140_944_000_000)
        );
    }

    #[test]
    fn epoch_units_are_read_from_the_magnitude() {
        let utc = TimeZone::UTC;
        let seconds = 1_583_140_944i64;
        for (value, expected) in [
            (Scalar::Int(seconds), seconds * 1_000_000),
            (Scalar::Int(seconds * 1_000), seconds * 1_000_000),
            (Scalar::Int(seconds * 1_000_000), seconds * 1_000_000),
            (Scalar::Int(seconds * 1_000_000_000), seconds * 1_000_000),
            (
                Scalar::Float(1_583_140_944.25),
                seconds * 1_000_000 + 250_000,
            ),
            (Scalar::Str("1583140944123".into()), 1_583_140_944_123_000),
            (
                Scalar::Str("1583140944.5".into()),
                seconds * 1_000_000 + 500_000,
            ),
        ] {
            assert_eq!(parse_value(&value, &utc, NOW), Ok(expected), "{value:?}");
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_guess() {
        for text in [
            "",
            "yesterday",
            "2024-02-30T00:00:00Z",
            "2020-03-02T18:22:24.12345678901234567890Z",
            "NaN",
        ] {
            assert!(parse(text, "UTC").is_err(), "{text}");
        }
        assert!(parse_value(&Scalar::Float(f64::NAN), &TimeZone::UTC, NOW).is_err());
        assert!(parse_value(&Scalar::Bool(true), &TimeZone::UTC, NOW).is_err());
        assert!(parse("2020-03-02T18:22:24 +09:00 junk", "UTC").is_err());
    }

    #[test]
    fn leap_seconds_and_extreme_offsets() {
        assert_eq!(
            parse("2016-12-31T23:59:60Z", "UTC"),
            Ok(1_483_228_799_000_000)
        );
        assert_eq!(
            parse("2020-03-02T23:22:24+14:00", "UTC"),
            Ok(1_583_140_944_000_000)
        );
    }

    #[test]
    fn syslog_times_get_a_year() {
        // Nov 14 22:13:20 UTC is "now"; Nov 14 is this year, Dec 25 is last year.
        let nov = parse("Nov 14 20:00:00", "UTC").unwrap();
        assert!(nov < NOW && NOW - nov < 3 * 3_600_000_000);
        let dec = parse("Dec 25 10:00:00", "UTC").unwrap();
        assert!(dec < NOW);
        // Just before midnight on December 31st, January 1st is tomorrow, not last January.
        let new_year_eve = 1_767_223_800_000_000; // 2025-12-31T23:30:00Z
        let january = parse_rfc3164_time("Jan  1 00:10:00", &TimeZone::UTC, new_year_eve);
        assert_eq!(january, Ok(1_767_226_200_000_000)); // 2026-01-01T00:10:00Z
        // February 29th on a day of 2026 is 2024's.
        let leap = parse_rfc3164_time("Feb 29 12:00:00", &TimeZone::UTC, new_year_eve);
        assert_eq!(leap, Ok(1_709_208_000_000_000)); // 2024-02-29T12:00:00Z
    }

    #[test]
    fn time_zone_settings_are_validated() {
        assert!(parse_time_zone("Asia/Tokyo").is_ok());
        assert!(parse_time_zone("+05:30").is_ok());
        assert!(parse_time_zone("").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("+99:00").is_err());
    }

    #[test]
    fn extraction_prefers_timestamp_then_fields_then_ingest_time() {
        let zone = TimeZone::UTC;
        let fields = vec!["time".to_string()];
        let rules = TimeRules {
            fields: &fields,
            fields_explicit: false,
            zone: &zone,
            now_micros: NOW,
        };
        let mut record = FlatRecord {
            fields: vec![
                ("time".into(), Scalar::Int(1_583_140_944)),
                ("_timestamp".into(), Scalar::Int(1_583_140_945)),
            ],
        };
        assert_eq!(
            extract(&mut record, &rules),
            Ok((1_583_140_945_000_000, TimeSource::Timestamp))
        );
        assert_eq!(
            record.fields.len(),
            1,
            "_timestamp is consumed, time is kept"
        );
        assert_eq!(
            extract(&mut record, &rules),
            Ok((1_583_140_944_000_000, TimeSource::Field))
        );
        let mut odd = FlatRecord {
            fields: vec![("time".into(), Scalar::Str("fast".into()))],
        };
        assert_eq!(extract(&mut odd, &rules), Ok((NOW, TimeSource::IngestTime)));
        let explicit = TimeRules {
            fields_explicit: true,
            ..rules
        };
        assert!(extract(&mut odd, &explicit).is_err());
        let mut bad = FlatRecord {
            fields: vec![("_timestamp".into(), Scalar::Str("soon".into()))],
        };
        assert!(extract(&mut bad, &explicit).is_err());
    }
}
