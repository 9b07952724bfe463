//! The state behind Sigma correlation rules, fed one event at a time.
//!
//! A [`CorrelationEngine`] holds the windows of every correlation of a rule
//! set ([`crate::ir::Correlation`]). Per event, the caller says which rules
//! matched it (the stateless scan's answer: rule indices) and
//! [`CorrelationEngine::step`] does the rest: reads the event's time and the
//! group-by and value fields each correlation needs, updates the windows,
//! and reports every correlation whose condition the event makes true, with
//! its group, its value and the positions of the events that made it. A
//! correlation that fires feeds the correlations that reference it (chains)
//! in the same step.
//!
//! # Semantics
//!
//! * **Windows slide** per group (the values of the `group-by` fields): the
//!   window of an event at time `t` holds the group's events from
//!   `t - timespan` to `t`, both ends included, so two events exactly
//!   `timespan` apart are in one window. They are not aligned to buckets.
//! * **When it fires**: the condition is checked on every event the
//!   correlation receives, over the window ending at that event. When it
//!   holds, the correlation reports once and the group's window is emptied:
//!   the next report needs new events (a burst of 1,000 failed logons
//!   against `gte: 100` reports 10 times, not 901).
//! * **Group-by**: an event missing a group-by field (or whose value is
//!   null) is not counted (counted in [`CorrelationStats::missing_group`]);
//!   of an array, the first element is the value. Values compare exactly.
//! * **Value fields**: `value_count` counts distinct combinations of its
//!   fields' values (an event missing one is not counted); `value_sum`,
//!   `value_avg` and `value_percentile` read the first value as a number
//!   (a number, or a string holding one), and skip the event otherwise
//!   ([`CorrelationStats::missing_value`]). Integer sums are exact.
//! * **`value_percentile`**: the nearest-rank percentile (the smallest
//!   value with at least `p`% of the window's values at or below it; the
//!   median for 50) of the window's values, compared with the condition.
//! * **`temporal`**: the value is how many inputs matched in the window
//!   (each input counted once, whichever of its events); the condition
//!   defaults to all of them.
//! * **`temporal_ordered`**: fires when the window holds events of every
//!   input in the order written (each event standing for one step, later
//!   steps arriving later); its value is the number of inputs.
//! * **Chains**: a correlation's match is an input of the correlations that
//!   reference it, at the time of the event that fired it; their group-by
//!   fields are read from its group (by name), else from that event.
//! * **Time** is read from the event ([`CorrelationEngine::time_paths`]):
//!   `TimeCreated` where the layout keeps it (`TimeCreated` flat,
//!   `Event.System.TimeCreated.#attributes.SystemTime` for EVTX JSON,
//!   `@timestamp` for ECS), then `@timestamp`, then `UtcTime` (Sysmon's own
//!   field). An event with no readable time is not counted
//!   ([`CorrelationEngine::untimed`]); [`CorrelationEngine::step_at`] takes
//!   the time from the caller instead.
//! * **Late events**: each group keeps the newest time it has seen. An
//!   event older than that by more than the timespan is dropped (counted in
//!   [`CorrelationStats::late`]); a less late one joins the window at its
//!   own time (kept in time order), and the window considered is the one
//!   ending at the group's newest time. `temporal_ordered` drops every
//!   event older than the group's newest (it could not tell the order).
//!
//! # Bounded state
//!
//! Each correlation holds at most `capacity` groups and `capacity` items
//! (events of a window, or distinct values for `value_count`). When either
//! is reached, the least recently updated group is dropped whole; when that
//! group is the one being updated, its oldest item is. Both are counted
//! ([`CorrelationStats::evicted_groups`], `evicted_values`) and can be read
//! with [`CorrelationEngine::stats`]. Memory grows with the state up to the
//! capacity (never beyond it), then is reused: a step allocates nothing
//! once the state has room (a new group's values are copied into strings
//! kept from the group that last held the slot). Per-event cost does not
//! depend on how many events or distinct values a window holds: O(1)
//! amortised for counts and sums (hash lookups, queue pops), O(log n) for
//! percentiles.
//!
//! ```
//! use detect_core::correlation::CorrelationEngine;
//! use detect_core::ir::*;
//! use detect_core::JsonEvent;
//!
//! // Three failed logons (rule 0) for one user within a minute.
//! let correlation = Correlation {
//!     name: "brute_force".into(),
//!     meta: Metadata { title: "Brute force".into(), level: Level::High, ..Default::default() },
//!     kind: CorrelationKind::EventCount,
//!     inputs: vec![CorrelationInput {
//!         source: CorrelationSource::Rule(0),
//!         group_fields: vec!["TargetUserName".into()],
//!     }],
//!     group_by: vec!["TargetUserName".into()],
//!     timespan_ms: 60_000,
//!     condition: vec![(NumOp::Ge, Number::Int(3))],
//!     fields: vec![],
//!     percentile: None,
//!     generate: false,
//!     vocabulary: Vocabulary::Windows,
//! };
//! let mut engine = CorrelationEngine::new(&[correlation], 1, 1000);
//! assert!(!engine.reports_rule(0)); // generate: false
//! let mut fired = Vec::new();
//! for (line, time) in [(1, "10:00:00"), (2, "10:00:30"), (3, "10:01:00")] {
//!     let event = JsonEvent::parse_str(&format!(
//!         r#"{{"TimeCreated": "2024-05-01T{time}Z", "TargetUserName": "bob"}}"#
//!     ))?;
//!     engine.step(&event, line, &[0], |m| {
//!         fired.push((m.group.to_vec(), m.value, m.events.to_vec()))
//!     });
//! }
//! assert_eq!(fired, vec![(vec!["bob".to_string()], 3.0, vec![1, 2, 3])]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod treap;
mod window;

