//! The reference interpreter: slow, allocating and obviously correct.
//!
//! It evaluates the IR directly and is the oracle that generated code is tested
//! and fuzzed against, so it deliberately shares as little as possible with the
//! generated fast path: case folding lowercases whole strings into new `String`s,
//! wildcards are matched by a textbook dynamic programme over `Vec<char>`, and
//! CIDR checks go through `std::net`. Only log source resolution and layout
//! mapping ([`crate::compile::lower`]) are shared, because they define *which* fields
//! are read rather than how values match.
//!
//! It is also the run-time path for rules loaded after the build (Sigma YAML or
//! EQL text read by a running program).

use std::net::IpAddr;

use regex::Regex;

use crate::compile::logsource::UnknownLogSource;
use crate::compile::lower::lower;
use crate::event::{Event, Value};
use crate::ir::{
    Case, Cidr, Expr, GlobToken, NumOp, Number, RefKind, RuleSet, StrKind, StrPattern, Test,
};
use crate::layout::Layout;

/// Why a rule set could not be loaded into the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule `{}`: {}", self.rule, self.message)
    }
}

impl std::error::Error for LoadError {}

/// A rule set prepared for interpretation (regexes compiled, fields mapped).
#[derive(Debug)]
pub struct Interpreter {
    rules: Vec<[Node; 3]>,
}

#[derive(Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Field(String, Leaf),
    Keyword(StrPattern),
}

#[derive(Debug)]
enum Leaf {
    Str(StrPattern),
    Regex(Regex),
    Cidr(Cidr),
    Num(NumOp, Number),
    Time(crate::ir::TimePart, NumOp, i64),
    Exists(bool),
    Null,
    FieldRef(String, RefKind, Case),
}

impl Interpreter {
    /// Prepares `set` for evaluation.
    ///
    /// ```
    /// use detect_core::interpreter::Interpreter;
    /// use detect_core::ir::*;
    /// use detect_core::JsonEvent;
    /// let set = RuleSet { rules: vec![Rule {
    ///     name: "curl".into(),
    ///     meta: Metadata { title: "curl".into(), ..Default::default() },
    ///     logsource: LogSource::default(),
    ///     vocabulary: Vocabulary::Windows,
    ///     detection: Detection {
    ///         selections: vec![Selection { name: "s".into(), expr: Expr::Field(FieldTest {
    ///             field: "Image".into(),
    ///             test: Test::Str(StrPattern { kind: StrKind::Suffix(r"\curl.exe".into()), case: Case::Insensitive }),
    ///         })}],
    ///         condition: Condition::Selection(0),
    ///     },
    /// }], ..Default::default() };
    /// let interp = Interpreter::new(&set).unwrap();
    /// let ev = JsonEvent::parse_str(r#"{"Image": "C:\\Windows\\CURL.EXE"}"#).unwrap();
    /// assert_eq!(interp.matches(&ev), vec![0]);
    /// ```
    pub fn new(set: &RuleSet) -> Result<Interpreter, LoadError> {
        let mut rules = Vec::with_capacity(set.rules.len());
        for rule in &set.rules {
            let err = |message: String| LoadError {
                rule: rule.name.clone(),
                message,
            };
            let mut per_layout = Vec::with_capacity(3);
            for layout in Layout::ALL {
                let expr = lower(rule, layout).map_err(|UnknownLogSource(m)| err(m))?;
                per_layout.push(build(&expr).map_err(err)?);
            }
            let arr: [Node; 3] = per_layout
                .try_into()
                .map_err(|_| err("internal: layout count".into()))?;
            rules.push(arr);
        }
        Ok(Interpreter { rules })
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Indices of the rules that match `event`, in rule order.
    pub fn matches<E: Event + ?Sized>(&self, event: &E) -> Vec<usize> {
        let layout = event.layout();
        let slot = Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0);
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| eval(&r[slot], &event))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether rule `index` matches `event`.
    pub fn rule_matches<E: Event + ?Sized>(&self, index: usize, event: &E) -> bool {
        let layout = event.layout();
        let slot = Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0);
        eval(&self.rules[index][slot], &event)
    }
}

/// One expression over event paths, prepared for evaluation (for sequence
/// stages and other front ends that evaluate conditions outside a [`Rule`]).
///
/// [`Rule`]: crate::ir::Rule
#[derive(Debug)]
pub struct CompiledExpr(Node);

