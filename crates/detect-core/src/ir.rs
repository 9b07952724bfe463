//! The rule IR: the one representation every front end lowers into and every
//! back end consumes.
//!
//! The `rules!` macro, the Sigma YAML front end and the EQL front end all
//! produce a [`RuleSet`]; the code generator in `detect-macros` turns it into
//! Rust, and the [`crate::interpreter`] evaluates it directly. Keeping the IR
//! small and *already lowered* is what makes the two back ends comparable:
//!
//! * modifier expansions (`windash`, `base64offset`, `utf16*`, `base64`) have
//!   been applied by the front end: the IR only holds the resulting literals;
//! * wildcard strings have been parsed (escapes resolved) into [`StrPattern`]s,
//!   and trivial globs simplified to exact/prefix/suffix/contains;
//! * condition globs (`1 of sel_*`) have been resolved to selection indices.
//!
//! Field names in the IR are in the rule's own vocabulary (`CommandLine`,
//! `Image`, or ECS names such as `process.command_line`); mapping them onto an
//! event layout happens in [`crate::layout`], at compile time for generated
//! code and at load time for the interpreter.

use serde::{Deserialize, Serialize};

/// A set of rules compiled together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// The rules, in declaration order. Rule indices are positions here.
    pub rules: Vec<Rule>,
    /// The sequence rules, in declaration order.
    #[serde(default)]
    pub sequences: Vec<Sequence>,
    /// The correlation rules, in dependency order (a correlation's inputs
    /// come before it).
    #[serde(default)]
    pub correlations: Vec<Correlation>,
}

/// One detection rule: metadata, the log source it applies to, and its logic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Identifier unique within the rule set (a Rust identifier for DSL rules).
    pub name: String,
    /// Descriptive metadata (id, title, level, tags...).
    pub meta: Metadata,
    /// Which events the rule looks at.
    pub logsource: LogSource,
    /// The vocabulary the rule's field names are written in.
    pub vocabulary: Vocabulary,
    /// Named selections and the condition over them.
    pub detection: Detection,
}

/// The naming convention of a rule's fields, used to map them onto event layouts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vocabulary {
    /// Windows event log names as Sigma uses them (`CommandLine`, `EventID`, `Provider_Name`).
    #[default]
    Windows,
    /// Elastic Common Schema dotted names (`process.command_line`).
    Ecs,
}

/// Rule metadata, as found in Sigma rules and Elastic/Datadog rule pages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Stable identifier (a UUID for Sigma rules).
    pub id: Option<String>,
    /// Human title.
    pub title: String,
    /// What the rule detects and why.
    pub description: Option<String>,
    /// Severity.
    pub level: Level,
    /// Maturity.
    pub status: Option<Status>,
    /// Tags such as `attack.t1218.007`.
    pub tags: Vec<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// Author(s).
    pub author: Option<String>,
    /// Creation date as written in the rule.
    pub date: Option<String>,
    /// Last modification date as written in the rule.
    pub modified: Option<String>,
}

/// Severity of a rule, ordered from least to most severe.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Level {
    /// Informational: no action expected.
    Informational,
    /// Low.
    Low,
    /// Medium (the default).
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// All levels, least severe first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The lowercase name used by Sigma (`informational`, `low`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// Parses a Sigma level name (case-insensitive).
    ///
    /// ```
    /// use detect_core::ir::Level;
    /// assert_eq!(Level::parse("HIGH"), Some(Level::High));
    /// assert_eq!(Level::parse("severe"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }
}

/// Maturity of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Stable.
    Stable,
    /// Test.
    Test,
    /// Experimental.
    Experimental,
    /// Deprecated.
    Deprecated,
    /// Unsupported.
    Unsupported,
}

impl Status {
    /// All statuses.
    pub const ALL: [Status; 5] = [
        Status::Stable,
        Status::Test,
        Status::Experimental,
        Status::Deprecated,
        Status::Unsupported,
    ];

