//! From the syntax tree to the IR, applying the dialect's meaning of each
//! operator.
//!
//! Every predicate is lowered to a pair of IR expressions: `t`, "the predicate
//! is true", and `f`, "the predicate is false". In the endgame dialect both
//! are needed because that engine uses three-valued (Kleene) logic: a
//! comparison with a missing or null field is *null*, `not null` is null,
//! `null and false` is false, `null or true` is true, and an event matches
//! only when its condition is true. Negation swaps `t` and `f`, `and` takes
//! `(and of t, or of f)`, `or` the converse, and a leaf's `f` is "the field
//! is present and not null, and the test fails". The IR itself stays
//! two-valued. In the Elasticsearch dialect `not` is plain boolean negation
//! (`f` is simply `not t`), but a comparison with a missing field is still
//! false, so `field != "x"` needs the field and `not field == "x"` does not.

use detect_core::compile::pattern::{parse_plain_glob, simplify};
use detect_core::ir::{
    Case, Cidr, Expr, FieldTest, GlobToken, NumOp, RegexPattern, StrKind, StrPattern, Test,
};

use crate::error::{EqlError, Span};
use crate::parser::{Lit, Node, PatKind, Sp};
use crate::{Dialect, Options};

pub(crate) struct Lower<'a> {
    pub text: &'a str,
    pub options: &'a Options,
}

/// "True" and "false" conditions of a predicate (see the module docs).
pub(crate) struct Tri {
    pub t: Expr,
    pub f: Expr,
}

