//! A global allocator that counts allocations, for the zero-allocation tests
//! and the benchmarks' allocations per event. Each binary that counts
//! installs it:
//!
//! ```no_run
//! use detect_test_support::counting_alloc::{CountingAllocator, measure};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAllocator = CountingAllocator;
//!
//! let (_, counted) = measure(|| std::hint::black_box(vec![1u8; 16]));
//! assert_eq!(counted.allocations, 1);
//! ```
//!
//! Counts are kept per thread ([`measure`], [`thread_allocations`]), so that
//! tests running in parallel in one binary do not see each other's
//! allocations, and for the whole process ([`process_allocations`]), for a
//! measured pass that may allocate on other threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Forwards to the system allocator, counting the calls that allocate
/// (`alloc`, `alloc_zeroed`, `realloc`) and the bytes they request. Install it
/// with `#[global_allocator]`; without it every count stays 0.
pub struct CountingAllocator;

static PROCESS_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn record(size: usize) {
    PROCESS_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + size as u64));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
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

/// What one thread allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: usize,
    /// Bytes requested by those calls.
    pub bytes: usize,
}

/// Allocations made by this thread so far.
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations made by every thread of the process so far.
pub fn process_allocations() -> u64 {
    PROCESS_ALLOCATIONS.load(Ordering::Relaxed)
}

/// Runs `f` and counts what this thread allocates meanwhile.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Counted) {
    let allocations = thread_allocations();
    let bytes = BYTES.with(Cell::get);
    let out = f();
    let counted = Counted {
        allocations: (thread_allocations() - allocations) as usize,
        bytes: (BYTES.with(Cell::get) - bytes) as usize,
    };
    (out, counted)
}
