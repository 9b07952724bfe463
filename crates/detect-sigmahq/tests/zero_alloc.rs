//! The whole compiled SigmaHQ windows corpus allocates nothing per event
//! (feature `corpus`): after one warm-up pass over the real events (buffers
//! reach their high-water mark, regexes and prefilter automata are built on
//! first use), a second pass parsing every line of
//! `../shared/data/events/windows-samples.ndjson` and scanning it with every
//! rule must not allocate once. Its own test binary, so that the counting
//! allocator sees nothing but this test's thread.
#![cfg(feature = "corpus")]

use detect::JsonEvent;
use detect_sigmahq::SigmaHqWindows;
use detect_test_support::counting_alloc::{CountingAllocator, measure};
use detect_test_support::shared_data;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Parses and scans every line; returns the number of matches.
fn pass(lines: &[&str], event: &mut JsonEvent) -> usize {
    let mut matches = 0;
    for line in lines {
        // Every line is valid: a parse error would allocate its message.
        event.parse(line.as_bytes()).expect("valid NDJSON");
        SigmaHqWindows::scan(event, |_| matches += 1);
    }
    matches
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn the_whole_corpus_does_not_allocate_per_event() {
    let path = shared_data("events/windows-samples.ndjson");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut event = JsonEvent::new();
    let warm = pass(&lines, &mut event);
    let (measured, counted) = measure(|| pass(&lines, &mut event));
    let (allocations, bytes) = (counted.allocations, counted.bytes);
    println!(
        "{} rules, {} events, {measured} matches: {allocations} allocations ({bytes} bytes)",
        SigmaHqWindows::LEN,
        lines.len()
    );
    assert_eq!(warm, measured);
    assert!(measured > 0, "the corpus fires on the real events");
    assert_eq!(
        (allocations, bytes),
        (0, 0),
        "allocations while scanning {} events with {} rules",
        lines.len(),
        SigmaHqWindows::LEN
    );
}
