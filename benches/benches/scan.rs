//! Scanning benchmarks (criterion). See `BENCHMARKS.md` at the workspace root
//! for the results and how to run and report them.
//!
//! Every benchmark scans a whole list of events per iteration and declares
//! `Throughput::ElementsAndBytes` (events, bytes of their NDJSON lines), so
//! criterion prints events/s and MB/s and `benches/report.py` can turn each
//! median into ns/event.
//!
//! * `builtin/real_mix`: the built-in rules over every event, parsed beforehand;
//! * `parse+builtin/real_mix`: the same with parsing in the loop (one reused
//!   `JsonEvent`);
//! * `floor/all_fields`, `floor/routed`: reading every byte of every field the
//!   largest generated rule set looks at (routed: only the fields of the rules
//!   whose log source applies to the event), and nothing else;
//! * `scaling/{N}/{variant}`: one group per generated rule set, one benchmark
//!   per way of running it (`generated`, `unfiltered`, `interpreter`), over
//!   the same events (the slow variants over an evenly spaced sample of them).

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use detect::interpreter::Interpreter;
use detect::{CompiledRuleSet, JsonEvent};
use detect_benches::{
    Corpus, RoutedFields, fields_for, floor_fields, floor_scan, time_fresh_passes,
};
use detect_rules::Builtin;

/// The events, loaded and parsed once per process.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let corpus = Corpus::load();
        eprintln!(
            "detect-benches: {} events, {} bytes, from {}",
            corpus.len(),
            corpus.bytes(),
            corpus.source
        );
        corpus
    })
}

/// A list of events to scan in one iteration, with the bytes of their lines.
struct Events<'a> {
    events: Vec<&'a JsonEvent>,
    bytes: u64,
}

impl<'a> Events<'a> {
    fn all(corpus: &'a Corpus) -> Self {
        Events::every(corpus, 1)
    }

    /// Every `stride`-th event of the corpus (same mix of log sources).
    fn every(corpus: &'a Corpus, stride: usize) -> Self {
        let (events, bytes) = corpus.every(stride);
        Events { events, bytes }
    }

    fn throughput(&self) -> Throughput {
        Throughput::ElementsAndBytes {
            elements: self.events.len() as u64,
            bytes: self.bytes,
        }
    }
}

/// The shortest measurement of a benchmark; longer when ten iterations need more.
const MEASUREMENT: Duration = Duration::from_secs(4);

/// A benchmark group with this suite's settings: ten samples of equal
/// iteration counts and short measurements, so that the whole suite runs in a
/// few minutes on two cores. An iteration is a pass over thousands of events,
/// so each sample is already an average and ten of them give a stable median.
fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(MEASUREMENT);
    g
}

/// Benchmarks `pass` (one pass over a list of events, returning something
/// derived from every result) as benchmark `name` of group `g`. One untimed
/// pass first warms up lazily built state (regexes, prefilter automata) and
/// sizes the measurement so that ten samples fit. The `fresh` events forget
/// their lookup caches before every timed pass ([`time_fresh_passes`]).
fn bench_pass<F: FnMut() -> u64>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    throughput: Throughput,
    fresh: &[&JsonEvent],
    mut pass: F,
) {
    let start = Instant::now();
    black_box(pass());
    g.measurement_time(MEASUREMENT.max(start.elapsed() * 12));
    g.throughput(throughput);
    g.bench_function(name, |b| {
        b.iter_custom(|iters| time_fresh_passes(iters, fresh, &mut pass))
    });
}

/// Benchmarks `scan` (returning the number of matches) over `events`, as
/// benchmark `name` of group `g`. Each variant of a scaling group is one call.
fn variant<F: Fn(&JsonEvent) -> usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    events: &Events<'_>,
    scan: F,
) {
    bench_pass(g, name, events.throughput(), &events.events, || {
        let mut matches = 0usize;
        for event in &events.events {
            matches += scan(black_box(event));
        }
        matches as u64
    });
}

/// Matches of the compiled rule set `R` on one event.
#[inline]
fn generated<R: CompiledRuleSet>(event: &JsonEvent) -> usize {
    let mut n = 0;
    R::scan(event, |_| n += 1);
    n
}

/// The same without dispatch table or prefilter: every rule evaluated in full.
#[inline]
fn unfiltered<R: CompiledRuleSet>(event: &JsonEvent) -> usize {
    let mut n = 0;
    R::scan_unfiltered(event, |_| n += 1);
    n
}

fn builtin(c: &mut Criterion) {
    let corpus = corpus();
    let all = Events::all(corpus);
    let mut g = group(c, "builtin");
    variant(&mut g, "real_mix", &all, generated::<Builtin>);
    g.finish();

    let mut g = group(c, "parse+builtin");
    let mut event = JsonEvent::new();
    bench_pass(&mut g, "real_mix", all.throughput(), &[], || {
        let mut matches = 0u64;
        for line in &corpus.lines {
            event
                .parse(black_box(line.as_bytes()))
                .expect("parsed once already");
            Builtin::scan(&event, |_| matches += 1);
        }
        matches
    });
    g.finish();
}

