//! Label matchers with Prometheus 3 semantics: a missing label has the value `""`, regular
//! expressions are fully anchored and `.` matches a newline too.

use regex::Regex;

use crate::error::{Error, Result};
use crate::labels::Labels;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub kind: MatchKind,
    /// The value or the regular expression's text.
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for LabelMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.value == other.value
    }
}

impl LabelMatcher {
    /// A matcher; regular expressions are compiled anchored, with `.` matching `\n`.
    pub fn new(name: &str, kind: MatchKind, value: &str) -> Result<LabelMatcher> {
        let regex = match kind {
            MatchKind::Regex | MatchKind::NotRegex => Some(compile(value)?),
            MatchKind::Equal | MatchKind::NotEqual => None,
        };
        Ok(LabelMatcher {
            name: name.to_string(),
            kind,
            value: value.to_string(),
            regex,
        })
    }

    /// The matcher for a parsed selector's matcher.
    pub fn from_parsed(parsed: &promql_parser::label::Matcher) -> Result<LabelMatcher> {
        use promql_parser::label::MatchOp;
        let kind = match parsed.op {
            MatchOp::Equal => MatchKind::Equal,
            MatchOp::NotEqual => MatchKind::NotEqual,
            MatchOp::Re(_) => MatchKind::Regex,
            MatchOp::NotRe(_) => MatchKind::NotRegex,
        };
        LabelMatcher::new(&parsed.name, kind, &parsed.value)
    }

    /// Whether `value` (`""` for a missing label) satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.kind, &self.regex) {
            (MatchKind::Equal, _) => value == self.value,
            (MatchKind::NotEqual, _) => value != self.value,
            (MatchKind::Regex, Some(regex)) => regex.is_match(value),
            (MatchKind::NotRegex, Some(regex)) => !regex.is_match(value),
            (MatchKind::Regex | MatchKind::NotRegex, None) => false,
        }
    }

    /// Whether the series `labels` satisfies the matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name))
    }

    /// Whether a series without this label would match.
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }

    /// For `=` and for regular expressions that are a plain alternation of literals
    /// (`a|b|c`), the values that can match; `None` when any value might.
    pub fn literal_values(&self) -> Option<Vec<String>> {
        match self.kind {
            MatchKind::Equal => Some(vec![self.value.clone()]),
            MatchKind::Regex => {
                let plain = |part: &str| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/'))
                };
                let parts: Vec<&str> = self.value.split('|').collect();
                parts
                    .iter()
                    .all(|part| plain(part))
                    .then(|| parts.iter().map(|part| part.to_string()).collect())
            }
            MatchKind::NotEqual | MatchKind::NotRegex => None,
        }
    }
}

impl std::fmt::Display for LabelMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.kind {
            MatchKind::Equal => "=",
            MatchKind::NotEqual => "!=",
            MatchKind::Regex => "=~",
            MatchKind::NotRegex => "!~",
        };
        write!(
            f,
            "{}{op}\"{}\"",
            self.name,
            crate::labels::escape(&self.value)
        )
    }
}

/// Compiles a PromQL regular expression: anchored, `.` matching newlines. Go's RE2 accepts a
/// `{` that does not start a repetition as a literal; Rust's `regex` does not, so such braces
/// are escaped first.
fn compile(pattern: &str) -> Result<Regex> {
    let anchored = |text: &str| format!("^(?s:{text})$");
    Regex::new(&anchored(pattern))
        .or_else(|_| Regex::new(&anchored(&escape_literal_braces(pattern))))
        .map_err(|e| Error::BadData(format!("invalid regular expression {pattern:?}: {e}")))
}

fn escape_literal_braces(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c == '\\' && index + 1 < chars.len() {
            out.push(c);
            out.push(chars[index + 1]);
            index += 2;
            continue;
        }
        if c == '{' {
            let rest: String = chars[index + 1..].iter().collect();
            let is_repetition = rest.find('}').is_some_and(|end| {
                let inner = &rest[..end];
                !inner.is_empty()
                    && inner.chars().all(|c| c.is_ascii_digit() || c == ',')
                    && inner.chars().next().is_some_and(|c| c.is_ascii_digit())
            });
            if !is_repetition {
                out.push('\\');
            }
        } else if c == '}' {
            let opened = out
                .rfind('{')
                .is_some_and(|at| at == 0 || !out[..at].ends_with('\\'));
            if !opened {
                out.push('\\');
            }
        }
        out.push(c);
        index += 1;
    }
    out
}

/// Whether every matcher matches `labels`.
pub fn all_match(matchers: &[LabelMatcher], labels: &Labels) -> bool {
    matchers.iter().all(|matcher| matcher.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_expressions_are_anchored_and_dot_matches_newlines() {
        let matcher =
            LabelMatcher::new("a", MatchKind::Regex, "fo.").unwrap_or_else(|e| panic!("{e}"));
        assert!(matcher.matches_value("foo"));
        assert!(matcher.matches_value("fo\n"));
        assert!(!matcher.matches_value("xfoo"));
        assert!(!matcher.matches_value("fooo"));
        let braces =
            LabelMatcher::new("a", MatchKind::Regex, "a{b}c").unwrap_or_else(|e| panic!("{e}"));
        assert!(braces.matches_value("a{b}c"));
    }

    #[test]
    fn a_missing_label_is_the_empty_value() {
        let labels = Labels::from_pairs([("a", "1")]);
        let empty = LabelMatcher::new("b", MatchKind::Equal, "").unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.matches(&labels));
        let not_empty =
            LabelMatcher::new("a", MatchKind::NotEqual, "").unwrap_or_else(|e| panic!("{e}"));
        assert!(not_empty.matches(&labels));
        assert_eq!(
            LabelMatcher::new("a", MatchKind::Regex, "x|y-z")
                .unwrap_or_else(|e| panic!("{e}"))
                .literal_values(),
            Some(vec!["x".to_string(), "y-z".to_string()])
        );
    }
}
