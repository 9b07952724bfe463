//! Sigma rules as tau-engine rules.
//!
//! tau-engine (the engine of Chainsaw) has no Sigma front end of its own:
//! Chainsaw translates Sigma YAML into tau's rule format. This module does
//! the same from detect's IR of the rule (so Sigma's parsing, modifiers and
//! expansions are detect's, and what the comparison tests is tau's
//! matching): one tau identifier per field test, or per group of OR-ed tests
//! on the same field (a list, which tau merges into one Aho-Corasick
//! automaton or regex set), and the rule's whole condition as tau's
//! condition. The log source is left out (routing applies it).
//!
//! String tests use tau's patterns: `value` (exact), `value*`, `*value`,
//! `*value*`, `?regex`, with an `i` prefix when case-insensitive, on the key
//! `str(Field)` (tau then also matches numbers by their text, like Sigma).
//! A literal tau would misread (a case-sensitive value starting with `i`, a
//! value starting with `?`, `>`, `<`, `=` or with a `*` at an end) is written
//! as an anchored regex instead; globs with inner wildcards are regexes too.
//! `null` is tau's `Field: null`, `exists` its any-value pattern `*`
//! (negated for `exists: false`). Tests tau has no counterpart for (keywords
//! over every field, `cidr`, `fieldref`, time parts) make the rule
//! untranslatable.

use detect::ir::{
    Case, Condition, Expr, FieldTest, GlobToken, NumOp, Number, Rule, StrKind, StrPattern, Test,
};

/// The tau-engine rule (YAML) for `rule`, or why there is none.
///
/// ```
/// let yaml = r"
/// title: x
/// logsource: {product: windows}
/// detection:
///     sel:
///         Image|endswith: ['\a.exe', '\b.exe']
///     filter:
///         User: SYSTEM
///     condition: sel and not filter
/// ";
/// let rules = detect_sigma::parse_rule_file("x.yml", yaml).unwrap();
/// let tau = detect_peers::tau::rule_yaml(&rules[0]).unwrap();
/// assert!(tau.contains(r#""str(Image)": ["i*\\a.exe", "i*\\b.exe"]"#), "{tau}");
/// assert!(tau.contains(r#""str(User)": "iSYSTEM""#), "{tau}");
/// assert!(tau.contains(r#"condition: "((A0)) and (not ((A1)))""#), "{tau}");
/// ```
pub fn rule_yaml(rule: &Rule) -> Result<String, String> {
    let mut t = Translator {
        identifiers: Vec::new(),
    };
    let selections = rule
        .detection
        .selections
        .iter()
        .map(|s| t.expr(&s.expr))
        .collect::<Result<Vec<_>, _>>()?;
    let condition = condition(&rule.detection.condition, &selections);
    let mut out = String::from("detection:\n");
    for (i, body) in t.identifiers.iter().enumerate() {
        out.push_str(&format!("  A{i}:\n    {body}\n"));
    }
    out.push_str(&format!("  condition: {}\n", quote(&condition)));
    out.push_str("true_positives: []\ntrue_negatives: []\n");
    Ok(out)
}

struct Translator {
    /// The body (`key: value`) of each identifier `A{i}`.
    identifiers: Vec<String>,
}

impl Translator {
    fn push(&mut self, body: String) -> String {
        self.identifiers.push(body);
        format!("A{}", self.identifiers.len() - 1)
    }

