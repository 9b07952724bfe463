//! The SigmaHQ windows corpus compiled to native code (`detect_sigmahq::SigmaHqWindows`,
//! every supported rule of `../shared/data/sigma/rules/windows`) over the real
//! event mix, side by side with the reference interpreter on the same rules.
//! Needs the feature `sigmahq` (it compiles the corpus):
//!
//! ```text
//! cargo bench -p detect-benches --features sigmahq --bench sigmahq
//! ```
//!
//! Group `sigmahq/{N}` (N rules), every benchmark one pass over a list of
//! events parsed beforehand, with `Throughput::ElementsAndBytes` (events and
//! bytes of their NDJSON lines: criterion prints events/s and bytes/s,
//! `benches/report.py` ns/event):
//!
//! * `generated`: `scan` (log source dispatch table, Aho-Corasick prefilter,
//!   then the candidate rules) over every event;
//! * `parse+generated`: the same with parsing each line in the loop (one
//!   reused `JsonEvent`);
//! * `shuffled/generated`: `scan` over the same events in a fixed
//!   pseudo-random order, parsed in that order (an interleaved stream: the
//!   file groups the events of each source file, often near-identical);
//! * `unfiltered`: `scan_unfiltered`, every rule in full, over every 8th event;
//! * `interpreter`: the reference interpreter over every 64th event (the
//!   same mix of log sources; per-event figures stay comparable);
//! * `floor/line`: no matching at all, [`detect_benches::floor_line`] (a
//!   sum of every byte of each event's line): what reading each event once costs in a pass over the corpus
//!   (any engine reads at least this much: a keyword rule applies to every
//!   event and looks at every value);
//! * `floor/routed`: no matching either, [`detect_benches::floor_scan`] of
//!   the fields read by the rules whose log source applies to the event
//!   (`RoutedFields`, chosen per event outside the timing): what an engine
//!   that evaluates every routed rule without a prefilter pays just to find
//!   and read its fields.
//!
//! `BENCHMARKS.md` has the results.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect_benches::{Corpus, RoutedFields, floor_line, floor_scan, time_fresh_passes};
use detect_sigmahq::SigmaHqWindows;

/// The shortest measurement of a benchmark; longer when ten iterations need more.
const MEASUREMENT: Duration = Duration::from_secs(5);

fn sigmahq(c: &mut Criterion) {
    let corpus = Corpus::load();
    eprintln!(
        "detect-benches: {} events, {} bytes, from {}",
        corpus.len(),
        corpus.bytes(),
        corpus.source
    );
    let (matched, matches) = corpus.events.iter().fold((0, 0), |(ev, m), e| {
        let mut n = 0;
        SigmaHqWindows::scan(e, |_| n += 1);
        (ev + usize::from(n > 0), m + n)
    });
    eprintln!(
        "detect-benches: SigmaHQ windows, {} rules: {matches} matches on {matched} of {} events",
        SigmaHqWindows::LEN,
        corpus.len()
    );
    let interpreter = Interpreter::new(&SigmaHqWindows::ir()).expect("generated IR loads");

    let mut g = c.benchmark_group(format!("sigmahq/{}", SigmaHqWindows::LEN));
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1));
    // `fresh`: the pre-parsed events the pass reads, which forget their
    // lookup caches before every timed pass (`time_fresh_passes`).
    let mut bench = |name: &str,
                     stride: usize,
                     fresh: Option<&[&JsonEvent]>,
                     pass: &mut dyn FnMut(&[&JsonEvent]) -> u64| {
        let (events, bytes) = corpus.every(stride);
        let start = Instant::now();
        black_box(pass(&events));
        g.measurement_time(MEASUREMENT.max(start.elapsed() * 12));
        g.throughput(Throughput::ElementsAndBytes {
            elements: events.len() as u64,
            bytes,
        });
        let fresh = fresh.unwrap_or(&events);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| time_fresh_passes(iters, fresh, || pass(&events)))
        });
    };
    bench("generated", 1, None, &mut |events| {
        let mut n = 0u64;
        for e in events {
            SigmaHqWindows::scan(black_box(*e), |_| n += 1);
        }
        n
    });
    let shuffled = corpus.shuffled();
    let (shuffled_events, _) = shuffled.every(1);
    bench("shuffled/generated", 1, Some(&shuffled_events), &mut |_| {
        let mut n = 0u64;
        for e in &shuffled_events {
            SigmaHqWindows::scan(black_box(*e), |_| n += 1);
        }
        n
    });
    let mut event = JsonEvent::new();
    bench("parse+generated", 1, Some(&[]), &mut |_| {
        let mut n = 0u64;
        for line in &corpus.lines {
            event
                .parse(black_box(line.as_bytes()))
                .expect("parsed once already");
            SigmaHqWindows::scan(&event, |_| n += 1);
        }
        n
    });
    // The same rules compiled at run time into the same engine (predicates
    // as programs rather than generated functions).
    let runtime = RuntimeRuleSet::compile(SigmaHqWindows::ir()).expect("generated IR compiles");
    runtime.warm_up();
    bench("runtime", 1, None, &mut |events| {
        let mut n = 0u64;
        for e in events {
            runtime.scan(black_box(*e), |_| n += 1);
        }
        n
    });
    bench("unfiltered", 8, None, &mut |events| {
        let mut n = 0u64;
        for e in events {
            SigmaHqWindows::scan_unfiltered(black_box(*e), |_| n += 1);
        }
        n
    });
    bench("interpreter", 64, None, &mut |events| {
        events
            .iter()
            .map(|e| interpreter.matches(black_box(*e)).len() as u64)
            .sum()
    });
    bench("floor/line", 1, None, &mut |events| {
        events
            .iter()
            .fold(0u64, |sum, e| sum ^ floor_line(black_box(*e)))
    });
    let routed = RoutedFields::new(&SigmaHqWindows::ir(), &corpus.events);
    bench("floor/routed", 1, None, &mut |events| {
        events
            .iter()
            .zip(&routed.of_event)
            .fold(0u64, |sum, (e, &list)| {
                sum.rotate_left(1) ^ floor_scan(black_box(*e), &routed.lists[list])
            })
    });
    g.finish();
}

criterion_group!(benches, sigmahq);
criterion_main!(benches);
