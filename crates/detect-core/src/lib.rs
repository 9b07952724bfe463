//! # detect-core
//!
//! Everything behind detect's rules, in the order a rule goes through it:
//!
//! 1. **IR** ([`ir`]): the rules as data, what every front end (the macros,
//!    Sigma YAML, EQL) produces.
//! 2. **Compile time** ([`compile`]): the passes from IR to what the engine
//!    runs: Sigma detection-item semantics, log sources, lowering per event
//!    [`layout`], prefilter atoms, and finally the engine's tables and one
//!    predicate per rule variant. The macros run these passes at build time;
//!    [`runtime`] runs them when rules are loaded while a program runs.
//! 3. **Run time**, the hot path: [`engine`] walks the tables for each
//!    [`Event`] ([`event`]: the trait and the NDJSON adapter), using the
//!    [`prefilter`] automata to skip rules whose required literals are
//!    absent and the [`matcher`] primitives and [`rt`] functions that
//!    predicates call; [`sequence`] and [`correlation`] hold the bounded
//!    state of sequence and correlation rules; [`ruleset`] is the trait
//!    every generated rule set implements.
//! 4. **Reference** ([`interpreter`]): the slow, obviously correct evaluator
//!    of the IR, the oracle the engine is tested against.
//!
//! The hot path never imports from [`compile`]: the data both sides need
//! (the prefilter's keyword field and byte scores, field layouts, number
//! parsing) lives on the run-time side or in [`layout`] and [`number`].
//! Only [`runtime`], the door that compiles rules while a program runs,
//! calls into [`compile`].
//!
//! Users normally depend on the `detect` facade crate, which re-exports this one
//! together with the `rules!` macro.

#![warn(missing_docs)]

pub mod compile;
pub mod correlation;
pub mod engine;
pub mod event;
pub mod interpreter;
pub mod ir;
pub mod layout;
pub mod matcher;
pub mod number;
pub mod prefilter;
pub mod rt;
pub mod ruleset;
pub mod runtime;
pub mod sequence;

pub use event::{Event, Single, Value, json::JsonEvent};
pub use layout::Layout;
pub use ruleset::{CompiledRuleSet, LogSourceInfo, RuleInfo};
