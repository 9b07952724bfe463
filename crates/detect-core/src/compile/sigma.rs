//! Sigma detection items: `Field|mod|mod: values` into IR expressions.
//!
//! This is the one place that gives Sigma's value modifiers their meaning, so
//! the `rules!` macro and the Sigma YAML front end agree by construction. It
//! runs at compile time: modifier chains are validated, encodings and
//! `windash`/`expand` variants are expanded into plain literals, wildcard
//! strings are parsed and simplified. Errors say which modifier or value is at
//! fault ([`ItemErrorAt`]) so a front end can point at the offending token.
//!
//! Semantics (Sigma specification v2 and its modifiers appendix):
//! * values compare case-insensitively unless `cased`; a plain value is a
//!   whole-field match; `*`/`?` are wildcards, `\` escapes them;
//! * a list of values is OR, or AND with `all`; `neq` negates the whole item
//!   (a missing field is "different": `neq` matches it);
//! * `null` matches a missing or null field; `exists: true/false` tests presence;
//! * `gt`/`gte`/`lt`/`lte` compare numerically (strings holding numbers too);
//! * `minute`..`year` extract a component of a timestamp (no time zone
//!   conversion), compared for equality or with a numeric modifier;
//! * `re` searches (unanchored) with the `i`/`m`/`s` flags; `cidr` tests IP
//!   membership; `fieldref` compares with another field of the same event;
//! * `wide`/`utf16le`/`utf16be`/`utf16`, `base64`, `base64offset` and `windash`
//!   transform the value in the order written; `expand` substitutes `%name%`
//!   placeholders with the values the rule set defines for them.
//! * A keyword (no field) matches when any value in the event contains it
//!   (with its own wildcards honoured inside).

use super::{modifiers, pattern};
use crate::ir::{
    Case, Expr, FieldTest, GlobToken, NumOp, Number, RefKind, RegexPattern, StrKind, StrPattern,
    Test, TimePart,
};
use crate::matcher;

/// A value as written in a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum SigmaValue {
    /// A string (Sigma wildcards and escapes apply).
    Str(String),
    /// A number, with the text it was written as.
    Num(String, Number),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

impl SigmaValue {
    fn text(&self) -> Option<String> {
        match self {
            SigmaValue::Str(s) | SigmaValue::Num(s, _) => Some(s.clone()),
            SigmaValue::Bool(b) => Some(b.to_string()),
            SigmaValue::Null => None,
        }
    }
}

/// Which part of a detection item an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemErrorAt {
    /// The field name.
    Field,
    /// The modifier at this position in the chain.
    Modifier(usize),
    /// The value at this position in the list (0 for a single value).
    Value(usize),
    /// The item as a whole.
    Item,
}

/// A detection item that cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    /// Where the problem is.
    pub at: ItemErrorAt,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ItemError {}

/// Every modifier name this crate understands.
pub const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "windash",
    "exists",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "cased",
    "expand",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// Most variants one value may expand into (windash and expand multiply).
pub const MAX_VARIANTS: usize = 4096;

/// Resolves `%name%` placeholders for the `expand` modifier.
pub trait Placeholders {
    /// The values of placeholder `name` (without the `%`), or `None` if undefined.
    fn values(&self, name: &str) -> Option<Vec<String>>;
}

impl Placeholders for () {
    fn values(&self, _: &str) -> Option<Vec<String>> {
        None
    }
}

impl<F: Fn(&str) -> Option<Vec<String>>> Placeholders for F {
    fn values(&self, name: &str) -> Option<Vec<String>> {
        self(name)
    }
}