pub mod reference;

use std::hash::{BuildHasher, Hasher, RandomState};

use crate::event::{Event, Value};
use crate::ir::{Correlation, CorrelationKind, CorrelationSource, Vocabulary};
use crate::layout::{Layout, map_field};
use window::{Fired, Observed, Windows};

/// At most this many event positions are reported with a match (the
/// oldest of the window); [`CorrelationMatch::window`] says how many it held.
pub const MAX_REPORTED_EVENTS: usize = 32;

/// What happened in one correlation's state, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    /// Reports made.
    pub fired: u64,
    /// Groups dropped because the capacity was reached.
    pub evicted_groups: u64,
    /// Items (window events, or distinct values) dropped because the
    /// capacity was reached, those of dropped groups included.
    pub evicted_values: u64,
    /// Events dropped as older than their group's window.
    pub late: u64,
    /// Events not counted because a group-by field was missing.
    pub missing_group: u64,
    /// Events not counted because the value field was missing (or not a number).
    pub missing_value: u64,
}

/// A correlation that fired, as [`CorrelationEngine::step`] reports it.
#[derive(Debug)]
pub struct CorrelationMatch<'a> {
    /// Index in the correlations the engine was built from.
    pub correlation: usize,
    /// False when a correlation referencing this one says `generate: false`:
    /// the match feeds that correlation but is not reported on its own.
    pub reported: bool,
    /// The group's values, in `group-by` order.
    pub group: &'a [String],
    /// The measured value: event count, distinct count, number of inputs
    /// matched, sum, average or percentile.
    pub value: f64,
    /// Positions (as given to `step`) of the window's events, oldest first,
    /// at most [`MAX_REPORTED_EVENTS`]; for `value_count`, the latest event
    /// of each distinct value.
    pub events: &'a [u64],
    /// How many events (distinct values for `value_count`, inputs for the
    /// temporal kinds) the window held.
    pub window: usize,
    /// The time of the event that made it fire, in ms since the Unix epoch.
    pub time_ms: i64,
}

/// Where one input's events keep its group-by and value fields.
#[derive(Debug)]
struct InputPlan {
    /// Group-by field paths, per layout (indexed as [`Layout::ALL`]).
    group_paths: [Vec<String>; 3],
    /// For an input fed by a correlation: which of its group values holds
    /// each group-by field (by name), else the event is read.
    group_from_inner: Vec<Option<usize>>,
    /// Value field paths, per layout.
    value_paths: [Vec<String>; 3],
    /// As `group_from_inner`, for the value fields.
    value_from_inner: Vec<Option<usize>>,
}

