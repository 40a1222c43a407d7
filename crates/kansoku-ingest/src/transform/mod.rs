//! Ingest pipelines: a stream's steps ([`kansoku_core::pipeline`]) compiled once
//! ([`Pipeline::compile`]) and run on each of its records by a per-request [`Runner`], which
//! also joins partial CRI lines.
//!
//! A built-in step never fails a record: text that is not what a parsing step expects leaves the
//! record as it is. A VRL step may fail; the record then goes on as it was before that step,
//! marked failed ([`Decision::Failed`]). What a pipeline decides is an [`Outcome`]: keep, route
//! to another stream, drop, or failed.

use std::borrow::Cow;
use std::sync::Arc;

use kansoku_core::StreamName;
use kansoku_core::names::normalise_field_name;
use kansoku_core::pipeline::{
    Condition, ConditionOp, MAX_PIPELINE_STEPS, PIPELINE_FORMAT_VERSION, PipelineDefinition, Step,
};

use crate::decode::flatten::{FlattenOptions, parse_record, value_record};
use crate::prepare::Position;
use crate::record::{FlatRecord, Scalar};

pub mod cri;
pub mod kubernetes;

/// The column that marks a partial CRI line stored without the line that ends it.
pub const CRI_PARTIAL_COLUMN: &str = "cri_partial";

/// Sources with a partial line waiting, per request and stream; past it the oldest is stored
/// alone.
const MAX_PENDING_SOURCES: usize = 1024;
/// Parts one joined line may have; past it the line so far is stored alone.
const MAX_JOINED_PARTS: usize = 1024;

/// Longest regular expression program a condition may compile to.
const MAX_REGEX_BYTES: usize = 1 << 20;

/// A compiled pipeline.
#[derive(Debug)]
pub struct Pipeline {
    steps: Vec<CompiledStep>,
}

#[derive(Debug)]
enum CompiledStep {
    ParseJson {
        field: String,
        prefix: String,
        drop_source: bool,
    },
    ParseCri {
        field: String,
        source_field: String,
    },
    KubernetesPath {
        field: String,
    },
    Rename {
        from: String,
        to: String,
    },
    DropFields {
        fields: Vec<String>,
    },
    DropRecord {
        when: Test,
    },
    Route {
        when: Test,
        stream: StreamName,
    },
    Vrl(kansoku_vrl::Program),
}

#[derive(Debug)]
struct Test {
    field: String,
    check: Check,
}

#[derive(Debug)]
enum Check {
    Eq(String),
    Ne(String),
    Contains(String),
    Matches(regex::Regex),
    Exists,
    NotExists,
}

impl Test {
    fn holds(&self, record: &FlatRecord<'_>) -> bool {
        let value = record.get(&self.field).map(Scalar::to_text);
        match (&self.check, value) {
            (Check::Exists, value) => value.is_some(),
            (Check::NotExists, value) => value.is_none(),
            (Check::Ne(expected), value) => value.is_none_or(|text| text != expected.as_str()),
            (_, None) => false,
            (Check::Eq(expected), Some(text)) => text == expected.as_str(),
            (Check::Contains(needle), Some(text)) => text.contains(needle.as_str()),
            (Check::Matches(regex), Some(text)) => regex.is_match(&text),
        }
    }
}

impl Pipeline {
    /// Checks and compiles a definition; the error names the step and what is wrong.
    pub fn compile(definition: &PipelineDefinition) -> Result<Pipeline, String> {
        if definition.version != PIPELINE_FORMAT_VERSION {
            return Err(format!(
                "pipeline format version {} is not supported (this server reads version {PIPELINE_FORMAT_VERSION})",
                definition.version
            ));
        }
        if definition.steps.len() > MAX_PIPELINE_STEPS {
            return Err(format!(
                "a pipeline has at most {MAX_PIPELINE_STEPS} steps, this one {}",
                definition.steps.len()
            ));
        }
        let steps = definition
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| compile_step(step).map_err(|e| format!("step {}: {e}", index + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipeline { steps })
    }

    /// Whether the pipeline has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether a step runs a VRL program.
    pub fn has_vrl(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step, CompiledStep::Vrl(_)))
    }
}

fn field_name(name: &str, what: &str) -> Result<String, String> {
    let normalised = normalise_field_name(name.trim());
    if name.trim().is_empty() || normalised.is_empty() {
        return Err(format!("{what} must name a field"));
    }
    Ok(normalised)
}