#[derive(Default)]
struct Mods {
    kind: Option<(usize, &'static str)>,
    all: bool,
    re: Option<usize>,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    cidr: Option<usize>,
    exists: Option<usize>,
    fieldref: Option<usize>,
    num: Option<(usize, NumOp)>,
    neq: Option<usize>,
    cased: Option<usize>,
    expand: Option<usize>,
    time: Option<(usize, TimePart)>,
    /// Value transformations in the order written.
    transforms: Vec<(usize, &'static str)>,
}

fn err(at: ItemErrorAt, message: impl Into<String>) -> ItemError {
    ItemError {
        at,
        message: message.into(),
    }
}

/// The closest known modifier to a misspelt one, for "did you mean" hints.
pub fn suggest_modifier(name: &str) -> Option<&'static str> {
    closest(&name.to_ascii_lowercase(), MODIFIERS)
}

/// The candidate closest to `name` by edit distance, if it is close enough to
/// be a plausible typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|m| (edit_distance(m, name), *m))
        .filter(|(d, m)| *d <= 2.max(m.len() / 3))
        .min()
        .map(|(_, m)| m)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn parse_mods(modifiers: &[&str]) -> Result<Mods, ItemError> {
    let mut m = Mods::default();
    for (i, raw) in modifiers.iter().enumerate() {
        let at = ItemErrorAt::Modifier(i);
        let Some(name) = MODIFIERS.iter().find(|k| **k == *raw) else {
            let hint = suggest_modifier(raw)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(err(
                at,
                format!(
                    "unknown modifier `{raw}`; {hint}known modifiers: {}",
                    MODIFIERS.join(", ")
                ),
            ));
        };
        let dup = |what: &str| err(at, format!("modifier `{what}` given twice; remove one"));
        match *name {
            k @ ("contains" | "startswith" | "endswith") => {
                if let Some((_, prev)) = m.kind {
                    return Err(err(
                        at,
                        format!(
                            "`{k}` conflicts with `{prev}`: a value is matched one way; \
                             use wildcards (`*`) for other shapes"
                        ),
                    ));
                }
                m.kind = Some((i, k));
            }
            "all" => {
                if m.all {
                    return Err(dup("all"));
                }
                m.all = true
            }
            "re" => {
                if m.re.is_some() {
                    return Err(dup("re"));
                }
                m.re = Some(i)
            }
            f @ ("i" | "m" | "s") => {
                if m.re.is_none() {
                    return Err(err(
                        at,
                        format!("regex flag `{f}` must follow `re` (write `|re|{f}`)"),
                    ));
                }
                match f {
                    "i" => m.re_i = true,
                    "m" => m.re_m = true,
                    _ => m.re_s = true,
                }
            }
            "cidr" => m.cidr = Some(i),
            "exists" => m.exists = Some(i),
            "fieldref" => m.fieldref = Some(i),
            op @ ("gt" | "gte" | "lt" | "lte") => {
                if m.num.is_some() {
                    return Err(err(at, "only one of `gt`, `gte`, `lt`, `lte` may be used"));
                }
                let op = match op {
                    "gt" => NumOp::Gt,
                    "gte" => NumOp::Ge,
                    "lt" => NumOp::Lt,
                    _ => NumOp::Le,
                };
                m.num = Some((i, op));
            }
            "neq" => m.neq = Some(i),
            "cased" => m.cased = Some(i),
            "expand" => m.expand = Some(i),
            p @ ("minute" | "hour" | "day" | "week" | "month" | "year") => {
                if m.time.is_some() {
                    return Err(err(at, "only one time component modifier may be used"));
                }
                let part = match p {
                    "minute" => TimePart::Minute,
                    "hour" => TimePart::Hour,
                    "day" => TimePart::Day,
                    "week" => TimePart::Week,
                    "month" => TimePart::Month,
                    _ => TimePart::Year,
                };
                m.time = Some((i, part));
            }
            t @ ("base64" | "base64offset" | "wide" | "utf16le" | "utf16be" | "utf16"
            | "windash") => m.transforms.push((i, t)),
            _ => unreachable!("every name in MODIFIERS is handled"),
        }
    }
    check_conflicts(&m)?;
    Ok(m)
}

fn check_conflicts(m: &Mods) -> Result<(), ItemError> {
    let conflict = |a: usize, an: &str, bn: &str, why: &str| {
        Err(err(
            ItemErrorAt::Modifier(a),
            format!("`{an}` cannot be combined with `{bn}`: {why}"),
        ))
    };
    let first_transform = m.transforms.first();
    if let Some(r) = m.re {
        if let Some((_, k)) = m.kind {
            return conflict(
                r,
                "re",
                k,
                "a regex is already a search; add `.*` or anchors to the pattern instead",
            );
        }
        if let Some((_, t)) = first_transform {
            return conflict(r, "re", t, "encodings produce literals, not regexes");
        }
        if m.cased.is_some() {
            return conflict(
                r,
                "re",
                "cased",
                "regexes are case-sensitive unless `|i` is given",
            );
        }
        for (other, name) in [
            (m.cidr, "cidr"),
            (m.exists, "exists"),
            (m.fieldref, "fieldref"),
            (m.expand, "expand"),
        ] {
            if other.is_some() {
                return conflict(r, "re", name, "they interpret the value differently");
            }
        }
        if m.num.is_some() || m.time.is_some() {
            return conflict(
                r,
                "re",
                "a numeric modifier",
                "they interpret the value differently",
            );
        }
    }
    if let Some(e) = m.exists
        && (m.kind.is_some()
            || !m.transforms.is_empty()
            || m.cidr.is_some()
            || m.num.is_some()
            || m.fieldref.is_some()
            || m.all
            || m.cased.is_some()
            || m.time.is_some()
            || m.expand.is_some())
    {
        return Err(err(
            ItemErrorAt::Modifier(e),
            "`exists` takes `true` or `false` and no other modifier (except `neq`)",
        ));
    }
    if let Some(c) = m.cidr
        && (m.kind.is_some()
            || !m.transforms.is_empty()
            || m.num.is_some()
            || m.fieldref.is_some()
            || m.cased.is_some()
            || m.time.is_some())
    {
        return Err(err(
            ItemErrorAt::Modifier(c),
            "`cidr` takes network ranges (`10.0.0.0/8`) and only combines with `all`/`neq`",
        ));
    }
    if let Some((n, _)) = m.num {
        if let Some((_, k)) = m.kind {
            return conflict(n, "gt/gte/lt/lte", k, "numeric comparisons take numbers");
        }
        if let Some((_, t)) = first_transform {
            return conflict(n, "gt/gte/lt/lte", t, "numeric comparisons take numbers");
        }
        if m.fieldref.is_some() || m.cased.is_some() {
            return Err(err(
                ItemErrorAt::Modifier(n),
                "numeric comparisons take a number and no string modifier",
            ));
        }
    }
    if let Some((t, _)) = m.time
        && (m.kind.is_some()
            || !m.transforms.is_empty()
            || m.fieldref.is_some()
            || m.cased.is_some())
    {
        return Err(err(
            ItemErrorAt::Modifier(t),
            "time component modifiers take an integer and combine only with gt/gte/lt/lte/neq/all",
        ));
    }
    if let Some(f) = m.fieldref
        && (!m.transforms.is_empty() || m.expand.is_some())
    {
        return Err(err(
            ItemErrorAt::Modifier(f),
            "`fieldref` takes field names; encodings and `expand` do not apply to them",
        ));
    }
    let encodings: Vec<&(usize, &str)> = m
        .transforms
        .iter()
        .filter(|(_, t)| *t != "windash")
        .collect();
    for pair in encodings.windows(2) {
        let (a, an) = pair[0];
        let (b, bn) = pair[1];
        let a_b64 = an.starts_with("base64");
        let b_b64 = bn.starts_with("base64");
        if a_b64 == b_b64 {
            return Err(err(
                ItemErrorAt::Modifier(*b),
                format!(
                    "`{bn}` conflicts with `{an}` (modifier {}): use only one {}",
                    a + 1,
                    if a_b64 {
                        "base64 encoding"
                    } else {
                        "UTF-16 encoding"
                    }
                ),
            ));
        }
        if a_b64 && !b_b64 {
            return Err(err(
                ItemErrorAt::Modifier(*b),
                format!("`{bn}` after `{an}` would re-encode base64 text; write `|{bn}|{an}`"),
            ));
        }
    }
    Ok(())
}

/// Compiles one detection item into an expression.
///
/// `field` is `None` for keywords. `modifiers` are the names after the field,
/// in order; `values` the value list (one element for a scalar).
///
/// ```
/// use detect_core::ir::*;
/// use detect_core::compile::sigma::{detection_item, SigmaValue};
/// let e = detection_item(Some("Image"), &["endswith"], &[SigmaValue::Str(r"\msiexec.exe".into())], &()).unwrap();
/// assert_eq!(e, Expr::Field(FieldTest {
///     field: "Image".into(),
///     test: Test::Str(StrPattern { kind: StrKind::Suffix(r"\msiexec.exe".into()), case: Case::Insensitive }),
/// }));
///
/// let bad = detection_item(Some("Image"), &["endswith", "contains"], &[SigmaValue::Str("x".into())], &()).unwrap_err();
/// assert!(bad.message.contains("conflicts"));
/// ```
pub fn detection_item(
    field: Option<&str>,
    modifiers: &[&str],
    values: &[SigmaValue],
    placeholders: &dyn Placeholders,
) -> Result<Expr, ItemError> {
    let m = parse_mods(modifiers)?;
    if values.is_empty() {
        return Err(err(
            ItemErrorAt::Item,
            "empty value list: give at least one value (use `null` to match a missing field)",
        ));
    }
    if m.all && values.len() == 1 {
        return Err(err(
            ItemErrorAt::Modifier(modifiers.iter().position(|x| *x == "all").unwrap_or(0)),
            "`all` needs a list of at least two values (the Sigma specification forbids it on one value)",
        ));
    }
    if field.is_none() {
        for (what, pos) in [
            ("exists", m.exists),
            ("fieldref", m.fieldref),
            ("cidr", m.cidr),
            ("re", m.re),
        ] {
            if let Some(p) = pos {
                return Err(err(
                    ItemErrorAt::Modifier(p),
                    format!("`{what}` needs a field; keywords search every value of the event"),
                ));
            }
        }
        if let Some((p, _)) = m.num.or(m.time.map(|(i, _)| (i, NumOp::Eq))) {
            return Err(err(
                ItemErrorAt::Modifier(p),
                "numeric and time modifiers need a field",
            ));
        }
    }
    let mut parts = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        parts.push(
            value_expr(field, &m, v, placeholders)
                .map_err(|message| err(ItemErrorAt::Value(i), message))?,
        );
    }
    let combined = if parts.len() == 1 {
        parts.pop().unwrap_or(Expr::And(vec![]))
    } else if m.all {
        Expr::And(parts)
    } else {
        Expr::Or(parts)
    };
    Ok(if m.neq.is_some() {
        Expr::Not(Box::new(combined))
    } else {
        combined
    })
}