impl CompiledExpr {
    /// Prepares `expr`, whose field names are already event paths (see
    /// [`crate::layout::map_field`]).
    ///
    /// ```
    /// use detect_core::interpreter::CompiledExpr;
    /// use detect_core::ir::*;
    /// use detect_core::JsonEvent;
    /// let e = Expr::Field(FieldTest { field: "process.name".into(), test: Test::Str(StrPattern {
    ///     kind: StrKind::Exact("msiexec.exe".into()), case: Case::Insensitive }) });
    /// let c = CompiledExpr::new(&e).unwrap();
    /// assert!(c.matches(&JsonEvent::parse_str(r#"{"process": {"name": "MSIEXEC.EXE"}}"#).unwrap()));
    /// ```
    pub fn new(expr: &Expr) -> Result<CompiledExpr, String> {
        build(expr).map(CompiledExpr)
    }

    /// Whether `event` satisfies the expression.
    pub fn matches<E: Event + ?Sized>(&self, event: &E) -> bool {
        eval(&self.0, &event)
    }
}

fn build(expr: &Expr) -> Result<Node, String> {
    Ok(match expr {
        Expr::And(v) => Node::And(v.iter().map(build).collect::<Result<_, _>>()?),
        Expr::Or(v) => Node::Or(v.iter().map(build).collect::<Result<_, _>>()?),
        Expr::Not(e) => Node::Not(Box::new(build(e)?)),
        Expr::Keyword(p) => Node::Keyword(p.clone()),
        Expr::Field(ft) => {
            let leaf = match &ft.test {
                Test::Str(p) => Leaf::Str(p.clone()),
                Test::Regex(r) => Leaf::Regex(
                    crate::matcher::build_regex(&r.full_pattern())
                        .map_err(|e| format!("invalid regex {:?}: {e}", r.pattern))?,
                ),
                Test::Cidr(c) => Leaf::Cidr(*c),
                Test::Num { op, value } => Leaf::Num(*op, *value),
                Test::Time { part, op, value } => Leaf::Time(*part, *op, *value),
                Test::Exists(b) => Leaf::Exists(*b),
                Test::Null => Leaf::Null,
                Test::FieldRef { other, kind, case } => Leaf::FieldRef(other.clone(), *kind, *case),
            };
            Node::Field(ft.field.clone(), leaf)
        }
    })
}

/// All scalar values at `path` (owned), and whether the field exists.
fn values<E: Event + ?Sized>(event: &E, path: &str) -> (bool, Vec<Option<String>>) {
    let mut out = Vec::new();
    let exists = event.lookup(path, &mut |v| {
        out.push(v.with_text(str::to_string));
        false
    });
    (exists, out)
}

fn eval<E: Event + ?Sized>(node: &Node, event: &E) -> bool {
    match node {
        Node::And(v) => v.iter().all(|n| eval(n, event)),
        Node::Or(v) => v.iter().any(|n| eval(n, event)),
        Node::Not(n) => !eval(n, event),
        Node::Keyword(p) => {
            let mut all = Vec::new();
            event.any_value(&mut |v| {
                if let Some(t) = v.with_text(str::to_string) {
                    all.push(t);
                }
                false
            });
            all.iter().any(|t| str_matches(p, t))
        }
        Node::Field(path, leaf) => {
            let (exists, vals) = values(event, path);
            let texts = || vals.iter().flatten();
            match leaf {
                Leaf::Exists(want) => exists == *want,
                Leaf::Null => !exists || vals.iter().any(Option::is_none),
                Leaf::Str(p) => texts().any(|t| str_matches(p, t)),
                Leaf::Regex(re) => texts().any(|t| re.is_match(t)),
                Leaf::Cidr(c) => texts().any(|t| cidr_matches(c, t)),
                Leaf::Num(op, rhs) => texts().any(|t| {
                    Value::Str(t)
                        .as_number()
                        .is_some_and(|lhs| compare(lhs, *op, *rhs))
                }),
                Leaf::Time(part, op, rhs) => texts().any(|t| {
                    crate::matcher::time_part(t, *part)
                        .is_some_and(|lhs| compare(Number::Int(lhs), *op, Number::Int(*rhs)))
                }),
                Leaf::FieldRef(other, kind, case) => {
                    let (_, others) = values(event, other);
                    texts().any(|a| {
                        others.iter().flatten().any(|b| {
                            let (a, b) = match case {
                                Case::Sensitive => (a.clone(), b.clone()),
                                Case::Insensitive => (fold(a), fold(b)),
                            };
                            match kind {
                                RefKind::Exact => a == b,
                                RefKind::Prefix => a.starts_with(&b),
                                RefKind::Suffix => a.ends_with(&b),
                                RefKind::Contains => a.contains(&b),
                            }
                        })
                    })
                }
            }
        }
    }
}

