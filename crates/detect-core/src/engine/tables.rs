//! The description of a compiled rule set that the engine walks.
//!
//! Everything here is plain data: numbers, text and lists, each list a
//! [`List`] (a `Cow`) so that one type serves both doors. Generated code
//! (`rules!`, `sigma_rules!`) writes these tables as `static` items that
//! borrow static arrays, with nothing to build at start-up; a rule set
//! compiled at run time ([`crate::compile`]) owns its lists. The engine
//! ([`super::Engine`]) reads them the same way in both cases.
//!
//! Bitsets are `u64` words, bit `i % 64` of word `i / 64`.
//!
//! Large tables (SigmaHQ's windows corpus: hundreds of thousands of list
//! entries) are written by the macros as one compact byte string instead
//! ([`Tables::to_bytes`], read back by [`Tables::from_bytes`] when the
//! engine is first used): as nested `static` arrays of `Cow`s (which have
//! drop glue, so rustc cannot promote them to constants) the compiler needed
//! more than 23 GB to build the corpus.

use serde::{Deserialize, Serialize};

use crate::ir::Joins;
pub use crate::prefilter::FieldAtoms;
use crate::rt::{List, Text};

/// Marks a variant without a log source condition of its own in
/// [`VariantTables::variant_source`].
pub const NO_SOURCE: u32 = u32::MAX;

/// A compiled rule set: its rules' variants, its sequences' stage variants,
/// the event path of every field it reads in each layout, and its
/// sequences.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tables {
    /// Number of (stateless) rules; rule indices are below it.
    pub rule_count: u32,
    /// The rule variants (a rule under one of its log source variants) and
    /// how events are routed to them.
    pub rules: VariantTables,
    /// The stage variants of the sequences (a stage or `until` condition of
    /// a sequence, the *unit*, under one of its log source variants).
    pub stages: VariantTables,
    /// The event path of every field, per layout (in the order of
    /// [`crate::Layout::ALL`]); predicates name fields by index.
    pub paths: [List<Text>; 3],
    /// The sequence rules.
    pub sequences: List<SequenceSpec>,
    /// The field index of the event time that sequences read (`@timestamp`).
    pub timestamp_field: u32,
}

/// Variants of rules (or of sequence stages) and the tables that select
/// the ones worth evaluating for an event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VariantTables {
    /// What each variant stands for: its rule's index (for stages, its unit).
    pub variant_target: List<u32>,
    /// For each variant, the index of its log source predicate (evaluated
    /// only when the dispatch table cannot stand for it), or [`NO_SOURCE`].
    pub variant_source: List<u32>,
    /// Variants without a usable atom (bitset): evaluated whenever routed.
    pub atomless: List<u64>,
    /// For each variant, alternatives of atom groups: it is a candidate
    /// when every group of one alternative has a hit. Empty: the hit of
    /// the group numbered like the variant is enough.
    pub alternatives: List<List<List<u32>>>,
    /// Number of atom groups (group ids below it; the first ones are the
    /// variants' own ids).
    pub group_count: u32,
    /// Routing by (channel, event ID).
    pub dispatch: DispatchTable,
    /// The prefilter of each layout (in the order of [`crate::Layout::ALL`]).
    pub prefilters: [PrefilterTables; 3],
}

/// Routing of events by (channel, event ID) to the variants whose log
/// source can apply: each *arm* has a bitset of variants.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DispatchTable {
    /// Channel names routed on, lowercase ASCII (compared
    /// case-insensitively, as a log source's `Channel` test is).
    pub channels: List<Text>,
    /// For each channel, its arms.
    pub channel_arms: List<ChannelArms>,
    /// The arm of an event from any other channel (or none).
    pub other_arm: u32,
    /// For each arm, the variants that can apply (bitset).
    pub masks: List<List<u64>>,
}

/// The arms of one channel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChannelArms {
    /// `(event ID, arm)`, sorted by event ID: events with those IDs.
    pub by_event_id: List<(u32, u32)>,
    /// The arm of the channel's other events.
    pub other: u32,
}

/// The prefilter of one layout: the atoms of each field table, and which
/// tables each dispatch arm scans.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PrefilterTables {
    /// Field tables (a field may have several: one shared by every arm and
    /// smaller ones for arms whose share of its atoms is small).
    pub fields: List<FieldAtoms>,
    /// For each dispatch arm, the indices of the field tables it scans.
    pub arm_fields: List<List<u32>>,
}

/// One sequence rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SequenceSpec {
    /// Number of stages.
    pub stages: u32,
    /// Every event of a sequence within this many milliseconds of the first.
    pub maxspan_ms: Option<u64>,
    /// How events join.
    pub joins: Joins,
    /// The unit of each stage, then of `until` if the sequence has one.
    pub units: List<u32>,
    /// For each of `units`, the field indices of its join keys.
    pub keys: List<List<u32>>,
    /// Whether the last of `units` is `until`.
    pub has_until: bool,
}

impl DispatchTable {
    /// The arm of an event of channel `channel` (an index into
    /// [`DispatchTable::channels`]) and event ID `event_id`.
    #[inline]
    pub fn arm(&self, channel: Option<usize>, event_id: Option<u32>) -> usize {
        let Some(arms) = channel.and_then(|c| self.channel_arms.get(c)) else {
            return self.other_arm as usize;
        };
        let by_id = &arms.by_event_id;
        match event_id {
            Some(id) if !by_id.is_empty() => match by_id.binary_search_by_key(&id, |&(i, _)| i) {
                Ok(at) => by_id[at].1 as usize,
                Err(_) => arms.other as usize,
            },
            _ => arms.other as usize,
        }
    }

    /// Whether some arm of channel `channel` routes on event IDs (otherwise
    /// the event ID need not be read).
    #[inline]
    pub fn channel_has_ids(&self, channel: usize) -> bool {
        self.channel_arms
            .get(channel)
            .is_some_and(|a| !a.by_event_id.is_empty())
    }
}

/// Number of `u64` words of a bitset of `bits` bits (at least one).
pub const fn words_for(bits: usize) -> usize {
    if bits == 0 { 1 } else { bits.div_ceil(64) }
}

impl Tables {
    /// The tables as a compact byte string (for [`Tables::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Tables written by [`Tables::to_bytes`] (by the same version of detect).
    ///
    /// ```
    /// use detect_core::{compile::compile, engine::Tables, ir::RuleSet};
    /// let tables = compile(&RuleSet::default()).unwrap().tables;
    /// let again = Tables::from_bytes(&tables.to_bytes());
    /// assert_eq!(again.rule_count, 0);
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Tables {
        postcard::from_bytes(bytes).unwrap_or_else(|e| {
            // The bytes were written at compile time from the same types;
            // failing here means mismatched crate versions.
            panic!("detect: embedded engine tables do not match this detect-core version: {e}")
        })
    }

    /// Words of the largest bitset a scan keeps on its stack: of the rule
    /// variants, their atom groups, the stage variants and theirs.
    pub fn bitset_words(&self) -> usize {
        [
            self.rules.variant_target.len(),
            self.rules.group_count as usize,
            self.stages.variant_target.len(),
            self.stages.group_count as usize,
        ]
        .into_iter()
        .map(words_for)
        .max()
        .unwrap_or(1)
    }

    /// Number of stage units (stages and `until` conditions of every sequence).
    pub fn unit_count(&self) -> usize {
        self.sequences.iter().map(|s| s.units.len()).sum()
    }
}
