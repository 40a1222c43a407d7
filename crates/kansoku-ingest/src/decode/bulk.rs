//! The Elasticsearch bulk API body: action lines, each followed by a document line.
//!
//! - `index` and `create` are accepted; their `_index` names the stream and `_id` is kept;
//! - `update` and `delete` (and unknown actions) fail their item only;
//! - blank lines are skipped and the last line needs no newline;
//! - an action whose document line is missing (the next line is another action) fails its item;
//! - a line that is not a valid action fails as its own item, and parsing continues.

use super::ndjson::lines;

/// What an action line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// `index` or `create`: store the document.
    Store(&'static str),
    /// Anything else, with the reason it is refused.
    Refused {
        /// The action name as sent (or `index` when unknown).
        action: String,
        /// Why.
        reason: String,
    },
}

/// One item of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkAction<'b> {
    /// Line number of the action line.
    pub line: usize,
    /// What to do.
    pub kind: ActionKind,
    /// `_index` from the action line.
    pub index: Option<String>,
    /// `_id` from the action line (strings and numbers accepted).
    pub id: Option<String>,
    /// The document line and its number, when the action has one.
    pub document: Option<(usize, &'b [u8])>,
}

const KNOWN_ACTIONS: [&str; 4] = ["index", "create", "update", "delete"];

/// Splits a bulk body into its items.
pub fn parse(body: &[u8]) -> Vec<BulkAction<'_>> {
    let all: Vec<(usize, &[u8])> = lines(body).collect();
    let mut actions = Vec::new();
    let mut position = 0;
    while position < all.len() {
        let (line, text) = all[position];
        position += 1;
        let parsed = parse_action_line(text);
        let next_is_action = all
            .get(position)
            .is_some_and(|(_, next)| matches!(parse_action_line(next), Ok((name, _)) if KNOWN_ACTIONS.contains(&name.as_str())));
        let (name, meta) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => {
                actions.push(BulkAction {
                    line,
                    kind: ActionKind::Refused {
                        action: "index".to_string(),
                        reason: format!("line {line}: malformed action line: {reason}"),
                    },
                    index: None,
                    id: None,
                    document: None,
                });
                continue;
            }
        };
        let index = meta
            .get("_index")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let id = meta.get("_id").and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let kind = match name.as_str() {
            "index" => ActionKind::Store("index"),
            "create" => ActionKind::Store("create"),
            "delete" => ActionKind::Refused {
                action: name.clone(),
                reason: format!("line {line}: the delete action is not supported"),
            },
            "update" => ActionKind::Refused {
                action: name.clone(),
                reason: format!(
                    "line {line}: the update action is not supported; send documents with index or create"
                ),
            },
            other => ActionKind::Refused {
                action: other.to_string(),
                reason: format!("line {line}: unknown bulk action '{other}'"),
            },
        };
        let takes_document = name != "delete";
        let document = if takes_document && !next_is_action {
            let document = all.get(position).copied();
            if document.is_some() {
                position += 1;
            }
            document
        } else {
            None
        };
        let kind = match (&kind, document) {
            (ActionKind::Store(action), None) if takes_document => ActionKind::Refused {
                action: (*action).to_string(),
                reason: format!("line {line}: the {action} action has no document line"),
            },
            _ => kind,
        };
        actions.push(BulkAction {
            line,
            kind,
            index,
            id,
            document,
        });
    }
    actions
}

fn parse_action_line(
    text: &[u8],
) -> Result<(String, serde_json::Map<String, serde_json::Value>), String> {
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(object) = value else {
        return Err("expected an object like {\"index\":{\"_index\":\"name\"}}".to_string());
    };
    if object.len() != 1 {
        return Err("an action line must have exactly one key".to_string());
    }
    let Some((name, meta)) = object.into_iter().next() else {
        return Err("empty action".to_string());
    };
    match meta {
        serde_json::Value::Object(meta) => Ok((name, meta)),
        _ => Err(format!("the '{name}' action must hold an object")),
    }
}

