//! Wildcard strings: parsing Sigma values and simplifying them.
//!
//! Sigma values use `*` and `?` as wildcards and `\` to escape them (see the
//! rules specification, "Escape Character"): `\*`, `\?` and `\\` are escapes,
//! and a backslash before any other character is a literal backslash, so
//! `C:\Windows\System32` needs no escaping, while "`C:\Windows\` followed by
//! anything" must be written `C:\Windows\\*` (`C:\Windows\*` ends in a literal
//! `*`). Parsed values become
//! [`GlobToken`] lists; [`simplify`] turns the common shapes into the cheaper
//! exact/prefix/suffix/contains matches.

use crate::ir::{GlobToken, StrKind};

/// Parses a Sigma string value with wildcards and backslash escapes.
///
/// ```
/// use detect_core::ir::GlobToken::*;
/// use detect_core::compile::pattern::parse_sigma;
/// assert_eq!(parse_sigma(r"C:\Win\\*.exe"), vec![Lit(r"C:\Win\".into()), AnyRun, Lit(".exe".into())]);
/// assert_eq!(parse_sigma(r"C:\Win\*.exe"), vec![Lit(r"C:\Win*.exe".into())]);
/// assert_eq!(parse_sigma(r"a\*b\?c"), vec![Lit("a*b?c".into())]);
/// assert_eq!(parse_sigma(r"a\\*"), vec![Lit(r"a\".into()), AnyRun]);
/// assert_eq!(parse_sigma(r"\\\\"), vec![Lit(r"\\".into())]);
/// assert_eq!(parse_sigma("?x"), vec![AnyChar, Lit("x".into())]);
/// ```
pub fn parse_sigma(s: &str) -> Vec<GlobToken> {
    parse(s, true)
}

/// Parses a wildcard string where `*` and `?` are always wildcards and
/// backslashes are plain characters (EQL `:` and Datadog values, whose string
/// escapes were already resolved by their own lexers).
///
/// ```
/// use detect_core::ir::GlobToken::*;
/// use detect_core::compile::pattern::parse_plain_glob;
/// assert_eq!(parse_plain_glob(r"?:\Windows\*"), vec![AnyChar, Lit(r":\Windows\".into()), AnyRun]);
/// ```
pub fn parse_plain_glob(s: &str) -> Vec<GlobToken> {
    parse(s, false)
}

fn parse(s: &str, escapes: bool) -> Vec<GlobToken> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(GlobToken::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' {
                    GlobToken::AnyRun
                } else {
                    GlobToken::AnyChar
                });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(GlobToken::Lit(lit));
    }
    out
}

/// A literal with no wildcards, as tokens.
pub fn literal(s: &str) -> Vec<GlobToken> {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![GlobToken::Lit(s.to_string())]
    }
}

/// True when the tokens contain `*` or `?`.
pub fn has_wildcards(tokens: &[GlobToken]) -> bool {
    tokens.iter().any(|t| !matches!(t, GlobToken::Lit(_)))
}

/// Adds a leading and/or trailing `*` (the `endswith`/`startswith`/`contains` modifiers).
pub fn with_any_run(mut tokens: Vec<GlobToken>, before: bool, after: bool) -> Vec<GlobToken> {
    if before {
        tokens.insert(0, GlobToken::AnyRun);
    }
    if after {
        tokens.push(GlobToken::AnyRun);
    }
    tokens
}

/// Normalises tokens (merges literals, collapses `**`) and picks the cheapest
/// [`StrKind`] that matches exactly the same strings.
///
/// ```
/// use detect_core::ir::{GlobToken::*, StrKind};
/// use detect_core::compile::pattern::{parse_sigma, simplify};
/// assert_eq!(simplify(parse_sigma("*msiexec*")), StrKind::Contains("msiexec".into()));
/// assert_eq!(simplify(parse_sigma("cmd*")), StrKind::Prefix("cmd".into()));
/// assert_eq!(simplify(parse_sigma(r"**\cmd.exe")), StrKind::Suffix(r"\cmd.exe".into()));
/// assert_eq!(simplify(parse_sigma("x")), StrKind::Exact("x".into()));
/// assert_eq!(simplify(parse_sigma("a*b")), StrKind::Glob(vec![Lit("a".into()), AnyRun, Lit("b".into())]));
/// ```
pub fn simplify(tokens: Vec<GlobToken>) -> StrKind {
    let mut norm: Vec<GlobToken> = Vec::with_capacity(tokens.len());
    for t in tokens {
        match (norm.last_mut(), t) {
            (Some(GlobToken::Lit(prev)), GlobToken::Lit(s)) => prev.push_str(&s),
            (Some(GlobToken::AnyRun), GlobToken::AnyRun) => {}
            (_, GlobToken::Lit(s)) if s.is_empty() => {}
            (_, t) => norm.push(t),
        }
    }
    use GlobToken::*;
    match norm.as_slice() {
        [] => StrKind::Exact(String::new()),
        [Lit(s)] => StrKind::Exact(s.clone()),
        [Lit(s), AnyRun] => StrKind::Prefix(s.clone()),
        [AnyRun, Lit(s)] => StrKind::Suffix(s.clone()),
        [AnyRun, Lit(s), AnyRun] => StrKind::Contains(s.clone()),
        _ => StrKind::Glob(norm),
    }
}

/// The tokens back as Sigma text (escaping `*`, `?` and `\` where needed);
/// used in error messages and IR dumps.
///
/// ```
/// use detect_core::compile::pattern::{parse_sigma, to_sigma};
/// assert_eq!(to_sigma(&parse_sigma(r"a\*b*")), r"a\*b*");
/// ```
pub fn to_sigma(tokens: &[GlobToken]) -> String {
    let mut out = String::new();
    for t in tokens {
        match t {
            GlobToken::AnyRun => out.push('*'),
            GlobToken::AnyChar => out.push('?'),
            GlobToken::Lit(s) => {
                for c in s.chars() {
                    if matches!(c, '*' | '?') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use GlobToken::*;

    #[test]
    fn sigma_escapes_follow_the_specification() {
        let cases: &[(&str, Vec<GlobToken>)] = &[
            (r"\", vec![Lit(r"\".into())]),
            (r"\\", vec![Lit(r"\".into())]),
            (r"\\\", vec![Lit(r"\\".into())]),
            (r"\\\\", vec![Lit(r"\\".into())]),
            (r"\*", vec![Lit("*".into())]),
            (r"\\*", vec![Lit(r"\".into()), AnyRun]),
            (r"\\\*", vec![Lit(r"\*".into())]),
            (r"a\b", vec![Lit(r"a\b".into())]),
            ("", vec![]),
            ("**", vec![AnyRun, AnyRun]),
        ];
        for (input, want) in cases {
            assert_eq!(&parse_sigma(input), want, "input {input:?}");
        }
    }

    #[test]
    fn simplify_keeps_wildcard_shapes_it_cannot_reduce() {
        assert_eq!(simplify(parse_sigma("*")), StrKind::Glob(vec![AnyRun]));
        assert_eq!(simplify(parse_sigma("?")), StrKind::Glob(vec![AnyChar]));
        assert_eq!(simplify(parse_sigma("")), StrKind::Exact(String::new()));
        assert_eq!(
            simplify(with_any_run(parse_sigma("a*b"), true, true)),
            StrKind::Glob(vec![
                AnyRun,
                Lit("a".into()),
                AnyRun,
                Lit("b".into()),
                AnyRun
            ])
        );
    }
}