fn field_expr(field: Option<&str>, test: Test) -> Expr {
    match (field, test) {
        (None, Test::Str(p)) => Expr::Keyword(p),
        (Some(f), test) => Expr::Field(FieldTest {
            field: f.to_string(),
            test,
        }),
        (None, _) => unreachable!("non-string keyword tests are rejected earlier"),
    }
}

/// A value in the middle of the transformation pipeline.
enum Stage {
    Text(Vec<GlobToken>),
    Bytes(Vec<u8>),
}

fn value_expr(
    field: Option<&str>,
    m: &Mods,
    v: &SigmaValue,
    placeholders: &dyn Placeholders,
) -> Result<Expr, String> {
    if *v == SigmaValue::Null {
        if m.exists.is_some()
            || m.num.is_some()
            || m.re.is_some()
            || m.cidr.is_some()
            || m.kind.is_some()
            || m.fieldref.is_some()
            || m.time.is_some()
            || !m.transforms.is_empty()
        {
            return Err(
                "`null` takes no modifier (write `Field: null` for a missing or null field)".into(),
            );
        }
        return match field {
            Some(_) => Ok(field_expr(field, Test::Null)),
            None => Err("a keyword cannot be `null`".into()),
        };
    }
    if m.exists.is_some() {
        return match v {
            SigmaValue::Bool(b) => Ok(field_expr(field, Test::Exists(*b))),
            _ => Err("`exists` takes `true` or `false`".into()),
        };
    }
    if let Some((_, part)) = m.time {
        let op = m.num.map_or(NumOp::Eq, |(_, op)| op);
        return match v {
            SigmaValue::Num(_, Number::Int(n)) => Ok(field_expr(
                field,
                Test::Time {
                    part,
                    op,
                    value: *n,
                },
            )),
            _ => Err("time component modifiers take an integer".into()),
        };
    }
    if let Some((_, op)) = m.num {
        return match v {
            SigmaValue::Num(_, n) => Ok(field_expr(field, Test::Num { op, value: *n })),
            SigmaValue::Str(s) => match crate::number::parse_number(s) {
                Some(n) => Ok(field_expr(field, Test::Num { op, value: n })),
                None => Err(format!(
                    "`{s}` is not a number; gt/gte/lt/lte compare numbers"
                )),
            },
            _ => Err("gt/gte/lt/lte compare numbers".into()),
        };
    }
    let Some(text) = v.text() else {
        return Err("this value has no text".into());
    };
    let case = if m.cased.is_some() {
        Case::Sensitive
    } else {
        Case::Insensitive
    };
    if m.re.is_some() {
        let re = RegexPattern {
            pattern: text,
            case_insensitive: m.re_i,
            multi_line: m.re_m,
            dot_all: m.re_s,
        };
        if let Err(e) = regex::Regex::new(&re.full_pattern()) {
            return Err(format!("invalid regular expression: {e}"));
        }
        return Ok(field_expr(field, Test::Regex(re)));
    }
    if m.cidr.is_some() {
        let c = matcher::parse_cidr(&text)?;
        return Ok(field_expr(field, Test::Cidr(c)));
    }
    if m.fieldref.is_some() {
        let kind = match m.kind {
            None => RefKind::Exact,
            Some((_, "startswith")) => RefKind::Prefix,
            Some((_, "endswith")) => RefKind::Suffix,
            Some(_) => RefKind::Contains,
        };
        if text.is_empty() {
            return Err("`fieldref` needs the name of another field".into());
        }
        return Ok(field_expr(
            field,
            Test::FieldRef {
                other: text,
                kind,
                case,
            },
        ));
    }
    // String values: expand, then transforms in order, then the match shape.
    let texts = if m.expand.is_some() {
        expand_placeholders(&text, placeholders)?
    } else {
        vec![text]
    };
    let mut stages: Vec<Stage> = texts
        .iter()
        .map(|t| Stage::Text(pattern::parse_sigma(t)))
        .collect();
    for (_, t) in &m.transforms {
        let mut next = Vec::with_capacity(stages.len());
        for stage in stages {
            match (*t, stage) {
                ("windash", Stage::Text(tokens)) => {
                    next.extend(windash_tokens(&tokens)?.into_iter().map(Stage::Text))
                }
                ("windash", Stage::Bytes(_)) => {
                    return Err("`windash` must come before UTF-16 encodings".into());
                }
                (enc @ ("wide" | "utf16le" | "utf16be" | "utf16"), Stage::Text(tokens)) => {
                    let lit = literal_of(&tokens, enc)?;
                    next.push(Stage::Bytes(match enc {
                        "utf16be" => modifiers::utf16be(&lit),
                        "utf16" => modifiers::utf16_bom(&lit),
                        _ => modifiers::utf16le(&lit),
                    }));
                }
                (enc @ ("base64" | "base64offset"), stage) => {
                    let bytes = match stage {
                        Stage::Bytes(b) => b,
                        Stage::Text(tokens) => literal_of(&tokens, enc)?.into_bytes(),
                    };
                    if enc == "base64" {
                        next.push(Stage::Text(pattern::literal(&modifiers::base64(&bytes))));
                    } else {
                        next.extend(
                            modifiers::base64offset(&bytes)
                                .into_iter()
                                .map(|s| Stage::Text(pattern::literal(&s))),
                        );
                    }
                }
                (enc, Stage::Bytes(_)) => {
                    return Err(format!("`{enc}` cannot follow a UTF-16 encoding"));
                }
                (other, _) => return Err(format!("internal: unhandled transform `{other}`")),
            }
        }
        if next.len() > MAX_VARIANTS {
            return Err(format!(
                "this value expands into more than {MAX_VARIANTS} variants; split it"
            ));
        }
        stages = next;
    }
    let (before, after) = match m.kind {
        Some((_, "contains")) => (true, true),
        Some((_, "startswith")) => (false, true),
        Some((_, "endswith")) => (true, false),
        _ if field.is_none() => (true, true),
        _ => (false, false),
    };
    let mut variants = Vec::with_capacity(stages.len());
    for stage in stages {
        let tokens = match stage {
            Stage::Text(t) => t,
            Stage::Bytes(b) => match String::from_utf8(b) {
                Ok(s) => pattern::literal(&s),
                Err(_) => {
                    return Err(
                        "UTF-16 encoding of non-ASCII text only makes sense with `base64`/`base64offset` after it"
                            .into(),
                    );
                }
            },
        };
        let kind = pattern::simplify(pattern::with_any_run(tokens, before, after));
        let test = Test::Str(StrPattern { kind, case });
        let expr = field_expr(field, test);
        if !variants.contains(&expr) {
            variants.push(expr);
        }
    }
    Ok(if variants.len() == 1 {
        variants.pop().unwrap_or(Expr::Or(vec![]))
    } else {
        Expr::Or(variants)
    })
}

