//! # detect-eql
//!
//! The EQL (Event Query Language) front end of detect: query text into the
//! rule IR ([`detect_core::ir`]), for the reference interpreter at run time
//! and, at compile time, for generated code: `rule name = eql!("...");` and
//! `sequence name = eql!("...");` items of `detect::rules!` are parsed here.
//!
//! ```
//! use detect_eql::{parse_query, Body, Options};
//! use detect_core::{interpreter::CompiledExpr, JsonEvent};
//!
//! let q = parse_query(r#"process where process.name : "msiexec.exe" and process.args : "/V""#,
//!                     &Options::elasticsearch())?;
//! let Body::Event(expr) = &q.body else { unreachable!() };
//! let m = CompiledExpr::new(expr)?;
//! let ev = JsonEvent::parse_str(r#"{"event": {"category": ["process"]},
//!     "process": {"name": "MsiExec.exe", "args": ["msiexec.exe", "/V"]}}"#)?;
//! assert!(m.matches(&ev));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The subset
//!
//! ```text
//! query     := (event | sequence) ("|" pipe)*
//! event     := category "where" expr            category: an identifier, a string or `any`
//! sequence  := "sequence" ["by" keys] ["with" "maxspan" "=" span]   (by/with in either order)
//!              stage+ ["until" stage]
//! stage     := "[" event "]" ["by" keys] ["with" "runs" "=" N]      (N in 1..=100)
//! keys      := field ("," field)*
//! span      := number [ms | s | m | h | d]      (no unit: seconds)
//! pipe      := "head" N | "tail" N | "filter" expr | ("unique" | "sort") field ([","] field)*
//! expr      := expr "or" expr | expr "and" expr | "not" expr | "(" expr ")"
//!            | value cmp value | value ["not"] "in" ["~"] list
//!            | value ":" (value | list) | value ("like" | "regex") ["~"] (value | list)
//!            | function "(" args ")" | "true" | "false"
//! cmp       := "==" | "!=" | "<" | "<=" | ">" | ">="   ("=" too in the endgame dialect)
//! value     := field | string | number | "true" | "false" | "null"
//! field     := name ("." name)*          name: identifier or `backquoted`
//! function  := startsWith | endsWith | stringContains | wildcard | match | matchLite | cidrMatch
//!              (ES: a `~` suffix makes the first four case-insensitive)
//! ```
//!
//! Strings are `"..."` or `'...'` with the escapes `\\ \" \' \n \r \t \b \f
//! \0 \u{XXXX}` (any other escape is an error), `"""raw"""`, or endgame raw
//! strings `?"..."`. Comments are `//` and `/* */`.
//!
//! Everything else (`join`, `descendant of`/`child of`/`event of`, array
//! indexing, arithmetic, other functions, the `count`/`unique_count`...
//! pipes, `unique`/`sort` on expressions, ordering comparisons on strings, `fork`) is refused with an
//! [`EqlError`] whose message starts with `unsupported:`.
//!
//! ## Dialects
//!
//! | | [`Dialect::Elasticsearch`] | [`Dialect::Endgame`] |
//! |---|---|---|
//! | `==`, `!=` | case-sensitive, literal | case-insensitive, `*` is a wildcard (`?` is literal) |
//! | `in` | case-sensitive; `in~` insensitive | case-insensitive, literal |
//! | `:` | case-insensitive, `*` and `?` wildcards, accepts a list | same |
//! | `like` / `like~`, `regex` / `regex~` | sensitive / insensitive; regex is anchored | same |
//! | `startsWith`... | case-sensitive; `startsWith~` insensitive | case-insensitive |
//! | `not` | boolean negation | three-valued: `not null` is null (see below) |
//! | null join keys | never join | join each other (null is a value) |
//! | multi-valued join keys | never join | the first value is the key |
//! | join keys | compared exactly | compared lowercased, char by char |
//! | out-of-order events | never advance a sequence | advance it |
//! | a sequence's [`Sequence::joins`] | [`Joins::Elasticsearch`] | [`Joins::Endgame`] |
//! | category field ([`Options::category_field`]) | `event.category` | `event_type` |
//! | vocabulary of the IR | [`Vocabulary::Ecs`] | [`Vocabulary::Windows`] (names kept as written) |
//!
//! Null semantics, both dialects: `field == null` is true when the field is
//! missing or null, `field != null` when it is present and not null, and any
//! other comparison with a missing or null field is false (`missing != "x"`
//! is false). In the endgame dialect a comparison with a missing field is
//! *null* rather than false, and null propagates through `not` (Kleene logic:
//! `not (missing == "x")` is null, so false at the top), which is what that
//! engine's suite checks (`process where not (fake_field == "*")` matches
//! nothing). The IR is two-valued, so the front end compiles the three-valued
//! logic away (see `lower.rs`).
//!
//! Numbers compare with [`Test::Num`](detect_core::ir::Test::Num) (also
//! numbers written as strings); `true`/`false` compare with the value's text.
//!
//! ## Where the category goes
//!
//! `process where x` becomes the condition `<category_field> == "process" and
//! x`: the category test is part of the expression (case-insensitive on
//! `event.category` in the Elasticsearch dialect, as detect-core's ECS log
//! sources; exact on `event_type` in the endgame one), and the rule's or
//! stage's [`LogSource`](detect_core::ir::LogSource) stays empty (every
//! event). That keeps the IR self-contained for any category field and
//! evaluable with [`CompiledExpr`](detect_core::interpreter::CompiledExpr)
//! as it is. `any where x` has no category test.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod lexer;
mod lower;
mod parser;
pub mod reference;

