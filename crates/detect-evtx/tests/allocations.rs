//! Decoding and reading records allocates nothing once the event's buffers
//! have grown to the size of the records (counted by this test binary's
//! allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use detect_core::Event;
use detect_evtx::{CHUNK_SIZE, EvtxEvent, FILE_HEADER_SIZE, Records};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting allocations.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/evtx/EVTX-ATTACK-SAMPLES/Execution/rogue_msi_url_1040_1042.evtx"
);

/// Decodes every record of `chunks` and reads a few fields of each.
fn pass(chunks: &[&[u8]], event: &mut EvtxEvent) -> u64 {
    let mut seen = 0;
    for chunk in chunks {
        event.start_chunk();
        for record in Records::new(chunk).unwrap() {
            event.decode(chunk, &record.unwrap()).unwrap();
            for path in [
                "Event.System.EventID",
                "Event.System.Provider.#attributes.Name",
                "Event.EventData.Data",
                "Event.EventData.Missing",
            ] {
                event.lookup(path, &mut |_| false);
            }
            event.any_value(&mut |_| false);
            seen += 1;
        }
    }
    seen
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn decoding_does_not_allocate_once_warm() {
    let bytes = std::fs::read(SAMPLE).unwrap();
    // Three chunks of records, then empty ones.
    let chunks: Vec<&[u8]> = bytes[FILE_HEADER_SIZE..]
        .chunks_exact(CHUNK_SIZE)
        .filter(|c| c.iter().any(|&b| b != 0))
        .collect();
    assert_eq!(chunks.len(), 3);
    let mut event = EvtxEvent::new();
    let warm = pass(&chunks, &mut event);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let measured = pass(&chunks, &mut event);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!((warm, measured), (351, 351));
    assert_eq!(
        allocations, 0,
        "allocations while decoding {measured} records"
    );
}
