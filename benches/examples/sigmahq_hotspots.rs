//! Where the compiled SigmaHQ corpus spends its time: per (channel, event
//! ID) of the real events, the time `SigmaHqWindows::scan` takes (median of
//! repeated runs per event), summed per group, most expensive first.
//!
//! ```text
//! cargo run --release -p detect-benches --no-default-features --features sigmahq --example sigmahq_hotspots
//! ```
//!
//! With the argument `pass N`, it instead scans the whole corpus in order N
//! times (as the criterion bench does: caches cold per event, lookup caches
//! emptied before each pass) and prints the median pass in ns/event: a
//! quick A/B check between two builds. With `floor N`, the same for the
//! two floors of the `sigmahq` bench (no matching at all). With `hot N`,
//! what a scan costs once what it reads is in cache: each event scanned
//! twice in a row (the second scan finds the event, the automaton rows its
//! values lead to, its memo entries and its member lookups cached, and its
//! branches just taken), and each event read whole (its line, then every
//! value) before its scan.

use std::collections::BTreeMap;
use std::time::Instant;

use detect::Event;
use detect_benches::Corpus;
use detect_sigmahq::SigmaHqWindows;

fn text(event: &detect::JsonEvent, path: &str) -> String {
    let mut out = String::new();
    event.lookup(path, &mut |v| {
        out = v.with_text(str::to_string).unwrap_or_default();
        true
    });
    out
}

fn main() {
    let corpus = Corpus::load();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("pass") {
        let passes = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(15);
        return whole_passes(&corpus, passes);
    }
    if args.first().map(String::as_str) == Some("hot") {
        let passes = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(15);
        return hot_passes(&corpus, passes);
    }
    if args.first().map(String::as_str) == Some("floor") {
        let passes = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(15);
        return floor_passes(&corpus, passes);
    }
    let mut groups: BTreeMap<(String, String), (u64, f64)> = BTreeMap::new();
    let mut total = 0.0;
    let mut per_event = Vec::with_capacity(corpus.len());
    for event in &corpus.events {
        let mut times = [0f64; 7];
        for t in &mut times {
            let start = Instant::now();
            let mut n = 0;
            SigmaHqWindows::scan(event, |_| n += 1);
            std::hint::black_box(n);
            *t = start.elapsed().as_secs_f64() * 1e9;
        }
        times.sort_by(f64::total_cmp);
        let ns = times[3];
        total += ns;
        per_event.push(ns);
        let key = (text(event, "Channel"), text(event, "EventID"));
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += ns;
    }
    per_event.sort_by(f64::total_cmp);
    println!(
        "{} events: mean {:.0} ns/event, median {:.0}, p90 {:.0}, p99 {:.0}, max {:.0}",
        corpus.len(),
        total / corpus.len() as f64,
        per_event[per_event.len() / 2],
        per_event[per_event.len() * 9 / 10],
        per_event[per_event.len() * 99 / 100],
        per_event[per_event.len() - 1]
    );
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    println!("share  events  ns/event  channel / event ID");
    for ((channel, id), (n, ns)) in groups.iter().take(15) {
        println!(
            "{:4.1}%  {n:6}  {:8.0}  {channel} / {id}",
            100.0 * ns / total,
            ns / *n as f64
        );
    }
}

