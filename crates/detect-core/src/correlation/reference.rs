//! A brute-force reference for [`super::CorrelationEngine`]: for every
//! event, the window is recomputed from the whole list of events so far.
//! Quadratic and allocating, but short enough to be checked by reading
//! against the semantics of the [module documentation](super). The tests
//! and the fuzz target run it against the engine on random streams.
//!
//! Events are given already matched: their time, the rules they matched and
//! their fields (flat names, one text value each). Capacity is unbounded
//! here (no eviction); compare it with an engine whose capacity the stream
//! cannot reach.
//!
//! ```
//! use detect_core::correlation::reference::{RefEvent, run};
//! use detect_core::ir::*;
//! let c = Correlation {
//!     name: "c".into(),
//!     meta: Metadata::default(),
//!     kind: CorrelationKind::EventCount,
//!     inputs: vec![CorrelationInput { source: CorrelationSource::Rule(0), group_fields: vec![] }],
//!     group_by: vec![],
//!     timespan_ms: 10,
//!     condition: vec![(NumOp::Ge, Number::Int(2))],
//!     fields: vec![],
//!     percentile: None,
//!     generate: false,
//!     vocabulary: Vocabulary::Windows,
//! };
//! let ev = |time, position| RefEvent { time, position, matched: vec![0], fields: vec![] };
//! let matches = run(&[c], &[ev(0, 1), ev(11, 2), ev(21, 3)]);
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].events, vec![2, 3]);
//! ```

use crate::ir::{Correlation, CorrelationKind, CorrelationSource, Number};

use super::MAX_REPORTED_EVENTS;
use super::window::holds;

/// One event as the reference sees it.
#[derive(Clone, Debug)]
pub struct RefEvent {
    /// Time in ms.
    pub time: i64,
    /// Position reported in matches.
    pub position: u64,
    /// Rules it matched.
    pub matched: Vec<usize>,
    /// Field names and text values.
    pub fields: Vec<(String, String)>,
}

/// A correlation match found by [`run`].
#[derive(Clone, Debug, PartialEq)]
pub struct RefMatch {
    /// Index of the event (in the list given) that made it fire.
    pub event: usize,
    /// The correlation.
    pub correlation: usize,
    /// Group values.
    pub group: Vec<String>,
    /// Measured value.
    pub value: f64,
    /// Positions reported (oldest first, at most [`MAX_REPORTED_EVENTS`];
    /// for `temporal_ordered`, left empty: several chains may qualify).
    pub events: Vec<u64>,
    /// Size of the window (as [`super::CorrelationMatch::window`]).
    pub window: usize,
}

/// One input occurrence: an event (or a correlation match) for one input.
struct Occurrence {
    event: usize,
    input: usize,
    group: Vec<String>,
    value: Option<Vec<String>>,
}

/// Every correlation match of `events`, in the order the engine reports
/// them (event by event, correlations in order).
pub fn run(correlations: &[Correlation], events: &[RefEvent]) -> Vec<RefMatch> {
    let mut all: Vec<RefMatch> = Vec::new();
    for (c, corr) in correlations.iter().enumerate() {
        let occurrences = occurrences(corr, c, events, &all, correlations);
        all.extend(evaluate(corr, c, events, &occurrences));
    }
    all.sort_by_key(|m| (m.event, m.correlation));
    all
}

fn field<'a>(
    name: &str,
    event: &'a RefEvent,
    inner: Option<(&'a [String], &'a [String])>,
) -> Option<&'a str> {
    if let Some((names, values)) = inner
        && let Some(k) = names.iter().position(|n| n == name)
    {
        return Some(&values[k]);
    }
    event
        .fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn occurrences(
    corr: &Correlation,
    c: usize,
    events: &[RefEvent],
    earlier: &[RefMatch],
    correlations: &[Correlation],
) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for (e, event) in events.iter().enumerate() {
        // Inputs from last to first within one event, as the engine feeds them.
        for (i, input) in corr.inputs.iter().enumerate().rev() {
            let sources: Vec<Option<(&[String], &[String])>> = match input.source {
                CorrelationSource::Rule(r) => {
                    if event.matched.contains(&r) {
                        vec![None]
                    } else {
                        vec![]
                    }
                }
                CorrelationSource::Correlation(d) if d < c => earlier
                    .iter()
                    .filter(|m| m.correlation == d && m.event == e)
                    .map(|m| Some((&correlations[d].group_by[..], &m.group[..])))
                    .collect(),
                CorrelationSource::Correlation(_) => vec![],
            };
            for inner in sources {
                let group: Option<Vec<String>> = input
                    .group_fields
                    .iter()
                    .map(|f| field(f, event, inner).map(str::to_string))
                    .collect();
                let Some(group) = group else { continue };
                let value = if corr.kind.needs_field() {
                    let v: Option<Vec<String>> = corr
                        .fields
                        .iter()
                        .map(|f| field(f, event, inner).map(str::to_string))
                        .collect();
                    let Some(v) = v else { continue };
                    if corr.kind != CorrelationKind::ValueCount
                        && crate::number::parse_number(&v[0]).is_none()
                    {
                        continue;
                    }
                    Some(v)
                } else {
                    None
                };
                out.push(Occurrence {
                    event: e,
                    input: i,
                    group,
                    value,
                });
            }
        }
    }
    out
}

