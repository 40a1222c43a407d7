//! Using the full-text index: which files and row groups a query can skip.
//!
//! The filters DataFusion pushes into a scan are turned into a [`Requirement`]: `col LIKE` /
//! `ILIKE` patterns contribute their literal segments of three or more characters (through
//! `COALESCE(…, false)`, which the o2-function rewrite adds), `AND`/`OR` combine, and everything
//! else is "unknown" (never prunes). A file whose row groups all fail is not read; otherwise its
//! failing row groups are skipped through a `ParquetAccessPlan`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Like, Operator};
use kansoku_index::{FileIndex, Requirement};
use kansoku_storage::ObjectStore;

/// Parsed indexes by path; indexes of committed files never change.
#[derive(Debug)]
pub struct IndexCache {
    store: ObjectStore,
    entries: Mutex<HashMap<String, Arc<FileIndex>>>,
}

/// Most indexes kept in memory.
const MAX_CACHED: usize = 20_000;

impl IndexCache {
    /// A cache reading from `store`.
    pub fn new(store: ObjectStore) -> IndexCache {
        IndexCache {
            store,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The index at `path`; `None` when it cannot be read (the file is then scanned fully).
    pub async fn load(&self, path: &str) -> Option<Arc<FileIndex>> {
        if let Some(index) = self.entries.lock().ok().and_then(|e| e.get(path).cloned()) {
            return Some(index);
        }
        let bytes = match self.store.get(path).await {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%path, %error, "cannot read index; scanning the file fully");
                return None;
            }
        };
        let index = match FileIndex::from_bytes(&bytes) {
            Ok(index) => Arc::new(index),
            Err(error) => {
                tracing::warn!(%path, %error, "unreadable index; scanning the file fully");
                return None;
            }
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
            entries.insert(path.to_string(), Arc::clone(&index));
        }
        Some(index)
    }
}

/// For each column compared with literals by `filters` (`col = 'v'`, `col IN (…)`, or an `OR` of
/// those), the values it may take, as text.
pub fn allowed_values(filters: &[Expr]) -> HashMap<String, HashSet<String>> {
    let mut allowed: HashMap<String, HashSet<String>> = HashMap::new();
    for filter in filters {
        for conjunct in split_and(filter) {
            if let Some((column, values)) = equality_values(conjunct) {
                match allowed.get_mut(&column) {
                    Some(existing) => existing.retain(|v| values.contains(v)),
                    None => {
                        allowed.insert(column, values);
                    }
                }
            }
        }
    }
    allowed
}

fn split_and(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            let mut parts = split_and(left);
            parts.extend(split_and(right));
            parts
        }
        other => vec![other],
    }
}

/// `col = literal`, `col IN (literals)` or an `OR` of such on one column.
fn equality_values(expr: &Expr) -> Option<(String, HashSet<String>)> {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => match (left.as_ref(), right.as_ref()) {
            (Expr::Column(column), Expr::Literal(value, _))
            | (Expr::Literal(value, _), Expr::Column(column)) => {
                literal_text(value).map(|text| (column.name.clone(), HashSet::from([text])))
            }
            _ => None,
        },
        Expr::InList(list) if !list.negated => {
            let Expr::Column(column) = list.expr.as_ref() else {
                return None;
            };
            let values = list
                .list
                .iter()
                .map(|item| match item {
                    Expr::Literal(value, _) => literal_text(value),
                    _ => None,
                })
                .collect::<Option<HashSet<String>>>()?;
            Some((column.name.clone(), values))
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let (left_column, mut values) = equality_values(left)?;
            let (right_column, right_values) = equality_values(right)?;
            if left_column != right_column {
                return None;
            }
            values.extend(right_values);
            Some((left_column, values))
        }
        _ => None,
    }
}

fn literal_text(value: &ScalarValue) -> Option<String> {
    if value.is_null() {
        return None;
    }
    match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)) => Some(text.clone()),
        ScalarValue::Int64(_) | ScalarValue::Int32(_) | ScalarValue::Boolean(_) => {
            Some(value.to_string())
        }
        _ => None,
    }
}

/// Whether a file with these partition values can hold rows satisfying `allowed`.
pub fn partition_may_match(
    partition: &[(String, Option<String>)],
    allowed: &HashMap<String, HashSet<String>>,
) -> bool {
    partition.iter().all(|(key, value)| match allowed.get(key) {
        None => true,
        Some(values) => value.as_ref().is_some_and(|v| values.contains(v)),
    })
}

/// What `filters` (all of which must hold) require of the text columns.
pub fn requirement(filters: &[Expr]) -> Requirement {
    Requirement::All(filters.iter().map(requirement_of).collect())
}

