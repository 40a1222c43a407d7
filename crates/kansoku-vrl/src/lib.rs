//! VRL (Vector Remap Language) programs for ingest pipelines: [`Program::compile`] compiles a
//! program with `vrl`'s base standard library and [`Program::run`] runs it on one record (a JSON
//! object; `.` is the record).
//!
//! This crate owns the `vrl` dependency, so that its build cost and its API stay in one place.
//! Only `stdlib-base` is compiled (no environment, system, network or crypto functions), and of
//! that, functions that write to our logs, backtrack without bound or inflate compressed data
//! are refused too ([`DENIED_FUNCTIONS`]). A run is bounded by a budget of evaluation steps — time,
//! not memory: a program can still build large values, so callers let only trusted users set
//! programs. The source is bounded in size, nesting and operator chains, since VRL's parser and
//! evaluator recurse.

use std::ops::ControlFlow;

use serde_json::{Map, Value as Json};
use vrl::compiler::runtime::{Runtime, Terminate};
use vrl::compiler::state::ExternalEnv;
use vrl::compiler::{CompileConfig, Function, TargetValue, TimeZone, compile_with_external};
use vrl::value::{ObjectMap, Secrets, Value};

/// Longest program source, bytes.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024;
/// Deepest nesting of brackets and prefix operators in a source.
pub const MAX_NESTING: usize = 64;
/// Evaluation steps one run may take before it is stopped.
pub const MAX_STEPS: u64 = 1_000_000;

/// Functions of `stdlib-base` a program may not call: `log` writes into the server's own log;
/// grok patterns backtrack without bound; the decoders inflate without a size limit.
pub const DENIED_FUNCTIONS: &[&str] = &[
    "log",
    "parse_grok",
    "parse_groks",
    "decode_gzip",
    "decode_zlib",
    "decode_zstd",
    "decode_snappy",
    "decode_lz4",
];

/// A compiled program.
#[derive(Debug, Clone)]
pub struct Program {
    program: vrl::compiler::Program,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The record as the program left it.
    Done(Map<String, Json>),
    /// The program called `abort`: the record is not to be stored.
    Aborted,
    /// The program failed (an unhandled error, its step budget, a result that is not an
    /// object); the message says why.
    Failed(String),
}

/// The functions a program may call.
fn functions() -> Vec<Box<dyn Function>> {
    vrl::stdlib::all()
        .into_iter()
        .filter(|function| !DENIED_FUNCTIONS.contains(&function.identifier()))
        .collect()
}

/// Operators one expression may chain (`a + b + c …` nests as deep as it is long).
pub const MAX_OPERATORS: usize = 256;

/// The deepest nesting of `(`, `[`, `{`, runs of `!`/`-`, and the longest chain of operators
/// in one expression, outside strings — a cheap bound that keeps the recursive parser and
/// evaluator off the stack's end. An expression continues over a line break that follows an
/// operator.
fn nesting(source: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut run = 0usize;
    let mut operators = 0usize;
    let mut after_operator = false;
    let mut in_string = false;
    let mut escaped = false;
    for byte in source.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        run = if matches!(byte, b'!' | b'-') {
            run + 1
        } else {
            0
        };
        let operator = matches!(
            byte,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|' | b'?'
        );
        if operator {
            operators += 1;
            after_operator = true;
        } else if (byte == b'\n' && !after_operator) || byte == b';' {
            operators = 0;
        } else if !byte.is_ascii_whitespace() {
            after_operator = false;
        }
        // Scaled so that both bounds share MAX_NESTING.
        let chain = operators * MAX_NESTING / MAX_OPERATORS;
        deepest = deepest.max(depth).max(run).max(chain);
    }
    deepest
}

