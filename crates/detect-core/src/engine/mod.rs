//! The scan engine, written once for every rule set.
//!
//! A compiled rule set is [`Tables`] (plain data: log source dispatch, field
//! paths per layout, prefilter atoms, sequence descriptions) plus
//! [`Predicates`] (one boolean function per rule variant, per log source
//! condition and per sequence stage variant). The engine walks an event
//! through them:
//!
//! ```text
//! event -> layout -> dispatch arm (channel, event ID) -> prefilter marks
//!       -> candidate variants (routed and marked, or without atoms)
//!       -> predicates, in rule order -> matches
//!       -> stage predicates -> join keys -> sequence tables -> completed sequences
//! ```
//!
//! Both doors use it: the `rules!` and `sigma_rules!` macros emit the
//! tables as `static` data and the predicates as Rust functions
//! ([`FnPredicates`]); rules loaded at run time are compiled into the same
//! tables with predicates as programs ([`crate::compile::Program`]). The
//! engine itself never allocates per event: the candidate bitsets live on
//! the stack, `W` words each, a size the generated code fixes exactly and
//! the run-time rule set picks from a few classes ([`crate::runtime`]).
//!
//! Why the candidate selection looks the way it does (dispatch before
//! prefilter, atom groups, the memo of marks) is explained in
//! [`crate::prefilter`] and [`crate::compile`]; the figures are in the
//! project's BENCHMARKS.md and `benches/history/`.

pub mod sequences;
pub mod tables;

pub use sequences::SequenceState;
pub use tables::{
    ChannelArms, DispatchTable, FieldAtoms, NO_SOURCE, PrefilterTables, SequenceSpec, Tables,
    VariantTables, words_for,
};

use crate::event::Event;
use crate::layout::Layout;
use crate::prefilter::{Prefilter, for_each_bit};
use crate::rt::{List, MultiValued, Text, channel_of, event_id_of};