/// An input to process in this step: correlation, input, and for a chained
/// input the correlation and group slot that fired.
type Pending = (u32, u32, Option<(u32, u32)>);

/// The state of every correlation of a rule set. See the [module
/// documentation](self) for the semantics.
#[derive(Debug)]
pub struct CorrelationEngine {
    kinds: Vec<CorrelationKind>,
    windows: Vec<Windows>,
    plans: Vec<Vec<InputPlan>>,
    by_rule: Vec<Vec<(u32, u32)>>,
    by_correlation: Vec<Vec<(u32, u32)>>,
    reported_rules: Vec<bool>,
    reported_correlations: Vec<bool>,
    time_paths: [Vec<String>; 3],
    pending: Vec<Pending>,
    seq: u64,
    hasher: [RandomState; 2],
    untimed: u64,
}

fn layout_index(layout: Layout) -> usize {
    Layout::ALL.iter().position(|&l| l == layout).unwrap_or(0)
}

fn per_layout(vocabulary: Vocabulary, fields: &[String]) -> [Vec<String>; 3] {
    Layout::ALL.map(|layout| {
        fields
            .iter()
            .map(|f| map_field(vocabulary, layout, f))
            .collect()
    })
}

impl CorrelationEngine {
    /// The state for `correlations` (a [`crate::ir::RuleSet`]'s, whose rules
    /// number `rule_count`), each holding at most `capacity` groups and
    /// `capacity` window items. References out of range are ignored, as is
    /// a correlation input that is not an earlier correlation.
    pub fn new(
        correlations: &[Correlation],
        rule_count: usize,
        capacity: usize,
    ) -> CorrelationEngine {
        let mut by_rule = vec![Vec::new(); rule_count];
        let mut by_correlation = vec![Vec::new(); correlations.len()];
        let mut reported_rules = vec![None; rule_count];
        let mut reported_correlations = vec![None; correlations.len()];
        let mut plans = Vec::with_capacity(correlations.len());
        for (c, corr) in correlations.iter().enumerate() {
            let mut inputs = Vec::new();
            for (i, input) in corr.inputs.iter().enumerate() {
                let (list, flag, inner_names) = match input.source {
                    CorrelationSource::Rule(r) if r < rule_count => {
                        (&mut by_rule[r], &mut reported_rules[r], None)
                    }
                    CorrelationSource::Correlation(d) if d < c => (
                        &mut by_correlation[d],
                        &mut reported_correlations[d],
                        Some(&correlations[d].group_by),
                    ),
                    _ => continue,
                };
                list.push((c as u32, i as u32));
                *flag = Some(flag.unwrap_or(false) || corr.generate);
                let from_inner = |names: &[String]| -> Vec<Option<usize>> {
                    names
                        .iter()
                        .map(|n| inner_names.and_then(|inner| inner.iter().position(|g| g == n)))
                        .collect()
                };
                inputs.push(InputPlan {
                    group_paths: per_layout(corr.vocabulary, &input.group_fields),
                    group_from_inner: from_inner(&input.group_fields),
                    value_paths: per_layout(corr.vocabulary, &corr.fields),
                    value_from_inner: from_inner(&corr.fields),
                });
            }
            plans.push(inputs);
        }
        let windows = correlations
            .iter()
            .map(|c| {
                Windows::new(
                    c.kind,
                    c.timespan_ms,
                    &c.condition,
                    c.percentile.unwrap_or(50.0),
                    c.inputs.len(),
                    capacity,
                )
            })
            .collect();
        let time_paths = Layout::ALL.map(|layout| {
            let mut paths = vec![map_field(Vocabulary::Windows, layout, "TimeCreated")];
            for p in ["@timestamp", "UtcTime"] {
                if !paths.iter().any(|q| q == p) {
                    paths.push(p.to_string());
                }
            }
            paths
        });
        let done = |v: Vec<Option<bool>>| v.into_iter().map(|r| r.unwrap_or(true)).collect();
        CorrelationEngine {
            kinds: correlations.iter().map(|c| c.kind).collect(),
            windows,
            plans,
            by_rule,
            by_correlation,
            reported_rules: done(reported_rules),
            reported_correlations: done(reported_correlations),
            time_paths,
            pending: Vec::with_capacity(16),
            seq: 0,
            hasher: [RandomState::new(), RandomState::new()],
            untimed: 0,
        }
    }