fn evaluate(
    corr: &Correlation,
    c: usize,
    events: &[RefEvent],
    occ: &[Occurrence],
) -> Vec<RefMatch> {
    let span = i64::try_from(corr.timespan_ms).unwrap_or(i64::MAX);
    let time = |o: &Occurrence| events[o.event].time;
    let mut out = Vec::new();
    // Per occurrence: dropped as late; per group: clock and reset point.
    let mut dropped = vec![false; occ.len()];
    let mut groups: Vec<(Vec<String>, i64, usize)> = Vec::new();
    for (k, o) in occ.iter().enumerate() {
        let t = time(o);
        let g = match groups.iter().position(|(key, _, _)| *key == o.group) {
            Some(g) => g,
            None => {
                groups.push((o.group.clone(), t, 0));
                groups.len() - 1
            }
        };
        let (_, clock, reset) = groups[g].clone();
        let new_clock = clock.max(t);
        let low = new_clock.saturating_sub(span);
        if t < low || (corr.kind == CorrelationKind::TemporalOrdered && t < clock) {
            dropped[k] = true;
            continue;
        }
        groups[g].1 = new_clock;
        let window: Vec<usize> = (reset..=k)
            .filter(|&j| !dropped[j] && occ[j].group == o.group && time(&occ[j]) >= low)
            .collect();
        // In time order, ties in arrival order.
        let mut by_time = window.clone();
        by_time.sort_by_key(|&j| (time(&occ[j]), j));
        let number = |j: usize| {
            crate::number::parse_number(&occ[j].value.as_ref().expect("a value")[0])
                .expect("a number")
        };
        let (value, reported): (f64, Vec<usize>) = match corr.kind {
            CorrelationKind::EventCount => (window.len() as f64, by_time.clone()),
            CorrelationKind::ValueSum | CorrelationKind::ValueAvg => {
                let mut ints: i128 = 0;
                let mut floats = 0.0;
                for &j in &window {
                    match number(j) {
                        Number::Int(i) => ints += i128::from(i),
                        Number::Float(f) => floats += f,
                    }
                }
                let sum = ints as f64 + floats;
                let v = if corr.kind == CorrelationKind::ValueSum {
                    sum
                } else {
                    sum / window.len() as f64
                };
                (v, by_time.clone())
            }
            CorrelationKind::ValuePercentile => {
                let mut values: Vec<f64> = window
                    .iter()
                    .map(|&j| match number(j) {
                        Number::Int(i) => i as f64,
                        Number::Float(f) => f,
                    })
                    .collect();
                values.sort_by(f64::total_cmp);
                let n = values.len() as f64;
                let p = corr.percentile.unwrap_or(50.0);
                let rank = ((p / 100.0) * n).ceil().clamp(1.0, n) as usize;
                (values[rank - 1], by_time.clone())
            }
            CorrelationKind::ValueCount => {
                // The latest sighting of each distinct value.
                let mut latest: Vec<usize> = Vec::new();
                for &j in &by_time {
                    match latest.iter().position(|&l| occ[l].value == occ[j].value) {
                        Some(p) => latest[p] = j,
                        None => latest.push(j),
                    }
                }
                latest.sort_by_key(|&j| (time(&occ[j]), j));
                (latest.len() as f64, latest)
            }
            CorrelationKind::Temporal => {
                let mut firsts: Vec<usize> = Vec::new();
                let mut matched = 0;
                for i in 0..corr.inputs.len() {
                    let last = window
                        .iter()
                        .filter(|&&j| occ[j].input == i)
                        .max_by_key(|&&j| (time(&occ[j]), j));
                    if let Some(&j) = last {
                        matched += 1;
                        if !firsts.iter().any(|&f| occ[f].event == occ[j].event) {
                            firsts.push(j);
                        }
                    }
                }
                firsts.sort_by_key(|&j| time(&occ[j]));
                (f64::from(matched), firsts)
            }
            CorrelationKind::TemporalOrdered => {
                let n = corr.inputs.len();
                if o.input != n - 1 || !ordered_chain(occ, &window, n, k) {
                    continue;
                }
                (n as f64, Vec::new())
            }
        };
        if !corr
            .condition
            .iter()
            .all(|&(op, b)| holds(value, op, crate::correlation::window::number_f64(b)))
        {
            continue;
        }
        let window_len = match corr.kind {
            CorrelationKind::TemporalOrdered => corr.inputs.len(),
            _ => reported.len(),
        };
        out.push(RefMatch {
            event: o.event,
            correlation: c,
            group: o.group.clone(),
            value,
            events: reported
                .iter()
                .take(MAX_REPORTED_EVENTS)
                .map(|&j| events[occ[j].event].position)
                .collect(),
            window: window_len,
        });
        groups[g].2 = k + 1;
    }
    out
}

/// Whether occurrences of `window` (in arrival order) hold a chain of
/// inputs 0, 1, ..., n-1 ending with occurrence `last`.
fn ordered_chain(occ: &[Occurrence], window: &[usize], n: usize, last: usize) -> bool {
    // reach[j]: some chain of inputs 0..=input(j) ends at occurrence j.
    let mut reach: Vec<usize> = Vec::new();
    for &j in window {
        let i = occ[j].input;
        let ok = i == 0
            || reach
                .iter()
                .any(|&p| occ[p].input == i - 1 && p < j && occ[p].event != occ[j].event);
        if ok {
            reach.push(j);
        }
        if j == last {
            return ok && i == n - 1;
        }
    }
    false
}
