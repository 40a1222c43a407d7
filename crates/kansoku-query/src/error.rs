//! Errors of the read path, each with the OpenObserve search error code clients expect.

use kansoku_core::{CodedError, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL does not parse; `line`/`column` locate the problem when known.
    #[error("SQL syntax error: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
        /// 1-based line.
        line: Option<u64>,
        /// 1-based column.
        column: Option<u64>,
    },
    /// The SQL parses but is not a single read-only query over streams.
    #[error("{0}")]
    NotAllowed(String),
    /// A table name is not a stream of the caller's organisation.
    #[error("stream '{0}' not found")]
    StreamNotFound(String),
    /// `match_all` was used on a stream without full-text fields.
    #[error("stream '{0}' has no full-text fields (set full_text_search_keys in its settings)")]
    NoFullTextFields(String),
    /// A column does not exist.
    #[error("unknown field '{field}'{}", suggestion.as_ref().map(|s| format!("; did you mean '{s}'?")).unwrap_or_default())]
    FieldNotFound {
        /// The name used.
        field: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// A function does not exist or got wrong arguments.
    #[error("{0}")]
    Function(String),
    /// Request parameters are invalid.
    #[error("{0}")]
    InvalidParams(String),
    /// Planning or execution failed on the user's query (types, casts…).
    #[error("query failed: {0}")]
    Execution(String),
    /// The query needed more memory than allowed.
    #[error("query exceeded its memory limit ({0}); narrow the time range or the query")]
    ResourcesExhausted(String),
    /// The query ran longer than allowed.
    #[error(
        "query timed out after {0} s (KANSOKU_QUERY_TIMEOUT); narrow the time range or the query"
    )]
    Timeout(u64),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] kansoku_meta::Error),
    /// A stored file listed by the query was gone when read (replaced by compaction or expired
    /// longer ago than the deletion grace period); a search retries once with a new listing.
    #[error("a stored file was replaced while the query ran; retry: {0}")]
    FileGone(String),
    /// A bug or an unexpected engine failure.
    #[error("internal query error: {0}")]
    Internal(String),
}

impl Error {
    /// OpenObserve's search error code (`20001` SQL invalid … `20011` invalid params).
    pub fn search_code(&self) -> u32 {
        match self {
            Error::Syntax { .. } | Error::NotAllowed(_) => 20001,
            Error::StreamNotFound(_) => 20002,
            Error::NoFullTextFields(_) => 20003,
            Error::FieldNotFound { .. } => 20004,
            Error::Function(_) => 20005,
            Error::Execution(_) | Error::ResourcesExhausted(_) => 20008,
            Error::Timeout(_) => 20010,
            Error::InvalidParams(_) => 20011,
            Error::Meta(_) | Error::FileGone(_) | Error::Internal(_) => 10001,
        }
    }

    /// `(line, column)` of a syntax error.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            Error::Syntax {
                line: Some(line),
                column: Some(column),
                ..
            } => Some((*line, *column)),
            _ => None,
        }
    }
}

