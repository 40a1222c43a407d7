//! Organisation ids, stream names and field-name normalisation.
//!
//! Rules (documented in `docs/ingest.md`):
//! - An organisation id is 1–64 characters of `[a-z0-9_-]`. It is never rewritten: a request for
//!   `Default` is a request for a different (invalid) organisation, not for `default`.
//! - A stream name is normalised like OpenObserve does: ASCII letters are lower-cased and every
//!   character outside `[a-z0-9_]` becomes `_` (`golang-app-metrics` → `golang_app_metrics`). The
//!   result must be 1–128 bytes and may not consist of underscores only. Names that look like
//!   paths (`/`, `\`, `..`), contain `%` or control characters are refused, not rewritten.
//! - A field name is normalised the same way, except that non-ASCII letters and digits are kept
//!   (lower-cased), so that `ユーザー` stays readable instead of collapsing to `____`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The organisation id has a bad length or character.
    #[error("invalid organization id '{0}': use 1-64 characters of a-z, 0-9, '_' or '-'")]
    InvalidOrg(String),
    /// The stream name is empty, too long or has nothing left after normalisation.
    #[error("invalid stream name '{0}': use 1-128 characters, letters, digits or '_'")]
    InvalidStream(String),
    /// The stream type is not one of `logs`, `metrics`, `traces`.
    #[error("invalid stream type '{0}': use logs, metrics or traces")]
    InvalidStreamType(String),
}

/// The longest stream name accepted, in bytes.
pub const MAX_STREAM_NAME_LEN: usize = 128;
/// The longest organisation id accepted, in bytes.
pub const MAX_ORG_LEN: usize = 64;

