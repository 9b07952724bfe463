//! How a predicate runs: an expression turned into calls of the
//! [`crate::rt`] helpers, decided once for both doors.
//!
//! A [`Node`] is one such call (or `and`/`or`/`not` of calls) with its
//! constant arguments: the macros write each node as the Rust expression
//! calling the same helper, the run-time rule set evaluates the nodes
//! directly ([`super::Program`]). Deciding the grouping here, once, is
//! what makes the two doors run the same tests in the same way:
//!
//! * in an `and`, string tests of one field (`CommandLine|contains|all`, or
//!   selections that each test it) become one lookup of the field
//!   ([`crate::rt::field_str_all`]);
//! * in an `or` (which has no side effects, so its terms may be
//!   reordered), string and CIDR tests of one field become one lookup
//!   over a list; long lists are indexed ([`StrSet`], from
//!   [`crate::rt::STR_SET_MIN`] tests) and long lists of case-insensitive
//!   ASCII `contains` needles searched in one pass ([`ContainsSet`], from
//!   [`crate::rt::CONTAINS_SET_MIN`]);
//! * every pattern is reduced to its cheapest shape and case-folded here
//!   ([`str_test`]): case folding only where it can matter.

use crate::ir::{
    Case, Expr, FieldTest, GlobToken, NumOp, Number, RefKind, StrKind, StrPattern, Test, TimePart,
};
use crate::matcher::{GlobTok, fold};
use crate::rt::{
    CONTAINS_SET_MIN, ContainsSet, LazyRegex, List, STR_SET_MIN, StrSet, StrTest, Text,
};

/// One step of a predicate: a helper call with constant arguments, or a
/// combination of steps. Fields are indices into the rule set's field table.
#[derive(Debug)]
pub enum Node {
    /// A constant (an empty `and` is true, an empty `or` false).
    Const(bool),
    /// Every step holds (in order, stopping at the first that fails).
    And(Vec<Node>),
    /// Some step holds (in order, stopping at the first that holds).
    Or(Vec<Node>),
    /// The step does not hold.
    Not(Box<Node>),
    /// Some value anywhere in the event passes the test ([`crate::rt::keyword_str`]).
    Keyword(StrTest),
    /// Some value of the field passes the test ([`crate::rt::field_str`]).
    Str {
        /// Field index.
        field: u32,
        /// The test.
        test: StrTest,
    },
    /// Every test is passed by some value of the field ([`crate::rt::field_str_all`]).
    StrAll {
        /// Field index.
        field: u32,
        /// The tests (at most 64).
        tests: List<StrTest>,
    },
    /// Some value of the field passes one of the tests ([`crate::rt::field_str_any`]).
    StrAny {
        /// Field index.
        field: u32,
        /// The tests.
        tests: List<StrTest>,
    },
    /// Some value of the field contains one of the set's needles or passes
    /// one of the tests ([`crate::rt::field_str_any_set`]).
    StrAnyWithNeedles {
        /// Field index.
        field: u32,
        /// The tests besides the needles.
        tests: List<StrTest>,
        /// The needles.
        needles: ContainsSet,
    },
    /// Some value of the field passes one of the set's tests or contains
    /// one of the needles ([`crate::rt::field_str_set`]).
    StrSet {
        /// Field index.
        field: u32,
        /// The indexed tests.
        set: StrSet,
        /// Needles searched in one pass, if any.
        needles: Option<ContainsSet>,
    },
    /// Some value of the field is an address in one of the networks
    /// ([`crate::rt::field_cidr_any`]).
    CidrAny {
        /// Field index.
        field: u32,
        /// `(v4, address, prefix)` of each network.
        nets: List<(bool, u128, u8)>,
    },
    /// Some value of the field is an address in the network ([`crate::rt::field_cidr`]).
    Cidr {
        /// Field index.
        field: u32,
        /// IPv4 network.
        v4: bool,
        /// Network address bits.
        addr: u128,
        /// Prefix length.
        prefix: u8,
    },
    /// Some value of the field matches the regex ([`crate::rt::field_regex`]).
    Regex {
        /// Field index.
        field: u32,
        /// The regex, compiled at first use.
        regex: LazyRegex,
    },
    /// Some value of the field is a number comparing to `value` ([`crate::rt::field_num`]).
    Num {
        /// Field index.
        field: u32,
        /// The comparison.
        op: NumOp,
        /// Right-hand side.
        value: Number,
    },
    /// Some value of the field is a time whose `part` compares to `value`
    /// ([`crate::rt::field_time`]).
    Time {
        /// Field index.
        field: u32,
        /// Which component.
        part: TimePart,
        /// The comparison.
        op: NumOp,
        /// Right-hand side.
        value: i64,
    },
    /// The field exists (or, with `false`, does not) ([`crate::rt::exists`]).
    Exists {
        /// Field index.
        field: u32,
        /// Whether it must exist.
        exists: bool,
    },
    /// The field is missing or null ([`crate::rt::is_null`]).
    Null {
        /// Field index.
        field: u32,
    },
    /// A value of the field relates to a value of `other`
    /// ([`crate::rt::field_ref_match`]).
    FieldRef {
        /// Field index.
        field: u32,
        /// The other field's index.
        other: u32,
        /// How the values relate.
        kind: RefKind,
        /// Whether the comparison folds case.
        case_insensitive: bool,
    },
}