impl Program {
    /// Compiles `source`; the error is VRL's diagnostic (with the line and a caret).
    pub fn compile(source: &str) -> Result<Program, String> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(format!(
                "a VRL program may have at most {MAX_SOURCE_BYTES} bytes, this one has {}",
                source.len()
            ));
        }
        if nesting(source) > MAX_NESTING {
            return Err(format!(
                "a VRL program may nest at most {MAX_NESTING} levels deep"
            ));
        }
        let functions = functions();
        compile_with_external(
            source,
            &functions,
            &ExternalEnv::default(),
            CompileConfig::default(),
        )
        .map(|compiled| Program {
            program: compiled.program,
        })
        .map_err(|diagnostics| {
            vrl::diagnostic::Formatter::new(source, diagnostics)
                .to_string()
                .trim()
                .to_string()
        })
    }

    /// Runs the program on `record` (times without a zone are UTC).
    pub fn run(&self, record: Map<String, Json>) -> Outcome {
        let mut target = TargetValue {
            value: Value::from(Json::Object(record)),
            metadata: Value::Object(ObjectMap::new()),
            secrets: Secrets::new(),
        };
        let mut steps = 0u64;
        let mut budget = || {
            steps += 1;
            if steps > MAX_STEPS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let zone = TimeZone::parse("UTC").unwrap_or_default();
        let result =
            Runtime::default().resolve_with_control(&mut target, &self.program, &zone, &mut budget);
        match result {
            Ok(_) => {}
            Err(Terminate::Abort(_)) => return Outcome::Aborted,
            Err(Terminate::Interrupted) => {
                return Outcome::Failed(format!(
                    "the VRL program took more than {MAX_STEPS} steps"
                ));
            }
            Err(Terminate::Error(error)) => {
                return Outcome::Failed(format!("the VRL program failed: {error}"));
            }
        }
        let result: Result<Json, _> = target.value.try_into();
        match result {
            Ok(Json::Object(object)) => Outcome::Done(object),
            Ok(other) => Outcome::Failed(format!(
                "the VRL program must leave an object in `.`, not {}",
                kind_of(&other)
            )),
            Err(error) => Outcome::Failed(format!("the VRL program's result: {error}")),
        }
    }
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Json) -> Map<String, Json> {
        match value {
            Json::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    fn run(source: &str, record: Json) -> Outcome {
        Program::compile(source)
            .unwrap_or_else(|e| panic!("{e}"))
            .run(object(record))
    }

    #[test]
    fn programs_reshape_records() {
        let outcome = run(
            r#"
            parsed, err = parse_json(.log)
            if err == null { . = merge(., object!(parsed)) }
            .level = downcase(string!(.level))
            .kv = parse_key_value!("a=1 b=two")
            del(.log)
            "#,
            json!({"log": "{\"level\": \"WARN\", \"user\": \"u1\"}", "keep": 5}),
        );
        assert_eq!(
            outcome,
            Outcome::Done(object(json!({
                "level": "warn", "user": "u1", "keep": 5, "kv": {"a": "1", "b": "two"}
            })))
        );
    }

    #[test]
    fn abort_errors_and_budgets_are_told_apart() {
        assert_eq!(
            run(
                "if .level == \"debug\" { abort }",
                json!({"level": "debug"})
            ),
            Outcome::Aborted
        );
        let failed = run(".n = to_int!(.text)", json!({"text": "not a number"}));
        assert!(
            matches!(&failed, Outcome::Failed(m) if m.starts_with("the VRL program failed")),
            "{failed:?}"
        );
        let not_object = run(". = \"text\"", json!({}));
        assert!(
            matches!(&not_object, Outcome::Failed(m) if m.contains("not a string")),
            "{not_object:?}"
        );
        let endless = run(
            "for_each(range!(0, 100000)) -> |_i, _v| { for_each(range!(0, 100000)) -> |_j, _w| { .x = 1 } }",
            json!({}),
        );
        assert!(
            matches!(&endless, Outcome::Failed(m) if m.contains("steps")),
            "{endless:?}"
        );
    }

    #[test]
    fn bad_and_unsafe_programs_do_not_compile() {
        let syntax = Program::compile(".a = ").err().unwrap_or_default();
        assert!(syntax.contains("error"), "{syntax}");
        for denied in [
            "log(\"x\")",
            "decode_gzip!(.a)",
            "parse_grok!(.a, \"%{WORD:w}\")",
            "get_env_var!(\"HOME\")",
            "http_request(\"http://x\")",
        ] {
            assert!(Program::compile(denied).is_err(), "{denied}");
        }
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(
            Program::compile(&deep)
                .err()
                .unwrap_or_default()
                .contains("nest")
        );
        let chain = format!(".a = 1{}", "+1".repeat(8000));
        assert!(
            Program::compile(&chain)
                .err()
                .unwrap_or_default()
                .contains("nest")
        );
        let many_lines = ".a = 1 + 2\n".repeat(500);
        assert!(
            Program::compile(&many_lines).is_ok(),
            "separate expressions do not add up"
        );
        let bangs = format!(".a = {}true", "!".repeat(30_000));
        assert!(Program::compile(&bangs).is_err());
        assert!(Program::compile(&"#".repeat(MAX_SOURCE_BYTES + 1)).is_err());
        assert_eq!(nesting("\"((((\" + (1)"), 1);
    }
}
