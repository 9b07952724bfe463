//! `warm_up` builds everything a rule set otherwise builds at its first
//! events (prefilter automata of every layout, for rules and sequence
//! stages): after it, the very first scan of real events allocates nothing
//! beyond the event buffers, which a parse-only pass has already grown. Its
//! own test binary, so that no other test has scanned (and so built) first.

use detect::JsonEvent;
use detect_rules::Builtin;
use detect_test_support::counting_alloc::{CountingAllocator, measure};
use detect_test_support::shared_data;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Warms the built-in rules up, then checks that scanning `lines` (and
/// stepping the sequence state over them) allocates nothing; returns the
/// number of matches.
fn first_events_after_warm_up(lines: &[String]) -> usize {
    let mut event = JsonEvent::new();
    // The event's buffers grow to the largest line; nothing is scanned.
    for line in lines {
        event.parse(line.as_bytes()).expect("valid NDJSON");
    }
    Builtin::warm_up();
    Builtin::warm_up(); // idempotent
    let mut state = Builtin::sequences(1024);
    let ((matches, completed), counted) = measure(|| {
        let (mut matches, mut completed) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            event.parse(line.as_bytes()).expect("valid NDJSON");
            Builtin::scan(&event, |_| matches += 1);
            state.step(&event, i as u64, |_, _| completed += 1);
        }
        (matches, completed)
    });
    println!(
        "{} events, {matches} matches, {completed} sequences: {} allocations ({} bytes)",
        lines.len(),
        counted.allocations,
        counted.bytes
    );
    assert_eq!((counted.allocations, counted.bytes), (0, 0));
    matches
}

/// `lines` of `path` that hold something.
fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn example_lines() -> Vec<String> {
    lines_of(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events.ndjson"))
}

#[test]
fn after_warm_up_the_first_events_allocate_nothing() {
    let matches = first_events_after_warm_up(&example_lines());
    assert!(matches > 0, "the built-in rules fire on the example events");
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn after_warm_up_the_first_real_events_allocate_nothing() {
    let mut lines = example_lines();
    lines.extend(lines_of(&shared_data("events/windows-samples.ndjson")));
    let matches = first_events_after_warm_up(&lines);
    assert!(matches > 0, "the built-in rules fire on the example events");
}