    /// The lowercase Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }

    /// Parses a Sigma status name (case-insensitive).
    ///
    /// ```
    /// use detect_core::ir::Status;
    /// assert_eq!(Status::parse("test"), Some(Status::Test));
    /// ```
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }
}

/// A Sigma-style log source. `None` everywhere means "every event".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogSource {
    /// e.g. `windows`.
    pub product: Option<String>,
    /// e.g. `process_creation`.
    pub category: Option<String>,
    /// e.g. `sysmon`, `security`, `application`.
    pub service: Option<String>,
    /// Free-text requirements (audit policy...), informational only.
    pub definition: Option<String>,
}

/// Named selections and the condition that combines them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The search identifiers, in declaration order.
    pub selections: Vec<Selection>,
    /// The condition over selections (indices into `selections`).
    pub condition: Condition,
}

/// A named search identifier (`selection`, `filter_main`, `keywords`...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The name used in the condition.
    pub name: String,
    /// What it matches.
    pub expr: Expr,
}

/// A Sigma condition, with `x of pattern` already resolved to indices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// One selection, by index.
    Selection(usize),
    /// Negation.
    Not(Box<Condition>),
    /// Conjunction (true when empty).
    And(Vec<Condition>),
    /// Disjunction (false when empty).
    Or(Vec<Condition>),
    /// `1 of ...`: at least one of these selections.
    AnyOf(Vec<usize>),
    /// `all of ...`: every one of these selections.
    AllOf(Vec<usize>),
}

/// A boolean expression over field tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// Conjunction (true when empty).
    And(Vec<Expr>),
    /// Disjunction (false when empty).
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A test on one field.
    Field(FieldTest),
    /// Keyword search: true when any scalar value anywhere in the event matches.
    Keyword(StrPattern),
}

/// A test on the value(s) of one field.
///
/// When the field holds an array, a value test is true if any element passes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldTest {
    /// The field name in the rule's vocabulary; dots separate nested keys.
    pub field: String,
    /// What to test.
    pub test: Test,
}

/// The test applied to a field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Test {
    /// String comparison against the value's text (numbers by their decimal
    /// text, booleans as `true`/`false`). Never matches a missing or null field.
    Str(StrPattern),
    /// Unanchored regular expression search (Rust `regex` syntax, a superset
    /// of the Sigma PCRE subset).
    Regex(RegexPattern),
    /// The value parses as an IP address inside this network.
    Cidr(Cidr),
    /// The value parses as a number and compares to `value`.
    Num {
        /// The comparison.
        op: NumOp,
        /// Right-hand side.
        value: Number,
    },
    /// A component of a date/time value compares to `value` (Sigma time modifiers).
    Time {
        /// Which component.
        part: TimePart,
        /// The comparison.
        op: NumOp,
        /// Right-hand side.
        value: i64,
    },
    /// The field is present (`true`) or absent (`false`), whatever its value.
    Exists(bool),
    /// The field is missing or null.
    Null,
    /// The field's value relates to another field's value (Sigma `fieldref`).
    FieldRef {
        /// The other field, in the rule's vocabulary.
        other: String,
        /// How the two values must relate.
        kind: RefKind,
        /// Case sensitivity.
        case: Case,
    },
}

/// How a field compares with a referenced field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefKind {
    /// Equal.
    Exact,
    /// The field starts with the other field's value.
    Prefix,
    /// The field ends with the other field's value.
    Suffix,
    /// The field contains the other field's value.
    Contains,
}

/// Case sensitivity of a string comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Case {
    /// Exact bytes.
    Sensitive,
    /// Unicode simple lowercase folding, ASCII fast path.
    Insensitive,
}

/// A string pattern. Literals are stored as written (not folded); back ends
/// fold insensitive patterns themselves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StrPattern {
    /// The shape of the match.
    pub kind: StrKind,
    /// Case sensitivity.
    pub case: Case,
}

