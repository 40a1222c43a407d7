//! Time units used across crates. Event time is always `i64` microseconds since the Unix epoch, UTC.

/// Microseconds per second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds per hour; files are partitioned by hour.
pub const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;

/// The start of the hour containing `micros` (floor, also for negative values).
pub fn hour_start(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_start_floors() {
        assert_eq!(hour_start(0), 0);
        assert_eq!(hour_start(MICROS_PER_HOUR + 5), MICROS_PER_HOUR);
        assert_eq!(hour_start(-1), -MICROS_PER_HOUR);
    }
}
