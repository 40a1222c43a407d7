use super::*;

const OPTIONS: FlattenOptions = FlattenOptions { max_depth: 3 };

fn pipeline(steps: serde_json::Value) -> Pipeline {
    let definition: PipelineDefinition =
        serde_json::from_value(serde_json::json!({ "steps": steps }))
            .unwrap_or_else(|e| panic!("{e}"));
    Pipeline::compile(&definition).unwrap_or_else(|e| panic!("{e}"))
}

fn record(fields: &[(&'static str, &'static str)]) -> FlatRecord<'static> {
    FlatRecord {
        fields: fields
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), Scalar::Str(Cow::Borrowed(*value))))
            .collect(),
    }
}

fn run(pipeline: Pipeline, records: Vec<FlatRecord<'static>>) -> Vec<Outcome<'static>> {
    let mut runner = Runner::new(Arc::new(pipeline), OPTIONS, 1024);
    let mut out = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        runner.push(record, Position::Record(index + 1), &mut out);
    }
    runner.finish(&mut out);
    out
}

fn kept<'a>(outcome: &'a Outcome<'static>) -> &'a FlatRecord<'static> {
    match &outcome.decision {
        Decision::Keep(record) => record,
        other => panic!("expected a kept record, got {other:?}"),
    }
}

fn text<'a>(record: &'a FlatRecord<'_>, name: &str) -> Option<Cow<'a, str>> {
    record.get(name).map(Scalar::to_text)
}

