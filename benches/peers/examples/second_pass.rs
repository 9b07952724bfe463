//! What detect and rsigma spend on an event they have just evaluated: each
//! engine runs passes over the corpus (events parsed beforehand into its own
//! type, rules routed as in the criterion bench), once per event and twice
//! in a row per event; the difference is the second evaluation, which finds
//! the event and whatever the engine's work on it touched in cache, and its
//! branches just taken the same way. It splits each engine's cost into
//! computation and waits (on memory, or on mispredicted branches), for
//! comparing the engines' computations alone (see "Peer engines" in
//! `BENCHMARKS.md`).
//!
//! ```sh
//! cargo run --release --ignore-rust-version --features corpus --example second_pass [passes]
//! ```

#[path = "../harness/mod.rs"]
mod harness;

use std::hint::black_box;
use std::time::Instant;

use detect::JsonEvent;
use detect_peers::{Events, Pack, Router, Routing, SigmaHqWindows};
use harness::{Loaded, Rsigma, compare, detect_verdicts, peer_events, route};

/// The median over `passes` passes of `pass`, in ns per event.
fn median(
    passes: usize,
    events: usize,
    mut before: impl FnMut(),
    mut pass: impl FnMut() -> u64,
) -> f64 {
    let mut times: Vec<f64> = (0..passes.max(1))
        .map(|_| {
            before();
            let start = Instant::now();
            black_box(pass());
            start.elapsed().as_secs_f64() * 1e9 / events as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// detect's pass: each event scanned `times` times in a row.
fn detect(events: &[JsonEvent], times: usize) -> u64 {
    let mut m = 0u64;
    for e in events {
        for _ in 0..times {
            SigmaHqWindows::scan(black_box(e), |_| m += 1);
        }
    }
    m
}

fn main() {
    let passes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(9);
    let pack = Pack::corpus();
    let events = match Events::load() {
        Ok(e) => e,
        Err(why) => {
            eprintln!("{why}");
            std::process::exit(1);
        }
    };
    let n = events.len();
    let routing = Routing::new(&pack.ir, &events.detect).expect("detect's log sources resolve");
    let verdicts = detect_verdicts(&pack, &events);
    let loaded = Loaded::<Rsigma>::new(&pack);
    let evs = peer_events::<Rsigma>(&events, &routing);
    let agreement = compare(&loaded, &routing, &verdicts, &evs);
    let engines = loaded.engines(&routing, |i| agreement.agrees(&loaded, i));
    let router =
        Router::new(&events, &routing).expect("log sources look at Channel and EventID only");
    SigmaHqWindows::warm_up();
    let forget = || events.detect.iter().for_each(JsonEvent::forget_lookups);
    let mut out = Vec::new();
    let mut rsigma = |times: usize| {
        let mut m = 0u64;
        for e in &evs {
            for _ in 0..times {
                out.clear();
                route::<Rsigma>(&router, &engines, black_box(e), &mut out);
                m += out.len() as u64;
            }
        }
        m
    };
    let d1 = median(passes, n, forget, || detect(&events.detect, 1));
    let d2 = median(passes, n, forget, || detect(&events.detect, 2));
    let r1 = median(passes, n, || {}, || rsigma(1));
    let r2 = median(passes, n, || {}, || rsigma(2));
    println!("{n} events, median of {passes} passes, ns/event");
    println!(
        "detect: once {d1:.0}, twice {d2:.0}: second evaluation {:.0}",
        d2 - d1
    );
    println!(
        "rsigma: once {r1:.0}, twice {r2:.0}: second evaluation {:.0}",
        r2 - r1
    );
    println!(
        "rsigma / detect: once {:.2}, second evaluation {:.2}",
        r1 / d1,
        (r2 - r1) / (d2 - d1)
    );
}
