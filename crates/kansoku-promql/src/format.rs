//! Numbers and durations as Prometheus writes them.
//!
//! Prometheus renders sample values in JSON with Go's `strconv.FormatFloat(v, 'f', -1, 64)`,
//! switching to the exponent form (`1e-07`, `1e+21`) below 1e-6 and from 1e21 on, and writes
//! `NaN`, `+Inf` and `-Inf`. Rust's `Display` gives the same shortest round-trip digits but never
//! an exponent, so the exponent form is rebuilt here in Go's shape (sign, at least two digits).

/// A sample value as Prometheus' JSON API writes it.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        return go_exponent(value);
    }
    format!("{value}")
}

/// A value as Go's `FormatFloat(v, 'f', -1, 64)`: never an exponent (labels made by
/// `count_values`, `label_replace` of numbers, …).
pub fn format_plain(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format!("{value}")
}

/// A value as Go's `%g` / `FormatFloat(v, 'g', -1, 64)` (used in Prometheus' messages): the
/// exponent form when the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
pub fn format_go_g(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if value == 0.0 {
        return format!("{value}");
    }
    let scientific = format!("{value:e}");
    let exponent: i32 = scientific
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        return go_exponent(value);
    }
    format!("{value}")
}

/// `1e-7` → `1e-07`, `1.5e21` → `1.5e+21`.
fn go_exponent(value: f64) -> String {
    let text = format!("{value:e}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    let padded = if digits.len() < 2 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    format!("{mantissa}e{sign}{padded}")
}

/// A timestamp in milliseconds as Prometheus' JSON number of seconds (`1700000000.5`).
pub fn format_timestamp(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let magnitude = millis.unsigned_abs();
    let (seconds, fraction) = (magnitude / 1000, magnitude % 1000);
    if fraction == 0 {
        return format!("{sign}{seconds}");
    }
    let digits = format!("{fraction:03}");
    format!("{sign}{seconds}.{}", digits.trim_end_matches('0'))
}

/// A duration in milliseconds as Prometheus writes it (`1h30m`, `5m`, `1d`, `250ms`).
pub fn format_duration(millis: i64) -> String {
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = millis;
    if rest < 0 {
        out.push('-');
        rest = -rest;
    }
    let units: [(i64, &str); 7] = [
        (365 * 24 * 3_600_000, "y"),
        (7 * 24 * 3_600_000, "w"),
        (24 * 3_600_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ];
    for (size, unit) in units {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_like_go() {
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(1e-6), "0.000001");
        assert_eq!(format_value(1.5e21), "1.5e+21");
        assert_eq!(
            format_value(123456789012345680000.0),
            "123456789012345680000"
        );
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e100), "1e+100");
        assert_eq!(format_plain(1e21), "1000000000000000000000");
        assert_eq!(format_go_g(1e20), "1e+20");
        assert_eq!(format_go_g(100000.0), "100000");
        assert_eq!(format_go_g(1234567.0), "1.234567e+06");
        assert_eq!(format_go_g(0.0001), "0.0001");
        assert_eq!(format_go_g(0.00001), "1e-05");
        assert_eq!(format_go_g(-1.1), "-1.1");
        assert_eq!(format_go_g(9.223372036854776e18), "9.223372036854776e+18");
    }

    #[test]
    fn timestamps_and_durations() {
        assert_eq!(format_timestamp(1_700_000_000_500), "1700000000.5");
        assert_eq!(format_timestamp(4000), "4");
        assert_eq!(format_timestamp(-1500), "-1.5");
        assert_eq!(format_timestamp(1_001), "1.001");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(250), "250ms");
        assert_eq!(format_duration(86_400_000), "1d");
    }
}
