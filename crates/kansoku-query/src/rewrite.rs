//! Rewriting OpenObserve's search functions into plain SQL before planning, so DataFusion's own
//! optimisations (and Parquet pruning) apply to them.
//!
//! | function | becomes |
//! |---|---|
//! | `match_all('kw')` | `contains_ignore_case(f1, 'kw') OR …` over the stream's full-text fields |
//! | `match_all('kw*')`, `match_all('*kw')` | a case-insensitive regex on whole words (`\bkw\w*`, `\w*kw\b`) |
//! | `str_match(f, 'v')` | `COALESCE(f LIKE '%v%', false)` |
//! | `str_match_ignore_case(f, 'v')` | `contains_ignore_case(f, 'v')` (see [`crate::icontains`]) |
//! | `re_match(f, 're')` / `re_not_match(f, 're')` | `COALESCE(f ~ 're', false)` / its negation |
//!
//! `COALESCE(…, false)` (and `contains_ignore_case` being false for NULL) keeps
//! `NOT match_all(…)` true for records that lack the field.
//! Arguments are taken from the parsed query and re-emitted, never pasted from raw input.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, Value, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// What a rewrite needs to know about the queried stream.
pub struct RewriteContext<'a> {
    /// The stream `match_all` searches (the first stream of the query).
    pub stream: &'a str,
    /// Its full-text fields that exist and hold text.
    pub full_text_fields: &'a [String],
}

/// Rewrites the o2 functions in `query`.
pub fn rewrite(query: &mut Query, context: &RewriteContext<'_>) -> Result<()> {
    let outcome = visit_expressions_mut(query, |expr| match rewrite_expr(expr, context) {
        Ok(Some(replacement)) => {
            *expr = replacement;
            ControlFlow::Continue(())
        }
        Ok(None) => ControlFlow::Continue(()),
        Err(error) => ControlFlow::Break(error),
    });
    match outcome {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn rewrite_expr(expr: &Expr, context: &RewriteContext<'_>) -> Result<Option<Expr>> {
    let Expr::Function(function) = expr else {
        return Ok(None);
    };
    let name = function.name.to_string().to_lowercase();
    let args = match &function.args {
        FunctionArguments::List(list) => list.args.as_slice(),
        _ => &[],
    };
    let sql = match name.as_str() {
        "match_all" | "match_all_raw" | "match_all_raw_ignore_case" | "match_all_ignore_case" => {
            let [pattern] = args else {
                return Err(arity(&name, "('keyword')"));
            };
            let pattern = string_literal(&name, pattern)?;
            if context.full_text_fields.is_empty() {
                return Err(Error::NoFullTextFields(context.stream.to_string()));
            }
            let terms: Vec<String> = context
                .full_text_fields
                .iter()
                .map(|field| keyword_match(&quote_identifier(field), &pattern))
                .collect();
            format!("({})", terms.join(" OR "))
        }
        "str_match" | "match_field" => {
            let (field, value) = field_and_literal(&name, args)?;
            format!("COALESCE({field} LIKE {}, false)", like_contains(&value))
        }
        "str_match_ignore_case" | "match_field_ignore_case" => {
            let (field, value) = field_and_literal(&name, args)?;
            format!("contains_ignore_case({field}, {})", sql_string(&value))
        }
        "re_match" => {
            let (field, pattern) = field_and_literal(&name, args)?;
            format!("COALESCE({field} ~ {}, false)", sql_string(&pattern))
        }
        "re_not_match" => {
            let (field, pattern) = field_and_literal(&name, args)?;
            format!("(NOT COALESCE({field} ~ {}, false))", sql_string(&pattern))
        }
        "fuzzy_match_all" | "fuzzy_match" => {
            return Err(Error::Function(format!(
                "{name}() is not supported; use match_all() with '*' wildcards"
            )));
        }
        _ => return Ok(None),
    };
    let dialect = GenericDialect {};
    let replacement = Parser::new(&dialect)
        .try_with_sql(&sql)
        .and_then(|mut parser| parser.parse_expr())
        .map_err(|e| Error::Internal(format!("rewriting {name}: {e}")))?;
    Ok(Some(replacement))
}

/// The match of one field against a `match_all` keyword.
fn keyword_match(field: &str, pattern: &str) -> String {
    if !pattern.contains('*') {
        return format!("contains_ignore_case({field}, {})", sql_string(pattern));
    }
    let parts: Vec<String> = pattern.split('*').map(regex_escape).collect();
    let mut regex = String::from("(?i)");
    if !pattern.starts_with('*') {
        regex.push_str("\\b");
    }
    regex.push_str(&parts.join("\\w*"));
    if !pattern.ends_with('*') {
        regex.push_str("\\b");
    }
    format!("COALESCE({field} ~ {}, false)", sql_string(&regex))
}

fn field_and_literal(name: &str, args: &[FunctionArg]) -> Result<(String, String)> {
    let [field, value] = args else {
        return Err(arity(name, "(field, 'value')"));
    };
    let field = match field {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(
            expr @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
        )) => expr.to_string(),
        _ => {
            return Err(Error::Function(format!(
                "{name}() expects a field name as its first argument"
            )));
        }
    };
    Ok((field, string_literal(name, value)?))
}

fn string_literal(name: &str, arg: &FunctionArg) -> Result<String> {
    match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(value))) => match &value.value {
            Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => Ok(text.clone()),
            _ => Err(Error::Function(format!(
                "{name}() expects a string literal"
            ))),
        },
        _ => Err(Error::Function(format!(
            "{name}() expects a string literal"
        ))),
    }
}

