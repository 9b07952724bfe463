//! Decoding and reading records allocates nothing once the event's buffers
//! have grown to the size of the records (counted by this test binary's
//! allocator).

use detect_core::Event;
use detect_evtx::{CHUNK_SIZE, EvtxEvent, FILE_HEADER_SIZE, Records};
use detect_test_support::counting_alloc::{CountingAllocator, measure};
use detect_test_support::shared_data;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
    let bytes = std::fs::read(shared_data(
        "evtx/EVTX-ATTACK-SAMPLES/Execution/rogue_msi_url_1040_1042.evtx",
    ))
    .unwrap();
    // Three chunks of records, then empty ones.
    let chunks: Vec<&[u8]> = bytes[FILE_HEADER_SIZE..]
        .chunks_exact(CHUNK_SIZE)
        .filter(|c| c.iter().any(|&b| b != 0))
        .collect();
    assert_eq!(chunks.len(), 3);
    let mut event = EvtxEvent::new();
    let warm = pass(&chunks, &mut event);
    let (measured, counted) = measure(|| pass(&chunks, &mut event));
    let allocations = counted.allocations;
    assert_eq!((warm, measured), (351, 351));
    assert_eq!(
        allocations, 0,
        "allocations while decoding {measured} records"
    );
}
