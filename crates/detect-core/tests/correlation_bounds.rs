//! Bounded state of the correlation engine: a flood of distinct groups and
//! values stays at the capacity, with evictions counted; and a step
//! allocates nothing once the state has room (counting allocator).

use detect_core::correlation::CorrelationEngine;
use detect_core::ir::*;
use detect_core::{Event, Layout, Value};
use detect_test_support::counting_alloc::{CountingAllocator, thread_allocations as allocations};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// An event with a host and a value, formatted into fixed buffers.
struct Ev {
    host: u64,
    value: u64,
}

impl Event for Ev {
    fn layout(&self) -> Layout {
        Layout::Flat
    }
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        match path {
            "host" => {
                visit(Value::UInt(self.host));
                true
            }
            "v" => {
                visit(Value::UInt(self.value));
                true
            }
            _ => false,
        }
    }
}

fn correlation(kind: CorrelationKind, span: u64) -> Correlation {
    Correlation {
        name: kind.as_str().into(),
        meta: Metadata::default(),
        kind,
        inputs: vec![CorrelationInput {
            source: CorrelationSource::Rule(0),
            group_fields: vec!["host".into()],
        }],
        group_by: vec!["host".into()],
        timespan_ms: span,
        condition: vec![(NumOp::Gt, Number::Int(1_000_000_000))],
        fields: if kind.needs_field() {
            vec!["v".into()]
        } else {
            vec![]
        },
        percentile: None,
        generate: false,
        vocabulary: Vocabulary::Windows,
    }
}

#[test]
fn a_flood_of_distinct_groups_and_values_stays_at_the_capacity() {
    const CAP: usize = 10_000;
    const N: u64 = 1_000_000;
    let mut engine = CorrelationEngine::new(
        &[correlation(CorrelationKind::ValueCount, 3_600_000)],
        1,
        CAP,
    );
    // 1M distinct hosts, each with one value.
    for i in 0..N {
        engine.step_at(i as i64, &Ev { host: i, value: i }, i, &[0], |_| {});
    }
    let (groups, items, cap) = engine.usage(0);
    assert_eq!(cap, CAP);
    assert!(groups <= CAP && items <= CAP, "{groups} {items}");
    let stats = engine.stats(0);
    assert_eq!(stats.evicted_groups, N - groups as u64);
    // 1M distinct values in one host.
    engine.clear();
    for i in 0..N {
        engine.step_at(i as i64, &Ev { host: 7, value: i }, i, &[0], |_| {});
    }
    let (groups, items, _) = engine.usage(0);
    assert_eq!((groups, items), (1, CAP));
    assert_eq!(engine.stats(0).evicted_values, N - CAP as u64);
}

#[test]
fn a_step_allocates_nothing_once_the_state_has_room() {
    for kind in CorrelationKind::ALL {
        let mut c = correlation(kind, 1_000);
        // Windows fire (and are emptied) now and then.
        c.condition = vec![(
            NumOp::Ge,
            Number::Int(if kind == CorrelationKind::ValueSum {
                3000
            } else {
                12
            }),
        )];
        if matches!(
            kind,
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
        ) {
            c.inputs.push(CorrelationInput {
                source: CorrelationSource::Rule(1),
                group_fields: vec!["host".into()],
            });
            c.condition = vec![(NumOp::Ge, Number::Int(2))];
        }
        let mut engine = CorrelationEngine::new(&[c], 2, 4096);
        let mut fired = 0u64;
        let mut run = |engine: &mut CorrelationEngine, from: u64, to: u64| {
            for i in from..to {
                let ev = Ev {
                    host: i % 50,
                    value: i % 3000,
                };
                let matched: &[usize] = if i % 3 == 0 { &[0, 1] } else { &[0] };
                engine.step_at(i as i64, &ev, i, matched, |m| {
                    fired += m.events.len() as u64
                });
            }
        };
        // Warm up: the groups and windows reach their steady size.
        run(&mut engine, 0, 20_000);
        let before = allocations();
        run(&mut engine, 20_000, 60_000);
        let allocated = allocations() - before;
        assert_eq!(
            allocated, 0,
            "{kind:?} allocated {allocated} times in 40,000 steps"
        );
        assert!(fired > 0, "{kind:?} never fired");
    }
}
