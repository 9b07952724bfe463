//! How well dispatch and prefilter narrow the compiled SigmaHQ corpus: per
//! (channel, event ID) of the real events, the rule variants `scan` evaluates
//! per event (split into those without a usable atom and those with a hit
//! atom), the matches, and the rules that cost the most time (each candidate
//! evaluation timed on its own, fastest of 3).
//!
//! ```text
//! cargo run --release -p detect-benches --no-default-features --features sigmahq --example sigmahq_census
//! ```

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

#[derive(Default)]
struct Group {
    events: u64,
    unrouted: u64,
    atomless: u64,
    marked: u64,
    matches: u64,
    /// Routing and prefilter (`__candidates` without its callback), fastest of 3.
    prefilter_ns: f64,
}

fn main() {
    let corpus = Corpus::load();
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    // Per rule: evaluations without atom, with a hit atom, matches, and ns.
    let mut per_rule = vec![(0u64, 0u64, 0u64, 0f64); SigmaHqWindows::LEN];
    for event in &corpus.events {
        let key = (text(event, "Channel"), text(event, "EventID"));
        let g = groups.entry(key).or_default();
        g.events += 1;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            std::hint::black_box(SigmaHqWindows::__candidates(event, |_, _, _| {}));
            best = best.min(start.elapsed().as_secs_f64() * 1e9);
        }
        g.prefilter_ns += best;
        let routed = SigmaHqWindows::__candidates(event, |variant, rule, atomless| {
            if atomless {
                g.atomless += 1;
                per_rule[rule].0 += 1;
            } else {
                g.marked += 1;
                per_rule[rule].1 += 1;
            }
            let mut best = f64::MAX;
            let mut matched = false;
            for _ in 0..3 {
                let start = Instant::now();
                matched = std::hint::black_box(SigmaHqWindows::__eval_variant(variant, event));
                best = best.min(start.elapsed().as_secs_f64() * 1e9);
            }
            per_rule[rule].3 += best;
            if matched {
                g.matches += 1;
                per_rule[rule].2 += 1;
            }
        });
        if !routed {
            g.unrouted += 1;
        }
    }
    let mut rows: Vec<_> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.1.prefilter_ns.total_cmp(&a.1.prefilter_ns));
    let prefilter: f64 = rows.iter().map(|(_, g)| g.prefilter_ns).sum();
    println!(
        "routing and prefilter: {:.0} ns/event in all",
        prefilter / corpus.len() as f64
    );
    println!(
        "events  unrouted  prefilter ns/ev  atomless/ev  marked/ev  matches/ev  channel / event ID"
    );
    for ((channel, id), g) in rows.iter().take(20) {
        let n = g.events as f64;
        println!(
            "{:6}  {:8}  {:15.0}  {:11.1}  {:9.1}  {:10.2}  {channel} / {id}",
            g.events,
            g.unrouted,
            g.prefilter_ns / n,
            g.atomless as f64 / n,
            g.marked as f64 / n,
            g.matches as f64 / n
        );
    }
    let total: f64 = per_rule.iter().map(|r| r.3).sum();
    println!(
        "\ncandidate evaluations: {:.0} ns/event in all",
        total / corpus.len() as f64
    );
    let mut rules: Vec<usize> = (0..per_rule.len()).collect();
    rules.sort_by(|&a, &b| per_rule[b].3.total_cmp(&per_rule[a].3));
    println!("rules costing the most: share, ns/evaluation, atomless, marked, matches, name");
    for &i in rules.iter().take(60) {
        let (a, m, x, ns) = per_rule[i];
        println!(
            "{:5.1}% {:8.0} {a:7} {m:7} {x:6}  {}",
            100.0 * ns / total,
            ns / (a + m) as f64,
            SigmaHqWindows::RULES[i].name
        );
    }
}
