//! EVTX against NDJSON, per event, on the same events: the 14,646 records of
//! `../shared/data/evtx` (312 files) and their NDJSON export
//! `../shared/data/events/windows-samples.ndjson` (flat layout), each pass
//! reading every event and running the compiled SigmaHQ pack on it.
//! Needs the feature `sigmahq`:
//!
//! ```text
//! cargo bench -p detect-benches --no-default-features --features sigmahq --bench evtx
//! ```
//!
//! * `ndjson/parse+sigmahq`: each line parsed into one reused `JsonEvent`, then scanned;
//! * `evtx/decode+sigmahq`: each record decoded from its chunk's BinXML into
//!   one reused `EvtxEvent` (`detect-evtx`, what `detect scan` does), then scanned;
//! * `evtx/decode`: the decoding alone;
//! * `evtx/render+parse+sigmahq`: each record rendered to JSON by the evtx
//!   crate and parsed by `JsonEvent` (what `detect scan` did before), then scanned.
//!
//! Chunks and lines are in memory before the timing (no I/O).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use detect::JsonEvent;
use detect_evtx::{CHUNK_SIZE, EvtxEvent, FILE_HEADER_SIZE, Records, chunk_order, first_record_id};
use detect_sigmahq::SigmaHqWindows;
use detect_test_support::{evtx_files, shared_data};
use evtx::{EvtxParser, ParserSettings};

/// The chunks of every file, padded, in record order.
fn chunks(files: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for bytes in files {
        let count = bytes
            .len()
            .saturating_sub(FILE_HEADER_SIZE)
            .div_ceil(CHUNK_SIZE);
        let chunk = |n: usize| {
            let start = FILE_HEADER_SIZE + n * CHUNK_SIZE;
            let mut c = bytes[start..bytes.len().min(start + CHUNK_SIZE)].to_vec();
            c.resize(CHUNK_SIZE, 0);
            c
        };
        for n in chunk_order(count, |n| first_record_id(&chunk(n))) {
            let c = chunk(n);
            if c.iter().any(|&b| b != 0) {
                out.push(c);
            }
        }
    }
    out
}

/// Decodes every record, calling `f` with each.
fn each_record(chunks: &[Vec<u8>], event: &mut EvtxEvent, mut f: impl FnMut(&EvtxEvent)) {
    for chunk in chunks {
        event.start_chunk();
        for record in Records::new(chunk).unwrap() {
            event.decode(chunk, &record.unwrap()).unwrap();
            f(event);
        }
    }
}

fn evtx(c: &mut Criterion) {
    let paths = evtx_files(&shared_data("evtx"));
    let files: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let chunks = chunks(&files);
    let ndjson = std::fs::read_to_string(shared_data("events/windows-samples.ndjson")).unwrap();
    let lines: Vec<&str> = ndjson.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut event = EvtxEvent::new();
    let mut records = 0u64;
    each_record(&chunks, &mut event, |_| records += 1);
    assert_eq!(records, lines.len() as u64, "the same events both ways");
    SigmaHqWindows::warm_up();

    let mut group = c.benchmark_group("per_event");
    group
        .throughput(Throughput::Elements(records))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("ndjson/parse+sigmahq", |b| {
        let mut json = JsonEvent::new();
        b.iter(|| {
            let mut n = 0;
            for line in &lines {
                json.parse(line.as_bytes()).unwrap();
                SigmaHqWindows::scan(&json, |_| n += 1);
            }
            black_box(n)
        })
    });
    group.bench_function("evtx/decode+sigmahq", |b| {
        b.iter(|| {
            let mut n = 0;
            each_record(&chunks, &mut event, |e| SigmaHqWindows::scan(e, |_| n += 1));
            black_box(n)
        })
    });
    group.bench_function("evtx/decode", |b| {
        b.iter(|| {
            let mut n = 0;
            each_record(&chunks, &mut event, |_| n += 1);
            black_box(n)
        })
    });
    group.bench_function("evtx/render+parse+sigmahq", |b| {
        let mut json = JsonEvent::new();
        b.iter(|| {
            let mut n = 0;
            for bytes in &files {
                let mut padded = bytes.clone();
                let count = padded
                    .len()
                    .saturating_sub(FILE_HEADER_SIZE)
                    .div_ceil(CHUNK_SIZE);
                padded.resize(FILE_HEADER_SIZE + count * CHUNK_SIZE, 0);
                let parser = EvtxParser::from_buffer(padded).unwrap();
                let settings = ParserSettings::new().num_threads(1).indent(false);
                let mut parser = parser.with_configuration(settings);
                for record in parser.records_json_bytes() {
                    json.parse(&record.unwrap().data).unwrap();
                    SigmaHqWindows::scan(&json, |_| n += 1);
                }
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, evtx);
criterion_main!(benches);