#[test]
fn json_in_a_field_becomes_columns() {
    let merge = pipeline(serde_json::json!([{"type": "parse_json"}]));
    let out = run(
        merge,
        vec![
            record(&[
                (
                    "log",
                    r#"{"level":"warn","http":{"status":503},"log":"inner"}"#,
                ),
                ("level", "info"),
            ]),
            record(&[("log", "not json at all")]),
            record(&[("log", "{broken")]),
        ],
    );
    assert_eq!(out.len(), 3);
    let first = kept(&out[0]);
    assert_eq!(text(first, "level").as_deref(), Some("warn"));
    assert_eq!(first.get("http_status"), Some(&Scalar::Int(503)));
    assert_eq!(text(first, "log").as_deref(), Some("inner"));
    assert_eq!(
        text(kept(&out[1]), "log").as_deref(),
        Some("not json at all")
    );
    assert_eq!(text(kept(&out[2]), "log").as_deref(), Some("{broken"));

    let prefixed = pipeline(serde_json::json!([
        {"type": "parse_json", "field": "message", "prefix": "App", "drop_source": true}
    ]));
    let out = run(prefixed, vec![record(&[("message", r#"{"user":"u1"}"#)])]);
    let only = kept(&out[0]);
    assert_eq!(text(only, "app_user").as_deref(), Some("u1"));
    assert_eq!(only.get("message"), None);
}

#[test]
fn cri_lines_are_parsed_and_partial_lines_joined_per_source() {
    let cri = pipeline(serde_json::json!([
        {"type": "parse_cri"},
        {"type": "parse_json"}
    ]));
    let a = "/var/log/pods/shop_cart_1/app/0.log";
    let b = "/var/log/pods/shop_pay_2/app/0.log";
    let out = run(
        cri,
        vec![
            record(&[
                ("log", "2025-12-01T10:00:00.1Z stdout P {\"msg\":\"a very "),
                ("log_file_path", a),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.2Z stderr F plain line from b"),
                ("log_file_path", b),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.3Z stdout P long"),
                ("log_file_path", a),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.4Z stdout F  message\"}"),
                ("log_file_path", a),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.5Z stdout P never ended"),
                ("log_file_path", b),
            ]),
            record(&[("log", "not a CRI line")]),
        ],
    );
    assert_eq!(out.len(), 4, "{out:?}");
    let from_b = kept(&out[0]);
    assert_eq!(text(from_b, "log").as_deref(), Some("plain line from b"));
    assert_eq!(text(from_b, "stream").as_deref(), Some("stderr"));
    assert_eq!(
        text(from_b, "_timestamp").as_deref(),
        Some("2025-12-01T10:00:00.2Z")
    );
    // The three parts of a: joined, with the first part's time, then parsed as JSON.
    let joined = kept(&out[1]);
    assert_eq!(text(joined, "msg").as_deref(), Some("a very long message"));
    assert_eq!(text(joined, "logtag").as_deref(), Some("F"));
    assert_eq!(
        text(joined, "_timestamp").as_deref(),
        Some("2025-12-01T10:00:00.1Z")
    );
    assert!(matches!(out[1].position, Position::Record(1)));
    let parts: Vec<String> = out[1].joined.iter().map(ToString::to_string).collect();
    assert_eq!(parts, ["record 3", "record 4"]);
    assert_eq!(
        text(kept(&out[2]), "log").as_deref(),
        Some("not a CRI line")
    );
    // b's partial line never ended: stored alone at the end of the request, marked.
    let alone = kept(&out[3]);
    assert_eq!(text(alone, "log").as_deref(), Some("never ended"));
    assert_eq!(alone.get(CRI_PARTIAL_COLUMN), Some(&Scalar::Bool(true)));
}

#[test]
fn a_joined_line_is_bounded() {
    let cri = pipeline(serde_json::json!([{"type": "parse_cri"}]));
    let time = "2025-12-01T10:00:00.1Z";
    // What a held line's record weighs besides its text.
    let base = FlatRecord {
        fields: vec![
            (Cow::Borrowed("log"), Scalar::Str(Cow::Borrowed(""))),
            (
                Cow::Borrowed("_timestamp"),
                Scalar::Str(Cow::Borrowed(time)),
            ),
            (
                Cow::Borrowed("stream"),
                Scalar::Str(Cow::Borrowed("stdout")),
            ),
            (Cow::Borrowed("logtag"), Scalar::Str(Cow::Borrowed("P"))),
        ],
    }
    .approx_bytes();
    let mut runner = Runner::new(Arc::new(cri), OPTIONS, base + 12);
    let mut out = Vec::new();
    for (index, part) in ["12345678", "abcdefgh", "end"].into_iter().enumerate() {
        let line = format!("{time} stdout P {part}");
        runner.push(
            FlatRecord {
                fields: vec![(Cow::Borrowed("log"), Scalar::Str(Cow::Owned(line)))],
            },
            Position::Line(index + 1),
            &mut out,
        );
    }
    assert_eq!(
        out.len(),
        1,
        "the first part is released when the second would overflow"
    );
    assert!(runner.has_pending());
    runner.finish(&mut out);
    let texts: Vec<String> = out
        .iter()
        .map(|outcome| text(kept(outcome), "log").unwrap_or_default().into_owned())
        .collect();
    assert_eq!(texts, ["12345678", "abcdefghend"]);
}

#[test]
fn stdout_and_stderr_of_one_file_are_joined_apart() {
    let cri = pipeline(serde_json::json!([{"type": "parse_cri"}]));
    let path = "/var/log/pods/a_b_c/app/0.log";
    let out = run(
        cri,
        vec![
            record(&[
                ("log", "2025-12-01T10:00:00.1Z stdout P aaa"),
                ("log_file_path", path),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.2Z stderr F boom"),
                ("log_file_path", path),
            ]),
            record(&[
                ("log", "2025-12-01T10:00:00.3Z stdout F bbb"),
                ("log_file_path", path),
            ]),
        ],
    );
    let texts: Vec<String> = out
        .iter()
        .map(|outcome| text(kept(outcome), "log").unwrap_or_default().into_owned())
        .collect();
    assert_eq!(texts, ["boom", "aaabbb"]);
}

#[test]
fn pod_metadata_rename_drop_and_route() {
    let steps = pipeline(serde_json::json!([
        {"type": "kubernetes_path"},
        {"type": "rename", "from": "msg", "to": "Message"},
        {"type": "drop_fields", "fields": ["secret", "absent"]},
        {"type": "drop_record", "when": {"field": "level", "op": "eq", "value": "debug"}},
        {"type": "route", "when": {"field": "k8s_namespace_name", "op": "matches", "value": "^kube-"}, "stream": "System"},
        {"type": "route", "when": {"field": "message", "op": "contains", "value": "audit"}, "stream": "audit"}
    ]));
    let out = run(
        steps,
        vec![
            record(&[
                ("log_file_path", "/var/log/pods/shop_cart-1_u1/app/2.log"),
                ("msg", "hello"),
                ("secret", "x"),
            ]),
            record(&[("level", "debug"), ("msg", "noise")]),
            record(&[(
                "log_file_path",
                "/var/log/pods/kube-system_dns-1_u2/coredns/0.log",
            )]),
            record(&[("msg", "user audit trail")]),
        ],
    );
    assert_eq!(out.len(), 4);
    let shop = kept(&out[0]);
    assert_eq!(text(shop, "k8s_namespace_name").as_deref(), Some("shop"));
    assert_eq!(text(shop, "k8s_pod_name").as_deref(), Some("cart-1"));
    assert_eq!(text(shop, "k8s_pod_uid").as_deref(), Some("u1"));
    assert_eq!(text(shop, "k8s_container_name").as_deref(), Some("app"));
    assert_eq!(
        shop.get("k8s_container_restart_count"),
        Some(&Scalar::Int(2))
    );
    assert_eq!(text(shop, "message").as_deref(), Some("hello"));
    assert_eq!(shop.get("msg"), None);
    assert_eq!(shop.get("secret"), None);
    assert_eq!(out[1].decision, Decision::Drop);
    assert!(matches!(&out[2].decision, Decision::Route(stream, _) if stream.as_str() == "system"));
    assert!(matches!(&out[3].decision, Decision::Route(stream, _) if stream.as_str() == "audit"));
}

#[test]
fn conditions_compare_text_and_presence() {
    let cases = [
        ("eq", "500", true),
        ("ne", "500", false),
        ("contains", "50", true),
        ("matches", "^5\\d\\d$", true),
        ("exists", "", true),
        ("not_exists", "", false),
    ];
    for (op, value, expected) in cases {
        let condition: Condition = serde_json::from_value(
            serde_json::json!({"field": "status", "op": op, "value": value}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let test = compile_test(&condition).unwrap_or_else(|e| panic!("{e}"));
        let with_status = FlatRecord {
            fields: vec![(Cow::Borrowed("status"), Scalar::Int(500))],
        };
        assert_eq!(test.holds(&with_status), expected, "{op}");
        let without = FlatRecord::default();
        let absent_expected = matches!(op, "ne" | "not_exists");
        assert_eq!(
            test.holds(&without),
            absent_expected,
            "{op} on an absent field"
        );
    }
}

#[test]
fn bad_definitions_are_refused_with_the_step_named() {
    let cases = [
        (
            serde_json::json!([{"type": "rename", "from": " ", "to": "b"}]),
            "step 1: from must name a field",
        ),
        (
            serde_json::json!([{"type": "parse_json"}, {"type": "drop_record", "when": {"field": "a", "op": "matches", "value": "("}}]),
            "step 2: the condition's regular expression",
        ),
        (
            serde_json::json!([{"type": "route", "when": {"field": "a", "op": "exists"}, "stream": "../etc"}]),
            "step 1:",
        ),
        (
            serde_json::json!([{"type": "rename", "from": "a", "to": "b"}, {"type": "vrl", "source": ".a = "}]),
            "step 2: ",
        ),
    ];
    for (steps, expected) in cases {
        let definition: PipelineDefinition =
            serde_json::from_value(serde_json::json!({ "steps": steps }))
                .unwrap_or_else(|e| panic!("{e}"));
        let error = Pipeline::compile(&definition).err().unwrap_or_default();
        assert!(error.starts_with(expected), "{error}");
    }
    let too_many = PipelineDefinition {
        version: PIPELINE_FORMAT_VERSION,
        steps: vec![
            Step::DropFields {
                fields: vec!["a".into()]
            };
            MAX_PIPELINE_STEPS + 1
        ],
    };
    assert!(Pipeline::compile(&too_many).is_err());
    let future = PipelineDefinition {
        version: PIPELINE_FORMAT_VERSION + 1,
        steps: Vec::new(),
    };
    assert!(Pipeline::compile(&future).is_err());
}

#[test]
fn vrl_steps_reshape_drop_or_fail_without_losing_the_record() {
    let vrl = pipeline(serde_json::json!([
        {"type": "rename", "from": "msg", "to": "log"},
        {"type": "vrl", "source": "if .level == \"debug\" { abort }\n.n = to_int!(.count)\n.meta = {\"team\": \"shop\"}"},
        {"type": "route", "when": {"field": "n", "op": "eq", "value": "7"}, "stream": "sevens"}
    ]));
    let out = run(
        vrl,
        vec![
            record(&[("msg", "hello"), ("count", "3")]),
            record(&[("level", "debug")]),
            record(&[("msg", "bad count"), ("count", "three")]),
            record(&[("count", "7")]),
        ],
    );
    assert_eq!(out.len(), 4);
    let first = kept(&out[0]);
    assert_eq!(first.get("n"), Some(&Scalar::Int(3)));
    assert_eq!(
        text(first, "meta_team").as_deref(),
        Some("shop"),
        "objects a program makes are flattened"
    );
    assert_eq!(text(first, "log").as_deref(), Some("hello"));
    assert_eq!(out[1].decision, Decision::Drop, "abort drops");
    match &out[2].decision {
        Decision::Failed(record, error) => {
            assert!(error.contains("the VRL program failed"), "{error}");
            assert_eq!(
                text(record, "log").as_deref(),
                Some("bad count"),
                "as it was before the failing step"
            );
            assert_eq!(record.get("n"), None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&out[3].decision, Decision::Route(stream, _) if stream.as_str() == "sevens"));
}
