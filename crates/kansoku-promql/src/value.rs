//! Samples, series and query results.

use crate::labels::Labels;

/// The bit pattern of Prometheus' stale marker, a NaN that ends a series.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as a float.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `value` is the stale marker (not just any NaN).
pub fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One sample: a time in milliseconds since the epoch and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Milliseconds since the epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A series with its samples in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The label set.
    pub labels: Labels,
    /// Samples, ascending by time.
    pub points: Vec<Point>,
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The label set.
    pub labels: Labels,
    /// The sample.
    pub point: Point,
}

/// What a query returns.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryValue {
    /// A number at a time.
    Scalar(Point),
    /// A string at a time (milliseconds).
    String(i64, String),
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector (range queries, or an instant query of a range expression).
    Matrix(Vec<Series>),
}

impl QueryValue {
    /// Prometheus' `resultType`.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Scalar(_) => "scalar",
            QueryValue::String(..) => "string",
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }
}

/// The smallest normal f64.
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/// Whether `a` and `b` are equal within a relative 1e-6 (NaN equals NaN; a zero must be exact),
/// as Prometheus' tests compare values.
pub fn almost_equal(a: f64, b: f64) -> bool {
    almost_equal_within(a, b, 1e-6)
}

/// Whether `a` and `b` are equal within the relative tolerance `epsilon`.
pub fn almost_equal_within(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let sum = a.abs() + b.abs();
    let difference = (a - b).abs();
    if a == 0.0 || b == 0.0 || sum < MIN_NORMAL {
        return difference < epsilon * MIN_NORMAL;
    }
    difference / sum.min(f64::MAX) < epsilon
}
