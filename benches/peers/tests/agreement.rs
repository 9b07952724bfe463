//! Agreement before speed: every peer's verdicts against detect's, rule by
//! rule and event by event, on the real events (each rule on the events its
//! log source applies to). Case 1 always; case 2 with feature `corpus`.
//! `cargo test --release --ignore-rust-version -- --nocapture` prints the
//! full report (`PEERS_VERBOSE=1` adds every file a peer refused).

#[path = "../harness/mod.rs"]
mod harness;

use detect_peers::{Events, Pack, Routing};
use harness::{Loaded, Peer, Rsigma, SigmaRust, compare, detect_verdicts, peer_events, print_report};

fn events() -> Option<Events> {
    match Events::load() {
        Ok(e) => Some(e),
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// Checks one peer on one case; returns the names of the rules it disagrees on.
fn check<P: Peer>(pack: &Pack, events: &Events, routing: &Routing, detect: &[Vec<usize>]) -> Vec<String> {
    let loaded = Loaded::<P>::new(pack);
    let evs = peer_events::<P>(events, routing);
    let a = compare(&loaded, routing, detect, &evs);
    print_report(pack, events, &loaded, &a);
    assert!(a.pairs > 0, "{}: nothing compared", P::NAME);
    a.disagreements
        .iter()
        .map(|d| pack.ir.rules[d.rule].name.clone())
        .collect()
}

#[test]
fn case1_seed_and_msiexec_rules() {
    let Some(events) = events() else { return };
    let pack = Pack::msiexec();
    let routing = Routing::new(&pack.ir, &events.detect).unwrap();
    let detect = detect_verdicts(&pack, &events);
    let fired: usize = detect.iter().map(Vec::len).sum();
    println!(
        "[msiexec] detect: {} rules, {} skipped, {} events, {} arms, {fired} matches",
        pack.ir.rules.len(),
        pack.skipped.len(),
        events.len(),
        routing.arms.len()
    );
    let rsigma = check::<Rsigma>(&pack, &events, &routing, &detect);
    let sigma_rust = check::<SigmaRust>(&pack, &events, &routing, &detect);
    println!("{rsigma:?} {sigma_rust:?}");
}

#[cfg(feature = "corpus")]
#[test]
fn case2_sigmahq_windows() {
    let Some(events) = events() else { return };
    let pack = Pack::corpus();
    let routing = Routing::new(&pack.ir, &events.detect).unwrap();
    let detect = detect_verdicts(&pack, &events);
    let fired: usize = detect.iter().map(Vec::len).sum();
    println!(
        "[corpus] detect: {} rules, {} skipped, {} events, {} arms, {fired} matches",
        pack.ir.rules.len(),
        pack.skipped.len(),
        events.len(),
        routing.arms.len()
    );
    let rsigma = check::<Rsigma>(&pack, &events, &routing, &detect);
    let sigma_rust = check::<SigmaRust>(&pack, &events, &routing, &detect);
    println!("{rsigma:?} {sigma_rust:?}");
}