    /// Whether the rule's own matches are reported: false when a
    /// correlation referencing it says `generate: false` (and none says
    /// `true`). A scanner prints a rule's match only when this is true, and
    /// feeds it to [`CorrelationEngine::step`] either way.
    pub fn reports_rule(&self, rule: usize) -> bool {
        self.reported_rules.get(rule).copied().unwrap_or(true)
    }

    /// Whether a correlation's matches are reported (see
    /// [`CorrelationMatch::reported`]).
    pub fn reports_correlation(&self, correlation: usize) -> bool {
        self.reported_correlations
            .get(correlation)
            .copied()
            .unwrap_or(true)
    }

    /// Number of correlations.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when there is no correlation.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether any correlation reads matches of this rule.
    pub fn reads_rule(&self, rule: usize) -> bool {
        self.by_rule.get(rule).is_some_and(|l| !l.is_empty())
    }

    /// Counters of one correlation since construction (or [`Self::clear`]).
    pub fn stats(&self, correlation: usize) -> CorrelationStats {
        self.windows[correlation].stats
    }

    /// Groups and window items held by one correlation, and its capacity.
    pub fn usage(&self, correlation: usize) -> (usize, usize, usize) {
        let w = &self.windows[correlation];
        (w.live_groups(), w.live_items(), w.capacity())
    }

    /// Events given to [`Self::step`] that matched a correlated rule but
    /// had no readable time.
    pub fn untimed(&self) -> u64 {
        self.untimed
    }

    /// The fields the event's time is read from, in order, for events of
    /// `layout`.
    ///
    /// ```
    /// use detect_core::{Layout, correlation::CorrelationEngine};
    /// let engine = CorrelationEngine::new(&[], 0, 16);
    /// assert_eq!(engine.time_paths(Layout::Flat), ["TimeCreated", "@timestamp", "UtcTime"]);
    /// assert_eq!(engine.time_paths(Layout::Ecs), ["@timestamp", "UtcTime"]);
    /// ```
    pub fn time_paths(&self, layout: Layout) -> &[String] {
        &self.time_paths[layout_index(layout)]
    }

    /// Forgets every window and counter (the memory is kept).
    pub fn clear(&mut self) {
        for w in &mut self.windows {
            w.clear();
        }
        self.untimed = 0;
    }