fn requirement_of(expr: &Expr) -> Requirement {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Requirement::All(vec![requirement_of(left), requirement_of(right)]),
            Operator::Or => Requirement::Any(vec![requirement_of(left), requirement_of(right)]),
            _ => Requirement::Unknown,
        },
        Expr::Like(like) => like_requirement(like),
        Expr::ScalarFunction(function) if function.name() == "coalesce" => match function
            .args
            .as_slice()
        {
            [inner, Expr::Literal(ScalarValue::Boolean(Some(false)), _)] => requirement_of(inner),
            _ => Requirement::Unknown,
        },
        Expr::ScalarFunction(function) if function.name() == crate::icontains::NAME => {
            match function.args.as_slice() {
                [
                    Expr::Column(column),
                    Expr::Literal(
                        ScalarValue::Utf8(Some(text))
                        | ScalarValue::Utf8View(Some(text))
                        | ScalarValue::LargeUtf8(Some(text)),
                        _,
                    ),
                ] => Requirement::contains(&column.name, text),
                _ => Requirement::Unknown,
            }
        }
        Expr::Alias(alias) => requirement_of(&alias.expr),
        _ => Requirement::Unknown,
    }
}

fn like_requirement(like: &Like) -> Requirement {
    if like.negated {
        return Requirement::Unknown;
    }
    let (Expr::Column(column), Expr::Literal(pattern, _)) =
        (like.expr.as_ref(), like.pattern.as_ref())
    else {
        return Requirement::Unknown;
    };
    let pattern = match pattern {
        ScalarValue::Utf8(Some(p))
        | ScalarValue::Utf8View(Some(p))
        | ScalarValue::LargeUtf8(Some(p)) => p,
        _ => return Requirement::Unknown,
    };
    let escape = like.escape_char.unwrap_or('\\');
    let segments = literal_segments(pattern, escape);
    Requirement::All(
        segments
            .iter()
            .map(|segment| Requirement::contains(&column.name, segment))
            .collect(),
    )
}

/// The literal runs of a LIKE pattern (between `%` and `_` wildcards, escapes resolved).
fn literal_segments(pattern: &str, escape: char) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            if let Some(next) = chars.next() {
                current.push(next);
            }
            continue;
        }
        if c == '%' || c == '_' {
            if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push(c);
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn like_patterns_yield_their_literal_segments() {
        assert_eq!(literal_segments("%needle%", '\\'), vec!["needle"]);
        assert_eq!(
            literal_segments("%100\\%_done%", '\\'),
            vec!["100%", "done"]
        );
        assert_eq!(literal_segments("ab%cdef", '\\'), vec!["ab", "cdef"]);
    }

    #[test]
    fn equalities_restrict_partition_values() {
        let filters = [
            col("ns")
                .eq(lit("kube-system"))
                .and(col("level").in_list(vec![lit("error"), lit("warn")], false)),
            col("pod").eq(lit("a")).or(col("pod").eq(lit("b"))),
        ];
        let allowed = allowed_values(&filters);
        assert_eq!(allowed["ns"], HashSet::from(["kube-system".to_string()]));
        assert_eq!(allowed["level"].len(), 2);
        assert_eq!(allowed["pod"].len(), 2);
        let file = vec![("ns".to_string(), Some("default".to_string()))];
        assert!(!partition_may_match(&file, &allowed));
        let file = vec![
            ("ns".to_string(), Some("kube-system".to_string())),
            ("other".to_string(), None),
        ];
        assert!(partition_may_match(&file, &allowed));
        assert!(!partition_may_match(&[("ns".to_string(), None)], &allowed));
        assert!(allowed_values(&[col("ns").eq(lit("a")).or(col("x").eq(lit("b")))]).is_empty());
    }

    #[test]
    fn filters_become_requirements() {
        let filter = col("log")
            .ilike(lit("%Connection refused%"))
            .or(col("message").like(lit("%error%")));
        let required = requirement(&[filter, col("level").eq(lit("x"))]);
        assert!(required.is_useful());
        let udf = crate::icontains::ContainsIgnoreCase::udf();
        let called = requirement(&[udf.call(vec![col("log"), lit("Refused")])]);
        assert_eq!(
            called,
            Requirement::All(vec![Requirement::contains("log", "refused")])
        );
        let not_a_literal = requirement(&[udf.call(vec![col("log"), col("other")])]);
        assert!(!not_a_literal.is_useful());
        let negated = requirement(&[col("log").not_ilike(lit("%x%"))]);
        assert!(!negated.is_useful());
        let partly = requirement(&[col("log").ilike(lit("%abc%")).or(col("n").gt(lit(1)))]);
        assert!(
            !partly.is_useful(),
            "an OR with an undecidable side cannot prune"
        );
    }
}
