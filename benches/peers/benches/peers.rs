//! detect against rsigma and sigma-rust on the same Sigma rules and the same
//! real events (criterion). See the "Peer engines" section of `BENCHMARKS.md`.
//!
//! For each case (1: seed + msiexec rules; 2 with feature `corpus`: every
//! SigmaHQ windows rule), before any timing, each peer's verdicts are
//! compared with detect's rule by rule and event by event; a peer is then
//! timed only on the rules where it agrees with detect on every event, while
//! detect runs its whole pack (so detect does at least as much work).
//!
//! Per event, each peer gets the rules whose log source applies to the event
//! (its arm), found inside the timing from the event's `Channel` and
//! `EventID` read through the peer's own event type (`detect_peers::Router`),
//! as detect's `scan` does with its dispatch table. Benchmarks, per case `c`:
//!
//! * `c/detect`, `c/rsigma`, `c/sigma-rust`: events parsed beforehand into
//!   each engine's own event type;
//! * `c/detect-runtime`: detect's run-time engine (`RuntimeRuleSet`, the
//!   same IR compiled when the bench starts, predicates as programs), whose
//!   verdicts are first checked equal to the generated code's on every event;
//! * `parse+c/...`: the same with each engine parsing the NDJSON line in the
//!   loop.
//!
//! A counting global allocator gives the allocations per event of each
//! engine, measured over one pass outside criterion.

#[path = "../harness/mod.rs"]
mod harness;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use detect::runtime::RuntimeRuleSet;
use detect::{CompiledRuleSet, JsonEvent};
use detect_peers::{Events, Pack, Router, Routing};
use detect_test_support::counting_alloc::{CountingAllocator, process_allocations};
use harness::{Loaded, Peer, Rsigma, SigmaRust, Tau, compare, detect_verdicts, peer_events, route};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations per event of one pass of `f` over `n` events.
fn allocs_per_event(n: usize, f: impl FnOnce()) -> f64 {
    let before = process_allocations();
    f();
    (process_allocations() - before) as f64 / n as f64
}

const MEASUREMENT: Duration = Duration::from_secs(4);

fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(MEASUREMENT);
    g
}

/// Benchmarks one pass (`pass` returns a count derived from every verdict)
/// over `events` events of `bytes` bytes.
fn bench_pass<F: FnMut() -> u64>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    events: usize,
    bytes: u64,
    pass: F,
) {
    bench_fresh_pass(g, name, events, bytes, || {}, pass);
}

/// Like [`bench_pass`], calling `before`, untimed, before every timed pass
/// (detect's events parsed beforehand forget what lookups cached in the
/// previous pass, `JsonEvent::forget_lookups`, so that each pass costs what
/// the first scan after a parse costs).
fn bench_fresh_pass<B: FnMut(), F: FnMut() -> u64>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    events: usize,
    bytes: u64,
    mut before: B,
    mut pass: F,
) {
    let start = Instant::now();
    black_box(pass());
    g.measurement_time(MEASUREMENT.max(start.elapsed() * 12));
    g.throughput(Throughput::ElementsAndBytes {
        elements: events as u64,
        bytes,
    });
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                before();
                let start = Instant::now();
                black_box(pass());
                spent += start.elapsed();
            }
            spent
        })
    });
}

/// Every `stride`-th event index (the same mix of log sources).
fn sample(n: usize, stride: usize) -> Vec<usize> {
    (0..n).step_by(stride).collect()
}

/// One peer on one case: the agreement check, then the timings on the rules
/// where it agrees, on every `stride`-th event.
fn peer_case<P: Peer>(
    c: &mut Criterion,
    case: &str,
    pack: &Pack,
    events: &Events,
    routing: &Routing,
    detect: &[Vec<usize>],
    stride: usize,
) {
    let loaded = Loaded::<P>::new(pack);
    let evs = peer_events::<P>(events, routing);
    let agreement = compare(&loaded, routing, detect, &evs);
    let agreeing = (0..pack.ir.rules.len())
        .filter(|&i| agreement.agrees(&loaded, i))
        .count();
    let engines = loaded.engines(routing, |i| agreement.agrees(&loaded, i));
    let router =
        Router::new(events, routing).expect("log sources look at Channel and EventID only");
    let idx = sample(events.len(), stride);
    let bytes: u64 = idx.iter().map(|&i| events.lines[i].len() as u64).sum();
    let mut out = Vec::new();
    let allocs = allocs_per_event(idx.len(), || {
        for &i in &idx {
            out.clear();
            route::<P>(&router, &engines, &evs[i], &mut out);
        }
    });
    let parse_allocs = allocs_per_event(idx.len(), || {
        for &i in &idx {
            let ev = P::parse(&events.lines[i]).expect("parsed once already");
            out.clear();
            route::<P>(&router, &engines, &ev, &mut out);
        }
    });
    eprintln!(
        "detect-peers: [{case}] {}: loaded {} rules, {} in common with detect, {} agree on every event \
         (timed on those), {} disagree; {} events timed (every {stride}th); {allocs:.1} allocations/event, \
         {parse_allocs:.1} with parsing",
        P::NAME,
        loaded.loaded,
        loaded.common(),
        agreeing,
        agreement.disagreements.len(),
        idx.len()
    );
    let mut g = group(c, case);
    bench_pass(&mut g, P::NAME, idx.len(), bytes, || {
        let mut n = 0u64;
        for &i in &idx {
            out.clear();
            route::<P>(&router, &engines, black_box(&evs[i]), &mut out);
            n += out.len() as u64;
        }
        n
    });
    g.finish();
    let mut g = group(c, &format!("parse+{case}"));
    bench_pass(&mut g, P::NAME, idx.len(), bytes, || {
        let mut n = 0u64;
        for &i in &idx {
            let ev = P::parse(black_box(&events.lines[i])).expect("parsed once already");
            out.clear();
            route::<P>(&router, &engines, &ev, &mut out);
            n += out.len() as u64;
        }
        n
    });
    g.finish();
}

