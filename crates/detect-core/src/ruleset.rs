//! What generated rule sets look like from the outside.
//!
//! The `rules!` macro emits a type implementing [`CompiledRuleSet`], with one
//! static [`RuleInfo`] per rule. Generic consumers (the CLI, the conformance
//! tests, benchmarks) work through this trait.

use crate::event::Event;
use crate::ir::{Level, RuleSet, Status};

/// Static metadata of a compiled rule, available without any allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Position in the rule set.
    pub index: usize,
    /// The rule's identifier in the DSL.
    pub name: &'static str,
    /// Stable id (UUID for Sigma rules).
    pub id: Option<&'static str>,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: Option<&'static str>,
    /// Severity.
    pub level: Level,
    /// Maturity.
    pub status: Option<Status>,
    /// Tags.
    pub tags: &'static [&'static str],
    /// References.
    pub references: &'static [&'static str],
    /// Known false positives.
    pub falsepositives: &'static [&'static str],
    /// Author.
    pub author: Option<&'static str>,
    /// Log source.
    pub logsource: LogSourceInfo,
}

/// Static log source of a compiled rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSourceInfo {
    /// Product (`windows`).
    pub product: Option<&'static str>,
    /// Category (`process_creation`).
    pub category: Option<&'static str>,
    /// Service (`sysmon`).
    pub service: Option<&'static str>,
}

impl core::fmt::Display for LogSourceInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let parts: Vec<&str> = [self.product, self.category, self.service]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            f.write_str("any")
        } else {
            f.write_str(&parts.join("/"))
        }
    }
}

/// A rule set compiled to Rust by the `rules!` macro.
///
/// `scan` is the fast path: it evaluates every rule against one event and calls
/// `sink` for each match, in rule order, without allocating. `ir` returns the
/// IR the code was generated from, for the reference interpreter.
pub trait CompiledRuleSet {
    /// Metadata of every rule, indexed by [`RuleInfo::index`].
    const RULES: &'static [RuleInfo];

    /// Reports every rule that matches `event`.
    fn scan<E: Event + ?Sized, F: FnMut(&'static RuleInfo)>(event: &E, sink: F);

    /// Same verdicts as [`CompiledRuleSet::scan`], evaluating every rule in
    /// full, without log source routing or prefilter (for tests and benchmarks).
    fn scan_unfiltered<E: Event + ?Sized, F: FnMut(&'static RuleInfo)>(event: &E, sink: F);

    /// The IR of the rule set (built at run time; not for the hot path).
    fn ir() -> RuleSet;

    /// Builds what `scan` otherwise builds on first use (prefilter automata,
    /// regexes, `contains` sets), so that the first events are not slower.
    fn warm_up();
}
