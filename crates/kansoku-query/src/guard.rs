//! Validating user SQL before anything is planned.
//!
//! A user query must be exactly one `SELECT`-style query (CTEs, joins, subqueries, unions and
//! set operations allowed), with no `INTO`, no table functions, and table names that are plain
//! (unqualified) stream names. Everything else — DDL, DML, `COPY`, `SET`, `EXPLAIN`, several
//! statements — is refused here, and again by DataFusion's `SQLOptions` as a second line.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{Error, Result, syntax_error};

/// Longest SQL text accepted.
pub const MAX_SQL_LEN: usize = 64 * 1024;
/// Deepest expression nesting accepted by the parser.
const RECURSION_LIMIT: usize = 64;

/// A query that passed validation.
#[derive(Debug, Clone)]
pub struct ValidatedQuery {
    /// The parsed query (rewritten in place by `rewrite`).
    pub query: Box<Query>,
    /// Stream names it reads, lower-cased unless quoted.
    pub streams: BTreeSet<String>,
}

/// Parses and checks `sql`.
pub fn validate(sql: &str) -> Result<ValidatedQuery> {
    if sql.trim().is_empty() {
        return Err(Error::InvalidParams("sql must not be empty".to_string()));
    }
    if sql.len() > MAX_SQL_LEN {
        return Err(Error::InvalidParams(format!(
            "sql is longer than {MAX_SQL_LEN} bytes"
        )));
    }
    let dialect = GenericDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| with_end_position(syntax_error(&e.to_string()), sql))?;
    if statements.len() != 1 {
        return Err(Error::NotAllowed(format!(
            "exactly one SQL statement is allowed, found {}",
            statements.len()
        )));
    }
    let query = match statements.remove(0) {
        Statement::Query(query) => query,
        other => {
            return Err(Error::NotAllowed(format!(
                "only read-only SELECT queries are allowed, not {}",
                statement_kind(&other)
            )));
        }
    };
    let mut checker = Checker::default();
    if let ControlFlow::Break(error) = query.visit(&mut checker) {
        return Err(error);
    }
    let streams = checker
        .relations
        .into_iter()
        .filter(|name| !checker.cte_names.contains(name))
        .collect();
    Ok(ValidatedQuery { query, streams })
}

#[derive(Default)]
struct Checker {
    relations: BTreeSet<String>,
    cte_names: BTreeSet<String>,
}

impl Visitor for Checker {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Error> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.cte_names.insert(identifier(&cte.alias.name));
            }
        }
        if let SetExpr::Select(select) = query.body.as_ref()
            && select.into.is_some()
        {
            return ControlFlow::Break(Error::NotAllowed(
                "SELECT … INTO is not allowed".to_string(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Error> {
        match factor {
            TableFactor::Table {
                args: Some(_),
                name,
                ..
            } => ControlFlow::Break(Error::NotAllowed(format!(
                "table functions are not allowed ({name})"
            ))),
            TableFactor::Table { .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => ControlFlow::Continue(()),
            other => ControlFlow::Break(Error::NotAllowed(format!(
                "this kind of FROM item is not allowed: {other}"
            ))),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Error> {
        match relation.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => {
                self.relations.insert(identifier(ident));
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Break(Error::StreamNotFound(relation.to_string())),
        }
    }
}

/// An error at the end of the input ("found: EOF") is located after the last character.
fn with_end_position(error: Error, sql: &str) -> Error {
    match error {
        Error::Syntax {
            message,
            line: None,
            column: None,
        } if message.contains("EOF") => {
            let line = sql.lines().count().max(1) as u64;
            let column = sql.lines().last().map_or(0, |last| last.chars().count()) as u64 + 1;
            Error::Syntax {
                message,
                line: Some(line),
                column: Some(column),
            }
        }
        other => other,
    }
}

/// An identifier as DataFusion resolves it: lower-cased unless quoted.
pub fn identifier(ident: &datafusion::sql::sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> String {
        match validate(sql) {
            Err(error) => error.to_string(),
            Ok(query) => panic!("accepted {sql}: {query:?}"),
        }
    }

    #[test]
    fn read_only_queries_pass_and_name_their_streams() {
        let query = validate("SELECT * FROM \"default\" WHERE level = 'error'").unwrap();
        assert_eq!(
            query.streams.into_iter().collect::<Vec<_>>(),
            vec!["default"]
        );
        let joined = validate(
            "WITH recent AS (SELECT * FROM App) SELECT a.x FROM recent a JOIN other b ON a.x = b.x UNION ALL SELECT x FROM (SELECT x FROM third) t",
        )
        .unwrap();
        assert_eq!(
            joined.streams.into_iter().collect::<Vec<_>>(),
            vec!["app", "other", "third"]
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for sql in [
            "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc/'",
            "COPY (SELECT 1) TO '/tmp/out.parquet'",
            "DROP TABLE app",
            "INSERT INTO app VALUES (1)",
            "DELETE FROM app",
            "SET datafusion.execution.batch_size = 1",
            "EXPLAIN SELECT 1",
            "SELECT 1; SELECT 2",
            "SELECT * INTO copy FROM app",
        ] {
            let message = refused(sql);
            assert!(!message.is_empty(), "{sql}");
        }
        assert!(refused("SELECT * FROM generate_series(1, 10)").contains("table functions"));
        assert!(refused("SELECT * FROM other_org.app").contains("not found"));
        assert!(refused("SELECT * FROM information_schema.tables").contains("not found"));
        assert!(refused("SELECT * FROM \"a\".\"b\"").contains("not found"));
    }

    #[test]
    fn syntax_errors_and_bombs_are_errors() {
        let error = validate("SELECT * FROM app WHERE").unwrap_err();
        assert_eq!(error.search_code(), 20001);
        assert_eq!(error.position(), Some((1, 24)));
        let error = validate("SELECT * FROM app\nWHERE a = 1 AND AND b").unwrap_err();
        assert_eq!(error.position(), Some((2, 21)), "{error}");
        let deep = format!("SELECT {}1{} FROM app", "(".repeat(5000), ")".repeat(5000));
        assert!(validate(&deep).is_err());
        let nots = format!("SELECT * FROM app WHERE {} true", "NOT ".repeat(5000));
        assert!(validate(&nots).is_err());
        assert!(validate("   ").is_err());
    }
}