/// The predicates of a compiled rule set, by index: `paths` are the event
/// paths of the rule set's fields in the event's layout
/// ([`Tables::paths`]).
pub trait Predicates: Send + Sync {
    /// The body of rule variant `index` (with its log source condition when
    /// the dispatch table cannot stand for it).
    fn variant(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool;
    /// Log source condition `index` (see [`VariantTables::variant_source`]).
    fn source(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool;
    /// Stage variant `index` of the sequences (log source condition included).
    fn stage(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool;
    /// Builds what the predicates build on first use (regexes, sets).
    fn warm_up(&self) {}
}

/// A predicate compiled to Rust by the macros.
pub type PredicateFn = fn(&dyn Event, &[Text]) -> bool;

/// The predicates of generated code: tables of functions.
#[derive(Clone, Copy, Debug)]
pub struct FnPredicates {
    /// One function per rule variant.
    pub variants: &'static [PredicateFn],
    /// One function per log source condition.
    pub sources: &'static [PredicateFn],
    /// One function per stage variant.
    pub stages: &'static [PredicateFn],
    /// Builds the generated code's regexes and sets.
    pub warm_up: fn(),
}

impl Predicates for FnPredicates {
    #[inline]
    fn variant(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.variants[index](event, paths)
    }
    #[inline]
    fn source(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.sources[index](event, paths)
    }
    #[inline]
    fn stage(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.stages[index](event, paths)
    }
    fn warm_up(&self) {
        (self.warm_up)()
    }
}

/// A compiled rule set ready to scan: its tables, its predicates, and the
/// prefilter automata (built per field at first use).
#[derive(Debug)]
pub struct Engine<P> {
    tables: Tables,
    predicates: P,
    rule_prefilters: [Prefilter; 3],
    stage_prefilters: [Prefilter; 3],
    /// Per dispatch arm of the rules, the words of its mask that can be
    /// non-zero (`lo..hi`): candidate loops walk those words only, not the
    /// whole bitset, which is sized for the atom groups as well and can be
    /// several times longer than an arm's span.
    rule_spans: Vec<(u32, u32)>,
    /// The same for the sequence stages.
    stage_spans: Vec<(u32, u32)>,
}

/// `lo..hi` of the non-zero words of each arm's mask (`0..0` when empty).
fn arm_spans(masks: &[List<u64>]) -> Vec<(u32, u32)> {
    masks
        .iter()
        .map(|mask| {
            let lo = mask.iter().position(|&w| w != 0);
            let hi = mask.iter().rposition(|&w| w != 0);
            match (lo, hi) {
                (Some(lo), Some(hi)) => (lo as u32, hi as u32 + 1),
                _ => (0, 0),
            }
        })
        .collect()
}

/// Calls `f` with the index of every bit set in `bits[lo..hi]` (indices of
/// the whole bitset).
#[inline]
fn for_each_bit_in(bits: &[u64], (lo, hi): (u32, u32), mut f: impl FnMut(usize)) {
    let (lo, hi) = (lo as usize, hi as usize);
    for_each_bit(&bits[lo..hi], |i| f(lo * 64 + i));
}

/// Index of a layout in per-layout tables.
#[inline]
pub fn layout_index(layout: Layout) -> usize {
    match layout {
        Layout::Flat => 0,
        Layout::EvtxNested => 1,
        Layout::Ecs => 2,
    }
}

/// The arm of `event` in `dispatch`: `Err` when the channel, or the event ID
/// that the channel routes on, has several values (then every variant is
/// evaluated in full).
#[inline]
fn route(
    dispatch: &DispatchTable,
    event: &dyn Event,
    layout: Layout,
) -> Result<usize, MultiValued> {
    if dispatch.channels.is_empty() {
        return Ok(dispatch.other_arm as usize);
    }
    let [channel_path, event_id_path] = layout.dispatch_paths();
    let channel = channel_of(event, channel_path, &dispatch.channels)?;
    // The event ID is read only for channels with per-ID arms: elsewhere
    // the channel alone picks the arm (and most events of a mixed stream
    // come from channels no rule routes on).
    let event_id = match channel {
        Some(c) if dispatch.channel_has_ids(c) => event_id_of(event, event_id_path)?,
        _ => None,
    };
    Ok(dispatch.arm(channel, event_id))
}

impl<P: Predicates> Engine<P> {
    /// The engine of a compiled rule set. Builds nothing yet: automata are
    /// built per field at first use, or by [`Engine::warm_up`].
    pub fn new(tables: Tables, predicates: P) -> Engine<P> {
        let prefilters =
            |v: &VariantTables| [0, 1, 2].map(|l| Prefilter::new(v.prefilters[l].fields.clone()));
        Engine {
            rule_prefilters: prefilters(&tables.rules),
            stage_prefilters: prefilters(&tables.stages),
            rule_spans: arm_spans(&tables.rules.dispatch.masks),
            stage_spans: arm_spans(&tables.stages.dispatch.masks),
            tables,
            predicates,
        }
    }

    /// The tables.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The predicates.
    pub fn predicates(&self) -> &P {
        &self.predicates
    }

    /// Builds every automaton and what the predicates build on first use,
    /// and the calling thread's memo table of the prefilter (another thread
    /// allocates its own at its first scan).
    pub fn warm_up(&self) {
        for p in self.rule_prefilters.iter().chain(&self.stage_prefilters) {
            p.warm_up();
        }
        self.predicates.warm_up();
        crate::prefilter::memo::prepare_thread();
    }

    /// Calls `sink` with the index of every rule that matches `event`, in
    /// rule order. `W` is the number of words of the candidate bitsets (at
    /// least [`Tables::bitset_words`]; generated code passes it exactly).
    /// Allocates nothing.
    #[inline]
    pub fn scan<const W: usize>(&self, event: &dyn Event, sink: &mut dyn FnMut(usize)) {
        debug_assert!(W >= self.tables.bitset_words());
        event.prefetch_dispatch();
        let layout = event.layout();
        let paths = &self.tables.paths[layout_index(layout)];
        let mut candidates = [0u64; W];
        let Some(span) = self.candidates::<W>(event, layout, &mut candidates) else {
            // A multi-valued channel or event ID: everything in full.
            return self.scan_unfiltered_at(event, paths, sink);
        };
        let rules = &self.tables.rules;
        let mut last = usize::MAX;
        for_each_bit_in(&candidates, span, |rv| {
            let rule = rules.variant_target[rv] as usize;
            if rule != last && self.predicates.variant(rv, event, paths) {
                last = rule;
                sink(rule);
            }
        });
    }

    /// Same verdicts as [`Engine::scan`], evaluating every rule variant in
    /// full, without routing or prefilter (for tests and benchmarks).
    pub fn scan_unfiltered(&self, event: &dyn Event, sink: &mut dyn FnMut(usize)) {
        let paths = &self.tables.paths[layout_index(event.layout())];
        self.scan_unfiltered_at(event, paths, sink)
    }

    fn scan_unfiltered_at(&self, event: &dyn Event, paths: &[Text], sink: &mut dyn FnMut(usize)) {
        let rules = &self.tables.rules;
        let mut last = usize::MAX;
        for rv in 0..rules.variant_target.len() {
            let rule = rules.variant_target[rv] as usize;
            if rule == last {
                continue;
            }
            let source = rules.variant_source[rv];
            if (source == NO_SOURCE || self.predicates.source(source as usize, event, paths))
                && self.predicates.variant(rv, event, paths)
            {
                last = rule;
                sink(rule);
            }
        }
    }

    /// Sets in `candidates` the rule variants to evaluate on `event`: those
    /// its dispatch arm holds that have a hit atom (in every group of one
    /// of their alternatives) or none, and returns the words that can hold
    /// them (the arm's span). `None` when the channel or event ID has
    /// several values: then every rule is evaluated in full.
    #[inline]
    fn candidates<const W: usize>(
        &self,
        event: &dyn Event,
        layout: Layout,
        candidates: &mut [u64; W],
    ) -> Option<(u32, u32)> {
        let rules = &self.tables.rules;
        let Ok(arm) = route(&rules.dispatch, event, layout) else {
            return None;
        };
        let span = self.rule_spans[arm];
        if span.0 == span.1 {
            return Some(span);
        }
        // Rules apply: they are about to read the event's fields.
        event.prefetch();
        let l = layout_index(layout);
        let mut marked = [0u64; W];
        self.rule_prefilters[l].mark_fields(
            event,
            &rules.prefilters[l].arm_fields[arm],
            &mut marked,
        );
        let mask = &rules.dispatch.masks[arm];
        let words = span.0 as usize..span.1 as usize;
        for w in words.clone() {
            candidates[w] = (marked[w] | rules.atomless[w]) & mask[w];
        }
        // Variants with several atom groups need a hit in each group of
        // one of their alternatives.
        let hit = |g: u32| marked[g as usize / 64] & (1 << (g % 64)) != 0;
        for w in words {
            let word = candidates[w];
            let mut keep = word;
            for_each_bit(&[word], |b| {
                let alternatives = &rules.alternatives[w * 64 + b];
                if !alternatives.is_empty()
                    && !alternatives.iter().any(|alt| alt.iter().all(|&g| hit(g)))
                {
                    keep &= !(1 << b);
                }
            });
            candidates[w] = keep;
        }
        Some(span)
    }

    /// Diagnostics of the prefilter: calls `f(variant, rule, atomless)` for
    /// every rule variant [`Engine::scan`] would evaluate on `event`.
    /// Returns false, without calling `f`, when the event's channel or event
    /// ID has several values (then `scan` evaluates every rule in full).
    pub fn candidates_of<const W: usize>(
        &self,
        event: &dyn Event,
        f: &mut dyn FnMut(usize, usize, bool),
    ) -> bool {
        let mut candidates = [0u64; W];
        let Some(span) = self.candidates::<W>(event, event.layout(), &mut candidates) else {
            return false;
        };
        let rules = &self.tables.rules;
        for_each_bit_in(&candidates, span, |rv| {
            let atomless = rules.atomless[rv / 64] & (1 << (rv % 64)) != 0;
            f(rv, rules.variant_target[rv] as usize, atomless)
        });
        true
    }

    /// Diagnostics: evaluates rule variant `variant` on `event` as `scan` does.
    pub fn eval_variant(&self, variant: usize, event: &dyn Event) -> bool {
        let paths = &self.tables.paths[layout_index(event.layout())];
        self.predicates.variant(variant, event, paths)
    }

    /// Sets in `hits` (a bitset of stage units) the units `event` satisfies:
    /// dispatch, prefilter, then only the candidate stage predicates.
    #[inline]
    fn stage_hits<const W: usize>(&self, event: &dyn Event, hits: &mut [u64; W]) {
        let stages = &self.tables.stages;
        let layout = event.layout();
        let l = layout_index(layout);
        let paths = &self.tables.paths[l];
        let mut eval = |sv: usize| {
            let unit = stages.variant_target[sv] as usize;
            if hits[unit / 64] & (1 << (unit % 64)) == 0 && self.predicates.stage(sv, event, paths)
            {
                hits[unit / 64] |= 1 << (unit % 64);
            }
        };
        let Ok(arm) = route(&stages.dispatch, event, layout) else {
            // A multi-valued channel or event ID: every stage in full.
            for sv in 0..stages.variant_target.len() {
                eval(sv);
            }
            return;
        };
        let span = self.stage_spans[arm];
        if span.0 == span.1 {
            return;
        }
        let mask = &stages.dispatch.masks[arm];
        let mut marked = [0u64; W];
        self.stage_prefilters[l].mark_fields(
            event,
            &stages.prefilters[l].arm_fields[arm],
            &mut marked,
        );
        let mut candidates = [0u64; W];
        for w in span.0 as usize..span.1 as usize {
            candidates[w] = (marked[w] | stages.atomless[w]) & mask[w];
        }
        let hit = |g: u32| marked[g as usize / 64] & (1 << (g % 64)) != 0;
        for_each_bit_in(&candidates, span, |sv| {
            let alternatives = &stages.alternatives[sv];
            if alternatives.is_empty() || alternatives.iter().any(|alt| alt.iter().all(|&g| hit(g)))
            {
                eval(sv);
            }
        });
    }

    /// Fresh state for the sequence rules, holding at most `capacity`
    /// pending sequences per rule (the oldest is evicted beyond that).
    pub fn sequences(&self, capacity: usize) -> SequenceState {
        SequenceState::new(&self.tables, capacity)
    }

    /// Feeds one event to every sequence rule (see [`SequenceState`]):
    /// `time_ms` is the event's time, or `None` to read its `@timestamp`;
    /// `sink` gets the sequence's index and the positions of the events of
    /// each completed sequence. Allocates nothing.
    pub fn step<const W: usize>(
        &self,
        state: &mut SequenceState,
        event: &dyn Event,
        time_ms: Option<i64>,
        pos: u64,
        sink: &mut dyn FnMut(usize, &[u64]),
    ) {
        if self.tables.sequences.is_empty() {
            return;
        }
        let mut hits = [0u64; W];
        self.stage_hits::<W>(event, &mut hits);
        if hits.iter().all(|w| *w == 0) {
            return;
        }
        let paths = &self.tables.paths[layout_index(event.layout())];
        state.apply(&self.tables, event, paths, &hits, time_ms, pos, sink);
    }
}
