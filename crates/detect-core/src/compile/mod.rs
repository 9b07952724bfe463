//! IR -> tables + predicates: the compile step both doors share.
//!
//! [`compile`] turns a [`RuleSet`](crate::ir::RuleSet) into the engine's [`Tables`](crate::engine::Tables) and one
//! predicate expression per rule variant, log source condition and
//! sequence stage variant ([`Compiled`]). The macros write the tables as
//! `static` data and the predicates as Rust functions; the run-time rule
//! set ([`crate::runtime`]) keeps the tables and compiles the predicates to
//! [`Program`]s. Both go through [`plan()`], which decides how each
//! predicate's tests are grouped (one lookup per field, sets for long
//! lists), so both run the same calls.
//!
//! The unit of evaluation is a *rule variant*: a rule under one of its log
//! source variants (process_creation = Sysmon 1 or Security 4688). The
//! dispatch table routes an event by (channel, event ID) to the variants
//! whose log source can apply; the prefilter marks variants whose required
//! atoms occur, one automaton pass per field; only variants both routed and
//! marked (or without atoms) are evaluated, in rule order. Sequence rules
//! get the same treatment per stage: each stage (and `until`) is a *unit*,
//! lowered into stage variants with a dispatch table and prefilter of their
//! own over the same field table.

//!
//! The passes, in the order a rule goes through them:
//!
//! * [`pattern`], [`modifiers`] and [`sigma`]: the meaning of one Sigma
//!   detection item (wildcards, value modifiers, field|modifier: value) as
//!   IR tests; the front ends call them while they build the IR;
//! * [`logsource`]: which events a rule's log source selects, per vocabulary;
//! * [`lower`]: a rule's detection and log source as one expression per
//!   event layout, with field names mapped ([`crate::layout`]);
//! * [`atoms`]: the literals a rule variant cannot match without, for the
//!   prefilter;
//! * [`tables`]: the engine's tables and the predicates ([`compile()`]);
//! * [`plan`](mod@plan) and [`program`]: how each predicate's tests run, and the
//!   small programs the run-time rule set evaluates them with.

pub mod atoms;
pub mod logsource;
pub mod lower;
pub mod modifiers;
pub mod pattern;
pub mod plan;
pub mod program;
pub mod sigma;
pub mod tables;

pub use plan::{Node, plan};
pub use program::Program;
pub use tables::{CompileError, Compiled, FieldTable, Predicate, TIMESTAMP, compile};
