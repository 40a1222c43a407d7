//! Durations as Prometheus writes them (`1h30m`, `10s`, `500ms`) or as plain seconds.

/// A duration in Prometheus' notation (`1h30m`, `10s`, `500ms`, `0`, `-5m`), or plain seconds,
/// in milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if let Ok(seconds) = body.parse::<f64>() {
        let millis = (seconds * 1000.0).round() as i64;
        return Some(if negative { -millis } else { millis });
    }
    let mut total = 0i64;
    let mut rest = body;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_length = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_length];
        rest = &rest[unit_length..];
        let scale = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        // Overflow is refused, not wrapped (found by the `promql` fuzz target).
        total = number
            .checked_mul(scale)
            .and_then(|part| total.checked_add(part))?;
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("10s53ms"), Some(10_053));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("1000s"), Some(1_000_000));
        assert_eq!(parse_duration("1.5"), Some(1_500));
        assert_eq!(parse_duration("-5m"), Some(-300_000));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("9223372036854775807y"), None);
        assert_eq!(
            parse_duration("9000000000000000000ms9000000000000000000ms"),
            None
        );
    }
}