fn compile_test(condition: &Condition) -> Result<Test, String> {
    let field = field_name(&condition.field, "the condition's field")?;
    let value = condition.value.clone();
    let check = match condition.op {
        ConditionOp::Eq => Check::Eq(value),
        ConditionOp::Ne => Check::Ne(value),
        ConditionOp::Contains => Check::Contains(value),
        ConditionOp::Exists => Check::Exists,
        ConditionOp::NotExists => Check::NotExists,
        ConditionOp::Matches => Check::Matches(
            regex::RegexBuilder::new(&value)
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map_err(|e| format!("the condition's regular expression: {e}"))?,
        ),
    };
    Ok(Test { field, check })
}

fn compile_step(step: &Step) -> Result<CompiledStep, String> {
    Ok(match step {
        Step::ParseJson {
            field,
            prefix,
            drop_source,
        } => CompiledStep::ParseJson {
            field: field_name(field, "field")?,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                normalise_field_name(prefix)
            },
            drop_source: *drop_source,
        },
        Step::ParseCri {
            field,
            source_field,
        } => CompiledStep::ParseCri {
            field: field_name(field, "field")?,
            source_field: field_name(source_field, "source_field")?,
        },
        Step::KubernetesPath { field } => CompiledStep::KubernetesPath {
            field: field_name(field, "field")?,
        },
        Step::Rename { from, to } => CompiledStep::Rename {
            from: field_name(from, "from")?,
            to: field_name(to, "to")?,
        },
        Step::DropFields { fields } => CompiledStep::DropFields {
            fields: fields
                .iter()
                .map(|field| field_name(field, "fields"))
                .collect::<Result<_, _>>()?,
        },
        Step::DropRecord { when } => CompiledStep::DropRecord {
            when: compile_test(when)?,
        },
        Step::Route { when, stream } => CompiledStep::Route {
            when: compile_test(when)?,
            stream: StreamName::normalise(stream).map_err(|e| e.to_string())?,
        },
        Step::Vrl { source } => CompiledStep::Vrl(kansoku_vrl::Program::compile(source)?),
    })
}

/// What the pipeline decided for a record.
#[derive(Debug, PartialEq)]
pub enum Decision<'b> {
    /// Store it in its stream.
    Keep(FlatRecord<'b>),
    /// Store it in another stream.
    Route(StreamName, FlatRecord<'b>),
    /// Do not store it (a `drop_record` step, or a VRL program's `abort`).
    Drop,
    /// A VRL step failed: store the record as it was before that step, with the error.
    Failed(FlatRecord<'b>, String),
}

/// A decision and the records of the request it stands for: one, or the parts of a joined
/// CRI line (the first part's position first).
#[derive(Debug)]
pub struct Outcome<'b> {
    /// What was decided.
    pub decision: Decision<'b>,
    /// Where the (first) record sat in the request.
    pub position: Position,
    /// Where the further parts of a joined line sat.
    pub joined: Vec<Position>,
}

/// A partial CRI line waiting for the lines that complete it.
#[derive(Debug)]
struct Pending<'b> {
    /// The `parse_cri` step that holds it.
    step: usize,
    /// Its source (the value of the step's `source_field`).
    source: String,
    /// The first part's record.
    record: FlatRecord<'b>,
    /// The text so far.
    text: String,
    /// The first part's position.
    position: Position,
    /// The further parts' positions.
    joined: Vec<Position>,
}

/// A record on its way through the steps.
struct InFlight<'b> {
    record: FlatRecord<'b>,
    position: Position,
    joined: Vec<Position>,
}

impl<'b> InFlight<'b> {
    /// The outcome `decide` makes of the record.
    fn decided(self, decide: impl FnOnce(FlatRecord<'b>) -> Decision<'b>) -> Outcome<'b> {
        Outcome {
            decision: decide(self.record),
            position: self.position,
            joined: self.joined,
        }
    }
}

/// Runs a pipeline over the records of one request and one stream. `max_text_bytes` bounds a
/// joined line's record (its other columns and the text).
#[derive(Debug)]
pub struct Runner<'b> {
    pipeline: Arc<Pipeline>,
    options: FlattenOptions,
    max_text_bytes: usize,
    pending: Vec<Pending<'b>>,
}

