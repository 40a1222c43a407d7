//! Reading Prometheus' PromQL test files (`promql/promqltest/testdata/*.test`).
//!
//! ```text
//! load 5m                                   series added at t = i × 5m from the epoch
//!   http_requests{job="api"} 0+10x10 _ stale
//! clear
//! eval instant at 50m sum(http_requests)    followed by expectations and expected values
//!   expect warn msg: …
//!   {} 100
//! eval range from 0 to 10m step 1m rate(x[5m])
//!   {} 0 1 _ 2
//! ```

use crate::duration::parse_duration;
use crate::labels::Labels;
use crate::value::stale_nan;

/// A parsed test file.
#[derive(Debug, Clone, Default)]
pub struct TestFile {
    /// The commands in order.
    pub commands: Vec<Command>,
}

/// One command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Adds series.
    Load(Load),
    /// Removes every series.
    Clear,
    /// Runs a query and checks its result.
    Eval(Box<Eval>),
}

/// A `load` block.
#[derive(Debug, Clone)]
pub struct Load {
    /// Milliseconds between two values.
    pub interval: i64,
    /// Series and their values (`None` = no sample).
    pub series: Vec<(Labels, Vec<Option<f64>>)>,
    /// Whether a native histogram value or `load_with_nhcb` was skipped.
    pub skipped_histograms: bool,
}

/// How an `eval` runs.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalKind {
    /// `eval instant at T`.
    Instant { at: i64 },
    /// `eval range from S to E step D`.
    Range { start: i64, end: i64, step: i64 },
}

/// An expected message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Any message.
    Any,
    /// Exactly this text.
    Exact(String),
    /// A regular expression.
    Regex(String),
}

/// What an `eval` expects back.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Series (a vector for instant queries, a matrix for range queries).
    Series(Vec<(Labels, Vec<Option<f64>>)>),
    /// A scalar.
    Scalar(f64),
    /// A string.
    String(String),
    /// An instant query returning a range vector: series with values at `start + i × step`.
    RangeVector {
        start: i64,
        end: i64,
        step: i64,
        series: Vec<(Labels, Vec<Option<f64>>)>,
    },
}

/// An `eval` command.
#[derive(Debug, Clone)]
pub struct Eval {
    /// Line of the `eval` in the file (1-based).
    pub line: usize,
    /// The query text.
    pub query: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// `expect fail`.
    pub fail: Option<Message>,
    /// `expect warn` lines.
    pub warn: Vec<Message>,
    /// `expect info` lines.
    pub info: Vec<Message>,
    /// `expect no_warn`.
    pub no_warn: bool,
    /// `expect no_info`.
    pub no_info: bool,
    /// `expect ordered`.
    pub ordered: bool,
    /// The expected result.
    pub expected: Expected,
    /// Why this eval cannot be run here (native histogram values), if so.
    pub unsupported: Option<String>,
}

/// Parses a test file.
pub fn parse_file(text: &str) -> Result<TestFile, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut commands = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim();
        index += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let block_end = |from: usize| {
            let mut end = from;
            while end < lines.len() && !lines[end].trim().is_empty() && !starts_command(lines[end])
            {
                end += 1;
            }
            end
        };
        if let Some(rest) = line
            .strip_prefix("load_with_nhcb ")
            .or_else(|| line.strip_prefix("load "))
        {
            let end = block_end(index);
            let mut load = parse_load(rest.trim(), &lines[index..end], index + 1)?;
            load.skipped_histograms |= line.starts_with("load_with_nhcb");
            commands.push(Command::Load(load));
            index = end;
            continue;
        }
        if line == "clear" {
            commands.push(Command::Clear);
            continue;
        }
        if line.starts_with("eval") {
            let end = block_end(index);
            let eval = parse_eval(line, &lines[index..end], index)?;
            commands.push(Command::Eval(Box::new(eval)));
            index = end;
            continue;
        }
        return Err(format!("line {index}: unknown command {line:?}"));
    }
    Ok(TestFile { commands })
}

/// Whether `line` starts a new command (a block also ends there, not only at a blank line).
fn starts_command(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed == "clear"
        || ["eval ", "eval_", "load ", "load_with_nhcb "]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix))
}

fn parse_load(interval: &str, lines: &[&str], first_line: usize) -> Result<Load, String> {
    let interval = parse_duration(interval)
        .ok_or_else(|| format!("line {}: bad load interval {interval:?}", first_line - 1))?;
    let mut load = Load {
        interval,
        series: Vec::new(),
        skipped_histograms: false,
    };
    for (offset, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let (labels, values) = split_series_line(line)
            .ok_or_else(|| format!("line {}: bad series line", first_line + offset))?;
        if values.contains("{{") || labels.ends_with("@st") {
            load.skipped_histograms = true;
            continue;
        }
        let labels =
            parse_labels(labels).map_err(|e| format!("line {}: {e}", first_line + offset))?;
        let values =
            parse_values(values).map_err(|e| format!("line {}: {e}", first_line + offset))?;
        load.series.push((labels, values));
    }
    Ok(load)
}

