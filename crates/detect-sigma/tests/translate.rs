//! YAML -> IR translation: rule collections, selections, conditions, values,
//! metadata and errors.

use detect_core::JsonEvent;
use detect_core::interpreter::Interpreter;
use detect_core::ir::*;
use detect_sigma::{ErrorKind, SigmaError, parse_rule_file};

const SEED_001: &str = include_str!("../../detect-sigmahq/rules/msiexec_web_install.yml");
const SEED_002: &str =
    include_str!("../../detect-sigmahq/rules/net_connection_win_msiexec_http.yml");

fn ci(kind: StrKind) -> Test {
    Test::Str(StrPattern {
        kind,
        case: Case::Insensitive,
    })
}

fn field(f: &str, test: Test) -> Expr {
    Expr::Field(FieldTest {
        field: f.into(),
        test,
    })
}

fn matches(rules: Vec<Rule>, event: &str) -> Vec<usize> {
    let interp = Interpreter::new(&RuleSet {
        rules,
        ..Default::default()
    })
    .expect("interpretable");
    interp.matches(&JsonEvent::parse_str(event).expect("json"))
}

fn one(yaml: &str) -> Rule {
    let mut rules = parse_rule_file("test.yml", yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

fn error(yaml: &str) -> SigmaError {
    parse_rule_file("rules/test.yml", yaml).expect_err("must fail")
}

#[test]
fn seed_001_global_collection_is_two_rules_one_per_log_source() {
    let rules = parse_rule_file("msiexec_web_install.yml", SEED_001).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].name, "msiexec_web_install_1");
    assert_eq!(rules[1].name, "msiexec_web_install_2");
    for r in &rules {
        assert_eq!(r.meta.title, "MsiExec Web Install");
        assert_eq!(r.meta.level, Level::Medium);
        assert_eq!(r.meta.status, Some(Status::Experimental));
        assert_eq!(r.meta.author.as_deref(), Some("Florian Roth"));
        assert_eq!(r.meta.date.as_deref(), Some("2018/02/09"));
        assert_eq!(r.detection.selections.len(), 1);
        assert_eq!(r.detection.condition, Condition::Selection(0));
    }
    assert_eq!(rules[0].logsource.service.as_deref(), Some("sysmon"));
    assert_eq!(rules[1].logsource.service.as_deref(), Some("security"));
    assert!(rules[1].logsource.definition.is_some());
    // The global selection and each document's selection are merged.
    let cmd = field(
        "CommandLine",
        ci(StrKind::Glob(vec![
            GlobToken::AnyRun,
            GlobToken::Lit(" msiexec".into()),
            GlobToken::AnyRun,
            GlobToken::Lit(r":\/\/".into()),
            GlobToken::AnyRun,
        ])),
    );
    let eid = |n: &str| field("EventID", ci(StrKind::Exact(n.into())));
    assert_eq!(
        rules[0].detection.selections[0].expr,
        Expr::And(vec![cmd.clone(), eid("1")])
    );
    assert_eq!(
        rules[1].detection.selections[0].expr,
        Expr::And(vec![cmd, eid("4688")])
    );
    // Semantics: each variant fires on its own log source only.
    let cl = r#""CommandLine": "cmd /c msiexec /i https:\\/\\/x.example/a.msi""#;
    let sysmon1 =
        format!(r#"{{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, {cl}}}"#);
    let sec4688 = format!(r#"{{"Channel": "Security", "EventID": 4688, {cl}}}"#);
    let sysmon4688 =
        format!(r#"{{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 4688, {cl}}}"#);
    assert_eq!(matches(rules.clone(), &sysmon1), vec![0]);
    assert_eq!(matches(rules.clone(), &sec4688), vec![1]);
    assert_eq!(matches(rules.clone(), &sysmon4688), Vec::<usize>::new());
    // `\/` is not a Sigma escape: a plain `://` does not match the published rule.
    let plain = r#"{"Channel": "Security", "EventID": 4688, "CommandLine": "cmd /c msiexec /i https://x.example/a.msi"}"#;
    assert_eq!(matches(rules, plain), Vec::<usize>::new());
}

#[test]
fn seed_002_translates_exactly() {
    let rules = parse_rule_file("net_connection_win_msiexec_http.yml", SEED_002).unwrap();
    let r = &rules[0];
    assert_eq!(r.name, "net_connection_win_msiexec_http");
    assert_eq!(
        r.meta.id.as_deref(),
        Some("8e5e38e4-5350-4c0b-895a-e872ce0dd54f")
    );
    assert_eq!(
        r.meta.title,
        "Msiexec.EXE Initiated Network Connection Over HTTP"
    );
    assert!(
        r.meta
            .description
            .as_deref()
            .unwrap()
            .starts_with("Detects a network connection")
    );
    assert!(
        r.meta
            .description
            .as_deref()
            .unwrap()
            .ends_with("suspicious communications.")
    );
    assert_eq!(r.meta.level, Level::Low);
    assert_eq!(r.meta.status, Some(Status::Test));
    assert_eq!(
        r.meta.tags,
        [
            "attack.stealth",
            "attack.t1218.007",
            "detection.threat-hunting"
        ]
    );
    assert_eq!(r.meta.references.len(), 2);
    assert_eq!(r.meta.falsepositives, ["Likely"]);
    assert_eq!(r.meta.date.as_deref(), Some("2022-01-16"));
    assert_eq!(r.meta.modified.as_deref(), Some("2024-07-16"));
    assert_eq!(
        r.logsource,
        LogSource {
            product: Some("windows".into()),
            category: Some("network_connection".into()),
            service: None,
            definition: None
        }
    );
    assert_eq!(
        r.detection.selections[0].expr,
        Expr::And(vec![
            field("Initiated", ci(StrKind::Exact("true".into()))),
            field("Image", ci(StrKind::Suffix(r"\msiexec.exe".into()))),
            Expr::Or(vec![
                field("DestinationPort", ci(StrKind::Exact("80".into()))),
                field("DestinationPort", ci(StrKind::Exact("443".into()))),
            ]),
        ])
    );
    let ev = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Initiated": "true",
        "Image": "C:\\Windows\\System32\\msiexec.exe", "DestinationPort": 80}"#;
    assert_eq!(matches(rules.clone(), ev), vec![0]);
    assert_eq!(
        matches(rules, &ev.replace("80}", "8080}")),
        Vec::<usize>::new()
    );
}

#[test]
fn scalars_keep_their_text_and_type() {
    let r = one(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    A: 0080\n    B: '80'\n    C: true\n    D: null\n    E: 1.50\n    F:\n  condition: sel\n",
    );
    let Expr::And(parts) = &r.detection.selections[0].expr else {
        panic!()
    };
    assert_eq!(parts[0], field("A", ci(StrKind::Exact("0080".into()))));
    assert_eq!(parts[1], field("B", ci(StrKind::Exact("80".into()))));
    assert_eq!(parts[2], field("C", ci(StrKind::Exact("true".into()))));
    assert_eq!(parts[3], field("D", Test::Null));
    assert_eq!(parts[4], field("E", ci(StrKind::Exact("1.50".into()))));
    assert_eq!(parts[5], field("F", Test::Null));
    // Numbers compare numerically with gt & co.
    let r = one(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    Port|gte: 49152\n  condition: sel\n",
    );
    assert_eq!(
        r.detection.selections[0].expr,
        field(
            "Port",
            Test::Num {
                op: NumOp::Ge,
                value: Number::Int(49152)
            }
        )
    );
}

#[test]
fn keyword_lists_and_all_keyword_maps() {
    let r = one(
        "title: t\nlogsource: {product: windows}\ndetection:\n  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords\n",
    );
    assert_eq!(
        r.detection.selections[0].expr,
        Expr::Or(vec![
            Expr::Keyword(StrPattern {
                kind: StrKind::Contains("mimikatz".into()),
                case: Case::Insensitive
            }),
            Expr::Keyword(StrPattern {
                kind: StrKind::Contains("sekurlsa".into()),
                case: Case::Insensitive
            }),
        ])
    );
    let rules = vec![r];
    assert_eq!(
        matches(rules.clone(), r#"{"X": "run SEKURLSA::logonpasswords"}"#),
        vec![0]
    );
    assert_eq!(matches(rules, r#"{"X": "nothing"}"#), Vec::<usize>::new());

    let r = one(
        "title: t\nlogsource: {product: windows}\ndetection:\n  kw:\n    '|all':\n      - 'foo'\n      - 'bar'\n  condition: kw\n",
    );
    assert_eq!(
        r.detection.selections[0].expr,
        Expr::And(vec![
            Expr::Keyword(StrPattern {
                kind: StrKind::Contains("foo".into()),
                case: Case::Insensitive
            }),
            Expr::Keyword(StrPattern {
                kind: StrKind::Contains("bar".into()),
                case: Case::Insensitive
            }),
        ])
    );
    let rules = vec![r];
    assert_eq!(
        matches(rules.clone(), r#"{"A": "foo", "B": "xbarx"}"#),
        vec![0]
    );
    assert_eq!(matches(rules, r#"{"A": "foo"}"#), Vec::<usize>::new());
}

#[test]
fn lists_of_maps_are_or_and_contains_all_is_and() {
    let r = one(r"
title: t
logsource: {product: windows}
detection:
    sel:
        - Image|endswith: '\a.exe'
        - CommandLine|contains|all: ['-x', '-y']
    condition: sel
");
    let rules = vec![r];
    assert_eq!(matches(rules.clone(), r#"{"Image": "C:\\A.EXE"}"#), vec![0]);
    assert_eq!(
        matches(rules.clone(), r#"{"CommandLine": "t -y -x"}"#),
        vec![0]
    );
    assert_eq!(
        matches(rules, r#"{"CommandLine": "t -y"}"#),
        Vec::<usize>::new()
    );
}

#[test]
fn conditions_precedence_lists_and_quantifiers() {
    let r = one(r"
title: t
logsource: {product: windows}
detection:
    a: {A: 1}
    b: {B: 1}
    c: {C: 1}
    _helper: {H: 1}
    condition:
        - a or b and not c
        - all of them
        - (a or b) and 1 of _h*
");
    use Condition::*;
    assert_eq!(
        r.detection.condition,
        Or(vec![
            Or(vec![
                Selection(0),
                And(vec![Selection(1), Not(Box::new(Selection(2)))])
            ]),
            AllOf(vec![0, 1, 2]),
            And(vec![Or(vec![Selection(0), Selection(1)]), AnyOf(vec![3])]),
        ])
    );
    let rules = vec![r];
    assert_eq!(
        matches(rules.clone(), r#"{"B": 1, "C": 1}"#),
        Vec::<usize>::new()
    );
    assert_eq!(matches(rules.clone(), r#"{"B": 1}"#), vec![0]);
    assert_eq!(
        matches(rules.clone(), r#"{"B": 1, "C": 1, "H": 1}"#),
        vec![0]
    );
    assert_eq!(matches(rules, r#"{"A": 1, "B": 1, "C": 1}"#), vec![0]);
    // NOT binds tighter than AND; keywords are case-insensitive.
    let r = one(
        "title: t\nlogsource: {product: windows}\ndetection:\n  a: {A: 1}\n  b: {B: 1}\n  condition: NOT a AND b\n",
    );
    assert_eq!(
        r.detection.condition,
        And(vec![Not(Box::new(Selection(0))), Selection(1)])
    );
}

#[test]
fn repeat_and_reset_actions() {
    let rules = parse_rule_file(
        "multi.yml",
        r"
action: global
title: t
logsource: {product: windows, service: sysmon}
detection:
    condition: sel
---
detection:
    sel: {A: 1}
---
action: repeat
detection:
    sel: {A: 2}
---
action: reset
---
title: u
logsource: {product: windows}
detection:
    x: {B: 1}
    condition: x
",
    )
    .unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[1].detection.selections[0].expr,
        field("A", ci(StrKind::Exact("2".into())))
    );
    assert_eq!(rules[1].logsource.service.as_deref(), Some("sysmon"));
    assert_eq!(rules[2].meta.title, "u");
    assert_eq!(rules[2].logsource.service, None);
}

#[test]
fn errors_name_the_file_line_and_reason() {
    let e = error(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: 1}\n  condition: sel and filter\n",
    );
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(
        e.to_string(),
        "rules/test.yml:5:14: condition: unknown selection `filter` in the condition; this rule defines: sel"
    );

    let e = error(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A|re: '(?<=x)y'}\n  condition: sel\n",
    );
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert!(
        e.to_string()
            .starts_with("rules/test.yml:4:15: `A|re`: invalid regular expression"),
        "{e}"
    );

    let e = error(
        "title: t\nlogsource: {product: windows, category: file_access}\ndetection:\n  sel: {A: 1}\n  condition: sel\n",
    );
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.to_string().starts_with("rules/test.yml:2:12: unsupported log source: Windows log source category `file_access` is the ETW provider Microsoft-Windows-Kernel-File"), "{e}");
    let e = error(
        "title: t\nlogsource: {product: windows, category: file_evnt}\ndetection:\n  sel: {A: 1}\n  condition: sel\n",
    );
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.to_string().starts_with("rules/test.yml:2:12: unsupported log source: unknown Windows log source category `file_evnt`; did you mean `file_event`?"), "{e}");

    let e = error(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: 1}\n  condition: sel | count() > 5\n",
    );
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.message.contains("aggregation"), "{e}");

    // A correlation read alone: its references cannot resolve (the loaders
    // read it with the rules it names).
    let e = error(
        "title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 1h\n  condition: {gte: 5}\n",
    );
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.message.contains("load them with their rules"), "{e}");
    let e = error("title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n");
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("missing `timespan`"), "{e}");

    let e = error("logsource: {product: windows}\ndetection:\n  sel: {A: 1}\n  condition: sel\n");
    assert_eq!(
        e.to_string(),
        "rules/test.yml:1:1: missing `title`: every Sigma rule needs one"
    );

    let e = error("title: t\ndetection:\n  sel: {A: [1\n");
    assert_eq!(e.kind, ErrorKind::Yaml);
    assert!(e.to_string().starts_with("rules/test.yml:4:"), "{e}");

    let e = error("title: t\ntitle: u\n");
    assert_eq!(e.kind, ErrorKind::Yaml, "{e}");

    let e = error(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A|contains|all: x}\n  condition: sel\n",
    );
    assert!(e.message.contains("`all` needs a list"), "{e}");

    let e = error(
        "title: t\nlogsource: {product: windows}\nlevel: severe\ndetection:\n  sel: {A: 1}\n  condition: sel\n",
    );
    assert_eq!(
        e.to_string(),
        "rules/test.yml:3:8: unknown level `severe`; use informational, low, medium, high or critical"
    );
}

#[test]
fn rule_names_are_identifier_safe() {
    assert_eq!(
        detect_sigma::rule_name_from_stem("proc-creation.win x"),
        "proc_creation_win_x"
    );
    assert_eq!(detect_sigma::rule_name_from_stem("7zip"), "r_7zip");
}