impl CodedError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::Syntax { .. }
            | Error::NotAllowed(_)
            | Error::FieldNotFound { .. }
            | Error::Function(_)
            | Error::InvalidParams(_)
            | Error::Execution(_)
            | Error::ResourcesExhausted(_)
            | Error::NoFullTextFields(_) => ErrorCode::BadRequest,
            Error::StreamNotFound(_) => ErrorCode::NotFound,
            Error::Timeout(_) => ErrorCode::Timeout,
            Error::Meta(e) => e.code(),
            Error::FileGone(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Whether an error's text is object_store's "not found" (it reaches DataFusion wrapped in
/// Parquet's or an external error, losing its type).
fn is_missing_object(message: &str) -> bool {
    message.contains("Object at location") && message.contains("not found")
}

/// Classifies a DataFusion error raised while planning or running a user query.
pub fn from_datafusion(error: datafusion::error::DataFusionError, fields: &[String]) -> Error {
    use datafusion::common::SchemaError;
    use datafusion::error::DataFusionError as E;
    // A listed file that is gone is FileGone (the engine lists again) however DataFusion wraps
    // the store's NotFound: shared between partitions, inside an Arrow or Parquet error.
    let message = error.to_string();
    if is_missing_object(&message) {
        return Error::FileGone(message);
    }
    match error {
        E::SchemaError(schema_error, _) => match *schema_error {
            SchemaError::FieldNotFound { field, .. } => {
                let name = field.name.clone();
                Error::FieldNotFound {
                    suggestion: closest(&name, fields),
                    field: name,
                }
            }
            other => Error::Execution(other.to_string()),
        },
        E::ResourcesExhausted(message) => Error::ResourcesExhausted(message),
        E::SQL(parser_error, _) => syntax_error(&parser_error.to_string()),
        E::Plan(message)
            if message.contains("Invalid function")
                || message.contains("not found") && message.contains("function") =>
        {
            Error::Function(message)
        }
        E::Plan(message) => Error::Execution(message),
        E::Context(_, inner) => from_datafusion(*inner, fields),
        E::Diagnostic(_, inner) => from_datafusion(*inner, fields),
        E::External(inner) => Error::Execution(inner.to_string()),
        E::ArrowError(inner, _) => Error::Execution(inner.to_string()),
        E::Execution(message) => Error::Execution(message),
        other => Error::Execution(other.to_string()),
    }
}

/// Builds a syntax error from a sqlparser message, extracting "Line: L, Column: C".
pub fn syntax_error(message: &str) -> Error {
    let number_after = |label: &str| {
        let start = message.find(label)? + label.len();
        message[start..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse::<u64>()
            .ok()
    };
    Error::Syntax {
        message: message.trim_start_matches("sql parser error: ").to_string(),
        line: number_after("Line:"),
        column: number_after("Column:"),
    }
}

/// The field name closest to `name` (edit distance ≤ 3, or a case-insensitive prefix match).
pub fn closest(name: &str, fields: &[String]) -> Option<String> {
    let lower = name.to_lowercase();
    fields
        .iter()
        .map(|field| (edit_distance(&lower, &field.to_lowercase()), field))
        .filter(|(distance, field)| *distance <= 3 || field.to_lowercase().starts_with(&lower))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, field)| field.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_field() {
        let fields = vec![
            "level".to_string(),
            "log".to_string(),
            "kubernetes_pod_name".to_string(),
        ];
        assert_eq!(closest("levle", &fields).as_deref(), Some("level"));
        assert_eq!(
            closest("kubernetes_pod", &fields).as_deref(),
            Some("kubernetes_pod_name")
        );
        assert_eq!(closest("zzzzzzzz", &fields), None);
    }

    #[test]
    fn syntax_positions_are_extracted() {
        let error = syntax_error(
            "sql parser error: Expected: end of statement, found: x at Line: 1, Column: 15",
        );
        assert_eq!(error.position(), Some((1, 15)));
        assert_eq!(error.search_code(), 20001);
    }

    /// Regression: a NotFound shared between partitions (or inside an Arrow error) was answered
    /// 400 "query failed" instead of listing the files again (seen in tests/faults.rs).
    #[test]
    fn a_missing_object_is_file_gone_however_wrapped() {
        use datafusion::error::DataFusionError as E;
        use std::sync::Arc;
        let missing = || {
            let not_found = object_store::Error::NotFound {
                path: "files/default/logs/app/x.parquet".to_string(),
                source: "404".into(),
            };
            E::ParquetError(Box::new(
                datafusion::parquet::errors::ParquetError::External(Box::new(not_found)),
            ))
        };
        for error in [
            missing(),
            E::Shared(Arc::new(missing())),
            E::ArrowError(
                Box::new(arrow::error::ArrowError::ExternalError(Box::new(missing()))),
                None,
            ),
            E::Context(
                "reading".to_string(),
                Box::new(E::Shared(Arc::new(missing()))),
            ),
        ] {
            assert!(matches!(from_datafusion(error, &[]), Error::FileGone(_)));
        }
        assert!(matches!(
            from_datafusion(E::Execution("division by zero".to_string()), &[]),
            Error::Execution(_)
        ));
    }
}