fn parse_eval(header: &str, lines: &[&str], line_number: usize) -> Result<Eval, String> {
    let (command, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut eval = Eval {
        line: line_number,
        query: String::new(),
        kind: EvalKind::Instant { at: 0 },
        fail: None,
        warn: Vec::new(),
        info: Vec::new(),
        no_warn: false,
        no_info: false,
        ordered: false,
        expected: Expected::Series(Vec::new()),
        unsupported: None,
    };
    match command {
        "eval" => {}
        "eval_fail" => eval.fail = Some(Message::Any),
        "eval_warn" => eval.warn.push(Message::Any),
        "eval_info" => eval.info.push(Message::Any),
        "eval_ordered" => eval.ordered = true,
        other => return Err(format!("line {line_number}: unknown eval form {other:?}")),
    }
    let rest = rest.trim();
    if let Some(instant) = rest.strip_prefix("instant at ") {
        let (at, query) = instant.trim().split_once(' ').unwrap_or((instant, ""));
        eval.kind = EvalKind::Instant {
            at: parse_duration(at).ok_or_else(|| format!("line {line_number}: bad time {at:?}"))?,
        };
        eval.query = query.trim().to_string();
    } else if let Some(range) = rest.strip_prefix("range from ") {
        let parts: Vec<&str> = range.trim().splitn(6, ' ').collect();
        if parts.len() < 6 || parts[1] != "to" || parts[3] != "step" {
            return Err(format!("line {line_number}: bad range eval"));
        }
        let bad = |what: &str| format!("line {line_number}: bad {what}");
        eval.kind = EvalKind::Range {
            start: parse_duration(parts[0]).ok_or_else(|| bad("start"))?,
            end: parse_duration(parts[2]).ok_or_else(|| bad("end"))?,
            step: parse_duration(parts[4]).ok_or_else(|| bad("step"))?,
        };
        eval.query = parts[5].trim().to_string();
    } else {
        return Err(format!("line {line_number}: bad eval {rest:?}"));
    }
    let mut series = Vec::new();
    let mut range_vector: Option<(i64, i64, i64)> = None;
    for line in lines {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some(expectation) = line.strip_prefix("expect ") {
            parse_expectation(
                expectation.trim(),
                &mut eval,
                &mut range_vector,
                line_number,
            )?;
            continue;
        }
        if let Some(message) = line.strip_prefix("expected_fail_message ") {
            eval.fail = Some(Message::Exact(message.trim().to_string()));
            continue;
        }
        if let Some(regex) = line.strip_prefix("expected_fail_regexp ") {
            eval.fail = Some(Message::Regex(regex.trim().to_string()));
            continue;
        }
        if let Some(value) = parse_number(line) {
            eval.expected = Expected::Scalar(value);
            continue;
        }
        let (labels, values) = split_series_line(line)
            .ok_or_else(|| format!("line {line_number}: bad expected line {line:?}"))?;
        if values.contains("{{") {
            eval.unsupported = Some("native histogram result".to_string());
            continue;
        }
        let labels = parse_labels(labels).map_err(|e| format!("line {line_number}: {e}"))?;
        let values = parse_values(values).map_err(|e| format!("line {line_number}: {e}"))?;
        series.push((labels, values));
    }
    if let Some((start, end, step)) = range_vector {
        eval.expected = Expected::RangeVector {
            start,
            end,
            step,
            series,
        };
    } else if !matches!(eval.expected, Expected::Scalar(_) | Expected::String(_)) {
        eval.expected = Expected::Series(series);
    }
    Ok(eval)
}

fn parse_expectation(
    text: &str,
    eval: &mut Eval,
    range_vector: &mut Option<(i64, i64, i64)>,
    line_number: usize,
) -> Result<(), String> {
    let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
    let message = || -> Message {
        let rest = rest.trim();
        if let Some(exact) = rest.strip_prefix("msg:") {
            return Message::Exact(unquote(exact.trim()));
        }
        if let Some(regex) = rest.strip_prefix("regex:") {
            return Message::Regex(unquote(regex.trim()));
        }
        Message::Any
    };
    match kind {
        "fail" => eval.fail = Some(message()),
        "warn" => eval.warn.push(message()),
        "info" => eval.info.push(message()),
        "no_warn" => eval.no_warn = true,
        "no_info" => eval.no_info = true,
        "ordered" => eval.ordered = true,
        "string" => eval.expected = Expected::String(unquote(rest.trim())),
        "range" => {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            // "vector from S to E step D"
            if parts.len() != 7 || parts[0] != "vector" {
                return Err(format!("line {line_number}: bad 'expect range vector'"));
            }
            let bad = || format!("line {line_number}: bad 'expect range vector'");
            *range_vector = Some((
                parse_duration(parts[2]).ok_or_else(bad)?,
                parse_duration(parts[4]).ok_or_else(bad)?,
                parse_duration(parts[6]).ok_or_else(bad)?,
            ));
        }
        other => return Err(format!("line {line_number}: unknown expectation {other:?}")),
    }
    Ok(())
}

fn unquote(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.len() >= 2 && trimmed.starts_with('`') && trimmed.ends_with('`') {
        return trimmed[1..trimmed.len() - 1].to_string();
    }
    if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        let inner = &trimmed[1..trimmed.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return out;
    }
    trimmed.to_string()
}

/// Splits `metric{a="b"} 1 2 3` into the series descriptor and the values text.
fn split_series_line(line: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ' ' | '\t' if depth == 0 => return Some((&line[..index], line[index..].trim())),
            _ => {}
        }
    }
    Some((line, ""))
}

