//! The correlation engine against the brute-force reference
//! (`detect_core::correlation::reference`) on random streams: random
//! correlations of every kind (random conditions, ranges, group-by fields,
//! chains of two), random events (repeated times, late events, missing
//! fields, non-numeric values). Every match must agree: event, group,
//! value, reported events, window size.

use detect_core::correlation::CorrelationEngine;
use detect_core::correlation::reference::{RefEvent, RefMatch, run};
use detect_core::ir::*;
use detect_core::{Event, Layout, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A flat event over the reference's fields.
struct Flat<'a>(&'a [(String, String)]);

impl Event for Flat<'_> {
    fn layout(&self) -> Layout {
        Layout::Flat
    }
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        match self.0.iter().find(|(n, _)| n == path) {
            Some((_, v)) => {
                visit(Value::Str(v));
                true
            }
            None => false,
        }
    }
}

const RULES: usize = 4;
const GROUP_FIELDS: [&str; 2] = ["host", "user"];

fn random_condition(rng: &mut Rng, scale: i64) -> Vec<(NumOp, Number)> {
    let ops = [
        NumOp::Gt,
        NumOp::Ge,
        NumOp::Lt,
        NumOp::Le,
        NumOp::Eq,
        NumOp::Ne,
    ];
    let bound = |rng: &mut Rng| {
        let b = rng.below(scale as usize + 1) as i64;
        if rng.below(4) == 0 {
            Number::Float(b as f64 + 0.5)
        } else {
            Number::Int(b)
        }
    };
    match rng.below(5) {
        // A range: a lower and an upper bound.
        0 => vec![
            (
                if rng.below(2) == 0 {
                    NumOp::Gt
                } else {
                    NumOp::Ge
                },
                bound(rng),
            ),
            (
                if rng.below(2) == 0 {
                    NumOp::Lt
                } else {
                    NumOp::Le
                },
                Number::Int(scale * 2),
            ),
        ],
        _ => vec![(ops[rng.below(ops.len())], bound(rng))],
    }
}

fn random_correlation(rng: &mut Rng, index: usize, chain_from: Option<usize>) -> Correlation {
    let kind = CorrelationKind::ALL[rng.below(7)];
    let n_inputs = match kind {
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => 1 + rng.below(3),
        _ => 1 + rng.below(2),
    };
    let n_group = rng.below(3);
    let group_by: Vec<String> = GROUP_FIELDS[..n_group]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let inputs = (0..n_inputs)
        .map(|i| {
            let source = match chain_from {
                Some(d) if i == 0 => CorrelationSource::Correlation(d),
                _ => CorrelationSource::Rule(rng.below(RULES)),
            };
            // Sometimes an alias: this input keeps the first group-by
            // value in another field.
            let mut group_fields = group_by.clone();
            if !group_fields.is_empty() && rng.below(4) == 0 && chain_from.is_none() {
                group_fields[0] = "alias".into();
            }
            CorrelationInput {
                source,
                group_fields,
            }
        })
        .collect();
    let condition = match kind {
        CorrelationKind::Temporal => {
            if rng.below(2) == 0 {
                vec![(NumOp::Ge, Number::Int(n_inputs as i64))]
            } else {
                random_condition(rng, n_inputs as i64)
            }
        }
        CorrelationKind::TemporalOrdered => vec![(NumOp::Ge, Number::Int(n_inputs as i64))],
        CorrelationKind::ValueSum => random_condition(rng, 30),
        CorrelationKind::ValueAvg | CorrelationKind::ValuePercentile => random_condition(rng, 8),
        _ => random_condition(rng, 5),
    };
    let fields = if kind.needs_field() {
        if kind == CorrelationKind::ValueCount && rng.below(3) == 0 {
            vec!["v".into(), "w".into()]
        } else {
            vec!["v".into()]
        }
    } else {
        vec![]
    };
    Correlation {
        name: format!("c{index}"),
        meta: Metadata::default(),
        kind,
        inputs,
        group_by,
        timespan_ms: 1 + rng.below(40) as u64,
        condition,
        fields,
        percentile: (kind == CorrelationKind::ValuePercentile)
            .then(|| [0.0, 25.0, 50.0, 90.0, 100.0][rng.below(5)]),
        generate: rng.below(2) == 0,
        vocabulary: Vocabulary::Windows,
    }
}

