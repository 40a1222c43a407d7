//! A bound on how deeply a query can nest, checked before parsing. The parser, the planner and
//! the evaluator recurse once per nesting level, so `1+1+…` with 20,000 terms or 10,000 nested
//! parentheses would overflow a thread's stack and abort the whole process. Prometheus (Go,
//! growable stacks) has no such limit; this one is far above any query a person or a dashboard
//! writes.
//!
//! The bound is lexical, so it holds before any tree exists: parentheses, braces, brackets and
//! operator tokens outside string literals and comments are counted, and their number bounds
//! the depth of the tree the parser could build.

/// Operators and brackets one query may hold. Large dashboard and alerting queries hold a few
/// dozen; parsing 1,000 levels overflowed the 2 MiB stack of a runtime thread in a debug build.
pub const MAX_OPERATORS: usize = 256;

/// `Err` (a message for `bad_data`) when `query` holds more than [`MAX_OPERATORS`] operators
/// and brackets.
pub fn check(query: &str) -> Result<(), String> {
    let count = count_operators(query);
    if count <= MAX_OPERATORS {
        return Ok(());
    }
    Err(format!(
        "query too complex: {count} operators and brackets, the limit is {MAX_OPERATORS} (each one can nest the expression one level deeper)"
    ))
}

/// Operator characters, brackets and operator keywords outside string literals and comments.
fn count_operators(query: &str) -> usize {
    let mut count = 0usize;
    let mut chars = query.chars().peekable();
    let mut word = String::new();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        close_word(&mut word, &mut count);
        match c {
            '"' | '\'' | '`' => skip_string(&mut chars, c),
            '#' => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' | '+' | '-' | '*' | '/' | '%' | '^' | '=' | '!' | '<' | '>' => {
                count += 1;
            }
            _ => {}
        }
    }
    close_word(&mut word, &mut count);
    count
}

/// Counts `word` if it is an operator keyword, and empties it.
fn close_word(word: &mut String, count: &mut usize) {
    let keyword = ["and", "or", "unless", "atan2"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k));
    *count += usize::from(keyword);
    word.clear();
}

/// Skips a string literal opened by `quote` (backslash escapes in `"` and `'` strings).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) {
    while let Some(c) = chars.next() {
        if c == '\\' && quote != '`' {
            chars.next();
            continue;
        }
        if c == quote {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_queries_pass_and_deep_ones_are_refused() {
        assert!(check("sum by (pod) (rate(http_requests_total{job=\"api\"}[5m])) > 3").is_ok());
        let chain = vec!["1"; 20_000].join("+");
        let refused = check(&chain).unwrap_err();
        assert!(refused.contains("19999 operators"), "{refused}");
        let parens = format!(
            "{}1{}",
            "(".repeat(MAX_OPERATORS + 1),
            ")".repeat(MAX_OPERATORS + 1)
        );
        assert!(check(&parens).is_err());
        let at_limit = format!(
            "{}1{}",
            "(".repeat(MAX_OPERATORS),
            ")".repeat(MAX_OPERATORS)
        );
        assert!(check(&at_limit).is_ok());
        assert!(check(&vec!["a"; 200].join(" or ")).is_ok());
        assert!(check(&vec!["a"; 300].join(" OR ")).is_err());
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let label = format!("up{{job=\"{}\"}}", "(+".repeat(5000));
        assert!(check(&label).is_ok());
        let escaped = format!("up{{job=\"\\\"{}\"}}", "-".repeat(5000));
        assert!(check(&escaped).is_ok());
        let raw = format!("up{{job=`{}`}}", "\\(".repeat(5000));
        assert!(check(&raw).is_ok());
        let comment = format!("up # {}\n", "(".repeat(5000));
        assert!(check(&comment).is_ok());
    }
}