/// The plan of `expr`, whose field names `field` maps to field indices.
///
/// ```
/// use detect_core::compile::{Node, plan};
/// use detect_core::ir::{Expr, FieldTest, Test, StrPattern, StrKind, Case};
/// let contains = |s: &str| Expr::Field(FieldTest {
///     field: "CommandLine".into(),
///     test: Test::Str(StrPattern { kind: StrKind::Contains(s.into()), case: Case::Insensitive }),
/// });
/// // Two tests of one field in an `and`: one lookup.
/// let node = plan(&Expr::And(vec![contains("net"), contains("/add")]), &|_| 0);
/// let Node::And(steps) = node else { panic!() };
/// assert!(matches!(steps[..], [Node::StrAll { field: 0, .. }]));
/// ```
pub fn plan(expr: &Expr, field: &dyn Fn(&str) -> u32) -> Node {
    match expr {
        Expr::And(parts) if parts.is_empty() => Node::Const(true),
        Expr::Or(parts) if parts.is_empty() => Node::Const(false),
        Expr::And(parts) => plan_and(parts, field),
        Expr::Or(parts) => plan_or(parts, field),
        Expr::Not(inner) => Node::Not(Box::new(plan(inner, field))),
        Expr::Keyword(p) => Node::Keyword(str_test(p)),
        Expr::Field(ft) => plan_field(ft, field),
    }
}

/// The field of a string test.
fn str_field(x: &Expr) -> Option<&str> {
    match x {
        Expr::Field(ft) if matches!(ft.test, Test::Str(_)) => Some(ft.field.as_str()),
        _ => None,
    }
}

fn plan_and(parts: &[Expr], field: &dyn Fn(&str) -> u32) -> Node {
    // String tests of one field are merged into one call: one lookup, each
    // test passed by some value. Each group stands where its first test
    // stood (`and` has no side effects).
    let mut done = vec![false; parts.len()];
    let mut steps = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if done[i] {
            continue;
        }
        let group: Vec<usize> = match str_field(part) {
            Some(f) => (i..parts.len())
                .filter(|&j| str_field(&parts[j]) == Some(f))
                .take(64)
                .collect(),
            None => vec![i],
        };
        if group.len() < 2 {
            done[i] = true;
            steps.push(plan(part, field));
            continue;
        }
        let tests = group
            .iter()
            .map(|&j| {
                done[j] = true;
                match &parts[j] {
                    Expr::Field(FieldTest {
                        test: Test::Str(sp),
                        ..
                    }) => str_test(sp),
                    _ => unreachable!("grouped by str_field"),
                }
            })
            .collect();
        steps.push(Node::StrAll {
            field: field(str_field(part).unwrap_or_default()),
            tests: List::Owned(tests),
        });
    }
    Node::And(steps)
}

/// A network of a CIDR test: `(v4, address, prefix)`.
type Net = (bool, u128, u8);

fn plan_or(parts: &[Expr], field: &dyn Fn(&str) -> u32) -> Node {
    // String and CIDR tests of one field are merged into one call over a
    // list: one lookup of the field for a whole list of values.
    let mut strs: Vec<(&str, Vec<StrTest>)> = Vec::new();
    let mut nets: Vec<(&str, Vec<Net>)> = Vec::new();
    // Case-insensitive ASCII `contains` needles per field: a long list
    // becomes one search.
    let mut needles: Vec<(&str, Vec<(String, StrTest)>)> = Vec::new();
    let mut rest = Vec::new();
    for part in parts {
        let Expr::Field(ft) = part else {
            rest.push(plan(part, field));
            continue;
        };
        let f = ft.field.as_str();
        match &ft.test {
            Test::Str(
                p @ StrPattern {
                    kind: StrKind::Contains(s),
                    case: Case::Insensitive,
                },
            ) if s.is_ascii() && !s.is_empty() => {
                let item = (s.to_ascii_lowercase(), str_test(p));
                match needles.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, items)) => items.push(item),
                    None => needles.push((f, vec![item])),
                }
            }
            Test::Str(p) => match strs.iter_mut().find(|(g, _)| *g == f) {
                Some((_, items)) => items.push(str_test(p)),
                None => strs.push((f, vec![str_test(p)])),
            },
            Test::Cidr(c) => {
                let net = (c.v4, c.addr, c.prefix);
                match nets.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, items)) => items.push(net),
                    None => nets.push((f, vec![net])),
                }
            }
            _ => rest.push(plan(part, field)),
        }
    }
    let mut sets: Vec<(&str, Vec<String>)> = Vec::new();
    for (f, items) in needles {
        if items.len() >= CONTAINS_SET_MIN {
            sets.push((f, items.into_iter().map(|(n, _)| n).collect()));
            continue;
        }
        let tests = items.into_iter().map(|(_, t)| t);
        match strs.iter_mut().find(|(g, _)| *g == f) {
            Some((_, list)) => list.extend(tests),
            None => strs.push((f, tests.collect())),
        }
    }
    let needle_set =
        |n: Vec<String>| ContainsSet::new(List::Owned(n.into_iter().map(Text::Owned).collect()));
    let mut steps = Vec::new();
    for (f, tests) in strs {
        let index = field(f);
        let set = sets
            .iter()
            .position(|(g, _)| *g == f)
            .map(|i| sets.remove(i).1);
        steps.push(match set {
            // A long list: indexed (with the needles' automaton, if any).
            set if tests.len() >= STR_SET_MIN => Node::StrSet {
                field: index,
                set: StrSet::new(List::Owned(tests)),
                needles: set.map(needle_set),
            },
            Some(set) => Node::StrAnyWithNeedles {
                field: index,
                tests: List::Owned(tests),
                needles: needle_set(set),
            },
            None if tests.len() == 1 => Node::Str {
                field: index,
                test: tests.into_iter().next().expect("one test"),
            },
            None => Node::StrAny {
                field: index,
                tests: List::Owned(tests),
            },
        });
    }
    for (f, set) in sets {
        steps.push(Node::StrAnyWithNeedles {
            field: field(f),
            tests: List::Owned(Vec::new()),
            needles: needle_set(set),
        });
    }
    for (f, list) in nets {
        steps.push(Node::CidrAny {
            field: field(f),
            nets: List::Owned(list),
        });
    }
    steps.extend(rest);
    Node::Or(steps)
}