use detect_core::ir::{
    Condition, Detection, Expr, Joins, Metadata, Rule, Selection, Sequence, SequenceStage,
    Vocabulary,
};

pub use error::{EqlError, ErrorKind, Span};

/// Which EQL engine's semantics to follow (see the crate docs' table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Elasticsearch EQL (Elastic's detection rules, seed 003).
    #[default]
    Elasticsearch,
    /// The endgame `eql` Python engine (the `test_queries.toml` suite).
    Endgame,
}

impl Dialect {
    /// How the dialect's sequences join events.
    ///
    /// ```
    /// use detect_core::ir::Joins;
    /// use detect_eql::Dialect;
    /// assert_eq!(Dialect::Endgame.joins(), Joins::Endgame);
    /// ```
    pub fn joins(self) -> Joins {
        match self {
            Dialect::Elasticsearch => Joins::Elasticsearch,
            Dialect::Endgame => Joins::Endgame,
        }
    }
}

/// Parser options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Operator semantics.
    pub dialect: Dialect,
    /// The field that holds the event category (`process` in `process where`).
    pub category_field: String,
    /// Endgame dialect only: compare strings case-sensitively (the old
    /// case-sensitive mode of the `eql` engine, which the suite's
    /// `case_sensitive = true` queries expect). Ignored by Elasticsearch,
    /// whose operators say their case themselves.
    pub case_sensitive: bool,
}

impl Options {
    /// Elasticsearch dialect, category in `event.category`.
    ///
    /// ```
    /// let o = detect_eql::Options::elasticsearch();
    /// assert_eq!(o.category_field, "event.category");
    /// ```
    pub fn elasticsearch() -> Options {
        Options {
            dialect: Dialect::Elasticsearch,
            category_field: "event.category".into(),
            case_sensitive: false,
        }
    }

    /// Endgame dialect, category in `event_type`.
    ///
    /// ```
    /// let o = detect_eql::Options::endgame();
    /// assert_eq!(o.category_field, "event_type");
    /// ```
    pub fn endgame() -> Options {
        Options {
            dialect: Dialect::Endgame,
            category_field: "event_type".into(),
            case_sensitive: false,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::elasticsearch()
    }
}

/// A parsed query: its body and its pipes.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// What events (or sequences of events) it selects.
    pub body: Body,
    /// Post-processing of the results, in order.
    pub pipes: Vec<Pipe>,
    /// The dialect it was parsed with.
    pub dialect: Dialect,
}

