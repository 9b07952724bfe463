//! Correlations: the engine (`detect::correlation::CorrelationEngine`)
//! against the brute-force reference (`detect::correlation::reference`) on
//! a structured stream: a correlation of any kind (with random condition,
//! group-by, alias, optional chain of a second correlation over it) and up
//! to 64 events (times moving forward, repeating, going back; matched rules;
//! group and value fields present, missing, numeric or not). With a
//! capacity the stream cannot reach, every match must agree; with a small
//! capacity, the state never holds more than it and nothing panics.
#![no_main]

use arbitrary::Arbitrary;
use detect::correlation::CorrelationEngine;
use detect::correlation::reference::{RefEvent, RefMatch, run};
use detect::ir::*;
use detect::{Event, Layout, Value};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Spec {
    kind: u8,
    inputs: [u8; 3],
    n_inputs: u8,
    group: u8,
    alias: bool,
    span: u8,
    op: u8,
    bound: i8,
    range: bool,
    percentile: u8,
    two_fields: bool,
}

#[derive(Arbitrary, Debug)]
struct Ev {
    dt: u8,
    back: u8,
    matched: u8,
    host: Option<u8>,
    user: Option<u8>,
    alias: Option<u8>,
    v: Option<i8>,
    quarter: bool,
    w: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    first: Spec,
    second: Option<Spec>,
    capacity: u8,
    events: Vec<Ev>,
}

const RULES: usize = 4;

fn correlation(s: &Spec, index: usize, chain_from: Option<usize>) -> Correlation {
    let kind = CorrelationKind::ALL[s.kind as usize % 7];
    let n = 1 + s.n_inputs as usize % 3;
    let group_by: Vec<String> = ["host", "user"][..s.group as usize % 3]
        .iter()
        .map(|g| g.to_string())
        .collect();
    let inputs = (0..n)
        .map(|i| {
            let source = match chain_from {
                Some(d) if i == 0 => CorrelationSource::Correlation(d),
                _ => CorrelationSource::Rule(s.inputs[i] as usize % RULES),
            };
            let mut group_fields = group_by.clone();
            if s.alias && i == n - 1 && !group_fields.is_empty() && chain_from.is_none() {
                group_fields[0] = "alias".into();
            }
            CorrelationInput {
                source,
                group_fields,
            }
        })
        .collect();
    let ops = [
        NumOp::Gt,
        NumOp::Ge,
        NumOp::Lt,
        NumOp::Le,
        NumOp::Eq,
        NumOp::Ne,
    ];
    let bound = Number::Int(i64::from(s.bound) % 12);
    let condition = match kind {
        CorrelationKind::TemporalOrdered => vec![(NumOp::Ge, Number::Int(n as i64))],
        _ if s.range => vec![(NumOp::Ge, bound), (NumOp::Le, Number::Int(20))],
        _ => vec![(ops[s.op as usize % 6], bound)],
    };
    let fields = match kind {
        CorrelationKind::ValueCount if s.two_fields => vec!["v".into(), "w".into()],
        k if k.needs_field() => vec!["v".into()],
        _ => vec![],
    };
    Correlation {
        name: format!("c{index}"),
        meta: Metadata::default(),
        kind,
        inputs,
        group_by,
        timespan_ms: 1 + u64::from(s.span % 64),
        condition,
        fields,
        percentile: Some(f64::from(s.percentile % 101)),
        generate: false,
        vocabulary: Vocabulary::Windows,
    }
}

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

fn engine_run(correlations: &[Correlation], events: &[RefEvent], capacity: usize) -> Vec<RefMatch> {
    let mut engine = CorrelationEngine::new(correlations, RULES, capacity);
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
        for c in 0..engine.len() {
            let (groups, items, cap) = engine.usage(c);
            assert!(groups <= cap && items <= cap, "{groups} {items} {cap}");
        }
    }
    out
}

fn sorted(mut v: Vec<RefMatch>) -> Vec<RefMatch> {
    v.sort_by(|a, b| {
        (a.event, a.correlation, &a.group)
            .partial_cmp(&(b.event, b.correlation, &b.group))
            .unwrap()
    });
    v
}

fuzz_target!(|input: Input| {
    let mut correlations = vec![correlation(&input.first, 0, None)];
    if let Some(s) = &input.second {
        correlations.push(correlation(s, 1, Some(0)));
    }
    let mut t = 0i64;
    let events: Vec<RefEvent> = input
        .events
        .iter()
        .take(64)
        .enumerate()
        .map(|(k, e)| {
            t += i64::from(e.dt % 16);
            let mut fields = Vec::new();
            let mut put = |name: &str, v: Option<String>| {
                if let Some(v) = v {
                    fields.push((name.to_string(), v));
                }
            };
            put("host", e.host.map(|h| format!("h{}", h % 3)));
            put("user", e.user.map(|u| format!("u{}", u % 3)));
            put("alias", e.alias.map(|h| format!("h{}", h % 3)));
            put(
                "v",
                e.v.map(|v| match (v % 7, e.quarter) {
                    (6, _) => "x".to_string(),
                    (v, true) => format!("{v}.25"),
                    (v, false) => v.to_string(),
                }),
            );
            put("w", e.w.map(|w| (w % 2).to_string()));
            RefEvent {
                time: t - i64::from(e.back % 4 * 8),
                position: k as u64 + 1,
                matched: (0..RULES).filter(|r| e.matched & (1 << r) != 0).collect(),
                fields,
            }
        })
        .collect();
    let expected = sorted(run(&correlations, &events));
    let got = sorted(engine_run(&correlations, &events, 1 << 12));
    assert_eq!(got, expected, "{correlations:#?}");
    // Small capacities: bounded, no panic.
    engine_run(&correlations, &events, 2 + input.capacity as usize % 6);
});