    fn expr(&mut self, e: &Expr) -> Result<String, String> {
        Ok(match e {
            Expr::And(xs) if xs.is_empty() => return Err("empty AND".into()),
            Expr::Or(xs) if xs.is_empty() => return Err("empty OR".into()),
            Expr::And(xs) => {
                let parts = xs
                    .iter()
                    .map(|x| self.expr(x).map(|s| format!("({s})")))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.join(" and ")
            }
            Expr::Or(xs) => {
                // OR-ed string tests on one field become one list.
                let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
                let mut parts = Vec::new();
                for x in xs {
                    match x {
                        Expr::Field(FieldTest { field, test })
                            if string_pattern(test).is_some() =>
                        {
                            let p = string_pattern(test).expect("checked")?;
                            match groups.iter_mut().find(|(f, _)| f == field) {
                                Some((_, ps)) => ps.push(p),
                                None => groups.push((field, vec![p])),
                            }
                        }
                        other => parts.push(format!("({})", self.expr(other)?)),
                    }
                }
                let mut ids: Vec<String> = groups
                    .into_iter()
                    .map(|(field, ps)| {
                        let list = ps.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ");
                        self.push(format!("{}: [{list}]", quote(&format!("str({field})"))))
                    })
                    .collect();
                ids.extend(parts);
                ids.join(" or ")
            }
            Expr::Not(x) => format!("not ({})", self.expr(x)?),
            Expr::Field(FieldTest { field, test }) => {
                if let Some(p) = string_pattern(test) {
                    let p = p?;
                    self.push(format!(
                        "{}: {}",
                        quote(&format!("str({field})")),
                        quote(&p)
                    ))
                } else if let Test::Num { op, value } = test {
                    let v = match value {
                        Number::Int(i) => i.to_string(),
                        Number::Float(f) => format!("{f:?}"),
                    };
                    let (negate, sym) = match op {
                        NumOp::Eq => (false, "="),
                        NumOp::Ne => (true, "="),
                        NumOp::Lt => (false, "<"),
                        NumOp::Le => (false, "<="),
                        NumOp::Gt => (false, ">"),
                        NumOp::Ge => (false, ">="),
                    };
                    let id =
                        self.push(format!("{}: {}", quote(field), quote(&format!("{sym}{v}"))));
                    if negate { format!("not {id}") } else { id }
                } else if let Test::Null = test {
                    self.push(format!("{}: null", quote(field)))
                } else if let Test::Exists(exists) = test {
                    let id = self.push(format!("{}: \"*\"", quote(field)));
                    if *exists { id } else { format!("not {id}") }
                } else {
                    return Err(format!("no tau counterpart for {test:?} on `{field}`"));
                }
            }
            Expr::Keyword(_) => return Err("keyword search over every field".into()),
        })
    }
}

/// tau's pattern for a string or regex test, `None` for other tests.
fn string_pattern(test: &Test) -> Option<Result<String, String>> {
    match test {
        Test::Str(p) => Some(Ok(str_pattern(p))),
        Test::Regex(r) => Some(Ok(format!("?{}", r.full_pattern()))),
        _ => None,
    }
}

fn str_pattern(p: &StrPattern) -> String {
    let i = if p.case == Case::Insensitive { "i" } else { "" };
    let risky_start = |s: &str| {
        s.starts_with(['*', '?', '>', '<', '='])
            || (p.case == Case::Sensitive && s.starts_with('i'))
    };
    let literal = match &p.kind {
        StrKind::Exact(s) if !s.is_empty() && !risky_start(s) && !s.ends_with('*') => {
            Some(s.clone())
        }
        StrKind::Exact(s) if s.is_empty() => Some(String::new()),
        StrKind::Prefix(s) if !s.is_empty() && !risky_start(s) => Some(format!("{s}*")),
        StrKind::Suffix(s) if !s.is_empty() && !s.ends_with('*') => Some(format!("*{s}")),
        StrKind::Contains(s) => Some(format!("*{s}*")),
        _ => None,
    };
    if let Some(l) = literal {
        // A case-sensitive pattern starting with `*` cannot be misread as `i`.
        return format!("{i}{l}");
    }
    let body = match &p.kind {
        StrKind::Exact(s) => format!("^{}$", regex_escape(s)),
        StrKind::Prefix(s) => format!("^{}", regex_escape(s)),
        StrKind::Suffix(s) => format!("{}$", regex_escape(s)),
        StrKind::Contains(s) => regex_escape(s),
        StrKind::Glob(tokens) => {
            let mut r = String::from("^");
            for t in tokens {
                match t {
                    GlobToken::Lit(s) => r.push_str(&regex_escape(s)),
                    GlobToken::AnyChar => r.push('.'),
                    GlobToken::AnyRun => r.push_str(".*"),
                }
            }
            r.push('$');
            r
        }
    };
    format!("{i}?(?s){body}")
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn condition(c: &Condition, sel: &[String]) -> String {
    let join = |xs: &[Condition], op: &str| {
        xs.iter()
            .map(|x| format!("({})", condition(x, sel)))
            .collect::<Vec<_>>()
            .join(op)
    };
    let of = |xs: &[usize], op: &str| {
        xs.iter()
            .map(|&i| format!("({})", sel[i]))
            .collect::<Vec<_>>()
            .join(op)
    };
    match c {
        Condition::Selection(i) => format!("({})", sel[*i]),
        Condition::Not(x) => format!("not ({})", condition(x, sel)),
        Condition::And(xs) => join(xs, " and "),
        Condition::Or(xs) => join(xs, " or "),
        Condition::AnyOf(xs) => of(xs, " or "),
        Condition::AllOf(xs) => of(xs, " and "),
    }
}

/// A YAML double-quoted scalar (JSON string syntax, which YAML accepts).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}