/// `passes` passes of each floor of the `sigmahq` bench (`floor/line`:
/// [`detect_benches::floor_line`]; `floor/routed`:
/// [`detect_benches::floor_scan`] of the fields that the rules routed to the
/// event read); prints the medians in ns/event.
fn floor_passes(corpus: &Corpus, passes: usize) {
    let routed = detect_benches::RoutedFields::new(&SigmaHqWindows::ir(), &corpus.events);
    let sizes: Vec<usize> = routed.lists.iter().map(Vec::len).collect();
    eprintln!(
        "{} routed field lists of {} to {} fields",
        sizes.len(),
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    type Floor<'a> = &'a dyn Fn(usize, &detect::JsonEvent) -> u64;
    let floors: [(&str, Floor); 2] = [
        ("line", &|_, event| detect_benches::floor_line(event)),
        ("routed", &|i, event| {
            detect_benches::floor_scan(event, &routed.lists[routed.of_event[i]])
        }),
    ];
    for (name, floor) in floors {
        let mut sum = 0u64;
        let times = timed_passes(corpus, passes, || {
            for (i, event) in corpus.events.iter().enumerate() {
                sum = sum.rotate_left(1) ^ floor(i, event);
            }
        });
        println!("floor/{name}: {times}; checksum {sum:x}");
    }
}

/// Times `passes` runs of `pass` (at least one), each after the corpus's
/// events forgot what their lookups cached (outside the time, as after a
/// parse), in ns/event.
fn timed_passes(corpus: &Corpus, passes: usize, mut pass: impl FnMut()) -> Passes {
    let mut times = Vec::with_capacity(passes);
    for _ in 0..passes.max(1) {
        corpus.forget_lookups();
        let start = Instant::now();
        pass();
        times.push(start.elapsed().as_secs_f64() * 1e9 / corpus.len() as f64);
    }
    times.sort_by(f64::total_cmp);
    Passes {
        events: corpus.len(),
        times,
    }
}

/// What [`timed_passes`] measured: each pass's ns/event, sorted (at least
/// one).
struct Passes {
    events: usize,
    times: Vec<f64>,
}

impl Passes {
    fn median(&self) -> f64 {
        self.times[self.times.len() / 2]
    }
}

impl std::fmt::Display for Passes {
    /// "N passes over M events: median .. ns/event (min .., max ..)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passes over {} events: median {:.0} ns/event (min {:.0}, max {:.0})",
            self.times.len(),
            self.events,
            self.median(),
            self.times[0],
            self.times[self.times.len() - 1],
        )
    }
}

/// `passes` whole passes over the corpus; prints the median in ns/event.
fn whole_passes(corpus: &Corpus, passes: usize) {
    let start = Instant::now();
    SigmaHqWindows::warm_up();
    eprintln!(
        "warm_up (every layout's prefilter automata and regexes): {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let mut matches = 0usize;
    let times = timed_passes(corpus, passes, || {
        for event in &corpus.events {
            SigmaHqWindows::scan(event, |_| matches += 1);
        }
    });
    println!("{times}; {matches} matches");
}

/// `passes` passes of four kinds, to split a scan's cost into what waits
/// on memory and what computes: scans (as `pass`), each event scanned twice
/// in a row, each event read whole ([`read_whole`]), each event read whole
/// then scanned. Prints each kind's median and the differences.
fn hot_passes(corpus: &Corpus, passes: usize) {
    SigmaHqWindows::warm_up();
    let mut matches = 0usize;
    let mut sink = 0u64;
    let once = timed_passes(corpus, passes, || {
        for event in &corpus.events {
            SigmaHqWindows::scan(event, |_| matches += 1);
        }
    });
    let twice = timed_passes(corpus, passes, || {
        for event in &corpus.events {
            SigmaHqWindows::scan(event, |_| matches += 1);
            SigmaHqWindows::scan(event, |_| matches += 1);
        }
    });
    let read = timed_passes(corpus, passes, || {
        for event in &corpus.events {
            sink ^= read_whole(event);
        }
    });
    let read_scan = timed_passes(corpus, passes, || {
        for event in &corpus.events {
            sink ^= read_whole(event);
            SigmaHqWindows::scan(event, |_| matches += 1);
        }
    });
    std::hint::black_box((matches, sink));
    println!("scan:                  {once}");
    println!("scan twice:            {twice}");
    println!("read whole:            {read}");
    println!("read whole, then scan: {read_scan}");
    println!(
        "second scan of an event (twice - scan): {:.0} ns/event",
        twice.median() - once.median()
    );
    println!(
        "scan of an event just read (read whole, then scan - read whole): {:.0} ns/event",
        read_scan.median() - read.median()
    );
}

/// Reads all of an event: every byte of its line, then every value through
/// its tape (what any lookup would bring into cache).
fn read_whole(event: &detect::JsonEvent) -> u64 {
    let mut sum = detect_benches::floor_line(event);
    event.any_value(&mut |v| {
        sum = sum.rotate_left(3) ^ v.with_text(|t| t.len() as u64).unwrap_or(1);
        false
    });
    sum
}
