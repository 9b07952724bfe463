//! The whole compiled SigmaHQ windows corpus allocates nothing per event
//! (feature `corpus`): after one warm-up pass over the real events (buffers
//! reach their high-water mark, regexes and prefilter automata are built on
//! first use), a second pass parsing every line of
//! `../shared/data/events/windows-samples.ndjson` and scanning it with every
//! rule must not allocate once. Its own test binary, so that the counting
//! allocator sees nothing but this test's thread.
#![cfg(feature = "corpus")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use detect::JsonEvent;
use detect_sigmahq::SigmaHqWindows;
use detect_tests::shared_data;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn record(size: usize) {
    if MEASURING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
fn the_whole_corpus_does_not_allocate_per_event() {
    let Some(path) = shared_data(
        "the_whole_corpus_does_not_allocate_per_event",
        "events/windows-samples.ndjson",
    ) else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut event = JsonEvent::new();
    let warm = pass(&lines, &mut event);
    MEASURING.with(|m| m.set(true));
    let measured = pass(&lines, &mut event);
    MEASURING.with(|m| m.set(false));
    let (allocations, bytes) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
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