fn random_events(rng: &mut Rng, n: usize) -> Vec<RefEvent> {
    let mut t = 0i64;
    (0..n)
        .map(|k| {
            t += [0, 0, 1, 2, 3, 5, 8, 20][rng.below(8)];
            // Now and then a late event.
            let time = if rng.below(10) == 0 {
                t - rng.below(50) as i64
            } else {
                t
            };
            let matched = (0..RULES).filter(|_| rng.below(3) == 0).collect();
            let mut fields = Vec::new();
            for (name, values) in [("host", 2), ("user", 3), ("alias", 2), ("v", 6), ("w", 2)] {
                if rng.below(12) == 0 {
                    continue; // missing
                }
                let value = match (name, rng.below(10)) {
                    ("v", 0) => "x".to_string(),
                    ("v", 1) => format!("{}.25", rng.below(values)),
                    ("v", 2) => format!("-{}", rng.below(values)),
                    _ => (rng.below(values)).to_string(),
                };
                let value = if name == "alias" || name == "host" {
                    format!("h{value}")
                } else {
                    value
                };
                fields.push((name.to_string(), value));
            }
            RefEvent {
                time,
                position: k as u64 + 1,
                matched,
                fields,
            }
        })
        .collect()
}

fn engine_matches(correlations: &[Correlation], events: &[RefEvent]) -> Vec<RefMatch> {
    let mut engine = CorrelationEngine::new(correlations, RULES, 1 << 16);
    let mut out = Vec::new();
    for (e, ev) in events.iter().enumerate() {
        engine.step_at(ev.time, &Flat(&ev.fields), ev.position, &ev.matched, |m| {
            let ordered = correlations[m.correlation].kind == CorrelationKind::TemporalOrdered;
            out.push(RefMatch {
                event: e,
                correlation: m.correlation,
                group: m.group.to_vec(),
                value: m.value,
                events: if ordered { vec![] } else { m.events.to_vec() },
                window: m.window,
            });
        });
    }
    out
}

fn sort(v: &mut [RefMatch]) {
    v.sort_by(|a, b| {
        (a.event, a.correlation, &a.group)
            .partial_cmp(&(b.event, b.correlation, &b.group))
            .unwrap()
    });
}

#[test]
fn the_engine_agrees_with_the_brute_force_reference() {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let mut fired = [0usize; 7];
    for round in 0..3000 {
        let first = random_correlation(&mut rng, 0, None);
        let mut correlations = vec![first];
        if rng.below(3) == 0 {
            let second = random_correlation(&mut rng, 1, Some(0));
            correlations.push(second);
        }
        let n = 1 + rng.below(120);
        let events = random_events(&mut rng, n);
        let mut expected = run(&correlations, &events);
        let mut got = engine_matches(&correlations, &events);
        sort(&mut expected);
        sort(&mut got);
        assert_eq!(
            got, expected,
            "round {round}\ncorrelations: {correlations:#?}\nevents: {events:?}"
        );
        for m in &got {
            fired[correlations[m.correlation].kind as usize] += 1;
        }
    }
    // Every kind fired often enough for the comparison to mean something.
    for (kind, n) in CorrelationKind::ALL.iter().zip(fired) {
        assert!(n > 100, "{kind:?} fired only {n} times");
    }
}

/// With a capacity of 2 to 7, the random streams fill the state: it never
/// holds more than its capacity and nothing panics (a group left with no
/// window items once made eviction take an item from an empty queue).
#[test]
fn a_small_capacity_bounds_the_state_without_panicking() {
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    for _ in 0..3000 {
        let mut correlations = vec![random_correlation(&mut rng, 0, None)];
        if rng.below(3) == 0 {
            correlations.push(random_correlation(&mut rng, 1, Some(0)));
        }
        let n = 1 + rng.below(120);
        let events = random_events(&mut rng, n);
        let capacity = 2 + rng.below(6);
        let mut engine = CorrelationEngine::new(&correlations, RULES, capacity);
        for ev in &events {
            engine.step_at(ev.time, &Flat(&ev.fields), ev.position, &ev.matched, |_| {});
            for c in 0..engine.len() {
                let (groups, items, cap) = engine.usage(c);
                assert!(groups <= cap && items <= cap, "{groups} {items} {cap}");
            }
        }
    }
}