/// A validated organisation id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    /// Validates `raw` as an organisation id.
    pub fn parse(raw: &str) -> Result<OrgId, NameError> {
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if raw.is_empty() || raw.len() > MAX_ORG_LEN || !valid_chars {
            return Err(NameError::InvalidOrg(truncate_for_message(raw)));
        }
        Ok(OrgId(raw.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgId {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrgId::parse(&value)
    }
}

impl From<OrgId> for String {
    fn from(value: OrgId) -> Self {
        value.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalised stream name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamName(String);

impl StreamName {
    /// Normalises `raw` into a stream name (see the module doc for the rules). Names with path
    /// syntax (`/`, `\`, `..`), `%` or control characters are refused rather than rewritten.
    pub fn normalise(raw: &str) -> Result<StreamName, NameError> {
        let path_like = raw.contains(['/', '\\', '%'])
            || raw.contains("..")
            || raw.chars().any(char::is_control);
        if path_like {
            return Err(NameError::InvalidStream(truncate_for_message(raw)));
        }
        let normalised: String = raw
            .chars()
            .map(|c| match c {
                'A'..='Z' => c.to_ascii_lowercase(),
                'a'..='z' | '0'..='9' | '_' => c,
                _ => '_',
            })
            .collect();
        let only_underscores = normalised.bytes().all(|b| b == b'_');
        if normalised.is_empty() || normalised.len() > MAX_STREAM_NAME_LEN || only_underscores {
            return Err(NameError::InvalidStream(truncate_for_message(raw)));
        }
        Ok(StreamName(normalised))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        StreamName::normalise(&value)
    }
}

impl From<StreamName> for String {
    fn from(value: StreamName) -> Self {
        value.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The signal a stream holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamType {
    /// Log records.
    Logs,
    /// Metric samples.
    Metrics,
    /// Trace spans.
    Traces,
}

impl StreamType {
    /// All stream types, in a stable order.
    pub const ALL: [StreamType; 3] = [StreamType::Logs, StreamType::Metrics, StreamType::Traces];

    /// Parses `logs`, `metrics` or `traces`.
    pub fn parse(raw: &str) -> Result<StreamType, NameError> {
        match raw {
            "logs" => Ok(StreamType::Logs),
            "metrics" => Ok(StreamType::Metrics),
            "traces" => Ok(StreamType::Traces),
            other => Err(NameError::InvalidStreamType(truncate_for_message(other))),
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Logs => "logs",
            StreamType::Metrics => "metrics",
            StreamType::Traces => "traces",
        }
    }

    /// A one-byte code used in binary formats (the WAL record header).
    pub fn code(self) -> u8 {
        match self {
            StreamType::Logs => 1,
            StreamType::Metrics => 2,
            StreamType::Traces => 3,
        }
    }

    /// The inverse of [`StreamType::code`].
    pub fn from_code(code: u8) -> Option<StreamType> {
        match code {
            1 => Some(StreamType::Logs),
            2 => Some(StreamType::Metrics),
            3 => Some(StreamType::Traces),
            _ => None,
        }
    }
}

impl fmt::Display for StreamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stream's full identity: organisation, type and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The owning organisation.
    pub org: OrgId,
    /// The signal type.
    pub stream_type: StreamType,
    /// The stream's name.
    pub name: StreamName,
}

impl StreamKey {
    /// Builds a key.
    pub fn new(org: OrgId, stream_type: StreamType, name: StreamName) -> StreamKey {
        StreamKey {
            org,
            stream_type,
            name,
        }
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.org, self.stream_type, self.name)
    }
}

/// Normalises one field-name segment: ASCII upper case → lower case, `[a-z0-9_]` and non-ASCII
/// alphanumerics kept (lower-cased), everything else → `_`. An empty segment becomes `_`.
///
/// Returns `None` when the input is already normalised, so callers can avoid an allocation.
pub fn normalise_field_segment(raw: &str) -> Option<String> {
    let already_normal = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if already_normal {
        return None;
    }
    if raw.is_empty() {
        return Some("_".to_string());
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            'a'..='z' | '0'..='9' | '_' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            c if !c.is_ascii() && c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => out.push('_'),
        }
    }
    Some(out)
}

/// Normalises a full field name (see [`normalise_field_segment`]), always returning an owned string.
pub fn normalise_field_name(raw: &str) -> String {
    normalise_field_segment(raw).unwrap_or_else(|| raw.to_string())
}

fn truncate_for_message(raw: &str) -> String {
    const MAX: usize = 80;
    if raw.len() <= MAX {
        return raw.to_string();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &raw[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_are_validated_not_rewritten() {
        assert!(OrgId::parse("default").is_ok());
        assert!(OrgId::parse("team-a_2").is_ok());
        assert!(OrgId::parse("Default").is_err());
        assert!(OrgId::parse("").is_err());
        assert!(OrgId::parse("../x").is_err());
        assert!(OrgId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn stream_names_are_normalised_like_o2() {
        assert_eq!(
            StreamName::normalise("golang-app-metrics")
                .unwrap()
                .as_str(),
            "golang_app_metrics"
        );
        assert_eq!(
            StreamName::normalise("K8s.Logs").unwrap().as_str(),
            "k8s_logs"
        );
        assert!(StreamName::normalise("").is_err());
        assert!(StreamName::normalise("../").is_err());
        assert!(StreamName::normalise("../../etc").is_err());
        assert!(StreamName::normalise("a/b").is_err());
        assert!(StreamName::normalise("a%2Fb").is_err());
        assert!(StreamName::normalise("a\nb").is_err());
        assert_eq!(StreamName::normalise("app.v1").unwrap().as_str(), "app_v1");
        assert!(StreamName::normalise(&"a".repeat(129)).is_err());
    }

    #[test]
    fn field_names_follow_the_documented_rules() {
        assert_eq!(normalise_field_name("node.hostname"), "node_hostname");
        assert_eq!(normalise_field_name("@timestamp"), "_timestamp");
        assert_eq!(normalise_field_name("http.Status-Code"), "http_status_code");
        assert_eq!(normalise_field_name("ユーザー"), "ユーザー");
        assert_eq!(normalise_field_name("a\u{200b}b"), "a_b");
        assert_eq!(normalise_field_name(""), "_");
        assert!(normalise_field_segment("already_ok_1").is_none());
    }

    #[test]
    fn stream_type_codes_round_trip() {
        for t in StreamType::ALL {
            assert_eq!(StreamType::from_code(t.code()), Some(t));
            assert_eq!(StreamType::parse(t.as_str()).unwrap(), t);
        }
        assert!(StreamType::parse("LOGS").is_err());
    }
}
