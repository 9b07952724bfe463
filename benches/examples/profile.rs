//! A profiling driver (for `perf`, `valgrind --tool=callgrind`): scans the
//! benchmark corpus (parsed beforehand, as in the criterion benchmarks) with
//! one rule set a number of times and prints the matches per pass.
//!
//! ```sh
//! cargo build --release -p detect-benches --no-default-features --example profile
//! valgrind --tool=callgrind target/release/examples/profile builtin 1
//! ```
//!
//! Arguments: the rule set (`builtin`, `gen10`, `gen100`, `gen1000`, and
//! `gen5000` with the `large` feature; `parse+builtin`, `parse+gen1000` parse
//! each line in the loop; `unfiltered-gen100`, `unfiltered-gen1000` run
//! `scan_unfiltered`; `floor` is the bench's `floor/all_fields`;
//! `parse-only` parses without scanning) and the number of passes (default
//! 20). Pre-parsed events forget their lookup caches before each pass,
//! outside the time, as in the criterion benches.

use detect::CompiledRuleSet;
use detect_benches::Corpus;

/// `n` passes of `R::scan` (or, `unfiltered`, `R::scan_unfiltered`: every
/// rule in full) over the parsed corpus; the matches. Before each pass, the
/// events forget what lookups cached (`JsonEvent::forget_lookups`, as in
/// the criterion benches); that is left out of the time.
#[inline(never)]
fn passes<R: CompiledRuleSet>(corpus: &Corpus, n: usize, unfiltered: bool) -> usize {
    let mut hits = 0usize;
    for _ in 0..n {
        forget(corpus);
        for event in &corpus.events {
            if unfiltered {
                R::scan_unfiltered(event, |_| hits += 1);
            } else {
                R::scan(event, |_| hits += 1);
            }
        }
    }
    hits
}

/// Parses every line (one reused `JsonEvent`) and scans it: the event is hot
/// in the cache when the rules read it, as in a sensor.
#[inline(never)]
fn parse_passes<R: CompiledRuleSet>(corpus: &Corpus, n: usize) -> usize {
    let mut hits = 0usize;
    let mut event = detect::JsonEvent::new();
    for _ in 0..n {
        for line in &corpus.lines {
            event
                .parse(line.as_bytes())
                .expect("the corpus parsed before");
            R::scan(&event, |_| hits += 1);
        }
    }
    hits
}

/// Empties the events' lookup caches, outside the time.
fn forget(corpus: &Corpus) {
    let start = std::time::Instant::now();
    corpus.forget_lookups();
    UNTIMED.with(|u| u.set(u.get() + start.elapsed()));
}

thread_local! {
    /// Time spent on untimed work (left out of the figure printed).
    static UNTIMED: std::cell::Cell<std::time::Duration> = const { std::cell::Cell::new(std::time::Duration::ZERO) };
}

/// Parsing alone, as `parse+builtin` does it: the difference between the
/// two is the scan of an event just parsed.
#[inline(never)]
fn parse_only(corpus: &Corpus, n: usize) -> usize {
    let mut event = detect::JsonEvent::new();
    let mut nodes = 0;
    for _ in 0..n {
        for line in &corpus.lines {
            event
                .parse(line.as_bytes())
                .expect("the corpus parsed before");
            nodes += usize::from(event.detected_layout() == detect::Layout::Flat);
        }
    }
    nodes
}

/// The floor of the bench `scan` (`floor/all_fields`): every field the
/// 1,000 generated rules read, looked up in every event, its bytes summed.
#[inline(never)]
fn floor_passes(corpus: &Corpus, n: usize) -> usize {
    let fields = detect_benches::floor_fields(&detect_benches::Gen1000::ir());
    let mut sum = 0u64;
    for _ in 0..n {
        forget(corpus);
        for event in &corpus.events {
            sum ^= detect_benches::floor_scan(event, detect_benches::fields_for(&fields, event));
        }
    }
    usize::from(sum != 0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let set = args.next().unwrap_or_else(|| "builtin".to_string());
    let n: usize = args
        .next()
        .map_or(20, |s| s.parse().expect("a number of passes"));
    let corpus = Corpus::load();
    let start = std::time::Instant::now();
    let hits = match set.as_str() {
        "builtin" => passes::<detect_rules::Builtin>(&corpus, n, false),
        "parse+builtin" => parse_passes::<detect_rules::Builtin>(&corpus, n),
        "parse+gen1000" => parse_passes::<detect_benches::Gen1000>(&corpus, n),
        "gen10" => passes::<detect_benches::Gen10>(&corpus, n, false),
        "gen100" => passes::<detect_benches::Gen100>(&corpus, n, false),
        "gen1000" => passes::<detect_benches::Gen1000>(&corpus, n, false),
        "unfiltered-gen100" => passes::<detect_benches::Gen100>(&corpus, n, true),
        "unfiltered-gen1000" => passes::<detect_benches::Gen1000>(&corpus, n, true),
        "floor" => floor_passes(&corpus, n),
        "parse-only" => parse_only(&corpus, n),
        #[cfg(feature = "large")]
        "gen5000" => passes::<detect_benches::Gen5000>(&corpus, n, false),
        other => {
            eprintln!("unknown rule set {other:?}");
            std::process::exit(2);
        }
    };
    let spent = start.elapsed() - UNTIMED.with(|u| u.get());
    let ns = spent.as_nanos() as f64 / (corpus.len() * n.max(1)) as f64;
    println!(
        "{set}: {} events x {n} passes, {} matches per pass, {ns:.0} ns/event (wall clock, for A/B runs; criterion gives the figures)",
        corpus.len(),
        hits / n.max(1)
    );
}