/// Strips a Logstash-style date suffix (`-2020.03.02`, `-2020.03`, `-2020-03-02`) from an index
/// name; returns the prefix when one was found.
pub fn strip_date_suffix(index: &str) -> Option<&str> {
    let bytes = index.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    let n = bytes.len();
    let daily = n > 11
        && bytes[n - 11] == b'-'
        && digits(n - 10..n - 6)
        && (bytes[n - 6] == b'.' || bytes[n - 6] == b'-')
        && digits(n - 5..n - 3)
        && bytes[n - 3] == bytes[n - 6]
        && digits(n - 2..n);
    if daily {
        return Some(&index[..n - 11]);
    }
    let monthly = n > 8
        && bytes[n - 8] == b'-'
        && digits(n - 7..n - 3)
        && bytes[n - 3] == b'.'
        && digits(n - 2..n);
    if monthly {
        return Some(&index[..n - 8]);
    }
    None
}

/// Checks an index name against Elasticsearch's rules (no `/ \ * ? " < > | , #` or spaces, not
/// `.`/`..`, not starting with `_ - +`, at most 255 bytes).
pub fn validate_index_name(index: &str) -> Result<(), String> {
    let forbidden = ['/', '\\', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'];
    if index.is_empty() || index.len() > 255 {
        return Err(format!("invalid index name '{index}': must be 1-255 bytes"));
    }
    if index == "." || index == ".." || index.starts_with(['_', '-', '+']) {
        return Err(format!("invalid index name '{index}'"));
    }
    if let Some(bad) = index
        .chars()
        .find(|c| forbidden.contains(c) || c.is_control())
    {
        return Err(format!(
            "invalid index name '{index}': must not contain '{bad}'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_blank_lines_and_missing_final_newline() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"m\":1}\n\n{\"create\":{\"_index\":\"b\",\"_id\":7}}\n{\"m\":2}";
        let actions = parse(body);
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[0].kind, ActionKind::Store("index"));
        assert_eq!(actions[0].id.as_deref(), Some("1"));
        assert_eq!(actions[0].document, Some((2, &b"{\"m\":1}"[..])));
        assert_eq!(actions[1].kind, ActionKind::Store("create"));
        assert_eq!(actions[1].id.as_deref(), Some("7"));
        assert_eq!(actions[1].document.unwrap().0, 5);
    }

    #[test]
    fn unsupported_and_broken_items_fail_alone() {
        let body = concat!(
            "{\"delete\":{\"_index\":\"a\",\"_id\":\"1\"}}\n",
            "{\"index\":{\"_index\":\"a\"}}\n",
            "{\"index\":{\"_index\":\"a\"}}\n",
            "{\"m\":1}\n",
            "{\"update\":{\"_index\":\"a\",\"_id\":\"2\"}}\n",
            "{\"doc\":{\"m\":2}}\n",
            "not json\n",
            "{\"index\":{\"_index\":\"a\"}}\n",
            "{\"m\":3}\n",
            "{\"index\":{\"_index\":\"a\"}}\n",
        );
        let actions = parse(body.as_bytes());
        let kinds: Vec<bool> = actions
            .iter()
            .map(|a| matches!(a.kind, ActionKind::Store(_)))
            .collect();
        assert_eq!(kinds, vec![false, false, true, false, false, true, false]);
        assert!(
            matches!(&actions[1].kind, ActionKind::Refused { reason, .. } if reason.contains("no document"))
        );
        assert_eq!(actions[2].document.unwrap().1, b"{\"m\":1}");
        assert!(
            matches!(&actions[4].kind, ActionKind::Refused { reason, .. } if reason.contains("malformed"))
        );
        assert_eq!(actions[5].document.unwrap().1, b"{\"m\":3}");
        assert!(
            matches!(&actions[6].kind, ActionKind::Refused { reason, .. } if reason.contains("no document"))
        );
    }

    #[test]
    fn daily_suffixes_are_recognised() {
        assert_eq!(
            strip_date_suffix("golang-app-metrics-2020.03.02"),
            Some("golang-app-metrics")
        );
        assert_eq!(strip_date_suffix("logs-2020-03-02"), Some("logs"));
        assert_eq!(strip_date_suffix("logs-2020.03"), Some("logs"));
        assert_eq!(strip_date_suffix("logs-2020.03-02"), None);
        assert_eq!(strip_date_suffix("app"), None);
        assert_eq!(strip_date_suffix("-2020.03.02"), None);
    }

    #[test]
    fn index_names_are_validated() {
        assert!(validate_index_name("golang-app-metrics-2020.03.02").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "_private",
            "with space",
            "a*",
        ] {
            assert!(validate_index_name(bad).is_err(), "{bad}");
        }
    }
}