impl<'b> Runner<'b> {
    /// A runner; `options` flatten parsed JSON, `max_text_bytes` bounds a joined CRI line.
    pub fn new(
        pipeline: Arc<Pipeline>,
        options: FlattenOptions,
        max_text_bytes: usize,
    ) -> Runner<'b> {
        Runner {
            pipeline,
            options,
            max_text_bytes,
            pending: Vec::new(),
        }
    }

    /// Runs the pipeline on the record at `position`; what it decides is appended to `out`
    /// (nothing while the record is a partial line waiting for its end).
    pub fn push(&mut self, record: FlatRecord<'b>, position: Position, out: &mut Vec<Outcome<'b>>) {
        let flight = InFlight {
            record,
            position,
            joined: Vec::new(),
        };
        self.run_from(flight, 0, out);
    }

    /// Ends the request: partial lines whose end did not come are finished alone, marked
    /// [`CRI_PARTIAL_COLUMN`].
    pub fn finish(&mut self, out: &mut Vec<Outcome<'b>>) {
        for pending in std::mem::take(&mut self.pending) {
            self.release(pending, true, out);
        }
    }

    /// Whether partial lines are waiting.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    fn release(&mut self, pending: Pending<'b>, partial: bool, out: &mut Vec<Outcome<'b>>) {
        let Pending {
            step,
            mut record,
            text,
            position,
            joined,
            ..
        } = pending;
        if let Some(CompiledStep::ParseCri { field, .. }) = self.pipeline.steps.get(step) {
            record.set(field.clone(), Scalar::Str(Cow::Owned(text)));
        }
        if partial {
            record.set(CRI_PARTIAL_COLUMN, Scalar::Bool(true));
        } else {
            record.set("logtag", Scalar::Str(Cow::Borrowed("F")));
        }
        let flight = InFlight {
            record,
            position,
            joined,
        };
        self.run_from(flight, step + 1, out);
    }

    fn run_from(&mut self, mut flight: InFlight<'b>, start: usize, out: &mut Vec<Outcome<'b>>) {
        let pipeline = Arc::clone(&self.pipeline);
        for (index, step) in pipeline.steps.iter().enumerate().skip(start) {
            let record = &mut flight.record;
            match step {
                CompiledStep::ParseJson {
                    field,
                    prefix,
                    drop_source,
                } => parse_json(record, field, prefix, *drop_source, self.options),
                CompiledStep::ParseCri {
                    field,
                    source_field,
                } => {
                    let Some(after) = self.parse_cri(flight, index, field, source_field, out)
                    else {
                        return;
                    };
                    flight = after;
                }
                CompiledStep::KubernetesPath { field } => kubernetes_path(record, field),
                CompiledStep::Rename { from, to } => {
                    if let Some(value) = record.take(from) {
                        record.set(to.clone(), value);
                    }
                }
                CompiledStep::DropFields { fields } => {
                    record
                        .fields
                        .retain(|(name, _)| !fields.iter().any(|field| field == name));
                }
                CompiledStep::DropRecord { when } => {
                    if when.holds(record) {
                        out.push(flight.decided(|_| Decision::Drop));
                        return;
                    }
                }
                CompiledStep::Vrl(program) => match run_vrl(program, record, self.options) {
                    VrlResult::Done(changed) => *record = changed,
                    VrlResult::Aborted => {
                        out.push(flight.decided(|_| Decision::Drop));
                        return;
                    }
                    VrlResult::Failed(error) => {
                        out.push(flight.decided(|record| Decision::Failed(record, error)));
                        return;
                    }
                },
                CompiledStep::Route { when, stream } => {
                    if when.holds(record) {
                        out.push(flight.decided(|record| Decision::Route(stream.clone(), record)));
                        return;
                    }
                }
            }
        }
        out.push(flight.decided(Decision::Keep));
    }

    /// Parses the CRI line in `field`: the record to go on with, or `None` when it is held as
    /// a partial line (or handed on joined to the parts before it).
    fn parse_cri(
        &mut self,
        mut flight: InFlight<'b>,
        step: usize,
        field: &str,
        source_field: &str,
        out: &mut Vec<Outcome<'b>>,
    ) -> Option<InFlight<'b>> {
        let line = match flight.record.get(field) {
            Some(Scalar::Str(text)) => text.to_string(),
            _ => return Some(flight),
        };
        let Some(cri) = cri::parse(&line) else {
            return Some(flight);
        };
        // A source is the file (the source field) and the runtime's stream: stdout and stderr
        // of one container are split independently.
        let mut source = flight
            .record
            .get(source_field)
            .map(|value| value.to_text().into_owned())
            .unwrap_or_default();
        source.push('\n');
        source.push_str(cri.stream);
        let waiting = self
            .pending
            .iter()
            .position(|pending| pending.step == step && pending.source == source);
        if let Some(index) = waiting {
            let mut pending = self.pending.remove(index);
            // The held record's field is empty until the line is complete: its size is the
            // joined record's but for the text.
            let joined_bytes = pending.record.approx_bytes() + pending.text.len() + cri.text.len();
            if joined_bytes > self.max_text_bytes || pending.joined.len() >= MAX_JOINED_PARTS {
                self.release(pending, true, out);
            } else {
                pending.text.push_str(cri.text);
                pending.joined.push(flight.position);
                if cri.partial {
                    self.pending.push(pending);
                } else {
                    self.release(pending, false, out);
                }
                return None;
            }
        }
        let record = &mut flight.record;
        record.set(
            kansoku_core::schema::TIMESTAMP_COLUMN,
            Scalar::Str(Cow::Owned(cri.time.to_string())),
        );
        record.set("stream", Scalar::Str(Cow::Owned(cri.stream.to_string())));
        record.set("logtag", Scalar::Str(Cow::Owned(cri.tag.to_string())));
        if cri.partial {
            if self.pending.len() >= MAX_PENDING_SOURCES {
                // Bounded work per record: the oldest waiting line is stored as it is.
                let oldest = self.pending.remove(0);
                self.release(oldest, true, out);
            }
            record.set(field.to_string(), Scalar::Str(Cow::Borrowed("")));
            let InFlight {
                record,
                position,
                joined,
            } = flight;
            self.pending.push(Pending {
                step,
                source,
                record,
                text: cri.text.to_string(),
                position,
                joined,
            });
            return None;
        }
        record.set(
            field.to_string(),
            Scalar::Str(Cow::Owned(cri.text.to_string())),
        );
        Some(flight)
    }
}

