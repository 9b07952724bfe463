//! Recursive-descent parser from tokens to a small syntax tree.
//!
//! The tree keeps spans so that lowering (which knows the dialect's meaning of
//! each operator) can still point at the offending text.

use detect_core::ir::{NumOp, Number};

use crate::error::{EqlError, Span};
use crate::lexer::{Tok, Token, lex};
use crate::{Dialect, Options};

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sp {
    pub node: Node,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    And(Vec<Sp>),
    Or(Vec<Sp>),
    Not(Box<Sp>),
    Field(String),
    Lit(Lit),
    Call {
        name: String,
        tilde: bool,
        args: Vec<Sp>,
    },
    Cmp {
        op: NumOp,
        lhs: Box<Sp>,
        rhs: Box<Sp>,
    },
    In {
        lhs: Box<Sp>,
        items: Vec<Sp>,
        tilde: bool,
        negated: bool,
    },
    Pattern {
        kind: PatKind,
        tilde: bool,
        lhs: Box<Sp>,
        pats: Vec<Sp>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatKind {
    /// `:`
    Colon,
    /// `like` / `like~`
    Like,
    /// `regex` / `regex~`
    Regex,
}

/// `category where condition`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EventQuery {
    /// `None` for `any`.
    pub category: Option<String>,
    pub cond: Sp,
}

/// A join key: a field path.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub field: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stage {
    pub query: EventQuery,
    pub keys: Vec<Key>,
    pub runs: usize,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    Event(EventQuery),
    Sequence {
        by: Vec<Key>,
        maxspan_ms: Option<u64>,
        stages: Vec<Stage>,
        until: Option<Stage>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PipeAst {
    Head(usize),
    Tail(usize),
    Filter(Sp),
    Unique(Vec<String>),
    Sort(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QueryAst {
    pub body: Body,
    pub pipes: Vec<PipeAst>,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "where", "by", "with", "until", "sequence", "join",
    "true", "false", "null", "of",
];

pub(crate) struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    dialect: Dialect,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, options: &Options) -> Result<Parser<'a>, EqlError> {
        Ok(Parser {
            text,
            toks: lex(text)?,
            pos: 0,
            dialect: options.dialect,
        })
    }

    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn err(&self, span: Span, msg: impl Into<String>) -> EqlError {
        EqlError::new(self.text, span, msg)
    }

    /// "expected X, found Y" at the next token.
    fn expected(&self, what: &str) -> EqlError {
        let t = self.peek();
        self.err(t.span, format!("{what}, found {}", t.tok.describe()))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str, context: &str) -> Result<(), EqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(&format!("expected `{kw}` {context}")))
        }
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek().tok, Tok::Punct(q) if q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str, context: &str) -> Result<Span, EqlError> {
        if self.is_punct(p) {
            Ok(self.bump().span)
        } else {
            Err(self.expected(&format!("expected `{p}` {context}")))
        }
    }

    /// `~` written right after the previous token (`in~`, `like~`, `startsWith~`).
    fn eat_tilde(&mut self) -> bool {
        if self.is_punct("~") && self.peek().span.start == self.prev_span().end {
            self.bump();
            true
        } else {
            false
        }
    }

    pub(crate) fn query(&mut self) -> Result<QueryAst, EqlError> {
        let body = if self.is_kw("sequence") {
            self.bump();
            self.sequence()?
        } else if self.is_kw("join") {
            return Err(self.err(
                self.peek().span,
                "unsupported: `join` queries (only event queries and `sequence`)",
            ));
        } else if self.is_punct("|") {
            return Err(self.err(
                self.peek().span,
                "unsupported: a query made of pipes only (expected `<category> where ...` or `sequence` first)",
            ));
        } else {
            Body::Event(self.event_query()?)
        };
        let mut pipes = Vec::new();
        while self.eat_punct("|") {
            pipes.push(self.pipe()?);
        }
        if self.peek().tok != Tok::Eof {
            return Err(self.expected("expected `and`, `or`, `|` or the end of the query"));
        }
        Ok(QueryAst { body, pipes })
    }

    fn pipe(&mut self) -> Result<PipeAst, EqlError> {
        let t = self.bump();
        let Tok::Ident(name) = &t.tok else {
            return Err(self.err(
                t.span,
                format!(
                    "expected a pipe name after `|` (head, tail, filter), found {}",
                    t.tok.describe()
                ),
            ));
        };
        match name.as_str() {
            "head" | "tail" => {
                let n = match self.peek().tok.clone() {
                    Tok::Num(s) => {
                        let span = self.bump().span;
                        s.parse::<usize>().map_err(|_| {
                            self.err(span, format!("expected a whole number after `{name}`"))
                        })?
                    }
                    _ if name == "head" || name == "tail" => {
                        return Err(self
                            .expected(&format!("expected the number of results after `{name}`")));
                    }
                    _ => unreachable!(),
                };
                Ok(if name == "head" {
                    PipeAst::Head(n)
                } else {
                    PipeAst::Tail(n)
                })
            }
            "filter" => Ok(PipeAst::Filter(self.expr()?)),
            "unique" | "sort" => {
                let fields = self.pipe_fields(name)?;
                Ok(if name == "unique" {
                    PipeAst::Unique(fields)
                } else {
                    PipeAst::Sort(fields)
                })
            }
            "count" | "unique_count" | "window" | "sample" => Err(self.err(
                t.span,
                format!("unsupported: pipe `{name}` (supported: head, tail, filter, unique, sort)"),
            )),
            other => Err(self.err(
                t.span,
                format!("unknown pipe `{other}`: expected head, tail, filter, unique or sort"),
            )),
        }
    }

    /// The fields of `unique` / `sort`: one or more, separated by commas or
    /// spaces, up to the next `|` or the end. Expressions are refused.
    fn pipe_fields(&mut self, pipe: &str) -> Result<Vec<String>, EqlError> {
        let mut fields = Vec::new();
        loop {
            let f = self.field()?;
            let Node::Field(name) = f.node else {
                return Err(self.err(f.span, format!("expected a field after `{pipe}`")));
            };
            fields.push(name);
            if self.is_punct(",") {
                self.bump();
                continue;
            }
            if self.peek().tok == Tok::Eof || self.is_punct("|") {
                return Ok(fields);
            }
            if !matches!(self.peek().tok, Tok::Ident(_) | Tok::Quoted(_))
                || self.peek_at(1).tok == Tok::Punct("(")
            {
                let t = self.peek().clone();
                return Err(self.err(
                    f.span.to(t.span),
                    format!("unsupported: `{pipe}` on an expression (only fields)"),
                ));
            }
        }
    }

    fn event_query(&mut self) -> Result<EventQuery, EqlError> {
        let t = self.bump();
        let category = match &t.tok {
            Tok::Ident(s) if s == "any" => None,
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => Some(s.clone()),
            Tok::Str(s) => Some(s.clone()),
            other => {
                return Err(self.err(
                    t.span,
                    format!(
                        "expected an event category (`process`, `network`, `any`...) or `sequence`, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        self.expect_kw("where", "after the event category")?;
        let cond = self.expr()?;
        Ok(EventQuery { category, cond })
    }

    fn sequence(&mut self) -> Result<Body, EqlError> {
        let mut by = Vec::new();
        let mut maxspan_ms = None;
        // `sequence [by k, ...] [with maxspan=...]` in either order.
        loop {
            if self.eat_kw("by") {
                if !by.is_empty() {
                    return Err(self.err(self.prev_span(), "`by` given twice for the sequence"));
                }
                by = self.keys()?;
            } else if self.eat_kw("with") {
                maxspan_ms = Some(self.maxspan()?);
            } else {
                break;
            }
        }
        let mut stages = Vec::new();
        while self.is_punct("[") {
            stages.push(self.stage()?);
        }
        if stages.is_empty() {
            return Err(self.expected("expected `[` to start the first stage of the sequence"));
        }
        let until = if self.eat_kw("until") {
            if !self.is_punct("[") {
                return Err(self.expected("expected `[` to start the `until` stage"));
            }
            let s = self.stage()?;
            if s.runs != 1 {
                return Err(self.err(s.span, "`with runs` is not allowed on the `until` stage"));
            }
            Some(s)
        } else {
            None
        };
        Ok(Body::Sequence {
            by,
            maxspan_ms,
            stages,
            until,
        })
    }

    fn maxspan(&mut self) -> Result<u64, EqlError> {
        let t = self.bump();
        match &t.tok {
            Tok::Ident(s) if s == "maxspan" => {}
            Tok::Ident(s) => {
                return Err(self.err(
                    t.span,
                    format!("unsupported: sequence parameter `{s}` (only `maxspan`)"),
                ));
            }
            other => {
                return Err(self.err(
                    t.span,
                    format!(
                        "expected `maxspan` after `with`, found {}",
                        other.describe()
                    ),
                ));
            }
        }
        self.expect_punct("=", "after `maxspan`")?;
        self.timespan()
    }

    /// `1m`, `500ms`, `2.5h`, `10` (seconds)...
    fn timespan(&mut self) -> Result<u64, EqlError> {
        let Tok::Num(n) = self.peek().tok.clone() else {
            return Err(self.expected("expected a time span such as `1m` or `500ms`"));
        };
        let num_span = self.bump().span;
        let value: f64 = n
            .parse()
            .map_err(|_| self.err(num_span, "expected a time span"))?;
        let (unit_ms, span) = match self.peek().tok.clone() {
            Tok::Ident(u) if self.peek().span.start == num_span.end => {
                let span = self.bump().span;
                let ms = match u.as_str() {
                    "ms" => 1.0,
                    "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
                    "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
                    "h" | "hour" | "hours" => 3_600_000.0,
                    "d" | "day" | "days" => 86_400_000.0,
                    other => {
                        return Err(self.err(
                            span,
                            format!("unknown time unit `{other}`: expected ms, s, m, h or d"),
                        ));
                    }
                };
                (ms, num_span.to(span))
            }
            _ => (1_000.0, num_span),
        };
        let ms = value * unit_ms;
        if !(ms.is_finite() && ms >= 0.0 && ms < u64::MAX as f64) {
            return Err(self.err(span, "time span out of range"));
        }
        Ok(ms.round() as u64)
    }

    fn stage(&mut self) -> Result<Stage, EqlError> {
        let open = self.expect_punct("[", "to start a stage")?;
        if self.is_kw("join") || self.is_kw("sequence") {
            return Err(self.err(
                self.peek().span,
                "expected `<category> where ...` in a stage",
            ));
        }
        let query = self.event_query()?;
        self.expect_punct("]", "to close the stage")?;
        let mut keys = Vec::new();
        let mut runs = 1;
        loop {
            if self.eat_kw("by") {
                if !keys.is_empty() {
                    return Err(self.err(self.prev_span(), "`by` given twice for this stage"));
                }
                keys = self.keys()?;
            } else if self.eat_kw("with") {
                let t = self.bump();
                match &t.tok {
                    Tok::Ident(s) if s == "runs" => {}
                    Tok::Ident(s) => {
                        return Err(self.err(
                            t.span,
                            format!("unsupported: stage parameter `{s}` (only `runs`)"),
                        ));
                    }
                    other => {
                        return Err(self.err(
                            t.span,
                            format!("expected `runs` after `with`, found {}", other.describe()),
                        ));
                    }
                }
                self.expect_punct("=", "after `runs`")?;
                let Tok::Num(n) = self.peek().tok.clone() else {
                    return Err(self.expected("expected the number of runs"));
                };
                let span = self.bump().span;
                runs = match n.parse::<usize>() {
                    Ok(r) if (1..=100).contains(&r) => r,
                    _ => {
                        return Err(self.err(span, "expected a number of runs between 1 and 100"));
                    }
                };
            } else if matches!(&self.peek().tok, Tok::Ident(s) if s == "fork")
                && self.peek_at(1).tok == Tok::Punct("=")
            {
                return Err(self.err(self.peek().span, "unsupported: `fork` on a sequence stage"));
            } else {
                break;
            }
        }
        let span = open.to(self.prev_span());
        Ok(Stage {
            query,
            keys,
            runs,
            span,
        })
    }

    fn keys(&mut self) -> Result<Vec<Key>, EqlError> {
        let mut keys = Vec::new();
        loop {
            let e = self.value()?;
            match e.node {
                Node::Field(field) => keys.push(Key { field }),
                _ => {
                    return Err(self.err(
                        e.span,
                        "unsupported: a join key that is not a field (expressions and functions as keys)",
                    ));
                }
            }
            if !self.eat_punct(",") {
                return Ok(keys);
            }
        }
    }

    pub(crate) fn expr(&mut self) -> Result<Sp, EqlError> {
        let first = self.and_expr()?;
        let mut terms = vec![first];
        while self.eat_kw("or") {
            terms.push(self.and_expr()?);
        }
        Ok(join(terms, Node::Or))
    }

    fn and_expr(&mut self) -> Result<Sp, EqlError> {
        let first = self.not_expr()?;
        let mut terms = vec![first];
        while self.eat_kw("and") {
            terms.push(self.not_expr()?);
        }
        Ok(join(terms, Node::And))
    }

    fn not_expr(&mut self) -> Result<Sp, EqlError> {
        if self.is_kw("not") {
            let start = self.bump().span;
            let inner = self.not_expr()?;
            let span = start.to(inner.span);
            return Ok(Sp {
                node: Node::Not(Box::new(inner)),
                span,
            });
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Result<Sp, EqlError> {
        let lhs = self.value()?;
        let op = match self.peek().tok {
            Tok::Punct("==") => Some(NumOp::Eq),
            Tok::Punct("=") => {
                if self.dialect == Dialect::Elasticsearch {
                    return Err(self.err(
                        self.peek().span,
                        "expected `==` for equality (a single `=` is endgame EQL), found `=`",
                    ));
                }
                Some(NumOp::Eq)
            }
            Tok::Punct("!=") => Some(NumOp::Ne),
            Tok::Punct("<") => Some(NumOp::Lt),
            Tok::Punct("<=") => Some(NumOp::Le),
            Tok::Punct(">") => Some(NumOp::Gt),
            Tok::Punct(">=") => Some(NumOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            let op_tok = self.bump();
            if self.peek().tok == Tok::Eof {
                return Err(
                    self.expected(&format!("expected a value after {}", op_tok.tok.describe()))
                );
            }
            let rhs = self.value()?;
            let span = lhs.span.to(rhs.span);
            return Ok(Sp {
                node: Node::Cmp {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            });
        }
        // `x not in (...)`
        let negated =
            self.is_kw("not") && matches!(&self.peek_at(1).tok, Tok::Ident(s) if s == "in");
        if negated {
            self.bump();
        }
        if self.eat_kw("in") {
            let tilde = self.eat_tilde();
            let (items, end) = self.list("after `in`")?;
            let span = lhs.span.to(end);
            return Ok(Sp {
                node: Node::In {
                    lhs: Box::new(lhs),
                    items,
                    tilde,
                    negated,
                },
                span,
            });
        }
        let kind = if self.eat_punct(":") {
            Some(PatKind::Colon)
        } else if self.eat_kw("like") {
            Some(PatKind::Like)
        } else if self.eat_kw("regex") {
            Some(PatKind::Regex)
        } else {
            None
        };
        if let Some(kind) = kind {
            let tilde = kind != PatKind::Colon && self.eat_tilde();
            let (pats, end) = if self.is_punct("(") {
                self.list("")?
            } else {
                if self.peek().tok == Tok::Eof {
                    return Err(self.expected("expected a value or a list of values"));
                }
                let v = self.value()?;
                let s = v.span;
                (vec![v], s)
            };
            let span = lhs.span.to(end);
            return Ok(Sp {
                node: Node::Pattern {
                    kind,
                    tilde,
                    lhs: Box::new(lhs),
                    pats,
                },
                span,
            });
        }
        Ok(lhs)
    }

    /// `( value, ... )`; returns the items and the span of the closing paren.
    fn list(&mut self, context: &str) -> Result<(Vec<Sp>, Span), EqlError> {
        let ctx = if context.is_empty() {
            "to start the list of values".to_string()
        } else {
            format!("{context} (a list of values)")
        };
        self.expect_punct("(", &ctx)?;
        let mut items = Vec::new();
        if self.is_punct(")") {
            return Err(self.expected("expected at least one value in the list"));
        }
        loop {
            items.push(self.value()?);
            if self.eat_punct(",") {
                continue;
            }
            let end = self.expect_punct(")", "or `,` in the list of values")?;
            return Ok((items, end));
        }
    }

    /// A value: a literal, a field, a function call or a parenthesised
    /// expression. Arithmetic is recognised only to be refused.
    fn value(&mut self) -> Result<Sp, EqlError> {
        let v = self.primary()?;
        if let Tok::Punct(p @ ("+" | "-" | "*" | "/" | "%")) = self.peek().tok {
            return Err(self.err(self.peek().span, format!("unsupported: arithmetic (`{p}`)")));
        }
        Ok(v)
    }

    fn primary(&mut self) -> Result<Sp, EqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Str(s) => {
                self.bump();
                Ok(Sp {
                    node: Node::Lit(Lit::Str(s.clone())),
                    span: t.span,
                })
            }
            Tok::Num(_) => self.number(false, t.span),
            Tok::Punct("-") if matches!(self.peek_at(1).tok, Tok::Num(_)) => {
                self.bump();
                self.number(true, t.span)
            }
            Tok::Punct("(") => {
                self.bump();
                let inner = self.expr()?;
                if self.is_punct(",") {
                    return Err(self.err(
                        self.peek().span,
                        "a list of values is only allowed after `in`, `:`, `like` or `regex`",
                    ));
                }
                let end = self.expect_punct(")", "to close the parenthesis")?;
                Ok(Sp {
                    node: inner.node,
                    span: t.span.to(end),
                })
            }
            Tok::Ident(s) => {
                let s = s.clone();
                match s.as_str() {
                    "true" | "false" => {
                        self.bump();
                        Ok(Sp {
                            node: Node::Lit(Lit::Bool(s == "true")),
                            span: t.span,
                        })
                    }
                    "null" => {
                        self.bump();
                        Ok(Sp {
                            node: Node::Lit(Lit::Null),
                            span: t.span,
                        })
                    }
                    "descendant" | "child" | "event" if matches!(&self.peek_at(1).tok, Tok::Ident(o) if o == "of") => {
                        Err(self.err(
                            t.span.to(self.peek_at(1).span),
                            format!("unsupported: `{s} of` (process lineage)"),
                        ))
                    }
                    kw if KEYWORDS.contains(&kw) => Err(self.err(
                        t.span,
                        format!("expected a field, a value or `(`, found keyword `{kw}`"),
                    )),
                    _ => {
                        // A function call: name, optional `~`, `(`.
                        let next = self.peek_at(1);
                        let call = next.tok == Tok::Punct("(")
                            || (next.tok == Tok::Punct("~")
                                && self.peek_at(2).tok == Tok::Punct("("));
                        if call {
                            self.bump();
                            let tilde = self.eat_tilde();
                            self.bump(); // (
                            let mut args = Vec::new();
                            if !self.is_punct(")") {
                                loop {
                                    args.push(self.expr()?);
                                    if !self.eat_punct(",") {
                                        break;
                                    }
                                }
                            }
                            let end = self
                                .expect_punct(")", &format!("or `,` in the arguments of `{s}`"))?;
                            return Ok(Sp {
                                node: Node::Call {
                                    name: s,
                                    tilde,
                                    args,
                                },
                                span: t.span.to(end),
                            });
                        }
                        self.field()
                    }
                }
            }
            Tok::Quoted(_) => self.field(),
            Tok::Eof => Err(self.expected("expected a field, a value or `(`")),
            other => Err(self.err(
                t.span,
                format!(
                    "expected a field, a value or `(`, found {}",
                    other.describe()
                ),
            )),
        }
    }

    fn number(&mut self, negative: bool, start: Span) -> Result<Sp, EqlError> {
        let t = self.bump();
        let Tok::Num(n) = &t.tok else {
            return Err(self.err(t.span, "expected a number"));
        };
        let text = if negative { format!("-{n}") } else { n.clone() };
        let value = detect_core::number::parse_number(&text)
            .ok_or_else(|| self.err(t.span, format!("number `{text}` out of range")))?;
        Ok(Sp {
            node: Node::Lit(Lit::Num(value)),
            span: start.to(t.span),
        })
    }

    /// `a.b.c`, `` `a b`.c ``; `a[0]` is refused.
    fn field(&mut self) -> Result<Sp, EqlError> {
        let first = self.bump();
        let mut path = match first.tok {
            Tok::Ident(s) | Tok::Quoted(s) => s,
            other => {
                return Err(self.err(
                    first.span,
                    format!("expected a field name, found {}", other.describe()),
                ));
            }
        };
        let mut span = first.span;
        loop {
            if self.is_punct(".") {
                self.bump();
                let t = self.bump();
                match t.tok {
                    Tok::Ident(s) | Tok::Quoted(s) => {
                        path.push('.');
                        path.push_str(&s);
                        span = span.to(t.span);
                    }
                    other => {
                        return Err(self.err(
                            t.span,
                            format!(
                                "expected a field name after `.`, found {}",
                                other.describe()
                            ),
                        ));
                    }
                }
            } else if self.is_punct("[") && self.peek().span.start == span.end {
                return Err(self.err(
                    self.peek().span,
                    "unsupported: array indexing in field paths (`field[0]`)",
                ));
            } else {
                break;
            }
        }
        Ok(Sp {
            node: Node::Field(path),
            span,
        })
    }
}

fn join(mut terms: Vec<Sp>, make: fn(Vec<Sp>) -> Node) -> Sp {
    if terms.len() == 1 {
        return terms.pop().unwrap_or_else(|| unreachable!());
    }
    let span = terms[0].span.to(terms[terms.len() - 1].span);
    Sp {
        node: make(terms),
        span,
    }
}
