//! # detect-core
//!
//! The runtime shared by everything in detect:
//!
//! * [`ir`]: the rule IR every front end lowers into;
//! * [`event`]: the [`Event`] trait (borrowed field access) and the NDJSON adapter;
//! * [`layout`] and [`logsource`]: where rule fields live in each event layout and
//!   which events a rule's log source selects; [`lower`] combines both into one
//!   expression per layout;
//! * [`matcher`]: the allocation-free string, wildcard, CIDR and numeric
//!   primitives that generated code calls;
//! * [`sigma`], [`modifiers`] and [`pattern`]: the meaning of Sigma detection items,
//!   compile-time expansion of value modifiers and parsing of wildcard strings;
//! * [`atoms`] and [`prefilter`]: required literals of each rule and the
//!   Aho-Corasick pass that decides which rules to evaluate;
//! * [`sequence`]: the bounded keyed table behind sequence rules;
//! * [`correlation`]: the bounded sliding windows behind Sigma correlation rules;
//! * [`interpreter`]: the slow, obviously correct reference evaluator of the IR.
//!
//! Users normally depend on the `detect` facade crate, which re-exports this one
//! together with the `rules!` macro.

pub mod atoms;
pub mod compile;
pub mod correlation;
pub mod engine;
pub mod event;
pub mod interpreter;
pub mod ir;
pub mod layout;
pub mod logsource;
pub mod lower;
pub mod matcher;
pub mod modifiers;
pub mod number;
pub mod pattern;
pub mod prefilter;
pub mod rt;
pub mod ruleset;
pub mod runtime;
pub mod sequence;
pub mod sigma;

pub use event::{Event, Single, Value, json::JsonEvent};
pub use layout::Layout;
pub use ruleset::{CompiledRuleSet, LogSourceInfo, RuleInfo};