pub(crate) fn and(v: Vec<Expr>) -> Expr {
    let mut out = Vec::new();
    for e in v {
        match e {
            Expr::And(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or(Expr::And(vec![]))
    } else {
        Expr::And(out)
    }
}

pub(crate) fn or(v: Vec<Expr>) -> Expr {
    let mut out = Vec::new();
    for e in v {
        match e {
            Expr::Or(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or(Expr::Or(vec![]))
    } else {
        Expr::Or(out)
    }
}

pub(crate) fn not(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        e => Expr::Not(Box::new(e)),
    }
}

pub(crate) fn test(field: &str, test: Test) -> Expr {
    Expr::Field(FieldTest {
        field: field.to_string(),
        test,
    })
}

fn str_test(field: &str, kind: StrKind, case: Case) -> Expr {
    test(field, Test::Str(StrPattern { kind, case }))
}

/// The field is present and not null.
fn present(field: &str) -> Expr {
    not(test(field, Test::Null))
}

fn negate_op(op: NumOp) -> NumOp {
    match op {
        NumOp::Eq => NumOp::Ne,
        NumOp::Ne => NumOp::Eq,
        NumOp::Lt => NumOp::Ge,
        NumOp::Ge => NumOp::Lt,
        NumOp::Le => NumOp::Gt,
        NumOp::Gt => NumOp::Le,
    }
}

/// The operator with its operands swapped (`1 < x` is `x > 1`).
fn flip(op: NumOp) -> NumOp {
    match op {
        NumOp::Lt => NumOp::Gt,
        NumOp::Gt => NumOp::Lt,
        NumOp::Le => NumOp::Ge,
        NumOp::Ge => NumOp::Le,
        other => other,
    }
}

/// Endgame wildcards: only `*` (a `?` is literal).
fn star_glob(s: &str) -> Vec<GlobToken> {
    let mut out = Vec::new();
    for (i, part) in s.split('*').enumerate() {
        if i > 0 {
            out.push(GlobToken::AnyRun);
        }
        if !part.is_empty() {
            out.push(GlobToken::Lit(part.to_string()));
        }
    }
    out
}

/// Parses `a.b.c.d/n` or an IPv6 network into the IR's masked form.
pub(crate) fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let (bits, width, v4) = match ip {
        std::net::IpAddr::V4(v) => (u128::from(u32::from(v)), 32u8, true),
        std::net::IpAddr::V6(v) => (u128::from(v), 128u8, false),
    };
    let prefix = prefix.unwrap_or(width);
    if prefix > width {
        return None;
    }
    let shift = u32::from(width - prefix);
    let addr = if shift >= 128 {
        0
    } else {
        (bits >> shift) << shift
    };
    Some(Cidr { v4, addr, prefix })
}

impl Lower<'_> {
    fn kleene(&self) -> bool {
        self.options.dialect == Dialect::Endgame
    }

    fn err(&self, span: Span, msg: impl Into<String>) -> EqlError {
        EqlError::new(self.text, span, msg)
    }

    /// Case of `==`, `in` and the string functions without `~`.
    fn default_case(&self, tilde: bool) -> Case {
        match self.options.dialect {
            Dialect::Elasticsearch if tilde => Case::Insensitive,
            Dialect::Elasticsearch => Case::Sensitive,
            Dialect::Endgame if self.options.case_sensitive => Case::Sensitive,
            Dialect::Endgame => Case::Insensitive,
        }
    }

    /// A leaf: `t` is `test`; `f` is "present and not `test`" (the test is
    /// null on a missing field) or `not t` in the two-valued dialect.
    fn leaf(&self, field: &str, t: Expr) -> Tri {
        let f = if self.kleene() {
            and(vec![present(field), not(t.clone())])
        } else {
            not(t.clone())
        };
        Tri { t, f }
    }

    fn tri(&self, t: Expr, f_kleene: Expr) -> Tri {
        let f = if self.kleene() {
            f_kleene
        } else {
            not(t.clone())
        };
        Tri { t, f }
    }

    fn swap(&self, x: Tri) -> Tri {
        if self.kleene() {
            Tri { t: x.f, f: x.t }
        } else {
            Tri {
                t: not(x.t.clone()),
                f: x.t,
            }
        }
    }

    /// The category test (`process where`): exact match on the configured field.
    pub(crate) fn category(&self, category: &Option<String>) -> Option<Expr> {
        let cat = category.as_ref()?;
        let case = match self.options.dialect {
            // As detect-core's ECS log sources (`event.category` is a keyword
            // whose values are lowercase; no reason to miss `Process`).
            Dialect::Elasticsearch => Case::Insensitive,
            // The endgame engine compares the event type exactly.
            Dialect::Endgame => Case::Sensitive,
        };
        Some(str_test(
            &self.options.category_field,
            StrKind::Exact(cat.clone()),
            case,
        ))
    }

    pub(crate) fn pred(&self, sp: &Sp) -> Result<Tri, EqlError> {
        match &sp.node {
            Node::And(v) => {
                let parts = v.iter().map(|p| self.pred(p)).collect::<Result<Vec<_>, _>>()?;
                let (ts, fs): (Vec<_>, Vec<_>) = parts.into_iter().map(|p| (p.t, p.f)).unzip();
                let t = and(ts);
                Ok(self.tri(t, or(fs)))
            }
            Node::Or(v) => {
                let parts = v.iter().map(|p| self.pred(p)).collect::<Result<Vec<_>, _>>()?;
                let (ts, fs): (Vec<_>, Vec<_>) = parts.into_iter().map(|p| (p.t, p.f)).unzip();
                let t = or(ts);
                Ok(self.tri(t, and(fs)))
            }
            Node::Not(inner) => Ok(self.swap(self.pred(inner)?)),
            Node::Lit(Lit::Bool(b)) => {
                let (yes, no) = (Expr::And(vec![]), Expr::Or(vec![]));
                Ok(if *b {
                    Tri { t: yes, f: no }
                } else {
                    Tri { t: no, f: yes }
                })
            }
            Node::Lit(Lit::Null) => Ok(Tri {
                t: Expr::Or(vec![]),
                f: if self.kleene() {
                    Expr::Or(vec![])
                } else {
                    Expr::And(vec![])
                },
            }),
            Node::Lit(_) => Err(self.err(
                sp.span,
                "expected a condition, found a literal (compare it with a field)",
            )),
            Node::Field(f) => Err(self.err(
                sp.span,
                format!(
                    "unsupported: a field used as a condition (write `{f} == true` or `{f} != null`)"
                ),
            )),
            Node::Cmp { op, lhs, rhs } => self.cmp(*op, lhs, rhs, sp.span),
            Node::In {
                lhs,
                items,
                tilde,
                negated,
            } => {
                let field = self.field_of(lhs, "`in`")?;
                let case = match self.options.dialect {
                    Dialect::Elasticsearch => self.default_case(*tilde),
                    Dialect::Endgame => self.default_case(false),
                };
                let mut alts = Vec::new();
                for item in items {
                    alts.push(match &item.node {
                        Node::Lit(Lit::Str(s)) => str_test(field, StrKind::Exact(s.clone()), case),
                        Node::Lit(Lit::Num(n)) => test(
                            field,
                            Test::Num {
                                op: NumOp::Eq,
                                value: *n,
                            },
                        ),
                        Node::Lit(Lit::Bool(b)) => {
                            str_test(field, StrKind::Exact(b.to_string()), Case::Sensitive)
                        }
                        // `a in (b, ...)`: `a == b` (both present, equal as
                        // the dialect compares strings).
                        Node::Field(other) => and(vec![
                            present(other),
                            test(
                                field,
                                Test::FieldRef {
                                    other: other.clone(),
                                    kind: detect_core::ir::RefKind::Exact,
                                    case,
                                },
                            ),
                        ]),
                        _ => {
                            return Err(self.err(
                                item.span,
                                "unsupported: `in` list item that is not a string, number or boolean",
                            ));
                        }
                    });
                }
                let x = self.leaf(field, or(alts));
                Ok(if *negated { self.swap(x) } else { x })
            }
            Node::Pattern {
                kind,
                tilde,
                lhs,
                pats,
            } => {
                let what = match kind {
                    PatKind::Colon => "`:`",
                    PatKind::Like => "`like`",
                    PatKind::Regex => "`regex`",
                };
                let field = self.field_of(lhs, what)?;
                let case = match (kind, tilde) {
                    (PatKind::Colon, _) | (_, true) => Case::Insensitive,
                    _ => Case::Sensitive,
                };
                let mut alts = Vec::new();
                for p in pats {
                    alts.push(match (&p.node, kind) {
                        (Node::Lit(Lit::Str(s)), PatKind::Regex) => test(
                            field,
                            Test::Regex(RegexPattern {
                                pattern: format!("^(?:{s})$"),
                                case_insensitive: case == Case::Insensitive,
                                multi_line: false,
                                dot_all: false,
                            }),
                        ),
                        (Node::Lit(Lit::Str(s)), _) => {
                            str_test(field, simplify(parse_plain_glob(s)), case)
                        }
                        (Node::Lit(Lit::Num(n)), PatKind::Colon) => test(
                            field,
                            Test::Num {
                                op: NumOp::Eq,
                                value: *n,
                            },
                        ),
                        (Node::Lit(Lit::Bool(b)), PatKind::Colon) => {
                            str_test(field, StrKind::Exact(b.to_string()), Case::Sensitive)
                        }
                        _ => {
                            return Err(self.err(
                                p.span,
                                format!("unsupported: {what} with a value that is not a string literal"),
                            ));
                        }
                    });
                }
                if *kind == PatKind::Regex {
                    for a in &alts {
                        if let Expr::Field(FieldTest {
                            test: Test::Regex(r),
                            ..
                        }) = a
                            && let Err(e) = detect_core_regex_check(r)
                        {
                            return Err(self.err(lhs.span.to(sp.span), e));
                        }
                    }
                }
                Ok(self.leaf(field, or(alts)))
            }
            Node::Call { name, tilde, args } => self.call(name, *tilde, args, sp.span),
        }
    }

    fn field_of<'n>(&self, sp: &'n Sp, what: &str) -> Result<&'n str, EqlError> {
        match &sp.node {
            Node::Field(f) => Ok(f),
            Node::Call { name, .. } => Err(self.err(
                sp.span,
                format!("unsupported: function `{name}` as the operand of {what} (only fields)"),
            )),
            _ => Err(self.err(
                sp.span,
                format!("unsupported: {what} on something that is not a field"),
            )),
        }
    }

    fn cmp(&self, op: NumOp, lhs: &Sp, rhs: &Sp, span: Span) -> Result<Tri, EqlError> {
        let (op, field_sp, lit_sp) = match (&lhs.node, &rhs.node) {
            (Node::Field(_), Node::Lit(_)) => (op, lhs, rhs),
            (Node::Lit(_), Node::Field(_)) => (flip(op), rhs, lhs),
            (Node::Field(a), Node::Field(b)) => return self.field_cmp(op, a, b, span),
            (Node::Call { name, .. }, _) | (_, Node::Call { name, .. }) => {
                return Err(self.err(
                    span,
                    format!("unsupported: comparing the result of function `{name}`"),
                ));
            }
            (Node::Lit(_), Node::Lit(_)) => {
                return Err(self.err(
                    span,
                    "unsupported: a comparison between two literals (no field)",
                ));
            }
            (_, Node::Lit(lit)) if matches!(op, NumOp::Eq | NumOp::Ne) => {
                return self.cond_cmp(op, lhs, lit, span);
            }
            (Node::Lit(lit), _) if matches!(op, NumOp::Eq | NumOp::Ne) => {
                return self.cond_cmp(op, rhs, lit, span);
            }
            _ => {
                return Err(self.err(
                    span,
                    "unsupported: comparing a condition with something other than `true`, `false` or `null`",
                ));
            }
        };
        let Node::Field(field) = &field_sp.node else {
            unreachable!()
        };
        let Node::Lit(lit) = &lit_sp.node else {
            unreachable!()
        };
        let ordering = !matches!(op, NumOp::Eq | NumOp::Ne);
        let eq = match lit {
            Lit::Null => {
                if ordering {
                    return Err(self.err(span, "an ordering comparison with `null` is never true; use `== null` or `!= null`"));
                }
                // Never null itself: `is null` / `is not null`.
                let t = test(field, Test::Null);
                let x = Tri {
                    f: not(t.clone()),
                    t,
                };
                return Ok(if op == NumOp::Ne { self.swap(x) } else { x });
            }
            Lit::Num(n) => {
                let t = test(field, Test::Num { op, value: *n });
                let f = test(
                    field,
                    Test::Num {
                        op: negate_op(op),
                        value: *n,
                    },
                );
                return Ok(if self.kleene() {
                    Tri { t, f }
                } else {
                    // Two-valued, but a comparison with a missing or
                    // non-numeric field is false: `f` is `not t`.
                    Tri {
                        f: not(t.clone()),
                        t,
                    }
                });
            }
            Lit::Str(s) => {
                if ordering {
                    return Err(self.err(
                        span,
                        "unsupported: ordering comparison (`<`, `<=`, `>`, `>=`) on strings",
                    ));
                }
                let case = self.default_case(false);
                let kind = match self.options.dialect {
                    Dialect::Elasticsearch => StrKind::Exact(s.clone()),
                    Dialect::Endgame => simplify(star_glob(s)),
                };
                str_test(field, kind, case)
            }
            Lit::Bool(b) => {
                if ordering {
                    return Err(self.err(span, "unsupported: ordering comparison on booleans"));
                }
                str_test(field, StrKind::Exact(b.to_string()), Case::Sensitive)
            }
        };
        // `==`: t = test, f = present and not test; `!=` is its negation with
        // the same null behaviour in both dialects (false on a missing field).
        let ne = and(vec![present(field), not(eq.clone())]);
        Ok(self.eq_ne(op, eq, ne))
    }

    /// `==` / `!=` from "equal" and "present and different".
    fn eq_ne(&self, op: NumOp, eq: Expr, ne: Expr) -> Tri {
        let (t, f) = if op == NumOp::Ne { (ne, eq) } else { (eq, ne) };
        self.tri(t, f)
    }

    /// A condition compared with `true`, `false` or `null`: `c == true` is
    /// `c`, `c == false` is `not c` (both null when `c` is, in the endgame
    /// dialect), `c == null` is true exactly when `c` is null (never in the
    /// two-valued dialect); `!=` negates.
    fn cond_cmp(&self, op: NumOp, cond: &Sp, lit: &Lit, span: Span) -> Result<Tri, EqlError> {
        let c = self.pred(cond)?;
        let x = match lit {
            Lit::Bool(true) => c,
            Lit::Bool(false) => self.swap(c),
            Lit::Null => {
                let (t, f) = if self.kleene() {
                    (
                        and(vec![not(c.t.clone()), not(c.f.clone())]),
                        or(vec![c.t, c.f]),
                    )
                } else {
                    (Expr::Or(vec![]), Expr::And(vec![]))
                };
                Tri { t, f }
            }
            _ => {
                return Err(self.err(
                    span,
                    "unsupported: comparing a condition with something other than `true`, `false` or `null`",
                ));
            }
        };
        Ok(if op == NumOp::Ne { self.swap(x) } else { x })
    }

    fn field_cmp(&self, op: NumOp, a: &str, b: &str, span: Span) -> Result<Tri, EqlError> {
        if !matches!(op, NumOp::Eq | NumOp::Ne) {
            return Err(self.err(span, "unsupported: ordering comparison between two fields"));
        }
        let eq = test(
            a,
            Test::FieldRef {
                other: b.to_string(),
                kind: detect_core::ir::RefKind::Exact,
                case: self.default_case(false),
            },
        );
        let both = and(vec![present(a), present(b)]);
        let ne = and(vec![both, not(eq.clone())]);
        Ok(self.eq_ne(op, eq, ne))
    }

    fn call(&self, name: &str, tilde: bool, args: &[Sp], span: Span) -> Result<Tri, EqlError> {
        const SUPPORTED: &[&str] = &[
            "startsWith",
            "endsWith",
            "stringContains",
            "wildcard",
            "match",
            "matchLite",
            "cidrMatch",
            "arrayContains",
        ];
        if !SUPPORTED.contains(&name) {
            return Err(self.err(
                span,
                format!(
                    "unsupported: function `{name}` (supported: {})",
                    SUPPORTED.join(", ")
                ),
            ));
        }
        if name == "arrayContains" && self.options.dialect != Dialect::Endgame {
            return Err(self.err(
                span,
                "`arrayContains` is a function of the endgame dialect; in Elasticsearch EQL write `field : (\"a\", \"b\")`",
            ));
        }
        if tilde && (self.options.dialect == Dialect::Endgame || name == "cidrMatch") {
            return Err(self.err(span, format!("`{name}~` is not defined in this dialect")));
        }
        let Some((first, rest)) = args.split_first() else {
            return Err(self.err(
                span,
                format!("`{name}` expects a field and at least one value"),
            ));
        };
        let field = match &first.node {
            Node::Field(f) => f.as_str(),
            _ => {
                return Err(self.err(
                    first.span,
                    format!("unsupported: `{name}` whose first argument is not a field"),
                ));
            }
        };
        if rest.is_empty() {
            return Err(self.err(
                span,
                format!("`{name}` expects at least one value after the field"),
            ));
        }
        let mut lits = Vec::new();
        for a in rest {
            match &a.node {
                Node::Lit(Lit::Str(s)) => lits.push(s.as_str()),
                _ => {
                    return Err(self.err(
                        a.span,
                        format!(
                            "unsupported: `{name}` with an argument that is not a string literal"
                        ),
                    ));
                }
            }
        }
        if matches!(name, "startsWith" | "endsWith" | "stringContains") && lits.len() != 1 {
            return Err(self.err(span, format!("`{name}` expects exactly two arguments")));
        }
        let case = self.default_case(tilde);
        let mut alts = Vec::new();
        for s in lits {
            alts.push(match name {
                "startsWith" => str_test(field, StrKind::Prefix(s.to_string()), case),
                "endsWith" => str_test(field, StrKind::Suffix(s.to_string()), case),
                "stringContains" => str_test(field, StrKind::Contains(s.to_string()), case),
                // An element equal to the value: the IR's test of a field that
                // holds an array is already "any element".
                "arrayContains" => str_test(field, StrKind::Exact(s.to_string()), case),
                "wildcard" => {
                    let tokens = match self.options.dialect {
                        Dialect::Elasticsearch => parse_plain_glob(s),
                        Dialect::Endgame => star_glob(s),
                    };
                    str_test(field, simplify(tokens), case)
                }
                "match" | "matchLite" => {
                    // Python's `re.match`: anchored at the start only.
                    let r = RegexPattern {
                        pattern: format!(r"\A(?:{s})"),
                        case_insensitive: case == Case::Insensitive,
                        multi_line: false,
                        dot_all: false,
                    };
                    if let Err(e) = detect_core_regex_check(&r) {
                        return Err(self.err(span, e));
                    }
                    test(field, Test::Regex(r))
                }
                _ => match parse_cidr(s) {
                    Some(c) => test(field, Test::Cidr(c)),
                    None => {
                        return Err(self.err(
                            span,
                            format!(
                                "invalid network {s:?}: expected `a.b.c.d/n` or an IPv6 network"
                            ),
                        ));
                    }
                },
            });
        }
        Ok(self.leaf(field, or(alts)))
    }
}

/// Compiles the regex once to report syntax errors at parse time.
fn detect_core_regex_check(r: &RegexPattern) -> Result<(), String> {
    let probe = Expr::Field(FieldTest {
        field: "_".into(),
        test: Test::Regex(r.clone()),
    });
    detect_core::interpreter::CompiledExpr::new(&probe)
        .map(|_| ())
        .map_err(|e| format!("unsupported: {e}"))
}