    /// One event at `position` (a line number, a record id...: reported
    /// back in matches), which the rules `matched` (indices, any order)
    /// matched. Reads the time from the event; see [`Self::step_at`].
    pub fn step<E: Event + ?Sized>(
        &mut self,
        event: &E,
        position: u64,
        matched: &[usize],
        mut on_match: impl FnMut(&CorrelationMatch<'_>),
    ) {
        if !matched.iter().any(|&r| self.reads_rule(r)) {
            return;
        }
        let layout = layout_index(event.layout());
        let dyn_event = crate::rt::AsDyn(event);
        let time = self.time_paths[layout]
            .iter()
            .find_map(|p| crate::rt::timestamp_ms(&dyn_event, p));
        match time {
            Some(t) => self.step_at(t, event, position, matched, &mut on_match),
            None => self.untimed += 1,
        }
    }

    /// [`Self::step`] with the event's time given by the caller, in
    /// milliseconds (since the Unix epoch, or any fixed origin).
    pub fn step_at<E: Event + ?Sized>(
        &mut self,
        time_ms: i64,
        event: &E,
        position: u64,
        matched: &[usize],
        mut on_match: impl FnMut(&CorrelationMatch<'_>),
    ) {
        self.seq += 1;
        self.pending.clear();
        for &r in matched {
            if let Some(list) = self.by_rule.get(r) {
                self.pending
                    .extend(list.iter().map(|&(c, i)| (c, i, None::<(u32, u32)>)));
            }
        }
        let dyn_event = crate::rt::AsDyn(event);
        // Correlations in order (a chain's inputs come first), and within
        // one, inputs from last to first, so that one event never stands
        // for two steps of a `temporal_ordered`.
        while let Some(k) = (0..self.pending.len())
            .min_by_key(|&k| (self.pending[k].0, std::cmp::Reverse(self.pending[k].1)))
        {
            let (c, i, inner) = self.pending.swap_remove(k);
            if let Some(slot) = self.feed(c, i, inner, time_ms, &dyn_event, position, &mut on_match)
            {
                for j in 0..self.by_correlation[c as usize].len() {
                    let (d, input) = self.by_correlation[c as usize][j];
                    self.pending.push((d, input, Some((c, slot))));
                }
            }
        }
    }

    /// One input of one correlation; the group slot when it fired.
    #[allow(clippy::too_many_arguments)]
    fn feed(
        &mut self,
        c: u32,
        i: u32,
        inner: Option<(u32, u32)>,
        t: i64,
        event: &dyn Event,
        position: u64,
        on_match: &mut dyn FnMut(&CorrelationMatch<'_>),
    ) -> Option<u32> {
        let c = c as usize;
        let layout = layout_index(event.layout());
        let (done, rest) = self.windows.split_at_mut(c);
        let windows = &mut rest[0];
        let plan = &self.plans[c][i as usize];
        let inner_values: &[String] = match inner {
            Some((d, slot)) => done[d as usize].group_values(slot),
            None => &[],
        };
        // The text of field `k` of a list: from the inner group or the event.
        let with_text = |from_inner: &[Option<usize>],
                         paths: &[String],
                         k: usize,
                         f: &mut dyn FnMut(&str)|
         -> bool {
            if let Some(Some(at)) = from_inner.get(k)
                && let Some(v) = inner_values.get(*at)
            {
                f(v);
                return true;
            }
            let mut found = false;
            event.lookup(&paths[k], &mut |v: Value<'_>| {
                found = v.with_text(&mut *f).is_some();
                true
            });
            found
        };
        let mut a = self.hasher[0].build_hasher();
        let mut b = self.hasher[1].build_hasher();
        let group_paths = &plan.group_paths[layout];
        for k in 0..group_paths.len() {
            let ok = with_text(&plan.group_from_inner, group_paths, k, &mut |t| {
                for h in [&mut a, &mut b] {
                    h.write_usize(t.len());
                    h.write(t.as_bytes());
                }
            });
            if !ok {
                windows.stats.missing_group += 1;
                return None;
            }
        }
        let key = (u128::from(a.finish()) << 64) | u128::from(b.finish());
        let value_paths = &plan.value_paths[layout];
        let observed = match self.kinds[c] {
            CorrelationKind::ValueCount => {
                for h in [&mut a, &mut b] {
                    h.write_u8(0xff);
                }
                for k in 0..value_paths.len() {
                    let ok = with_text(&plan.value_from_inner, value_paths, k, &mut |t| {
                        for h in [&mut a, &mut b] {
                            h.write_usize(t.len());
                            h.write(t.as_bytes());
                        }
                    });
                    if !ok {
                        windows.stats.missing_value += 1;
                        return None;
                    }
                }
                Observed::Distinct((u128::from(a.finish()) << 64) | u128::from(b.finish()))
            }
            CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile => {
                let mut number = None;
                if !value_paths.is_empty() {
                    with_text(&plan.value_from_inner, value_paths, 0, &mut |t| {
                        number = crate::number::parse_number(t);
                    });
                }
                match number {
                    Some(n) => Observed::Num(n),
                    None => {
                        windows.stats.missing_value += 1;
                        return None;
                    }
                }
            }
            _ => Observed::Nothing,
        };
        let mut fill = |values: &mut Vec<String>| {
            values.truncate(group_paths.len());
            for k in 0..group_paths.len() {
                if values.len() <= k {
                    values.push(String::new());
                }
                let slot = &mut values[k];
                slot.clear();
                with_text(&plan.group_from_inner, group_paths, k, &mut |t| {
                    slot.push_str(t)
                });
            }
        };
        let reported = self.reported_correlations[c];
        windows.observe(
            i as usize,
            t,
            position,
            self.seq,
            key,
            &mut fill,
            observed,
            &mut |fired: &Fired<'_>| {
                on_match(&CorrelationMatch {
                    correlation: c,
                    reported,
                    group: fired.group,
                    value: fired.value,
                    events: fired.events,
                    window: fired.window,
                    time_ms: t,
                })
            },
        )
    }
}
