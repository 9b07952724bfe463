//! Sigma conditions: `selection and not 1 of filter_*`.
//!
//! Grammar (keywords are case-insensitive), loosest first:
//!
//! ```text
//! or   := and ("or" and)*
//! and  := not ("and" not)*
//! not  := "not" not | atom
//! atom := "(" or ")" | ("1" | "all") "of" (pattern | "them") | identifier
//! ```
//!
//! Patterns use `*` as a wildcard and are resolved by
//! [`detect_core::compile::sigma::resolve_pattern`]; `them` is every selection whose
//! name does not start with `_`. Aggregations (`| count() > 5`) and `near`
//! belong to the deprecated Sigma 1 correlation syntax and are reported as
//! unsupported.

use detect_core::compile::sigma::resolve_pattern;
use detect_core::ir::Condition;

/// Why a condition could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError {
    /// True when the condition is valid Sigma that detect does not support.
    pub unsupported: bool,
    /// What is wrong.
    pub message: String,
}

fn invalid(message: impl Into<String>) -> ConditionError {
    ConditionError {
        unsupported: false,
        message: message.into(),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ConditionError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::LParen, pos));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, pos));
                i += 1;
            }
            '|' => {
                return Err(ConditionError {
                    unsupported: true,
                    message: format!(
                        "aggregation conditions (`{}`) are Sigma 1 correlation syntax and are not supported; \
                         use a Sigma correlation rule",
                        text[pos..].trim()
                    ),
                });
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].1.is_whitespace()
                    && !matches!(chars[i].1, '(' | ')' | '|')
                {
                    i += 1;
                }
                let end = chars.get(i).map_or(text.len(), |(p, _)| *p);
                out.push((Tok::Word(text[chars[start].0..end].to_string()), pos));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    names: &'a [&'a str],
    text: &'a str,
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), _)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn where_(&self) -> String {
        match self.toks.get(self.pos) {
            Some((_, p)) => format!("at column {} of `{}`", p + 1, self.text),
            None => format!("at the end of `{}`", self.text),
        }
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.and()?];
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.not()?];
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, ConditionError> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Condition, ConditionError> {
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(invalid(format!(
                "condition ends too early: expected a selection, `(`, `not`, `1 of` or `all of` {}",
                self.where_()
            )));
        };
        match tok {
            Tok::LParen => {
                self.pos += 1;
                let inner = self.or()?;
                match self.toks.get(self.pos) {
                    Some((Tok::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(invalid(format!("expected `)` {}", self.where_()))),
                }
            }
            Tok::RParen => Err(invalid(format!("unexpected `)` {}", self.where_()))),
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                match lower.as_str() {
                    "and" | "or" => Err(invalid(format!(
                        "expected a selection before `{w}` {}",
                        self.where_()
                    ))),
                    "near" => Err(ConditionError {
                        unsupported: true,
                        message: "`near` (Sigma 1 temporal proximity) is not supported; use a Sigma correlation rule".into(),
                    }),
                    _ if self.toks.get(self.pos + 1).is_some_and(
                        |(t, _)| matches!(t, Tok::Word(o) if o.eq_ignore_ascii_case("of")),
                    ) =>
                    {
                        let all = match lower.as_str() {
                            "1" => false,
                            "all" => true,
                            _ => {
                                return Err(ConditionError {
                                    unsupported: lower.parse::<u32>().is_ok(),
                                    message: format!(
                                        "`{w} of` is not a Sigma quantifier; write `1 of` or `all of` {}",
                                        self.where_()
                                    ),
                                });
                            }
                        };
                        self.pos += 2;
                        let Some((Tok::Word(pattern), _)) = self.toks.get(self.pos).cloned() else {
                            return Err(invalid(format!(
                                "`{w} of` needs a selection pattern or `them` {}",
                                self.where_()
                            )));
                        };
                        self.pos += 1;
                        let ids = resolve_pattern(&pattern, self.names);
                        if ids.is_empty() {
                            return Err(invalid(format!(
                                "`{w} of {pattern}` matches no selection; this rule defines: {}",
                                self.defined()
                            )));
                        }
                        Ok(if all {
                            Condition::AllOf(ids)
                        } else {
                            Condition::AnyOf(ids)
                        })
                    }
                    _ => {
                        self.pos += 1;
                        if w.contains('*') {
                            return Err(invalid(format!(
                                "`{w}` is a pattern; write `1 of {w}` or `all of {w}`"
                            )));
                        }
                        match self.names.iter().position(|n| *n == w) {
                            Some(i) => Ok(Condition::Selection(i)),
                            None => Err(invalid(format!(
                                "unknown selection `{w}` in the condition; this rule defines: {}",
                                self.defined()
                            ))),
                        }
                    }
                }
            }
        }
    }

    fn defined(&self) -> String {
        if self.names.is_empty() {
            "nothing".into()
        } else {
            self.names.join(", ")
        }
    }
}

/// Parses one condition string over the selections `names` (in declaration order).
///
/// ```
/// use detect_core::ir::Condition::*;
/// use detect_sigma::condition::parse_condition;
/// let names = ["selection", "filter_a", "filter_b"];
/// assert_eq!(
///     parse_condition("selection and not 1 of filter_*", &names).unwrap(),
///     And(vec![Selection(0), Not(Box::new(AnyOf(vec![1, 2])))]),
/// );
/// // `and` binds tighter than `or`, `not` tighter than both.
/// assert_eq!(
///     parse_condition("selection or not filter_a and filter_b", &names).unwrap(),
///     Or(vec![Selection(0), And(vec![Not(Box::new(Selection(1))), Selection(2)])]),
/// );
/// assert!(parse_condition("selection | count() > 5", &names).unwrap_err().unsupported);
/// assert!(parse_condition("selction", &names).unwrap_err().message.contains("unknown selection"));
/// ```
pub fn parse_condition(text: &str, names: &[&str]) -> Result<Condition, ConditionError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err(invalid("empty condition"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        text,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return Err(invalid(format!(
            "unexpected `{}` {}; conditions combine selections with `and`, `or`, `not`",
            match &p.toks[p.pos].0 {
                Tok::Word(w) => w.as_str(),
                Tok::LParen => "(",
                Tok::RParen => ")",
            },
            p.where_()
        )));
    }
    Ok(c)
}