/// The shape of a string match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StrKind {
    /// The whole value equals the literal.
    Exact(String),
    /// The value starts with the literal.
    Prefix(String),
    /// The value ends with the literal.
    Suffix(String),
    /// The value contains the literal.
    Contains(String),
    /// A wildcard pattern over the whole value.
    Glob(Vec<GlobToken>),
}

/// One token of a wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GlobToken {
    /// Literal text (escapes already resolved).
    Lit(String),
    /// `?`: exactly one character.
    AnyChar,
    /// `*`: any run of characters, possibly empty.
    AnyRun,
}

/// A regular expression with its Sigma flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegexPattern {
    /// The pattern as written.
    pub pattern: String,
    /// `i`: case-insensitive.
    pub case_insensitive: bool,
    /// `m`: `^`/`$` match at line boundaries.
    pub multi_line: bool,
    /// `s`: `.` matches newline.
    pub dot_all: bool,
}

impl RegexPattern {
    /// The pattern with its flags as an inline group prefix, ready for `regex::Regex::new`.
    ///
    /// ```
    /// use detect_core::ir::RegexPattern;
    /// let re = RegexPattern { pattern: "a.b".into(), case_insensitive: true, multi_line: false, dot_all: true };
    /// assert_eq!(re.full_pattern(), "(?is)a.b");
    /// ```
    pub fn full_pattern(&self) -> String {
        let mut flags = String::new();
        if self.case_insensitive {
            flags.push('i');
        }
        if self.multi_line {
            flags.push('m');
        }
        if self.dot_all {
            flags.push('s');
        }
        if flags.is_empty() {
            self.pattern.clone()
        } else {
            format!("(?{flags}){}", self.pattern)
        }
    }
}

/// An IPv4 or IPv6 network, stored as the masked address bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cidr {
    /// True for IPv4 (32-bit addresses), false for IPv6.
    pub v4: bool,
    /// Network address bits, right-aligned (the low 32 bits for IPv4), masked.
    pub addr: u128,
    /// Prefix length in bits.
    pub prefix: u8,
}

/// A numeric comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NumOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A numeric literal: integers stay exact, others are `f64`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
}

/// A component of a timestamp (Sigma time modifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimePart {
    /// 0..=59
    Minute,
    /// 0..=23
    Hour,
    /// 1..=31
    Day,
    /// ISO week, 1..=53
    Week,
    /// 1..=12
    Month,
    /// The year.
    Year,
}

impl Rule {
    /// Every field name the rule reads, in its own vocabulary, deduplicated in first-use order.
    ///
    /// ```
    /// use detect_core::ir::*;
    /// let rule = Rule {
    ///     name: "r".into(),
    ///     meta: Metadata::default(),
    ///     logsource: LogSource::default(),
    ///     vocabulary: Vocabulary::Windows,
    ///     detection: Detection {
    ///         selections: vec![Selection {
    ///             name: "selection".into(),
    ///             expr: Expr::Field(FieldTest { field: "Image".into(), test: Test::Null }),
    ///         }],
    ///         condition: Condition::Selection(0),
    ///     },
    /// };
    /// assert_eq!(rule.fields(), vec!["Image".to_string()]);
    /// ```
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.detection.selections {
            s.expr.visit_fields(&mut |f| {
                if !out.iter().any(|o| o == f) {
                    out.push(f.to_string());
                }
            });
        }
        out
    }
}

impl Expr {
    /// Calls `f` with every field name the expression reads (fieldref targets included).
    pub fn visit_fields(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.visit_fields(f)),
            Expr::Not(e) => e.visit_fields(f),
            Expr::Field(t) => {
                f(&t.field);
                if let Test::FieldRef { other, .. } = &t.test {
                    f(other);
                }
            }
            Expr::Keyword(_) => {}
        }
    }

    /// Rewrites every field name (and fieldref target) with `f`.
    pub fn map_fields(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|e| e.map_fields(f)),
            Expr::Not(e) => e.map_fields(f),
            Expr::Field(t) => {
                t.field = f(&t.field);
                if let Test::FieldRef { other, .. } = &mut t.test {
                    *other = f(other);
                }
            }
            Expr::Keyword(_) => {}
        }
    }
}

