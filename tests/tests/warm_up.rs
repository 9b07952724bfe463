//! `warm_up` builds everything a rule set otherwise builds at its first
//! events (prefilter automata of every layout, for rules and sequence
//! stages): after it, the very first scan of real events allocates nothing
//! beyond the event buffers, which a parse-only pass has already grown. Its
//! own test binary, so that no other test has scanned (and so built) first.

use detect::JsonEvent;
use detect_rules::Builtin;
use detect_tests::counting_alloc::{CountingAllocator, measure};
use detect_tests::shared_data;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn after_warm_up_the_first_events_allocate_nothing() {
    let examples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events.ndjson");
    let mut lines: Vec<String> = std::fs::read_to_string(examples)
        .expect("examples/events.ndjson is in the repository")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if let Some(path) = shared_data(
        "after_warm_up_the_first_events_allocate_nothing (real events)",
        "events/windows-samples.ndjson",
    ) {
        let text = std::fs::read_to_string(path).unwrap();
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    let mut event = JsonEvent::new();
    // The event's buffers grow to the largest line; nothing is scanned. (The
    // example file holds a malformed line on purpose: it is left out, its
    // error message would allocate.)
    lines.retain(|line| event.parse(line.as_bytes()).is_ok());
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
    assert!(matches > 0, "the built-in rules fire on the example events");
    assert_eq!((counted.allocations, counted.bytes), (0, 0));
}
