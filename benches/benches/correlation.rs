//! Per-event cost of the correlation engine (criterion).
//!
//! * `correlation/value_count/D`: one `value_count` correlation, one group
//!   whose window holds `D` distinct values (10, 1,000, 100,000), fed events
//!   that each see one of them again (the distinct count stays `D`, nothing
//!   expires, nothing fires). Flat across `D` is the goal: the engine updates
//!   the value's last-seen place instead of recounting the window.
//! * `correlation/sigmahq_50`: 50 correlations written over real SigmaHQ
//!   windows rules (`../shared/data/sigma/rules/windows`, the 50 that match
//!   most often on `../shared/data/events/windows-samples.ndjson`): 20
//!   `event_count` per computer, 15 `value_count` of distinct images per
//!   computer, 15 `temporal_ordered` pairs (rule A then rule B on one
//!   computer). Each event's matched rules are computed beforehand (the
//!   reference interpreter over the whole corpus), so the timing is the
//!   correlations' own cost per event, the events' time included; one pass
//!   over the 14,646 events starts from an empty state (`clear`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use detect::correlation::CorrelationEngine;
use detect::interpreter::Interpreter;
use detect::ir::*;
use detect::{Event, JsonEvent, Layout, Value};
use detect_test_support::shared::shared_data_if_present;

/// An event of one host with one value.
struct Ev(u64);

impl Event for Ev {
    fn layout(&self) -> Layout {
        Layout::Flat
    }
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        match path {
            "Computer" => {
                visit(Value::Str("WS1"));
                true
            }
            "Image" => {
                visit(Value::UInt(self.0));
                true
            }
            _ => false,
        }
    }
}

fn correlation(kind: CorrelationKind, rules: &[usize], span_ms: u64, cond: i64) -> Correlation {
    Correlation {
        name: format!("{}_{}", kind.as_str(), rules[0]),
        meta: Metadata::default(),
        kind,
        inputs: rules
            .iter()
            .map(|&r| CorrelationInput {
                source: CorrelationSource::Rule(r),
                group_fields: vec!["Computer".into()],
            })
            .collect(),
        group_by: vec!["Computer".into()],
        timespan_ms: span_ms,
        condition: vec![(NumOp::Ge, Number::Int(cond))],
        fields: if kind == CorrelationKind::ValueCount {
            vec!["Image".into()]
        } else {
            vec![]
        },
        percentile: None,
        generate: false,
        vocabulary: Vocabulary::Windows,
    }
}

fn value_count(c: &mut Criterion) {
    let mut group = c.benchmark_group("correlation/value_count");
    group.throughput(Throughput::Elements(1_000));
    group.measurement_time(Duration::from_secs(4));
    for distinct in [10u64, 1_000, 100_000] {
        let corr = correlation(CorrelationKind::ValueCount, &[0], 86_400_000, 1_000_000_000);
        let mut engine = CorrelationEngine::new(&[corr], 1, 200_000);
        let mut t = 0i64;
        for v in 0..distinct {
            engine.step_at(t, &Ev(v), 0, &[0], |_| {});
            t += 1;
        }
        assert_eq!(engine.usage(0).1 as u64, distinct);
        let mut next = 0u64;
        group.bench_function(distinct.to_string(), |b| {
            b.iter(|| {
                for _ in 0..1_000 {
                    // A pseudo-random walk over the distinct values.
                    next = (next + 7_919) % distinct;
                    engine.step_at(t, black_box(&Ev(next)), 0, &[0], |_| {});
                    t += 1;
                }
            })
        });
        assert_eq!(
            engine.usage(0).1 as u64,
            distinct,
            "the window kept its values"
        );
        assert_eq!(engine.stats(0).fired, 0);
    }
    group.finish();
}

fn sigmahq_50(c: &mut Criterion) {
    let (Some(rules_dir), Some(events_file)) = (
        shared_data_if_present("sigma/rules/windows"),
        shared_data_if_present("events/windows-samples.ndjson"),
    ) else {
        eprintln!("correlation/sigmahq_50 skipped: ../shared/data is absent");
        return;
    };
    let (set, _) = detect_sigma::load_dir(&rules_dir, &Default::default());
    let interpreter = Interpreter::new(&set).expect("the corpus loads");
    let text = std::fs::read_to_string(events_file).unwrap();
    let events: Vec<JsonEvent> = text
        .lines()
        .filter_map(|l| JsonEvent::parse_str(l).ok())
        .collect();
    let matched: Vec<Vec<usize>> = events.iter().map(|e| interpreter.matches(e)).collect();
    let mut counts = vec![0usize; set.rules.len()];
    for m in &matched {
        for &r in m {
            counts[r] += 1;
        }
    }
    let mut top: Vec<usize> = (0..set.rules.len()).filter(|&r| counts[r] > 0).collect();
    top.sort_by_key(|&r| std::cmp::Reverse(counts[r]));
    top.truncate(50);
    assert!(top.len() >= 16, "too few matching rules: {}", top.len());
    let pick = |k: usize| top[k % top.len()];
    let mut correlations = Vec::new();
    for k in 0..20 {
        correlations.push(correlation(
            CorrelationKind::EventCount,
            &[pick(k)],
            600_000,
            5,
        ));
    }
    for k in 20..35 {
        correlations.push(correlation(
            CorrelationKind::ValueCount,
            &[pick(k)],
            3_600_000,
            10,
        ));
    }
    for k in 35..50 {
        correlations.push(correlation(
            CorrelationKind::TemporalOrdered,
            &[pick(k), pick(k + 1)],
            300_000,
            2,
        ));
    }
    let mut engine = CorrelationEngine::new(&correlations, set.rules.len(), 65_536);
    let mut fired = 0u64;
    for (k, e) in events.iter().enumerate() {
        engine.step(e, k as u64, &matched[k], |_| fired += 1);
    }
    eprintln!(
        "correlation/sigmahq_50: {} events, {} with a match of the 50 rules, {} correlation \
         matches per pass",
        events.len(),
        matched
            .iter()
            .filter(|m| m.iter().any(|r| top.contains(r)))
            .count(),
        fired
    );
    let mut group = c.benchmark_group("correlation");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("sigmahq_50", |b| {
        b.iter(|| {
            engine.clear();
            for (k, e) in events.iter().enumerate() {
                engine.step(black_box(e), k as u64, &matched[k], |m| {
                    black_box(m.value);
                });
            }
        })
    });
    group.finish();
}

criterion_group!(benches, value_count, sigmahq_50);
criterion_main!(benches);