/// Unicode simple lowercase, char by char (see the crate's case-folding rule).
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

fn str_matches(p: &StrPattern, text: &str) -> bool {
    let norm = |s: &str| match p.case {
        Case::Sensitive => s.to_string(),
        Case::Insensitive => fold(s),
    };
    let t = norm(text);
    match &p.kind {
        StrKind::Exact(s) => t == norm(s),
        StrKind::Prefix(s) => t.starts_with(&norm(s)),
        StrKind::Suffix(s) => t.ends_with(&norm(s)),
        StrKind::Contains(s) => t.contains(&norm(s)),
        StrKind::Glob(tokens) => {
            let pat: Vec<GlobToken> = tokens
                .iter()
                .map(|tok| match tok {
                    GlobToken::Lit(s) => GlobToken::Lit(norm(s)),
                    other => other.clone(),
                })
                .collect();
            glob_dp(&pat, &t.chars().collect::<Vec<_>>())
        }
    }
}

/// Textbook wildcard matching: expand the pattern into per-char items and fill
/// a (pattern x text) table of "prefix matches prefix".
fn glob_dp(tokens: &[GlobToken], text: &[char]) -> bool {
    enum Item {
        Char(char),
        One,
        Many,
    }
    let mut items = Vec::new();
    for t in tokens {
        match t {
            GlobToken::Lit(s) => items.extend(s.chars().map(Item::Char)),
            GlobToken::AnyChar => items.push(Item::One),
            GlobToken::AnyRun => items.push(Item::Many),
        }
    }
    // dp[j] = pattern prefix of length i matches text prefix of length j.
    let mut dp = vec![false; text.len() + 1];
    dp[0] = true;
    for item in &items {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match item {
                Item::Many => dp[j] || (j > 0 && next[j - 1]),
                Item::One => j > 0 && dp[j - 1],
                Item::Char(c) => j > 0 && dp[j - 1] && text[j - 1] == *c,
            };
        }
        dp = next;
    }
    dp[text.len()]
}

fn cidr_matches(c: &Cidr, text: &str) -> bool {
    let Ok(ip) = text.parse::<IpAddr>() else {
        return false;
    };
    let (bits, width) = match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u32),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if c.v4 => (u128::from(u32::from(v4)), 32),
            _ => (u128::from(v6), 128),
        },
    };
    if (width == 32) != c.v4 {
        return false;
    }
    let prefix = u32::from(c.prefix);
    if prefix == 0 {
        return true;
    }
    let shift = width - prefix;
    (bits >> shift) == (c.addr >> shift)
}

fn compare(lhs: Number, op: NumOp, rhs: Number) -> bool {
    use std::cmp::Ordering;
    let ord = match (lhs, rhs) {
        (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
        _ => {
            let f = |n: Number| match n {
                Number::Int(i) => i as f64,
                Number::Float(x) => x,
            };
            f(lhs).partial_cmp(&f(rhs))
        }
    };
    match (op, ord) {
        (NumOp::Ne, None) => true,
        (_, None) => false,
        (NumOp::Eq, Some(o)) => o == Ordering::Equal,
        (NumOp::Ne, Some(o)) => o != Ordering::Equal,
        (NumOp::Lt, Some(o)) => o == Ordering::Less,
        (NumOp::Le, Some(o)) => o != Ordering::Greater,
        (NumOp::Gt, Some(o)) => o == Ordering::Greater,
        (NumOp::Ge, Some(o)) => o != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::GlobToken::*;

    #[test]
    fn glob_dp_is_a_whole_string_match() {
        let t = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(glob_dp(&[AnyRun], &t("")));
        assert!(glob_dp(&[Lit("a".into()), AnyChar], &t("ab")));
        assert!(!glob_dp(&[Lit("a".into()), AnyChar], &t("abc")));
        assert!(glob_dp(&[AnyRun, Lit("b".into()), AnyRun], &t("abc")));
        assert!(!glob_dp(&[AnyChar], &t("")));
    }

    #[test]
    fn cidr_reference() {
        let net = Cidr {
            v4: true,
            addr: u128::from(u32::from_be_bytes([10, 0, 0, 0])),
            prefix: 8,
        };
        assert!(cidr_matches(&net, "10.1.2.3"));
        assert!(cidr_matches(&net, "::ffff:10.1.2.3"));
        assert!(!cidr_matches(&net, "11.0.0.1"));
        assert!(!cidr_matches(&net, "fe80::1"));
    }
}
