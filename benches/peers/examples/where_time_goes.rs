//! Where detect's time goes on a case: per log source (`Channel`, `EventID`)
//! the events, total and mean scan time, and the slowest events, measured
//! with `Instant` around each `scan` (best of a few passes).
//!
//! ```sh
//! cargo run --release --ignore-rust-version --features corpus --example where_time_goes [corpus|msiexec] [unfiltered]
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use detect_peers::{Events, Pack, channel_and_id};

fn main() {
    let case = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let pack = match case.as_str() {
        "msiexec" => Pack::msiexec(),
        #[cfg(feature = "corpus")]
        "corpus" => Pack::corpus(),
        other => {
            eprintln!("unknown case `{other}` (msiexec, or corpus with --features corpus)");
            std::process::exit(2);
        }
    };
    let events = match Events::load() {
        Ok(e) => e,
        Err(why) => {
            eprintln!("{why}");
            std::process::exit(1);
        }
    };
    let unfiltered = std::env::args().nth(2).as_deref() == Some("unfiltered");
    let scan = if unfiltered {
        pack.scan_unfiltered
    } else {
        pack.scan
    };
    let mut best = vec![u128::MAX; events.len()];
    for _ in 0..5 {
        for (i, e) in events.detect.iter().enumerate() {
            let start = Instant::now();
            let mut n = 0;
            scan(black_box(e), &mut |_| n += 1);
            black_box(n);
            best[i] = best[i].min(start.elapsed().as_nanos());
        }
    }
    let total: u128 = best.iter().sum();
    println!(
        "{}{}: {} events, {:.0} ns/event (best of 5 per event)",
        pack.name,
        if unfiltered { " (scan_unfiltered)" } else { "" },
        events.len(),
        total as f64 / events.len() as f64
    );
    let mut by_source: HashMap<(String, u64), (usize, u128)> = HashMap::new();
    for (i, json) in events.json.iter().enumerate() {
        let (c, id) = channel_and_id(json).unwrap_or(("?", 0));
        let e = by_source.entry((c.to_string(), id)).or_default();
        e.0 += 1;
        e.1 += best[i];
    }
    let mut rows: Vec<_> = by_source.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.1));
    println!("| Channel | EventID | events | share of time | mean ns/event |");
    println!("|---|---:|---:|---:|---:|");
    for ((c, id), (n, ns)) in rows.iter().take(12) {
        println!(
            "| {c} | {id} | {n} | {:.1}% | {:.0} |",
            *ns as f64 * 100.0 / total as f64,
            *ns as f64 / *n as f64
        );
    }
    let mut slow: Vec<usize> = (0..events.len()).collect();
    slow.sort_by_key(|&i| std::cmp::Reverse(best[i]));
    println!("slowest events:");
    for &i in slow.iter().take(5) {
        println!(
            "  {} ns, {} bytes: {}",
            best[i],
            events.lines[i].len(),
            events.lines[i].chars().take(160).collect::<String>()
        );
    }
}