fn literal_of(tokens: &[GlobToken], modifier: &str) -> Result<String, String> {
    if pattern::has_wildcards(tokens) {
        return Err(format!(
            "`{modifier}` encodes the value, so it cannot contain wildcards; \
             escape `*`/`?` as `\\*`/`\\?` or put `contains`/`startswith`/`endswith` after the encoding"
        ));
    }
    Ok(tokens
        .iter()
        .map(|t| match t {
            GlobToken::Lit(s) => s.as_str(),
            _ => "",
        })
        .collect())
}

fn windash_tokens(tokens: &[GlobToken]) -> Result<Vec<Vec<GlobToken>>, String> {
    let mut out: Vec<Vec<GlobToken>> = vec![Vec::new()];
    for t in tokens {
        let options: Vec<GlobToken> = match t {
            GlobToken::Lit(s) => modifiers::windash_variants(s, MAX_VARIANTS)?
                .into_iter()
                .map(GlobToken::Lit)
                .collect(),
            other => vec![other.clone()],
        };
        if out.len() * options.len() > MAX_VARIANTS {
            return Err(format!(
                "`windash` expands this value into more than {MAX_VARIANTS} variants; split it"
            ));
        }
        out = out
            .into_iter()
            .flat_map(|prefix| {
                options.iter().map(move |o| {
                    let mut p = prefix.clone();
                    p.push(o.clone());
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

fn expand_placeholders(text: &str, placeholders: &dyn Placeholders) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('%') else {
            return Err(format!(
                "unterminated placeholder in `{text}`: write `%name%`"
            ));
        };
        let name = &after[..len];
        let values = placeholders.values(name).ok_or_else(|| {
            format!("placeholder `%{name}%` has no values; define it (`placeholder {name} = [...];` in `rules!`)")
        })?;
        if values.is_empty() {
            return Err(format!("placeholder `%{name}%` is defined with no values"));
        }
        let lead = &rest[..start];
        results = results
            .into_iter()
            .flat_map(|r| values.iter().map(move |v| format!("{r}{lead}{v}")))
            .collect();
        if results.len() > MAX_VARIANTS {
            return Err(format!(
                "placeholders expand into more than {MAX_VARIANTS} values"
            ));
        }
        rest = &after[len + 1..];
    }
    Ok(results.into_iter().map(|r| r + rest).collect())
}

/// Resolves a condition pattern (`sel_*`, `them`) to selection indices.
///
/// `them` matches every selection whose name does not start with `_`;
/// patterns use `*` as a wildcard.
///
/// ```
/// use detect_core::compile::sigma::resolve_pattern;
/// let names = ["selection", "filter_a", "filter_b", "_helper"];
/// assert_eq!(resolve_pattern("filter_*", &names), vec![1, 2]);
/// assert_eq!(resolve_pattern("them", &names), vec![0, 1, 2]);
/// ```
pub fn resolve_pattern(pattern: &str, names: &[&str]) -> Vec<usize> {
    if pattern == "them" {
        return (0..names.len())
            .filter(|i| !names[*i].starts_with('_'))
            .collect();
    }
    let tokens = pattern::parse_plain_glob(pattern);
    let kind = pattern::simplify(tokens);
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| match &kind {
            StrKind::Exact(s) => *n == s,
            StrKind::Prefix(s) => n.starts_with(s.as_str()),
            StrKind::Suffix(s) => n.ends_with(s.as_str()),
            StrKind::Contains(s) => n.contains(s.as_str()),
            StrKind::Glob(toks) => {
                let mtoks: Vec<matcher::GlobTok<'_>> = toks
                    .iter()
                    .map(|t| match t {
                        GlobToken::Lit(s) => matcher::GlobTok::lit(s),
                        GlobToken::AnyChar => matcher::GlobTok::AnyChar,
                        GlobToken::AnyRun => matcher::GlobTok::AnyRun,
                    })
                    .collect();
                matcher::glob(n, &mtoks, false)
            }
        })
        .map(|(i, _)| i)
        .collect()
}