/// The floors: reading every byte of the fields the largest generated rule
/// set looks at, and nothing else. `all_fields`: every field any of its rules
/// reads, in every event. `routed`: only the fields of the rules whose log
/// source applies to the event (decided beforehand, untimed), plus `Channel`
/// and `EventID`, which routing reads.
fn floor(c: &mut Criterion) {
    let corpus = corpus();
    let all = Events::all(corpus);
    let ir = largest_ir();
    let fields = floor_fields(&ir);
    let routed = RoutedFields::new(&ir, &corpus.events);
    eprintln!(
        "detect-benches: floor over the fields of {} rules: {} fields (flat layout), {} routed lists of {}..={} fields",
        ir.rules.len(),
        fields[0].len(),
        routed.lists.len(),
        routed.lists.iter().map(Vec::len).min().unwrap_or(0),
        routed.lists.iter().map(Vec::len).max().unwrap_or(0),
    );
    let routed: Vec<(&JsonEvent, &[String])> = corpus
        .events
        .iter()
        .zip(&routed.of_event)
        .map(|(e, &i)| (e, routed.lists[i].as_slice()))
        .collect();
    let mut g = group(c, "floor");
    bench_pass(&mut g, "all_fields", all.throughput(), &all.events, || {
        let mut sum = 0u64;
        for event in &all.events {
            sum ^= floor_scan(black_box(*event), fields_for(&fields, *event));
        }
        sum
    });
    bench_pass(&mut g, "routed", all.throughput(), &all.events, || {
        let mut sum = 0u64;
        for (event, fields) in &routed {
            sum ^= floor_scan(black_box(*event), fields);
        }
        sum
    });
    g.finish();
}

/// The IR of the largest rule set built (the floors read its fields).
fn largest_ir() -> detect::ir::RuleSet {
    #[cfg(feature = "large")]
    return detect_benches::Gen5000::ir();
    #[cfg(not(feature = "large"))]
    return detect_benches::Gen1000::ir();
}

/// How many events each variant of a scaling group scans: every event for the
/// generated code, every `n`-th one (an evenly spaced sample with the same mix
/// of log sources) for the slower variants. Criterion's per-element throughput
/// keeps every figure per event.
struct Strides {
    unfiltered: usize,
    interpreter: usize,
}

/// One group per rule set size, `scaling/{N}`, with one benchmark per way of
/// running the same rules: `generated` (`scan`: log source dispatch table,
/// Aho-Corasick prefilter, then the candidate rules), `unfiltered`
/// (`scan_unfiltered`: every rule in full) and `interpreter` (the reference
/// interpreter over the same IR). A further variant is one more `variant` call.
fn scaling<R: CompiledRuleSet>(c: &mut Criterion, strides: Strides) {
    let corpus = corpus();
    let all = Events::all(corpus);
    let (events, matches) = all.events.iter().fold((0, 0), |(ev, m), e| {
        let n = generated::<R>(e);
        (ev + usize::from(n > 0), m + n)
    });
    eprintln!(
        "detect-benches: {} rules: {matches} matches on {events} of {} events",
        R::RULES.len(),
        all.events.len()
    );
    let interpreter = Interpreter::new(&R::ir()).expect("generated IR loads");
    let mut g = group(c, &format!("scaling/{}", R::RULES.len()));
    variant(&mut g, "generated", &all, generated::<R>);
    let sample = Events::every(corpus, strides.unfiltered);
    variant(&mut g, "unfiltered", &sample, unfiltered::<R>);
    let sample = Events::every(corpus, strides.interpreter);
    variant(&mut g, "interpreter", &sample, |e| {
        interpreter.matches(e).len()
    });
    g.finish();
}

fn scaling_10(c: &mut Criterion) {
    let strides = Strides {
        unfiltered: 1,
        interpreter: 1,
    };
    scaling::<detect_benches::Gen10>(c, strides);
}

fn scaling_100(c: &mut Criterion) {
    let strides = Strides {
        unfiltered: 1,
        interpreter: 1,
    };
    scaling::<detect_benches::Gen100>(c, strides);
}

fn scaling_1000(c: &mut Criterion) {
    let strides = Strides {
        unfiltered: 1,
        interpreter: 8,
    };
    scaling::<detect_benches::Gen1000>(c, strides);
}

#[cfg(feature = "large")]
fn scaling_5000(c: &mut Criterion) {
    let strides = Strides {
        unfiltered: 4,
        interpreter: 32,
    };
    scaling::<detect_benches::Gen5000>(c, strides);
}

#[cfg(not(feature = "large"))]
fn scaling_5000(_: &mut Criterion) {
    eprintln!("detect-benches: scaling/5000 skipped (feature `large` is off)");
}

criterion_group!(
    benches,
    builtin,
    floor,
    scaling_10,
    scaling_100,
    scaling_1000,
    scaling_5000
);
criterion_main!(benches);
