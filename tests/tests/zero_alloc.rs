//! Proof that the per-event path allocates nothing in steady state.
//!
//! A counting global allocator records allocations made by the measuring
//! thread only. After one warm-up pass (buffers reach their high-water mark,
//! regexes compile on first use), a second pass over the same events, parsing
//! each NDJSON line and running every rule set, must not allocate one byte.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use detect::{CompiledRuleSet, JsonEvent};
use detect_rules::Builtin;
use detect_tests::semantics_rules::Semantics;
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

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn pass<R: CompiledRuleSet>(lines: &[&str], event: &mut JsonEvent) -> usize {
    let mut matches = 0;
    for line in lines {
        if event.parse(line.as_bytes()).is_ok() {
            R::scan(event, |_| matches += 1);
        }
    }
    matches
}

fn measure(lines: &[&str]) -> (usize, usize, usize) {
    let mut event = JsonEvent::new();
    // Warm-up: buffers grow to the largest event, regexes compile.
    let warm = pass::<Builtin>(lines, &mut event) + pass::<Semantics>(lines, &mut event);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    BYTES.store(0, Ordering::Relaxed);
    MEASURING.with(|m| m.set(true));
    let steady = pass::<Builtin>(lines, &mut event) + pass::<Semantics>(lines, &mut event);
    MEASURING.with(|m| m.set(false));
    assert_eq!(warm, steady, "both passes see the same matches");
    (
        steady,
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}

#[test]
fn steady_state_scanning_allocates_nothing() {
    // Hand-written events always run, so the test cannot pass vacuously.
    let own = [
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i https://e/x.msi", "F": "a\nb\nc"}"#,
        r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application", "Data": ["http://x/y", "1"]}"#,
        r#"{"F": "YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAOAAuADgALgA4AC4AOAA=", "T": "2021-01-03T10:00:00Z", "User": "root", "G": 1}"#,
        r#"{"F": 12.5, "A": {"B": ["evil", {"C": "mimi-katz"}]}, "process": {"parent": {"name": "x.exe"}}}"#,
    ];
    let (matches, allocations, bytes) = measure(&own);
    assert!(
        matches >= 4,
        "the hand-written events match rules ({matches})"
    );
    assert_eq!(
        (allocations, bytes),
        (0, 0),
        "allocations in steady state on hand-written events"
    );

    // Allocation probe sanity check: a deliberate allocation is seen.
    MEASURING.with(|m| m.set(true));
    let v = std::hint::black_box(vec![1u8; 16]);
    MEASURING.with(|m| m.set(false));
    drop(v);
    assert!(
        ALLOCATIONS.load(Ordering::Relaxed) > 0,
        "the counting allocator works"
    );

    let Some(path) = shared_data(
        "steady_state_scanning_allocates_nothing",
        "events/windows-samples.ndjson",
    ) else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (matches, allocations, bytes) = measure(&lines);
    assert!(matches > 0);
    assert_eq!(
        (allocations, bytes),
        (0, 0),
        "steady-state scan of {} real events allocated",
        lines.len()
    );
}
