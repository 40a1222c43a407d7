//! SQL functions kansoku adds: `histogram(_timestamp[, 'interval'])`.
//!
//! `histogram` returns the start of the bucket each time falls in, as a timestamp (JSON:
//! `"2026-11-22T10:15:00"`). Intervals: `30 seconds`, `1 minute`, `5 minutes`, `1 hour`, `1 day`,
//! `1 week`, or short forms `30s`, `1m`, `1h`, `1d`. Without an interval, one is chosen so the
//! query's time range has about 100 buckets.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

/// Microseconds per second.
const SECOND: i64 = 1_000_000;
/// Bucket sizes chosen for automatic intervals.
const NICE_INTERVALS: [i64; 15] = [
    SECOND,
    5 * SECOND,
    10 * SECOND,
    30 * SECOND,
    60 * SECOND,
    5 * 60 * SECOND,
    10 * 60 * SECOND,
    30 * 60 * SECOND,
    3600 * SECOND,
    2 * 3600 * SECOND,
    6 * 3600 * SECOND,
    12 * 3600 * SECOND,
    86_400 * SECOND,
    7 * 86_400 * SECOND,
    30 * 86_400 * SECOND,
];

/// The automatic interval for a time range: the smallest nice interval giving ≤ 100 buckets.
pub fn auto_interval(start: i64, end: i64) -> i64 {
    let span = end.saturating_sub(start).max(1);
    NICE_INTERVALS
        .into_iter()
        .find(|interval| span / interval <= 100)
        .unwrap_or(NICE_INTERVALS[NICE_INTERVALS.len() - 1])
}

/// Parses a histogram interval into microseconds.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let trimmed = text.trim().to_lowercase();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let count: i64 = if digits.is_empty() {
        1
    } else {
        digits
            .parse()
            .map_err(|_| format!("invalid interval '{text}'"))?
    };
    let unit_micros = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * SECOND,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600 * SECOND,
        "d" | "day" | "days" => 86_400 * SECOND,
        "w" | "week" | "weeks" => 7 * 86_400 * SECOND,
        _ => {
            return Err(format!(
                "invalid histogram interval '{text}': use e.g. '30 seconds', '1 minute', '1 hour', '1 day'"
            ));
        }
    };
    match count.checked_mul(unit_micros) {
        Some(micros) if micros > 0 => Ok(micros),
        _ => Err(format!("invalid histogram interval '{text}'")),
    }
}

/// `histogram(timestamp_micros [, interval])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Histogram {
    signature: Signature,
    auto_interval: i64,
}

impl Histogram {
    /// The function for a query over `[start, end)`.
    pub fn udf(start: i64, end: i64) -> ScalarUDF {
        ScalarUDF::new_from_impl(Histogram {
            signature: Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Immutable,
            ),
            auto_interval: auto_interval(start, end),
        })
    }
}

impl ScalarUDFImpl for Histogram {
    fn name(&self) -> &str {
        "histogram"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let interval = match args.args.get(1) {
            None => self.auto_interval,
            Some(ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(text))
                | ScalarValue::Utf8View(Some(text))
                | ScalarValue::LargeUtf8(Some(text)),
            )) => parse_interval(text).map_err(DataFusionError::Plan)?,
            Some(_) => {
                return Err(DataFusionError::Plan(
                    "histogram() expects a constant interval such as '1 minute'".to_string(),
                ));
            }
        };
        let times = match &args.args[0] {
            ColumnarValue::Array(array) => array.clone(),
            ColumnarValue::Scalar(scalar) => scalar.to_array_of_size(args.number_rows)?,
        };
        let times = arrow::compute::cast(&times, &DataType::Int64)?;
        let times: &Int64Array = times.as_primitive::<Int64Type>();
        let buckets: TimestampMicrosecondArray = times
            .iter()
            .map(|time| time.map(|t| t - t.rem_euclid(interval)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(buckets) as Arc<dyn Array>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("1 minute"), Ok(60 * SECOND));
        assert_eq!(parse_interval("30 seconds"), Ok(30 * SECOND));
        assert_eq!(parse_interval("5m"), Ok(300 * SECOND));
        assert_eq!(parse_interval("hour"), Ok(3600 * SECOND));
        assert!(parse_interval("0 minutes").is_err());
        assert!(parse_interval("1 fortnight").is_err());
    }

    #[test]
    fn auto_intervals_give_at_most_a_hundred_buckets() {
        assert_eq!(auto_interval(0, 15 * 60 * SECOND), 10 * SECOND);
        assert_eq!(auto_interval(0, 24 * 3600 * SECOND), 30 * 60 * SECOND);
        assert_eq!(auto_interval(0, 7 * 86_400 * SECOND), 2 * 3600 * SECOND);
    }
}