/// The body of a [`Query`].
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// `category where condition`: the condition, category test included,
    /// with field names as written (event paths).
    Event(Expr),
    /// `sequence ...`: stages' conditions include their category tests.
    Sequence(Box<Sequence>),
}

/// A pipe. Results are single events for event queries and completed
/// sequences for sequences; pipes see them in the order they are produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Pipe {
    /// `| head N`: the first N results.
    Head(usize),
    /// `| tail N`: the last N results.
    Tail(usize),
    /// `| filter expr`: results whose (first) event satisfies `expr`.
    Filter(Expr),
    /// `| unique f1, f2`: the first result for each distinct tuple of the
    /// fields' values in its first event (a missing field is a value too).
    Unique(Vec<String>),
    /// `| sort f1, f2`: the results stably sorted by the fields' values in
    /// their first event: missing or null first, then numbers (numerically),
    /// then strings, by code point, lowercased first when the query compares
    /// strings case-insensitively (the endgame dialect's default). `Unique`
    /// compares values the same way.
    Sort(Vec<String>),
}

/// Parses EQL text.
///
/// ```
/// use detect_eql::{parse_query, Body, Options};
/// let q = parse_query(
///     "sequence with maxspan=1m [process where true] by process.entity_id \
///      [network where true] by process.entity_id",
///     &Options::elasticsearch(),
/// )?;
/// let Body::Sequence(seq) = q.body else { unreachable!() };
/// assert_eq!(seq.stages.len(), 2);
/// assert_eq!(seq.maxspan_ms, Some(60_000));
///
/// let err = parse_query("process where a.b[0] == 1", &Options::elasticsearch()).unwrap_err();
/// assert!(err.is_unsupported());
/// assert_eq!(err.to_string(), "1:18: unsupported: array indexing in field paths (`field[0]`)");
/// # Ok::<(), detect_eql::EqlError>(())
/// ```
pub fn parse_query(text: &str, options: &Options) -> Result<Query, EqlError> {
    let ast = parser::Parser::new(text, options)?.query()?;
    let low = lower::Lower { text, options };
    let body = match &ast.body {
        parser::Body::Event(q) => Body::Event(event_expr(&low, q)?),
        parser::Body::Sequence {
            by,
            maxspan_ms,
            stages,
            until,
        } => {
            let mut out = Vec::new();
            let width = by.len() + stages[0].keys.len();
            let stage = |s: &parser::Stage, what: &str| -> Result<SequenceStage, EqlError> {
                let keys: Vec<String> = by.iter().chain(&s.keys).map(|k| k.field.clone()).collect();
                if keys.len() != width {
                    return Err(EqlError::new(
                        text,
                        s.span,
                        format!(
                            "{what} has {} join key(s) but the first stage has {width}: every stage joins on the same number of keys",
                            keys.len()
                        ),
                    ));
                }
                Ok(SequenceStage {
                    logsource: Default::default(),
                    condition: event_expr(&low, &s.query)?,
                    keys,
                })
            };
            for (i, s) in stages.iter().enumerate() {
                let st = stage(s, &format!("stage {}", i + 1))?;
                for _ in 0..s.runs {
                    out.push(st.clone());
                }
            }
            let until = until
                .as_ref()
                .map(|u| stage(u, "the `until` stage"))
                .transpose()?;
            Body::Sequence(Box::new(Sequence {
                name: "eql".into(),
                meta: Metadata::default(),
                vocabulary: vocabulary(options.dialect),
                stages: out,
                until,
                maxspan_ms: *maxspan_ms,
                joins: options.dialect.joins(),
            }))
        }
    };
    let pipes = ast
        .pipes
        .iter()
        .map(|p| {
            Ok(match p {
                parser::PipeAst::Head(n) => Pipe::Head(*n),
                parser::PipeAst::Tail(n) => Pipe::Tail(*n),
                parser::PipeAst::Filter(e) => Pipe::Filter(low.pred(e)?.t),
                parser::PipeAst::Unique(f) => Pipe::Unique(f.clone()),
                parser::PipeAst::Sort(f) => Pipe::Sort(f.clone()),
            })
        })
        .collect::<Result<_, EqlError>>()?;
    Ok(Query {
        body,
        pipes,
        dialect: options.dialect,
    })
}

