//! Prometheus' JSON: label sets as objects, samples as `[<seconds>, "<value>"]` with Go's number
//! formatting, result envelopes per result type.

use kansoku_promql::format::{format_timestamp, format_value};
use kansoku_promql::{Labels, QueryValue};

/// A JSON string literal.
pub fn string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// A JSON array of strings.
pub fn strings(texts: &[String], out: &mut String) {
    out.push('[');
    for (index, text) in texts.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&string(text));
    }
    out.push(']');
}

/// A label set as a JSON object.
pub fn labels(labels: &Labels, out: &mut String) {
    out.push('{');
    for (index, label) in labels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&string(&label.name));
        out.push(':');
        out.push_str(&string(&label.value));
    }
    out.push('}');
}

/// `[<seconds>,"<value>"]`.
pub fn sample(t: i64, v: f64, out: &mut String) {
    out.push('[');
    out.push_str(&format_timestamp(t));
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// `{"resultType":…,"result":…}` without the closing brace (stats may follow).
pub fn result(value: &QueryValue, out: &mut String) {
    out.push_str(r#"{"resultType":""#);
    out.push_str(value.result_type());
    out.push_str(r#"","result":"#);
    match value {
        QueryValue::Scalar(point) => sample(point.t, point.v, out),
        QueryValue::String(t, text) => {
            out.push('[');
            out.push_str(&format_timestamp(*t));
            out.push(',');
            out.push_str(&string(text));
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push('[');
            for (index, s) in samples.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                labels(&s.labels, out);
                out.push_str(r#","value":"#);
                sample(s.point.t, s.point.v, out);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push('[');
            for (index, s) in series.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                labels(&s.labels, out);
                out.push_str(r#","values":["#);
                for (position, point) in s.points.iter().enumerate() {
                    if position > 0 {
                        out.push(',');
                    }
                    sample(point.t, point.v, out);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kansoku_promql::{Point, Sample};

    #[test]
    fn vectors_render_like_prometheus() {
        let value = QueryValue::Vector(vec![Sample {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]),
            point: Point {
                t: 1_700_000_000_500,
                v: f64::INFINITY,
            },
        }]);
        let mut out = String::new();
        result(&value, &mut out);
        out.push('}');
        assert_eq!(
            out,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1700000000.5,"+Inf"]}]}"#
        );
        let mut scalar = String::new();
        result(&QueryValue::Scalar(Point { t: 4000, v: 2.0 }), &mut scalar);
        assert_eq!(
            scalar,
            r#"{"resultType":"scalar","result":[4,"2""#.to_string() + "]"
        );
    }
}