/// A sequence rule (EQL `sequence`): events matching ordered stages, joined by
/// key, within a time span.
///
/// Semantics: at most one pending sequence per (stage, join key); a newer
/// match of the first stage restarts (overwrites) it; advancing moves a
/// sequence to the next stage and empties the stage it left; every event must
/// be within `maxspan` of the first; an `until` match cancels the pending
/// sequences of its key. How keys join and whether an older event may
/// advance a sequence depend on [`Sequence::joins`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Identifier unique within the rule set.
    pub name: String,
    /// Descriptive metadata.
    pub meta: Metadata,
    /// The vocabulary of the stages' field names.
    pub vocabulary: Vocabulary,
    /// The stages, in order (`with runs=N` already expanded into N stages).
    pub stages: Vec<SequenceStage>,
    /// Cancels pending sequences of the same key.
    pub until: Option<SequenceStage>,
    /// Longest time from the first to the last event, in milliseconds.
    pub maxspan_ms: Option<u64>,
    /// How events join: the rules of the EQL engine the query was written for.
    #[serde(default)]
    pub joins: Joins,
}

/// How a [`Sequence`] joins events: the two EQL engines differ.
///
/// ```
/// use detect_core::ir::Joins;
/// assert_eq!(Joins::default(), Joins::Elasticsearch);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Joins {
    /// Elasticsearch EQL: every key field must hold exactly one value, not
    /// null (a missing, null or multi-valued key never joins); values compare
    /// exactly; an event older than a pending sequence's last event does not
    /// advance it.
    #[default]
    Elasticsearch,
    /// The endgame `eql` engine: a missing or null key value is a value like
    /// any other (it joins another missing or null one); of several values the
    /// first is the key; values compare lowercased, character by character
    /// (`char::to_lowercase`: unlike Python's `str.lower`, a final capital
    /// sigma becomes `σ`, not `ς`); events advance sequences whatever their
    /// order in time.
    Endgame,
}

/// One stage of a [`Sequence`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceStage {
    /// Which events the stage looks at (an ECS category such as `process`).
    pub logsource: LogSource,
    /// What the event must satisfy.
    pub condition: Expr,
    /// Join key fields, by position (shared `by` fields first). Every stage of a
    /// sequence has the same number of keys; their names may differ.
    pub keys: Vec<String>,
}

/// A Sigma correlation rule: a condition over the matches of other rules (or
/// correlations) in a sliding time window, per group of events sharing the
/// values of the `group-by` fields. The state engine is
/// [`crate::correlation::CorrelationEngine`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Identifier unique among the set's correlations (the Sigma `name`, else
    /// derived from the file name).
    pub name: String,
    /// Descriptive metadata (title, id, level...).
    pub meta: Metadata,
    /// What is measured in the window.
    pub kind: CorrelationKind,
    /// The rules and correlations whose matches feed this one, in the order
    /// written (the order `temporal_ordered` requires).
    pub inputs: Vec<CorrelationInput>,
    /// The group-by names as written (aliases included), for reports.
    pub group_by: Vec<String>,
    /// Window length in milliseconds: events at most this far apart are in
    /// one window (both ends included).
    pub timespan_ms: u64,
    /// When the measured value fires: one or two bounds, all of which must hold.
    pub condition: Vec<(NumOp, Number)>,
    /// The measured field(s) of the value types (`value_count` counts
    /// distinct combinations of several fields), in the inputs' vocabulary.
    pub fields: Vec<String>,
    /// The percentile measured by `value_percentile` (0 to 100, default 50).
    pub percentile: Option<f64>,
    /// When false (the Sigma default), the inputs' own matches are not
    /// reported: see [`RuleSet::reported`].
    pub generate: bool,
    /// The vocabulary of the group-by and value fields.
    pub vocabulary: Vocabulary,
}

