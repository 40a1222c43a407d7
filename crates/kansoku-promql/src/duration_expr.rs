//! Duration expressions (Prometheus 3): arithmetic in range brackets and after `offset`, e.g.
//! `rate(x[5m+30s])`, `x[1h:step()*2]`, `x offset (2 * 1m)`, `x offset min_of(step(), 1s)`.
//!
//! `promql-parser` reads only literal durations there, so such expressions are computed first
//! and written back as milliseconds: `[5m+30s]` → `[330000ms]`. Numbers are seconds; `step()`
//! and `range()` are the query's step and range (0 for instant queries), `start()`/`end()` its
//! bounds, `min_of`/`max_of` the smaller/larger of two. After `offset` only one operand belongs
//! to the offset (a literal, a parenthesised expression or a call, with an optional sign), so
//! `x offset 100 + 2` stays `(x offset 100) + 2`, as in Prometheus.

/// What the query-dependent functions mean for this evaluation (milliseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryTimes {
    /// `step()`.
    pub step: i64,
    /// `start()`.
    pub start: i64,
    /// `end()`.
    pub end: i64,
}

/// `query` with every duration expression replaced by its value; `Err` names a bad one.
pub fn expand(query: &str, times: QueryTimes) -> Result<String, String> {
    if !query.contains('[') && !query.to_ascii_lowercase().contains("offset") {
        return Ok(query.to_string());
    }
    let chars: Vec<char> = query.chars().collect();
    let mut out = String::with_capacity(query.len());
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(&chars, index);
            out.extend(&chars[index..end]);
            index = end;
            continue;
        }
        if c == '[' {
            let Some(close) = chars[index..].iter().position(|c| *c == ']') else {
                out.extend(&chars[index..]);
                break;
            };
            let inner: String = chars[index + 1..index + close].iter().collect();
            out.push('[');
            let parts: Vec<&str> = split_top_level(&inner, ':');
            for (position, part) in parts.iter().enumerate() {
                if position > 0 {
                    out.push(':');
                }
                out.push_str(&expand_part(part, times)?);
            }
            out.push(']');
            index += close + 1;
            continue;
        }
        if is_word_at(&chars, index, "offset") {
            index += "offset".len();
            let start = index;
            while index < chars.len() && chars[index].is_whitespace() {
                index += 1;
            }
            let operand_end = operand_end(&chars, index);
            let operand: String = chars[index..operand_end].iter().collect();
            let expanded = expand_part(&operand, times)?;
            // The parser refuses a zero duration; an offset of zero is no offset.
            if expanded != "0ms" {
                out.push_str("offset");
                out.extend(&chars[start..index]);
                out.push_str(&expanded);
            }
            index = operand_end;
            continue;
        }
        out.push(c);
        index += 1;
    }
    Ok(out)
}

fn string_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut index = start + 1;
    while index < chars.len() {
        if chars[index] == '\\' && quote != '`' {
            index += 2;
            continue;
        }
        if chars[index] == quote {
            return index + 1;
        }
        index += 1;
    }
    chars.len()
}

fn is_word_at(chars: &[char], index: usize, word: &str) -> bool {
    let before_ok = index == 0 || !(chars[index - 1].is_alphanumeric() || chars[index - 1] == '_');
    let candidate: String = chars[index..chars.len().min(index + word.len())]
        .iter()
        .collect();
    let after = chars.get(index + word.len());
    before_ok
        && candidate.eq_ignore_ascii_case(word)
        && after.is_none_or(|c| !(c.is_alphanumeric() || *c == '_'))
}

/// The end of the single operand after `offset`: an optional sign, then a parenthesised
/// expression, a call, or a literal (a `^` after it applies to the vector, as in Prometheus).
fn operand_end(chars: &[char], start: usize) -> usize {
    let mut index = start;
    while index < chars.len() && matches!(chars[index], '+' | '-') {
        index += 1;
        while index < chars.len() && chars[index].is_whitespace() {
            index += 1;
        }
    }
    atom_end(chars, index)
}

fn atom_end(chars: &[char], start: usize) -> usize {
    let mut index = start;
    if index < chars.len() && chars[index] == '(' {
        return matching_paren(chars, index);
    }
    while index < chars.len()
        && (chars[index].is_alphanumeric() || matches!(chars[index], '_' | '.'))
    {
        index += 1;
    }
    if index < chars.len() && chars[index] == '(' {
        return matching_paren(chars, index);
    }
    index
}

fn matching_paren(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (offset, c) in chars[open..].iter().enumerate() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return open + offset + 1;
                }
            }
            _ => {}
        }
    }
    chars.len()
}

fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if c == separator && depth == 0 => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A part left as it is when it is empty or a plain literal, else its value in milliseconds.
fn expand_part(part: &str, times: QueryTimes) -> Result<String, String> {
    let trimmed = part.trim();
    let plain = trimmed.trim_start_matches('-');
    let is_literal = !plain.is_empty()
        && plain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        && plain.chars().next().is_some_and(|c| c.is_ascii_digit())
        && plain.chars().any(|c| c.is_ascii_alphabetic());
    if trimmed.is_empty() || is_literal {
        return Ok(part.to_string());
    }
    let mut parser = Parser {
        tokens: tokenize(trimmed)?,
        at: 0,
        times,
    };
    let seconds = parser.expression()?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "unexpected text in duration expression {trimmed:?}"
        ));
    }
    if !seconds.is_finite() {
        return Err(format!("duration expression {trimmed:?} is not finite"));
    }
    let millis = (seconds * 1000.0).round() as i64;
    Ok(if millis < 0 {
        format!("-{}ms", millis.unsigned_abs())
    } else {
        format!("{millis}ms")
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Symbol(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_ascii_alphanumeric() || chars[index] == '.')
            {
                index += 1;
            }
            let literal: String = chars[start..index].iter().collect();
            let seconds = match literal.parse::<f64>() {
                Ok(number) => number,
                Err(_) => crate::duration::parse_duration(&literal)
                    .map(|ms| ms as f64 / 1000.0)
                    .ok_or_else(|| format!("bad duration {literal:?}"))?,
            };
            tokens.push(Token::Number(seconds));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = index;
            while index < chars.len() && (chars[index].is_alphanumeric() || chars[index] == '_') {
                index += 1;
            }
            tokens.push(Token::Name(
                chars[start..index]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ));
            continue;
        }
        if "+-*/%^(),".contains(c) {
            tokens.push(Token::Symbol(c));
            index += 1;
            continue;
        }
        return Err(format!("unexpected character {c:?} in duration expression"));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    times: QueryTimes,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, symbol: char) -> bool {
        if self.peek() == Some(&Token::Symbol(symbol)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expression(&mut self) -> Result<f64, String> {
        let mut value = self.term()?;
        loop {
            if self.eat('+') {
                value += self.term()?;
            } else if self.eat('-') {
                value -= self.term()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn term(&mut self) -> Result<f64, String> {
        let mut value = self.unary()?;
        loop {
            if self.eat('*') {
                value *= self.unary()?;
            } else if self.eat('/') {
                value /= self.unary()?;
            } else if self.eat('%') {
                value %= self.unary()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn unary(&mut self) -> Result<f64, String> {
        if self.eat('-') {
            return Ok(-self.unary()?);
        }
        if self.eat('+') {
            return self.unary();
        }
        self.power()
    }

    fn power(&mut self) -> Result<f64, String> {
        let base = self.primary()?;
        if self.eat('^') {
            let exponent = self.unary()?;
            return Ok(base.powf(exponent));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<f64, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Number(value)) => {
                self.at += 1;
                Ok(value)
            }
            Some(Token::Symbol('(')) => {
                self.at += 1;
                let value = self.expression()?;
                if !self.eat(')') {
                    return Err("missing ')' in duration expression".to_string());
                }
                Ok(value)
            }
            Some(Token::Name(name)) => {
                self.at += 1;
                if !self.eat('(') {
                    return Err(format!("unexpected {name:?} in duration expression"));
                }
                let mut args = Vec::new();
                if !self.eat(')') {
                    loop {
                        args.push(self.expression()?);
                        if self.eat(')') {
                            break;
                        }
                        if !self.eat(',') {
                            return Err("expected ',' or ')' in duration expression".to_string());
                        }
                    }
                }
                self.call(&name, &args)
            }
            other => Err(format!("unexpected {other:?} in duration expression")),
        }
    }

    fn call(&self, name: &str, args: &[f64]) -> Result<f64, String> {
        let seconds = |ms: i64| ms as f64 / 1000.0;
        match (name, args) {
            ("step", []) => Ok(seconds(self.times.step)),
            ("range", []) => Ok(seconds(self.times.end - self.times.start)),
            ("start", []) => Ok(seconds(self.times.start)),
            ("end", []) => Ok(seconds(self.times.end)),
            ("min_of", [a, b]) => Ok(a.min(*b)),
            ("max_of", [a, b]) => Ok(a.max(*b)),
            _ => Err(format!(
                "function {name:?} is not allowed in a duration expression"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> QueryTimes {
        QueryTimes {
            step: 5_000,
            start: 50_000,
            end: 60_000,
        }
    }

    #[test]
    fn expressions_in_brackets_become_milliseconds() {
        let expand = |q: &str| expand(q, times()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(expand("rate(x[5m])"), "rate(x[5m])");
        assert_eq!(expand("changes(x[26m+4m])"), "changes(x[1800000ms])");
        assert_eq!(expand("x[29s+1s:5s+5s]"), "x[30000ms:10000ms]");
        assert_eq!(expand("x[1+(STep()-5)*2]"), "x[1000ms]");
        assert_eq!(expand("x[max_of(min_of(step()+1,1h),1ms)]"), "x[6000ms]");
        assert_eq!(expand("x[1h30m % 1h]"), "x[1800000ms]");
        assert_eq!(expand(r#"x{a="[1+1]"}[5m]"#), r#"x{a="[1+1]"}[5m]"#);
    }

    #[test]
    fn an_offset_takes_one_operand() {
        let expand = |q: &str| expand(q, times()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(expand("x offset 5m"), "x offset 5m");
        assert_eq!(expand("x offset (100 + 2)"), "x offset 102000ms");
        assert_eq!(expand("x offset 100 + 2"), "x offset 100000ms + 2");
        assert_eq!(expand("x offset -step()*2"), "x offset -5000ms*2");
        assert_eq!(expand("x offset step()^0"), "x offset 5000ms^0");
        assert_eq!(expand("x offset -2 ^ 2"), "x offset -2000ms ^ 2");
        assert_eq!(expand("x offset (-2 ^ 2)"), "x offset -4000ms");
        assert_eq!(expand("x[600]"), "x[600000ms]");
        assert_eq!(
            expand("x offset min_of(step(), 1s)+8000"),
            "x offset 1000ms+8000"
        );
        assert_eq!(expand("x OFFSET (-2 * 2)"), "x offset -4000ms");
        assert!(expand_part("1 + nope()", times()).is_err());
        assert_eq!(expand("x offset (step() - 5s)"), "x ");
    }
}