/// detect's compiled pack `R` on every event.
fn detect_case<R: CompiledRuleSet>(c: &mut Criterion, case: &str, events: &Events) {
    let n = events.len();
    let bytes = events.bytes();
    let allocs = allocs_per_event(n, || {
        for e in &events.detect {
            R::scan(e, |r| {
                black_box(r);
            });
        }
    });
    let mut scratch = JsonEvent::new();
    let parse_allocs = allocs_per_event(n, || {
        for line in &events.lines {
            scratch.parse(line.as_bytes()).expect("parsed once already");
            R::scan(&scratch, |r| {
                black_box(r);
            });
        }
    });
    eprintln!(
        "detect-peers: [{case}] detect: {} rules, {n} events timed; {allocs:.3} allocations/event, \
         {parse_allocs:.3} with parsing (one reused JsonEvent)",
        R::RULES.len()
    );
    let mut g = group(c, case);
    let forget = || {
        for e in &events.detect {
            e.forget_lookups();
        }
    };
    bench_fresh_pass(&mut g, "detect", n, bytes, forget, || {
        let mut m = 0u64;
        for e in &events.detect {
            R::scan(black_box(e), |_| m += 1);
        }
        m
    });
    g.finish();
    let mut g = group(c, &format!("parse+{case}"));
    bench_pass(&mut g, "detect", n, bytes, || {
        let mut m = 0u64;
        for line in &events.lines {
            scratch
                .parse(black_box(line.as_bytes()))
                .expect("parsed once already");
            R::scan(&scratch, |_| m += 1);
        }
        m
    });
    g.finish();
}

/// detect's run-time engine on the pack's IR, every event; its verdicts must
/// equal the generated code's (`detect`) before anything is timed.
fn runtime_case(
    c: &mut Criterion,
    case: &str,
    pack: &Pack,
    events: &Events,
    detect: &[Vec<usize>],
) {
    let runtime =
        RuntimeRuleSet::compile(pack.ir.clone()).expect("the pack's IR compiles at run time");
    runtime.warm_up();
    for (i, (e, want)) in events.detect.iter().zip(detect).enumerate() {
        let mut got = Vec::new();
        runtime.scan(e, |r| got.push(r));
        got.sort_unstable();
        assert_eq!(
            &got, want,
            "[{case}] run-time engine against generated code on event {i}"
        );
    }
    let n = events.len();
    let bytes = events.bytes();
    let allocs = allocs_per_event(n, || {
        for e in &events.detect {
            runtime.scan(e, |r| {
                black_box(r);
            });
        }
    });
    eprintln!(
        "detect-peers: [{case}] detect-runtime: {} rules, same verdicts as the generated code on all {n} events; \
         {allocs:.3} allocations/event",
        pack.ir.rules.len()
    );
    let mut g = group(c, case);
    let forget = || {
        for e in &events.detect {
            e.forget_lookups();
        }
    };
    bench_fresh_pass(&mut g, "detect-runtime", n, bytes, forget, || {
        let mut m = 0u64;
        for e in &events.detect {
            runtime.scan(black_box(e), |_| m += 1);
        }
        m
    });
    g.finish();
}

fn run_case<R: CompiledRuleSet>(c: &mut Criterion, case: &str, pack: Pack, strides: [usize; 3]) {
    let events = match Events::load() {
        Ok(e) => e,
        Err(why) => {
            eprintln!("detect-peers: nothing to run: {why}");
            return;
        }
    };
    let routing = Routing::new(&pack.ir, &events.detect).expect("detect's log sources resolve");
    let detect = detect_verdicts(&pack, &events);
    detect_case::<R>(c, case, &events);
    runtime_case(c, case, &pack, &events, &detect);
    peer_case::<Rsigma>(c, case, &pack, &events, &routing, &detect, strides[0]);
    peer_case::<SigmaRust>(c, case, &pack, &events, &routing, &detect, strides[1]);
    peer_case::<Tau>(c, case, &pack, &events, &routing, &detect, strides[2]);
}

fn case1(c: &mut Criterion) {
    run_case::<detect_peers::Msiexec>(c, "msiexec", Pack::msiexec(), [1, 1, 1]);
}

#[cfg(feature = "corpus")]
fn case2(c: &mut Criterion) {
    run_case::<detect_peers::SigmaHqWindows>(c, "corpus", Pack::corpus(), [1, 32, 4]);
}

#[cfg(not(feature = "corpus"))]
fn case2(_: &mut Criterion) {
    eprintln!("detect-peers: case 2 (corpus) skipped: build with --features corpus");
}

criterion_group!(benches, case1, case2);
criterion_main!(benches);