/// `field`'s JSON object text → columns (later ones win over the record's own).
fn parse_json(
    record: &mut FlatRecord<'_>,
    field: &str,
    prefix: &str,
    drop_source: bool,
    options: FlattenOptions,
) {
    let text = match record.get(field) {
        Some(Scalar::Str(text)) if text.trim_start().starts_with('{') => text.to_string(),
        _ => return,
    };
    let Ok(Ok(parsed)) = parse_record(text.as_bytes(), options) else {
        return;
    };
    if drop_source {
        record.take(field);
    }
    record.set_all(parsed.fields.into_iter().map(|(name, value)| {
        let name = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}_{name}")
        };
        (Cow::Owned(name), value.into_owned())
    }));
}

enum VrlResult {
    Done(FlatRecord<'static>),
    Aborted,
    Failed(String),
}

/// Runs a VRL program on the record as a JSON object; what it leaves is flattened again.
fn run_vrl(
    program: &kansoku_vrl::Program,
    record: &FlatRecord<'_>,
    options: FlattenOptions,
) -> VrlResult {
    let object: serde_json::Map<String, serde_json::Value> = record
        .fields
        .iter()
        .map(|(name, value)| (name.to_string(), scalar_json(value)))
        .collect();
    match program.run(object) {
        kansoku_vrl::Outcome::Done(object) => {
            match value_record(serde_json::Value::Object(object), options) {
                Ok(Ok(record)) => VrlResult::Done(record),
                Ok(Err(not_object)) => VrlResult::Failed(not_object.to_string()),
                Err(error) => VrlResult::Failed(format!("the VRL program's result: {error}")),
            }
        }
        kansoku_vrl::Outcome::Aborted => VrlResult::Aborted,
        kansoku_vrl::Outcome::Failed(error) => VrlResult::Failed(error),
    }
}

/// A record's value as JSON.
pub fn scalar_json(value: &Scalar<'_>) -> serde_json::Value {
    match value {
        Scalar::Bool(value) => serde_json::Value::Bool(*value),
        Scalar::Int(value) => serde_json::Value::from(*value),
        Scalar::UInt(value) => serde_json::Value::from(*value),
        Scalar::Float(value) => serde_json::Number::from_f64(*value)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Scalar::Str(text) => serde_json::Value::String(text.to_string()),
    }
}

/// The pod metadata a log file path in `field` tells.
fn kubernetes_path(record: &mut FlatRecord<'_>, field: &str) {
    let path = match record.get(field) {
        Some(Scalar::Str(text)) => text.to_string(),
        _ => return,
    };
    let Some(pod) = kubernetes::parse(&path) else {
        return;
    };
    let text = |value: &str| Scalar::Str(Cow::Owned(value.to_string()));
    record.set("k8s_namespace_name", text(pod.namespace));
    record.set("k8s_pod_name", text(pod.pod));
    record.set("k8s_container_name", text(pod.container));
    if let Some(uid) = pod.uid {
        record.set("k8s_pod_uid", text(uid));
    }
    if let Some(count) = pod.restart_count {
        record.set("k8s_container_restart_count", Scalar::Int(count));
    }
    if let Some(id) = pod.container_id {
        record.set("k8s_container_id", text(id));
    }
}

#[cfg(test)]
mod tests;