/// The kinds of Sigma correlation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CorrelationKind {
    /// Number of matching events (`event_count`).
    EventCount,
    /// Number of distinct values of `fields` (`value_count`).
    ValueCount,
    /// Number of distinct inputs matched in the window (`temporal`; all of
    /// them by default).
    Temporal,
    /// Every input matched, in the order written (`temporal_ordered`).
    TemporalOrdered,
    /// Sum of a numeric field (`value_sum`).
    ValueSum,
    /// Average of a numeric field (`value_avg`).
    ValueAvg,
    /// A percentile of a numeric field (`value_percentile`).
    ValuePercentile,
}

impl CorrelationKind {
    /// Every kind, in the specification's order.
    pub const ALL: [CorrelationKind; 7] = [
        CorrelationKind::EventCount,
        CorrelationKind::ValueCount,
        CorrelationKind::Temporal,
        CorrelationKind::TemporalOrdered,
        CorrelationKind::ValueSum,
        CorrelationKind::ValueAvg,
        CorrelationKind::ValuePercentile,
    ];

    /// The Sigma name (`event_count`...).
    ///
    /// ```
    /// use detect_core::ir::CorrelationKind;
    /// assert_eq!(CorrelationKind::parse("value_count"), Some(CorrelationKind::ValueCount));
    /// assert_eq!(CorrelationKind::ValueCount.as_str(), "value_count");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::ValueSum => "value_sum",
            CorrelationKind::ValueAvg => "value_avg",
            CorrelationKind::ValuePercentile => "value_percentile",
        }
    }

    /// Parses a Sigma correlation type name.
    pub fn parse(s: &str) -> Option<CorrelationKind> {
        CorrelationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the kinds that read a value field.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationKind::ValueCount
                | CorrelationKind::ValueSum
                | CorrelationKind::ValueAvg
                | CorrelationKind::ValuePercentile
        )
    }
}

/// One input of a [`Correlation`]: whose matches, and where its events keep
/// the group-by values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInput {
    /// The rule or correlation.
    pub source: CorrelationSource,
    /// The field holding each group-by value in this input's events (the
    /// group-by name, or what `aliases` gives for this input), by position.
    pub group_fields: Vec<String>,
}

/// What feeds a [`CorrelationInput`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CorrelationSource {
    /// A rule, by index in [`RuleSet::rules`].
    Rule(usize),
    /// A correlation, by index in [`RuleSet::correlations`] (always an
    /// earlier one: chains have no cycles).
    Correlation(usize),
}

impl RuleSet {
    /// Which rules and correlations report their own matches: not those
    /// referenced by a correlation with `generate: false` (unless another
    /// referencing correlation says `generate: true`). Returns (rules,
    /// correlations), indexed as [`RuleSet::rules`] and [`RuleSet::correlations`].
    ///
    /// ```
    /// use detect_core::ir::*;
    /// let set = RuleSet::default();
    /// assert_eq!(set.reported(), (vec![], vec![]));
    /// ```
    pub fn reported(&self) -> (Vec<bool>, Vec<bool>) {
        let mut rules = vec![None; self.rules.len()];
        let mut correlations = vec![None; self.correlations.len()];
        for c in &self.correlations {
            for input in &c.inputs {
                let slot = match input.source {
                    CorrelationSource::Rule(i) => rules.get_mut(i),
                    CorrelationSource::Correlation(i) => correlations.get_mut(i),
                };
                if let Some(slot) = slot {
                    *slot = Some(slot.unwrap_or(false) || c.generate);
                }
            }
        }
        let done = |v: Vec<Option<bool>>| v.into_iter().map(|r| r.unwrap_or(true)).collect();
        (done(rules), done(correlations))
    }
}
