//! Unit tests of the parser and the lowering.

use super::*;
use detect_core::ir::{Case, FieldTest, NumOp, Number, StrKind, StrPattern, Test};

fn es(q: &str) -> Result<Query, EqlError> {
    parse_query(q, &Options::elasticsearch())
}

fn eg(q: &str) -> Result<Query, EqlError> {
    parse_query(q, &Options::endgame())
}

fn event(q: Result<Query, EqlError>) -> Expr {
    match q.unwrap().body {
        Body::Event(e) => e,
        Body::Sequence(_) => panic!("not an event query"),
    }
}

fn field(f: &str, test: Test) -> Expr {
    Expr::Field(FieldTest {
        field: f.into(),
        test,
    })
}

fn s(kind: StrKind, case: Case) -> Test {
    Test::Str(StrPattern { kind, case })
}

#[test]
fn elasticsearch_equality_is_sensitive_and_literal() {
    let e = event(es(r#"any where a == "x*y""#));
    assert_eq!(
        e,
        field("a", s(StrKind::Exact("x*y".into()), Case::Sensitive))
    );
}

#[test]
fn endgame_equality_is_insensitive_with_star_wildcards_only() {
    let e = event(eg(r#"any where a == "x*y?""#));
    assert_eq!(
        e,
        field(
            "a",
            s(
                StrKind::Glob(vec![
                    detect_core::ir::GlobToken::Lit("x".into()),
                    detect_core::ir::GlobToken::AnyRun,
                    detect_core::ir::GlobToken::Lit("y?".into()),
                ]),
                Case::Insensitive
            )
        )
    );
    let e = event(eg("any where a = 1"));
    assert_eq!(
        e,
        field(
            "a",
            Test::Num {
                op: NumOp::Eq,
                value: Number::Int(1)
            }
        )
    );
}

#[test]
fn category_is_part_of_the_condition() {
    let e = event(es("process where true"));
    assert_eq!(
        e,
        field(
            "event.category",
            s(StrKind::Exact("process".into()), Case::Insensitive)
        )
    );
    let e = event(eg("process where true"));
    assert_eq!(
        e,
        field(
            "event_type",
            s(StrKind::Exact("process".into()), Case::Sensitive)
        )
    );
}

#[test]
fn colon_is_an_insensitive_wildcard_list() {
    let e = event(es(r#"any where a : ("x*", "*y")"#));
    assert_eq!(
        e,
        Expr::Or(vec![
            field("a", s(StrKind::Prefix("x".into()), Case::Insensitive)),
            field("a", s(StrKind::Suffix("y".into()), Case::Insensitive)),
        ])
    );
}

#[test]
fn null_comparisons() {
    assert_eq!(event(es("any where a == null")), field("a", Test::Null));
    assert_eq!(
        event(es("any where a != null")),
        Expr::Not(Box::new(field("a", Test::Null)))
    );
    assert_eq!(event(es("any where null == a")), field("a", Test::Null));
}

#[test]
fn not_equal_needs_the_field_in_both_dialects() {
    let want = Expr::And(vec![
        Expr::Not(Box::new(field("a", Test::Null))),
        Expr::Not(Box::new(field(
            "a",
            s(StrKind::Exact("x".into()), Case::Sensitive),
        ))),
    ]);
    assert_eq!(event(es(r#"any where a != "x""#)), want);
    // ES `not` is two-valued.
    assert_eq!(
        event(es(r#"any where not a == "x""#)),
        Expr::Not(Box::new(field(
            "a",
            s(StrKind::Exact("x".into()), Case::Sensitive)
        )))
    );
}

#[test]
fn endgame_not_is_three_valued() {
    // not (a == "x") is true only when a is present and differs.
    let e = event(eg(r#"any where not a == "x""#));
    assert_eq!(
        e,
        Expr::And(vec![
            Expr::Not(Box::new(field("a", Test::Null))),
            Expr::Not(Box::new(field(
                "a",
                s(StrKind::Exact("x".into()), Case::Insensitive)
            ))),
        ])
    );
}

#[test]
fn literal_on_the_left_flips_the_operator() {
    assert_eq!(
        event(es("any where 0 <= a")),
        field(
            "a",
            Test::Num {
                op: NumOp::Ge,
                value: Number::Int(0)
            }
        )
    );
    assert_eq!(
        event(es("any where -1 < a")),
        field(
            "a",
            Test::Num {
                op: NumOp::Gt,
                value: Number::Int(-1)
            }
        )
    );
}

#[test]
fn functions_map_onto_tests() {
    assert_eq!(
        event(es(r#"any where startsWith(a, "Ab")"#)),
        field("a", s(StrKind::Prefix("Ab".into()), Case::Sensitive))
    );
    assert_eq!(
        event(es(r#"any where endsWith~(a, "Ab")"#)),
        field("a", s(StrKind::Suffix("Ab".into()), Case::Insensitive))
    );
    assert_eq!(
        event(eg(r#"any where stringContains(a, "Ab")"#)),
        field("a", s(StrKind::Contains("Ab".into()), Case::Insensitive))
    );
    let e = event(es(r#"any where cidrMatch(ip, "10.1.2.3/8", "fe80::/10")"#));
    let Expr::Or(v) = e else { panic!() };
    assert_eq!(
        v[0],
        field(
            "ip",
            Test::Cidr(detect_core::ir::Cidr {
                v4: true,
                addr: 10 << 24,
                prefix: 8
            })
        )
    );
    assert!(matches!(
        event(eg(r#"any where match(a, ?'\d+')"#)),
        Expr::Field(FieldTest {
            test: Test::Regex(_),
            ..
        })
    ));
}

#[test]
fn sequences_expand_runs_and_prepend_shared_keys() {
    let q = es("sequence by host.id with maxspan=30s \
                [process where true] by pid with runs=2 \
                [file where true] by file.pid \
                until [process where false] by pid")
    .unwrap();
    let seq = q.to_sequence("x").unwrap();
    assert_eq!(seq.maxspan_ms, Some(30_000));
    assert_eq!(seq.stages.len(), 3);
    assert_eq!(seq.stages[0], seq.stages[1]);
    assert_eq!(seq.stages[2].keys, vec!["host.id", "file.pid"]);
    assert_eq!(seq.until.unwrap().keys, vec!["host.id", "pid"]);
}

#[test]
fn time_units() {
    for (text, ms) in [
        ("500ms", 500),
        ("10s", 10_000),
        ("1m", 60_000),
        ("2.5m", 150_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("2", 2_000),
    ] {
        let q = es(&format!(
            "sequence with maxspan={text} [a where true] [b where true]"
        ))
        .unwrap();
        assert_eq!(q.to_sequence("s").unwrap().maxspan_ms, Some(ms), "{text}");
    }
}

#[test]
fn pipes() {
    let q = eg("process where true | head 3 | filter a == 1 | tail 2").unwrap();
    assert_eq!(q.pipes.len(), 3);
    assert_eq!(q.pipes[0], Pipe::Head(3));
    assert_eq!(q.pipes[2], Pipe::Tail(2));
    assert!(q.to_rule("r").is_err());
}

#[test]
fn unique_and_sort_pipes_take_fields() {
    let q = eg("process where true | unique a, b.c | sort d e | head 1").unwrap();
    assert_eq!(
        q.pipes,
        vec![
            Pipe::Unique(vec!["a".into(), "b.c".into()]),
            Pipe::Sort(vec!["d".into(), "e".into()]),
            Pipe::Head(1),
        ]
    );
    for (query, message) in [
        (
            "process where true | unique length(a)",
            "1:29: unsupported: `unique` on an expression (only fields)",
        ),
        (
            "process where true | unique a != \"x\"",
            "1:29: unsupported: `unique` on an expression (only fields)",
        ),
        (
            "process where true | sort",
            "1:26: expected a field name, found end of query",
        ),
        (
            "process where true | unique_count a",
            "1:22: unsupported: pipe `unique_count` (supported: head, tail, filter, unique, sort)",
        ),
    ] {
        assert_eq!(eg(query).unwrap_err().to_string(), message, "{query}");
    }
}

#[test]
fn fields_in_lists_and_conditions_compared_with_literals() {
    let fref = |a: &str, b: &str, case| {
        field(
            a,
            Test::FieldRef {
                other: b.into(),
                kind: detect_core::ir::RefKind::Exact,
                case,
            },
        )
    };
    // `a in (b, "c")`: `b` present and equal, or "c".
    let e = event(es("any where a in (b, \"c\")"));
    let exists = |f: &str| Expr::Not(Box::new(field(f, Test::Null)));
    assert_eq!(
        e,
        Expr::Or(vec![
            lower::and(vec![exists("b"), fref("a", "b", Case::Sensitive)]),
            field("a", s(StrKind::Exact("c".into()), Case::Sensitive)),
        ])
    );
    // A condition compared with true / false is the condition / its negation.
    let c = event(es("any where a == \"x\""));
    assert_eq!(event(es("any where true == (a == \"x\")")), c);
    assert_eq!(event(es("any where (a == \"x\") != false")), c);
    assert_eq!(
        event(es("any where (a == \"x\") == false")),
        event(es("any where not (a == \"x\")"))
    );
    // Two-valued: a condition is never null.
    assert_eq!(
        event(es("any where null == (a == \"x\")")),
        Expr::Or(vec![])
    );
    // Endgame: null when the field is missing.
    let x = CompiledExprs::new(&event(eg("any where null == (n > 1)")));
    assert!(x.matches(r#"{"m": 1}"#));
    assert!(!x.matches(r#"{"n": 0}"#));
    assert!(!x.matches(r#"{"n": 2}"#));
}

struct CompiledExprs(detect_core::interpreter::CompiledExpr);

impl CompiledExprs {
    fn new(e: &Expr) -> Self {
        CompiledExprs(detect_core::interpreter::CompiledExpr::new(e).unwrap())
    }
    fn matches(&self, json: &str) -> bool {
        self.0
            .matches(&detect_core::JsonEvent::parse_str(json).unwrap())
    }
}

#[test]
fn array_contains_is_an_endgame_element_test() {
    let e = event(eg("registry where arrayContains(list, 'en-US', 'x')"));
    let want = lower::and(vec![
        field(
            "event_type",
            s(StrKind::Exact("registry".into()), Case::Sensitive),
        ),
        Expr::Or(vec![
            field("list", s(StrKind::Exact("en-US".into()), Case::Insensitive)),
            field("list", s(StrKind::Exact("x".into()), Case::Insensitive)),
        ]),
    ]);
    assert_eq!(e, want);
    let err = es("process where arrayContains(process.args, \"/V\")").unwrap_err();
    assert!(
        err.message.contains("function of the endgame dialect"),
        "{err}"
    );
}

#[test]
fn errors_are_precise() {
    let cases: &[(&str, &str)] = &[
        (
            "process where",
            "1:14: expected a field, a value or `(`, found end of query",
        ),
        (
            "process a == 1",
            "1:9: expected `where` after the event category, found `a`",
        ),
        (
            "process where a = 1",
            "1:17: expected `==` for equality (a single `=` is endgame EQL), found `=`",
        ),
        (
            "process where a in 1",
            "1:20: expected `(` after `in` (a list of values), found number `1`",
        ),
        (
            "process where (a == 1",
            "1:22: expected `)` to close the parenthesis, found end of query",
        ),
        (
            "process where a == 1 b",
            "1:22: expected `and`, `or`, `|` or the end of the query, found `b`",
        ),
        (
            "sequence [process where true] by a [file where true] by a, b",
            "1:36: stage 2 has 2 join key(s) but the first stage has 1: every stage joins on the same number of keys",
        ),
        (
            "sequence with maxspan=1y [a where true]",
            "1:24: unknown time unit `y`: expected ms, s, m, h or d",
        ),
        (
            "process where a == 1 | count",
            "1:24: unsupported: pipe `count` (supported: head, tail, filter, unique, sort)",
        ),
        (
            "join [a where true] [b where true]",
            "1:1: unsupported: `join` queries (only event queries and `sequence`)",
        ),
        (
            "process where length(a) > 1",
            "1:15: unsupported: comparing the result of function `length`",
        ),
        (
            "process where a - 1 == 2",
            "1:17: unsupported: arithmetic (`-`)",
        ),
        (
            "process where a < \"x\"",
            "1:15: unsupported: ordering comparison (`<`, `<=`, `>`, `>=`) on strings",
        ),
        (
            "process where descendant of [process where true]",
            "1:15: unsupported: `descendant of` (process lineage)",
        ),
        (
            "process where\n  a == \"\\d\"",
            "2:9: unknown escape `\\d`: expected one of \\\\ \\\" \\' \\n \\r \\t \\b \\f \\0 \\u{XXXX} (write `\\\\` for a backslash)",
        ),
        (
            "process where a",
            "1:15: unsupported: a field used as a condition (write `a == true` or `a != null`)",
        ),
        (
            "process where indexOf(a, \"b\") == 1",
            "1:15: unsupported: comparing the result of function `indexOf`",
        ),
        (
            "process where (a == 1) == 2",
            "1:15: unsupported: comparing a condition with something other than `true`, `false` or `null`",
        ),
    ];
    for (q, want) in cases {
        let e = es(q).unwrap_err();
        assert_eq!(&e.to_string(), want, "query {q:?}");
    }
    let e = es("process where a[1] == 2").unwrap_err();
    assert_eq!(e.offset, 15);
    assert!(e.is_unsupported());
}

#[test]
fn backquoted_fields_and_comments() {
    let e = event(es(
        "any where `my field`.`x y` == 1 // trailing\n /* block */",
    ));
    assert!(matches!(e, Expr::Field(FieldTest { ref field, .. }) if field == "my field.x y"));
}
