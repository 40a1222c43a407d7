//! The persisted form of a stream's ingest pipeline: an ordered list of steps run on each record
//! before it is stored. Stored as JSON (`{"version": 1, "steps": [...]}`); `version` is the
//! format's, bumped on an incompatible change. Compiling and running steps is the write path's
//! business (`kansoku-ingest`'s `transform`).

use serde::{Deserialize, Serialize};

/// The format version this build writes and reads.
pub const PIPELINE_FORMAT_VERSION: u32 = 1;

/// Most steps a pipeline may have.
pub const MAX_PIPELINE_STEPS: usize = 64;

/// A stream's pipeline as stored and as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDefinition {
    /// Format version ([`PIPELINE_FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub version: u32,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

fn format_version() -> u32 {
    PIPELINE_FORMAT_VERSION
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A field holding JSON text (Fluent Bit's `Merge_Log`, Filebeat's `decode_json_fields`):
    /// an object's keys become columns (flattened like a `_json` record, each prefixed with
    /// `prefix`); text that is not a JSON object leaves the record as it is.
    ParseJson {
        /// The field (default `log`).
        #[serde(default = "log_field")]
        field: String,
        /// Prefix of the new columns (default none).
        #[serde(default)]
        prefix: String,
        /// Remove the field once parsed (default: keep it).
        #[serde(default)]
        drop_source: bool,
    },
    /// A CRI/containerd log line, `<time> <stdout|stderr> <P|F> <text>`: `_timestamp` from the
    /// time, `stream` and `logtag` columns, the field becomes the text. Partial (`P`) lines of one
    /// source (`source_field`) are joined to the line that ends them (`F`).
    ParseCri {
        /// The field (default `log`).
        #[serde(default = "log_field")]
        field: String,
        /// The field that tells sources apart (default `log_file_path`).
        #[serde(default = "path_field")]
        source_field: String,
    },
    /// Pod metadata from a log file path: `/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log`
    /// or `/var/log/containers/<pod>_<ns>_<container>-<id>.log` → `k8s_namespace_name`,
    /// `k8s_pod_name`, `k8s_pod_uid`, `k8s_container_name`, `k8s_container_restart_count`,
    /// `k8s_container_id`.
    KubernetesPath {
        /// The field (default `log_file_path`).
        #[serde(default = "path_field")]
        field: String,
    },
    /// Renames a field (a field already called `to` is replaced).
    Rename {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// Removes fields.
    DropFields {
        /// Their names.
        fields: Vec<String>,
    },
    /// Drops the record when the condition holds (counted, reported as dropped).
    DropRecord {
        /// The condition.
        when: Condition,
    },
    /// Sends the record to another stream of the same organisation when the condition holds;
    /// the rest of the pipeline is not run, nor that stream's pipeline.
    Route {
        /// The condition.
        when: Condition,
        /// The stream.
        stream: String,
    },
    /// A VRL program run on the record (`.` is the record).
    Vrl {
        /// The program.
        source: String,
    },
}

fn log_field() -> String {
    "log".to_string()
}

fn path_field() -> String {
    "log_file_path".to_string()
}

/// A test on one field of a record; values are compared as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The field.
    pub field: String,
    /// The test.
    pub op: ConditionOp,
    /// The operand (not used by `exists` / `not_exists`).
    #[serde(default)]
    pub value: String,
}

/// What a [`Condition`] tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    /// The field's text equals the value.
    Eq,
    /// The field is absent or its text differs.
    Ne,
    /// The field's text contains the value.
    Contains,
    /// The field's text matches the regular expression.
    Matches,
    /// The field is present.
    Exists,
    /// The field is absent.
    NotExists,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_reads_with_defaults_and_refuses_unknown_keys() {
        let text = r#"{"steps": [
            {"type": "parse_cri"},
            {"type": "parse_json", "drop_source": true},
            {"type": "route", "when": {"field": "level", "op": "eq", "value": "debug"}, "stream": "debug"},
            {"type": "drop_record", "when": {"field": "path", "op": "exists"}}
        ]}"#;
        let definition: PipelineDefinition = serde_json::from_str(text).unwrap();
        assert_eq!(definition.version, PIPELINE_FORMAT_VERSION);
        assert_eq!(
            definition.steps[0],
            Step::ParseCri {
                field: "log".into(),
                source_field: "log_file_path".into()
            }
        );
        assert!(matches!(
            &definition.steps[1],
            Step::ParseJson { field, prefix, drop_source: true } if field == "log" && prefix.is_empty()
        ));
        let round_trip: PipelineDefinition =
            serde_json::from_str(&serde_json::to_string(&definition).unwrap()).unwrap();
        assert_eq!(round_trip, definition);
        for bad in [
            r#"{"steps": [{"type": "explode"}]}"#,
            r#"{"steps": [{"type": "rename", "from": "a"}]}"#,
            r#"{"steps": [{"type": "rename", "from": "a", "to": "b", "extra": 1}]}"#,
            r#"{"steps": [], "colour": "red"}"#,
            r#"{"steps": [{"type": "drop_record", "when": {"field": "a", "op": "like"}}]}"#,
        ] {
            assert!(
                serde_json::from_str::<PipelineDefinition>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