fn arity(name: &str, expected: &str) -> Error {
    Error::Function(format!("{name}() takes {expected}"))
}

/// `'%value%'` with LIKE wildcards in `value` escaped.
fn like_contains(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    escaped.push('%');
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    sql_string(&escaped)
}

/// A SQL string literal.
pub fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A quoted SQL identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::validate;

    fn rewritten(sql: &str, fields: &[&str]) -> Result<String> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let mut query = validate(sql)?.query;
        rewrite(
            &mut query,
            &RewriteContext {
                stream: "app",
                full_text_fields: &fields,
            },
        )?;
        Ok(query.to_string())
    }

    #[test]
    fn match_all_expands_over_full_text_fields() {
        let sql = rewritten(
            "SELECT * FROM app WHERE match_all('Error') AND NOT match_all('it''s 100%')",
            &["log", "message"],
        )
        .unwrap();
        assert!(sql.contains("contains_ignore_case(\"log\", 'Error') OR contains_ignore_case(\"message\", 'Error')"), "{sql}");
        assert!(sql.contains("'it''s 100%'"), "{sql}");
    }

    #[test]
    fn wildcards_become_word_regexes() {
        let sql = rewritten("SELECT * FROM app WHERE match_all('time*')", &["log"]).unwrap();
        assert!(sql.contains("'(?i)\\btime\\w*'"), "{sql}");
    }

    #[test]
    fn field_functions_and_bad_arguments() {
        let sql = rewritten(
            "SELECT * FROM app WHERE str_match(pod, 'api') AND str_match_ignore_case(level, 'ERR') AND re_match(msg, '^a.*') AND re_not_match(msg, 'b')",
            &[],
        )
        .unwrap();
        assert!(sql.contains("COALESCE(pod LIKE '%api%', false)"), "{sql}");
        assert!(sql.contains("contains_ignore_case(level, 'ERR')"), "{sql}");
        assert!(sql.contains("NOT COALESCE(msg ~ 'b', false)"), "{sql}");
        assert!(rewritten("SELECT * FROM app WHERE str_match(pod)", &[]).is_err());
        assert!(rewritten("SELECT * FROM app WHERE str_match('x', 'y')", &[]).is_err());
        assert!(rewritten("SELECT * FROM app WHERE match_all(level)", &["log"]).is_err());
        assert!(matches!(
            rewritten("SELECT * FROM app WHERE match_all('x')", &[]),
            Err(Error::NoFullTextFields(_))
        ));
    }
}