fn event_expr(low: &lower::Lower<'_>, q: &parser::EventQuery) -> Result<Expr, EqlError> {
    let cond = low.pred(&q.cond)?.t;
    Ok(match low.category(&q.category) {
        Some(cat) => lower::and(vec![cat, cond]),
        None => cond,
    })
}

fn vocabulary(dialect: Dialect) -> Vocabulary {
    match dialect {
        Dialect::Elasticsearch => Vocabulary::Ecs,
        Dialect::Endgame => Vocabulary::Windows,
    }
}

/// Why a [`Query`] cannot become the requested IR item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError(pub String);

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConvertError {}

impl Query {
    /// The query as a stateless IR [`Rule`] named `name`: one selection
    /// (`query`) and the condition `query`. Fails for sequences and for
    /// queries with pipes (a rule has no place for them).
    ///
    /// ```
    /// use detect_core::{interpreter::Interpreter, ir::RuleSet, JsonEvent};
    /// use detect_eql::{parse_query, Options};
    /// let q = parse_query(r#"process where process.name : "cmd.exe""#, &Options::elasticsearch())?;
    /// let rule = q.to_rule("cmd")?;
    /// let interp = Interpreter::new(&RuleSet { rules: vec![rule], ..Default::default() })?;
    /// let ev = JsonEvent::parse_str(r#"{"event": {"category": "process"}, "process": {"name": "CMD.EXE"}}"#)?;
    /// assert_eq!(interp.matches(&ev), vec![0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_rule(&self, name: &str) -> Result<Rule, ConvertError> {
        let Body::Event(expr) = &self.body else {
            return Err(ConvertError(
                "a sequence is not a stateless rule; use `to_sequence`".into(),
            ));
        };
        if !self.pipes.is_empty() {
            return Err(ConvertError(
                "pipes cannot be expressed in a rule; apply them to the results".into(),
            ));
        }
        Ok(Rule {
            name: name.to_string(),
            meta: Metadata {
                title: name.to_string(),
                ..Metadata::default()
            },
            logsource: Default::default(),
            vocabulary: vocabulary(self.dialect),
            detection: Detection {
                selections: vec![Selection {
                    name: "query".into(),
                    expr: expr.clone(),
                }],
                condition: Condition::Selection(0),
            },
        })
    }

    /// The query as an IR [`Sequence`] named `name`. Fails for event queries
    /// and for queries with pipes.
    ///
    /// ```
    /// use detect_eql::{parse_query, Options};
    /// let q = parse_query("sequence by host.id [process where true] [file where true] with runs=2",
    ///                     &Options::elasticsearch())?;
    /// let seq = q.to_sequence("s")?;
    /// assert_eq!(seq.name, "s");
    /// assert_eq!(seq.stages.len(), 3);
    /// assert_eq!(seq.stages[2].keys, vec!["host.id".to_string()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_sequence(&self, name: &str) -> Result<Sequence, ConvertError> {
        let Body::Sequence(seq) = &self.body else {
            return Err(ConvertError(
                "an event query is not a sequence; use `to_rule`".into(),
            ));
        };
        if !self.pipes.is_empty() {
            return Err(ConvertError(
                "pipes cannot be expressed in a sequence rule; apply them to the results".into(),
            ));
        }
        let mut seq = (**seq).clone();
        seq.name = name.to_string();
        seq.meta.title = name.to_string();
        Ok(seq)
    }
}

#[cfg(test)]
mod tests;