/// A series descriptor (`metric{a="b"}`, `{__name__="m"}`) as labels.
pub fn parse_labels(text: &str) -> Result<Labels, String> {
    if text.trim() == "{}" {
        return Ok(Labels::empty());
    }
    let expr =
        promql_parser::parser::parse(text).map_err(|e| format!("bad series {text:?}: {e}"))?;
    let promql_parser::parser::Expr::VectorSelector(selector) = expr else {
        return Err(format!("bad series {text:?}"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = &selector.name {
        pairs.push((crate::labels::METRIC_NAME.to_string(), name.clone()));
    }
    for matcher in &selector.matchers.matchers {
        pairs.push((matcher.name.clone(), matcher.value.clone()));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Expands the values notation: `1 2 _ stale 0+10x3 _x2 5x2`.
pub fn parse_values(text: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        if token == "_" {
            out.push(None);
            continue;
        }
        if token == "stale" {
            out.push(Some(stale_nan()));
            continue;
        }
        if let Some(count) = token.strip_prefix("_x") {
            let count: usize = count.parse().map_err(|_| format!("bad value {token:?}"))?;
            out.extend(std::iter::repeat_n(None, count));
            continue;
        }
        if let Some(value) = parse_number(token).filter(|_| !token.contains(['x', 'X'])) {
            out.push(Some(value));
            continue;
        }
        let (series, count) = token
            .rsplit_once('x')
            .ok_or_else(|| format!("bad value {token:?}"))?;
        let count: usize = count.parse().map_err(|_| format!("bad value {token:?}"))?;
        let (start, delta) =
            split_start_delta(series).ok_or_else(|| format!("bad value {token:?}"))?;
        if start.is_nan() && series == "stale" {
            out.extend(std::iter::repeat_n(Some(stale_nan()), count + 1));
            continue;
        }
        let mut value = start;
        out.push(Some(value));
        for _ in 0..count {
            value += delta;
            out.push(Some(value));
        }
    }
    Ok(out)
}

/// `a+b` / `a-b` / `a` → `(a, ±b)`.
fn split_start_delta(text: &str) -> Option<(f64, f64)> {
    if text == "stale" {
        return Some((stale_nan(), 0.0));
    }
    if let Some(value) = parse_number(text) {
        return Some((value, 0.0));
    }
    let bytes = text.as_bytes();
    for index in 1..bytes.len() {
        let c = bytes[index];
        if (c == b'+' || c == b'-') && !matches!(bytes[index - 1], b'e' | b'E') {
            let start = parse_number(&text[..index])?;
            let delta = parse_number(&text[index + 1..])?;
            return Some((start, if c == b'-' { -delta } else { delta }));
        }
    }
    None
}

/// A number as the test files write values (`1`, `-1.5e3`, `Inf`, `NaN`; `0x59` is "0, 59 more
/// times", not hexadecimal).
pub fn parse_number(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    let (sign, body) = match lower.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, lower.strip_prefix('+').unwrap_or(&lower)),
    };
    match body {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.is_empty()
        || !body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expand_like_promtool() {
        assert_eq!(
            parse_values("1 _ 0+10x2 _x2 5x1 1-1x2").unwrap_or_default(),
            vec![
                Some(1.0),
                None,
                Some(0.0),
                Some(10.0),
                Some(20.0),
                None,
                None,
                Some(5.0),
                Some(5.0),
                Some(1.0),
                Some(0.0),
                Some(-1.0)
            ]
        );
        assert!(crate::value::is_stale(
            parse_values("stale").unwrap_or_default()[0].unwrap_or_default()
        ));
        assert_eq!(
            parse_values("-2+1x1").unwrap_or_default(),
            vec![Some(-2.0), Some(-1.0)]
        );
        assert_eq!(parse_values("1e3").unwrap_or_default(), vec![Some(1000.0)]);
    }

    #[test]
    fn evals_parse_with_expectations() {
        let file = parse_file(
            "load 5m\n  m{a=\"b\"} 1 2\n\neval instant at 5m m\n  expect warn msg: PromQL warning: x\n  m{a=\"b\"} 2\n\neval range from 0 to 5m step 5m m\n  m{a=\"b\"} 1 _\n",
        )
        .unwrap_or_default();
        assert_eq!(file.commands.len(), 3);
        let Command::Eval(eval) = &file.commands[1] else {
            panic!("not an eval");
        };
        assert_eq!(eval.kind, EvalKind::Instant { at: 300_000 });
        assert_eq!(
            eval.warn,
            vec![Message::Exact("PromQL warning: x".to_string())]
        );
        assert_eq!(eval.line, 4);
    }
}