fn plan_field(ft: &FieldTest, field: &dyn Fn(&str) -> u32) -> Node {
    let index = field(&ft.field);
    match &ft.test {
        Test::Str(p) => Node::Str {
            field: index,
            test: str_test(p),
        },
        Test::Regex(re) => Node::Regex {
            field: index,
            regex: LazyRegex::new(Text::Owned(re.full_pattern())),
        },
        Test::Cidr(c) => Node::Cidr {
            field: index,
            v4: c.v4,
            addr: c.addr,
            prefix: c.prefix,
        },
        Test::Num { op, value } => Node::Num {
            field: index,
            op: *op,
            value: *value,
        },
        Test::Time { part, op, value } => Node::Time {
            field: index,
            part: *part,
            op: *op,
            value: *value,
        },
        Test::Exists(exists) => Node::Exists {
            field: index,
            exists: *exists,
        },
        Test::Null => Node::Null { field: index },
        Test::FieldRef { other, kind, case } => Node::FieldRef {
            field: index,
            other: field(other),
            kind: *kind,
            case_insensitive: *case == Case::Insensitive,
        },
    }
}

/// True when case folding cannot change whether `s` matches: no character of
/// `s` is the lowercase of anything (only letters have case mappings).
fn case_neutral(s: &str) -> bool {
    !s.chars().any(char::is_alphabetic)
}

/// The cheapest test for a pattern: case folding only where it can matter,
/// patterns pre-folded.
///
/// ```
/// use detect_core::compile::plan::str_test;
/// use detect_core::ir::{Case, StrKind, StrPattern};
/// use detect_core::rt::StrTest;
/// let p = |kind, case| StrPattern { kind, case };
/// assert_eq!(str_test(&p(StrKind::Suffix("\\CMD.exe".into()), Case::Insensitive)),
///            StrTest::SuffixCi("\\cmd.exe".into()));
/// // Nothing to fold: a plain byte comparison.
/// assert_eq!(str_test(&p(StrKind::Exact("4688".into()), Case::Insensitive)),
///            StrTest::Eq("4688".into()));
/// ```
pub fn str_test(p: &StrPattern) -> StrTest {
    let ci = p.case == Case::Insensitive;
    let plain = |s: &str| !ci || case_neutral(s);
    let own = |s: &str| Text::Owned(s.to_string());
    let folded = |s: &str| Text::Owned(fold(s));
    match &p.kind {
        StrKind::Exact(s) if plain(s) => StrTest::Eq(own(s)),
        StrKind::Prefix(s) if plain(s) => StrTest::Prefix(own(s)),
        StrKind::Suffix(s) if plain(s) => StrTest::Suffix(own(s)),
        StrKind::Contains(s) if plain(s) => StrTest::Contains(own(s)),
        StrKind::Exact(s) => StrTest::EqCi(folded(s)),
        StrKind::Prefix(s) => StrTest::PrefixCi(folded(s)),
        StrKind::Suffix(s) => StrTest::SuffixCi(folded(s)),
        StrKind::Contains(s) => StrTest::ContainsCi(folded(s)),
        StrKind::Glob(tokens) => StrTest::Glob(
            List::Owned(
                tokens
                    .iter()
                    .map(|tok| match tok {
                        GlobToken::Lit(s) if ci => GlobTok::Lit(folded(s)),
                        GlobToken::Lit(s) => GlobTok::Lit(own(s)),
                        GlobToken::AnyChar => GlobTok::AnyChar,
                        GlobToken::AnyRun => GlobTok::AnyRun,
                    })
                    .collect(),
            ),
            ci,
        ),
    }
}
